package main

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/outreach-coalition/outreach/internal/config"
	"github.com/outreach-coalition/outreach/internal/demo"
	"github.com/outreach-coalition/outreach/internal/devimap"
	"github.com/outreach-coalition/outreach/internal/outreach"
	"github.com/outreach-coalition/outreach/internal/service"
	"github.com/outreach-coalition/outreach/internal/store"
	"github.com/outreach-coalition/outreach/internal/web"
)

const (
	defaultDemoDir = "./data-demo"
	demoMarker     = "DEMO"
	demoPassword   = "outreach-demo"
)

func init() { daemonHooks = append(daemonHooks, startDemo) }

// demoRun is the demo's own mail servers.
type demoRun struct {
	imap *devimap.Server
}

func (r *demoRun) close() { r.imap.Close() }

// prepareDemo wipes and marks the demo data directory, starts the demo's
// IMAP server and points the configuration at it and at the development
// SMTP server. It refuses a data directory that holds real data.
func (c *cli) prepareDemo(ctx context.Context, cfg *config.Config, log *slog.Logger) (*demoRun, error) {
	dir := cfg.DataDir
	if _, err := os.Stat(filepath.Join(dir, store.FileName)); err == nil {
		if _, err := os.Stat(filepath.Join(dir, demoMarker)); err != nil {
			return nil, fmt.Errorf("--demo: %s holds a real outreach database: the demo wipes its data directory at each start, so it only runs in a directory it created (default %s; pass another --data)", dir, defaultDemoDir)
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		return nil, fmt.Errorf("--demo: wipe %s: %w", dir, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, demoMarker), []byte("This directory belongs to `outreach serve --demo`, which wipes it at each start.\n"), 0o600); err != nil {
		return nil, err
	}
	im, err := devimap.Start(ctx, "127.0.0.1:0", demo.CampaignReply, demoPassword)
	if err != nil {
		return nil, err
	}
	// Tools and tests find the demo mailbox here.
	if err := os.WriteFile(filepath.Join(dir, "demo.imap"), []byte(im.Addr()+"\n"), 0o600); err != nil {
		im.Close()
		return nil, err
	}
	cfg.SMTP.URL = ""
	cfg.IMAP.URL = (&url.URL{Scheme: "imap", User: url.UserPassword(demo.CampaignReply, demoPassword), Host: im.Addr(), Path: "/INBOX", RawQuery: "tls=none"}).String()
	cfg.IMAP.PollInterval = config.Duration{Duration: time.Second}
	cfg.Campaign = config.Campaign{Name: demo.CampaignName, From: demo.CampaignFrom, ReplyTo: demo.CampaignReply, DefaultLanguage: "en",
		PostalAddress: demo.PostalAddress, ThankYou: true}
	if c.env["OUTREACH_ADMIN_PASSWORD"] == "" {
		c.env["OUTREACH_ADMIN_PASSWORD"] = demoPassword
	}
	log.Info("demo: data directory wiped", "data", dir, "imap", im.Addr())
	return &demoRun{imap: im}, nil
}

// devmailSource adapts the development SMTP server to the simulator.
type devmailSource struct{ w *web.Server }

func (s devmailSource) Captured() []demo.Captured {
	if s.w.Captured == nil {
		return nil
	}
	var out []demo.Captured
	for _, m := range s.w.Captured.Messages() {
		out = append(out, demo.Captured{ID: m.ID, From: m.From, To: m.To, Raw: m.Raw})
	}
	return out
}

func startDemo(d *daemon) error {
	if d.demo == nil {
		return nil
	}
	d.notices = append(d.notices,
		"DEMO: a demo campaign with simulated partners; nothing leaves this machine. Log in to the web UI as admin / "+demoPassword,
		"DEMO: try: outreach --data "+d.cfg.DataDir+" waves list | replies list | endorsements list | review list | log")
	d.afterStart = append(d.afterStart, func(ctx context.Context) error {
		admin := &outreach.Principal{Name: "demo", Role: outreach.RoleAdmin}
		rep, err := d.svc.ImportContacts(ctx, admin, strings.NewReader(demo.ContactsCSV()), false)
		if err != nil {
			return fmt.Errorf("demo: seed contacts: %w", err)
		}
		sim := &demo.Simulator{Source: devmailSource{d.web}, Mailbox: d.demo.imap, Log: d.log.With("component", "demo"),
			Delay: func(demo.Partner) time.Duration { return time.Duration(1000+rand.IntN(4000)) * time.Millisecond }}
		go sim.Run(ctx)
		w, err := d.svc.CreateWave(ctx, admin, service.WaveInput{Name: "Endorsement requests", Template: "endorsement-request", Filter: "kind = partner", At: "now"})
		if err != nil {
			return fmt.Errorf("demo: first wave: %w", err)
		}
		// The letter to each country's targets, ready once a country has two
		// confirmed endorsements, sent only when a coordinator approves.
		l, err := d.svc.CreateLetter(ctx, admin, service.LetterInput{Template: "letter", Targets: "kind != partner", MinEndorsements: 2})
		if err != nil {
			return fmt.Errorf("demo: letter: %w", err)
		}
		d.log.Info("demo: seeded", "contacts", rep.Created, "wave", w.ID, "letter", l.ID)
		return nil
	})
	return nil
}
