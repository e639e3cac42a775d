package main

import (
	"context"
	"net"
	"sync"
	"time"

	"github.com/outreach-coalition/outreach/internal/imapwatch"
	"github.com/outreach-coalition/outreach/internal/smtpout"
)

func init() { daemonHooks = append(daemonHooks, startReady) }

// readyTimeout bounds each reachability check of /readyz.
const readyTimeout = 2 * time.Second

// startReady makes /readyz (and the dashboard's health table) report the
// store, and whether the SMTP server (smtp.url, or the development mail
// server) and the IMAP server (imap.url; "disabled" when unset) accept a
// TCP connection. The checks run in parallel, each within readyTimeout.
func startReady(d *daemon) error {
	var smtpAddr, imapAddr string
	if d.cfg.SMTP.URL != "" {
		if ep, err := smtpout.ParseURL(d.cfg.SMTP.URL); err == nil {
			smtpAddr = ep.Addr()
		}
	}
	if d.cfg.IMAP.URL != "" {
		if ep, err := imapwatch.ParseURL(d.cfg.IMAP.URL); err == nil {
			imapAddr = ep.Addr()
		}
	}
	d.web.Ready = func(ctx context.Context) map[string]string {
		smtp := smtpAddr
		if c, ok := d.web.Captured.(interface{ Addr() string }); ok && smtp == "" {
			smtp = c.Addr()
		}
		checks := map[string]string{"store": "ok", "smtp": "disabled", "imap": "disabled"}
		if _, err := d.store.Schema(); err != nil {
			checks["store"] = "error: " + err.Error()
		}
		var mu sync.Mutex
		var wg sync.WaitGroup
		for name, addr := range map[string]string{"smtp": smtp, "imap": imapAddr} {
			if addr == "" {
				continue
			}
			wg.Go(func() {
				status := reachable(ctx, addr)
				mu.Lock()
				checks[name] = status
				mu.Unlock()
			})
		}
		wg.Wait()
		return checks
	}
	return nil
}

// reachable dials addr: "ok", or "unreachable: " and why.
func reachable(ctx context.Context, addr string) string {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	var dialer net.Dialer
	c, err := dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return "unreachable: " + err.Error()
	}
	c.Close()
	return "ok"
}
