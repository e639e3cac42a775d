package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func init() { daemonHooks = append(daemonHooks, startReload) }

// startReload reloads the templates on SIGHUP, as POST
// /api/v1/templates/reload does: changed templates get new versions, and a
// source with problems changes nothing and is logged.
func startReload(d *daemon) error {
	d.starters = append(d.starters, func(context.Context) (func(), error) {
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				select {
				case <-ctx.Done():
					return
				case <-hup:
					d.reloadTemplates(ctx)
				}
			}
		}()
		return func() {
			signal.Stop(hup)
			cancel()
			<-done
		}, nil
	})
	return nil
}

func (d *daemon) reloadTemplates(ctx context.Context) {
	load, err := d.svc.LoadTemplates(ctx)
	if err != nil {
		d.log.Error("SIGHUP: templates not reloaded; the stored versions stay in use", "err", err)
		return
	}
	changed := 0
	for _, ch := range load.Templates {
		if ch.Changed {
			changed++
		}
	}
	d.log.Info("SIGHUP: templates reloaded", "from", load.From, "templates", len(load.Templates), "new_versions", changed)
}
