package main

import (
	"context"
	"fmt"
	"io/fs"
	"os"

	"github.com/outreach-coalition/outreach/internal/devmail"
	"github.com/outreach-coalition/outreach/internal/outbox"
	"github.com/outreach-coalition/outreach/internal/service"
	"github.com/outreach-coalition/outreach/internal/smtpout"
	"github.com/outreach-coalition/outreach/templates"
)

func init() { daemonHooks = append(daemonHooks, startTemplates, startOutbox) }

// mailTemplates returns the template files: templates_dir when set, else
// the embedded ones.
func mailTemplates(dir string) (fs.FS, string) {
	if dir != "" {
		return os.DirFS(dir), dir
	}
	sub, _ := fs.Sub(templates.Mail, "mail")
	return sub, "embedded templates"
}

// startTemplates loads the templates once, failing the start on any
// problem, and stores each changed template as a new version so waves can
// pin what they were checked against. Reloads: SIGHUP (reload.go) and
// POST /api/v1/templates/reload.
func startTemplates(d *daemon) error {
	fsys, where := mailTemplates(d.cfg.TemplatesDir)
	d.svc.TemplateSource = service.TemplateSource{FS: fsys, Name: where}
	_, err := d.svc.LoadTemplates(context.Background())
	return err
}

func startOutbox(d *daemon) error {
	cfg := d.cfg
	var ep *smtpout.Endpoint
	var err error
	if cfg.SMTP.URL == "" {
		dm, err := devmail.Start(context.Background(), devmail.Options{Addr: "127.0.0.1:0", Domain: "devmail.localhost", Keep: 10000, Logger: d.log.With("component", "devmail")})
		if err != nil {
			return fmt.Errorf("start the development mail server: %w", err)
		}
		d.starters = append(d.starters, func(context.Context) (func(), error) { return func() { dm.Close() }, nil })
		ep, _ = smtpout.ParseURL("smtp://" + dm.Addr() + "?tls=none")
		d.web.Captured = dm
		msg := fmt.Sprintf("MAIL IS CAPTURED, NOT DELIVERED: smtp.url is not set, so messages go to the development mail server on %s (GET /api/v1/devmail/messages)", dm.Addr())
		d.notices = append(d.notices, msg)
		d.log.Warn(msg)
	} else if ep, err = smtpout.ParseURL(cfg.SMTP.URL); err != nil {
		return err
	}
	poolCfg := smtpout.Config{Endpoint: ep, CAFile: cfg.SMTP.CAFile, Connections: cfg.SMTP.Connections, Rate: cfg.SMTP.Rate,
		DomainRate: cfg.SMTP.DomainRate, Timeout: cfg.SMTP.Timeout.Duration, HELO: cfg.SMTP.HELO}
	if cfg.SMTP.DKIMKeyFile != "" {
		key, err := smtpout.ReadDKIMKey(cfg.SMTP.DKIMKeyFile)
		if err != nil {
			return fmt.Errorf("config: smtp.dkim_key_file: %w", err)
		}
		poolCfg.DKIM = &smtpout.DKIM{Domain: cfg.SMTP.DKIMDomain, Selector: cfg.SMTP.DKIMSelector, Key: key}
	}
	pool, err := smtpout.New(poolCfg, d.log.With("component", "smtp"))
	if err != nil {
		return err
	}
	tokens := outbox.NewTokens(d.secret)
	eng := outbox.New(outbox.Config{
		Connections: cfg.SMTP.Connections, InFlight: cfg.Outbox.InFlight, CommitWindow: cfg.Outbox.CommitWindow.Duration, MaxAttempts: cfg.Outbox.MaxAttempts,
		MaxAge: cfg.Outbox.MaxAge.Duration, RetryBase: cfg.Outbox.RetryBase.Duration, Resend: cfg.Outbox.AfterCrash == "resend",
		PublicURL: d.publicURL, ProbeInterval: cfg.Outbox.ProbeInterval.Duration, PauseAfter: cfg.Outbox.PauseAfter,
	}, d.store, pool, tokens, d.log.With("component", "outbox"), nil)
	eng.OnResult = d.metrics.ObserveAttempt
	d.svc.Outbox = eng
	d.svc.Tokens = tokens
	d.outbox = eng
	d.starters = append(d.starters, func(ctx context.Context) (func(), error) {
		ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		done := make(chan struct{})
		go func() {
			defer close(done)
			if err := eng.Run(ctx); err != nil {
				d.log.Error("outbox stopped", "err", err)
			}
		}()
		return func() {
			cancel()
			<-done
			pool.Close()
		}, nil
	})
	return nil
}
