package main

import (
	"context"
	"fmt"

	"github.com/outreach-coalition/outreach/internal/imapwatch"
	"github.com/outreach-coalition/outreach/internal/inbox"
	"github.com/outreach-coalition/outreach/internal/outbox"
)

func init() { daemonHooks = append(daemonHooks, startInbox) }

// startInbox watches the campaign mailbox when imap.url is set: every reply
// is recorded (with its endorsement, suppressions and the mailbox
// checkpoint, in one transaction) and moved to imap.processed_folder.
func startInbox(d *daemon) error {
	cfg := d.cfg
	if cfg.IMAP.URL == "" {
		d.log.Info("replies are not read: imap.url is not set")
		return nil
	}
	ep, err := imapwatch.ParseURL(cfg.IMAP.URL)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	wcfg := imapwatch.Config{Endpoint: ep, CAFile: cfg.IMAP.CAFile, ProcessedFolder: cfg.IMAP.ProcessedFolder,
		PollInterval: cfg.IMAP.PollInterval.Duration, MaxMessageBytes: cfg.Inbox.MaxMessageBytes}
	d.notices = append(d.notices, fmt.Sprintf("reading replies from %s (processed mail goes to %s)", ep, cfg.IMAP.ProcessedFolder))
	// Starters run after every hook, so the outbox (for thank-yous) is
	// known by then whatever the order of the hooks.
	d.starters = append(d.starters, func(ctx context.Context) (func(), error) {
		var ob inbox.Outbox
		if d.outbox != nil {
			ob = d.outbox
		}
		in := inbox.New(inbox.Config{DefaultCampaign: d.svc.DefaultCampaign, SoftBounceLimit: cfg.Inbox.SoftBounceLimit,
			SoftBounceWindow: cfg.Inbox.SoftBounceWindow.Duration}, d.store, outbox.NewTokens(d.secret), ob, d.log, nil)
		in.OnRecord = d.metrics.ObserveReply
		w := in.Watcher(wcfg)
		ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		done := make(chan struct{})
		go func() {
			defer close(done)
			if err := w.Run(ctx); err != nil {
				d.log.Error("inbox stopped", "err", err)
			}
		}()
		return func() {
			cancel()
			<-done
		}, nil
	})
	return nil
}
