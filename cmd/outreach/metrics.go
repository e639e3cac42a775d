package main

import (
	"context"
	"net/http"
	"strconv"

	"github.com/outreach-coalition/outreach/internal/metrics"
	"github.com/outreach-coalition/outreach/internal/outreach"
	"github.com/outreach-coalition/outreach/internal/web"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// startMetrics creates the metrics and registers /metrics: any role's
// token, or none when metrics.public is set. It runs before the
// capability hooks, which count into d.metrics.
func startMetrics(d *daemon) {
	m := metrics.New(version,
		func() float64 { return float64(d.store.QueueDepth()) },
		func() map[[2]string]float64 {
			out := map[[2]string]float64{}
			sends, _ := d.store.Sends(context.Background(), "")
			for _, s := range sends {
				if s.Kind != outreach.SendWave {
					continue
				}
				w := strconv.FormatUint(s.WaveID, 10)
				for state, n := range map[string]int{"queued": s.Counts.Queued + s.Counts.Sending, "retrying": s.Counts.Retrying,
					"sent": s.Counts.Sent, "failed": s.Counts.Failed, "suppressed": s.Counts.Suppressed, "cancelled": s.Counts.Cancelled} {
					out[[2]string{w, state}] += float64(n)
				}
			}
			return out
		})
	d.metrics = m
	role := outreach.RoleViewer
	if d.cfg.Metrics.Public {
		role = web.Public
	}
	h := m.Handler()
	d.web.Extra = append(d.web.Extra, web.Route{Pattern: "GET /metrics", Role: role, Handler: func(w http.ResponseWriter, r *http.Request, _ *outreach.Principal) error {
		h.ServeHTTP(w, r)
		return nil
	}})
}
