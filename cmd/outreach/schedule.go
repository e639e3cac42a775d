package main

import (
	"context"
	"log/slog"
	"strconv"
	"time"

	"github.com/outreach-coalition/outreach/internal/outreach"
	"github.com/outreach-coalition/outreach/internal/schedule"
	"github.com/outreach-coalition/outreach/internal/service"
)

func init() { daemonHooks = append(daemonHooks, startSchedule) }

// waveClock is the service's WaveScheduler: it keeps one scheduler entry
// per wave with runs to come, and runs them through the service.
type waveClock struct {
	sch *schedule.Scheduler
	svc *service.Service
	log *slog.Logger
}

func (c *waveClock) ScheduleWave(w *outreach.Wave) {
	sched, err := service.WaveSchedule(w)
	if err != nil {
		c.log.Error("wave not scheduled: its schedule does not parse", "wave", w.ID, "err", err)
		return
	}
	last := w.Created
	if w.LastRun.After(last) {
		last = w.LastRun
	}
	id := w.ID
	key := strconv.FormatUint(id, 10)
	c.sch.Set(schedule.Entry{
		ID: key, Schedule: sched, Last: last,
		Job: func(ctx context.Context, slot time.Time) error { return c.svc.RunScheduled(ctx, id, slot) },
		Skipped: func(ctx context.Context, m schedule.Missed) {
			if !m.Ran {
				c.svc.WaveMissed(ctx, id, m)
			}
		},
	})
	if next, _ := c.sch.Next(key); !next.IsZero() {
		c.log.Info("wave scheduled", "wave", id, "name", w.Name, "next", next)
	}
}

func (c *waveClock) UnscheduleWave(id uint64) { c.sch.Remove(strconv.FormatUint(id, 10)) }

// startSchedule starts the wave scheduler: every wave with runs to come is
// registered from the store; runs missed while the daemon was down run
// once if younger than waves.grace and are skipped otherwise.
func startSchedule(d *daemon) error {
	log := d.log.With("component", "schedule")
	sch := schedule.New(schedule.Options{Grace: d.cfg.Waves.Grace.Duration, Log: log})
	d.svc.Scheduler = &waveClock{sch: sch, svc: d.svc, log: log}
	d.starters = append(d.starters, func(ctx context.Context) (func(), error) {
		if err := d.svc.ScheduleAll(ctx); err != nil {
			return nil, err
		}
		ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		done := make(chan struct{})
		go func() {
			defer close(done)
			sch.Run(ctx)
		}()
		return func() {
			cancel()
			<-done
		}, nil
	})
	return nil
}
