// Package metrics exposes outreach's Prometheus metrics through the
// official client library. The daemon owns one Metrics value and passes it
// to whatever counts; nothing here is global.
package metrics

import (
	"net/http"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/outreach-coalition/outreach/internal/store"
)

// Metrics holds every series.
type Metrics struct {
	reg *prometheus.Registry

	Attempts    *prometheus.CounterVec // outcome: sent, retrying, failed, suppressed, uncertain
	SendLatency prometheus.Histogram   // one SMTP transaction
	Replies     *prometheus.CounterVec // class
	IMAPLag     prometheus.Gauge       // seconds between a reply's arrival and its processing
	Endorse     *prometheus.CounterVec // state reached: pending, confirmed, rejected, withdrawn
	WaveCounts  *prometheus.GaugeVec   // wave, state
}

// New registers every series. queueDepth is called at each scrape.
func New(version string, queueDepth func() float64, waves func() map[[2]string]float64) *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		reg: reg,
		Attempts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "outreach_delivery_attempts_total",
			Help: "Delivery attempts by outcome (sent, retrying, failed, suppressed, uncertain)."}, []string{"outcome"}),
		SendLatency: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "outreach_smtp_send_seconds",
			Help: "Duration of one SMTP transaction, waits for rate limits included.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)}),
		Replies: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "outreach_replies_total",
			Help: "Replies read from the campaign mailbox, by class."}, []string{"class", "review"}),
		IMAPLag: prometheus.NewGauge(prometheus.GaugeOpts{Name: "outreach_imap_lag_seconds",
			Help: "Seconds between the newest processed reply's Date and its processing."}),
		Endorse: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "outreach_endorsements_total",
			Help: "Endorsements by the state they reached."}, []string{"state"}),
	}
	reg.MustRegister(m.Attempts, m.SendLatency, m.Replies, m.IMAPLag, m.Endorse,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "outreach_outbox_queue_depth",
		Help: "Deliveries queued or waiting for a retry."}, queueDepth))
	if waves != nil {
		reg.MustRegister(&waveCollector{fn: waves})
	}
	info := prometheus.NewGauge(prometheus.GaugeOpts{Name: "outreach_build_info", Help: "Build information.",
		ConstLabels: prometheus.Labels{"version": version, "go": goVersion()}})
	info.Set(1)
	reg.MustRegister(info)
	for _, o := range []string{"sent", "retrying", "failed", "suppressed", "uncertain"} {
		m.Attempts.WithLabelValues(o)
	}
	return m
}

func goVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		return bi.GoVersion
	}
	return "unknown"
}

// Handler serves the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Timeout: 10 * time.Second})
}

// ObserveAttempt counts one delivery attempt.
func (m *Metrics) ObserveAttempt(outcome string, d time.Duration) {
	if m == nil {
		return
	}
	m.Attempts.WithLabelValues(outcome).Inc()
	if d > 0 {
		m.SendLatency.Observe(d.Seconds())
	}
}

// ObserveReply counts one recorded reply: its class, the endorsement it
// created or changed, and how long after its Date it was processed.
func (m *Metrics) ObserveReply(rec *store.Recorded) {
	if m == nil {
		return
	}
	r := &rec.Reply
	m.Replies.WithLabelValues(r.Class, strconv.FormatBool(r.Review)).Inc()
	if rec.Endorsement != nil && rec.Change == "created" {
		m.Endorse.WithLabelValues(rec.Endorsement.State).Inc()
	}
	if !r.Date.IsZero() && !r.Received.IsZero() {
		m.IMAPLag.Set(max(r.Received.Sub(r.Date).Seconds(), 0))
	}
}

// waveCollector reports each wave's deliveries by state at scrape time.
type waveCollector struct{ fn func() map[[2]string]float64 }

var waveDesc = prometheus.NewDesc("outreach_wave_deliveries", "Deliveries of each wave by state.", []string{"wave", "state"}, nil)

func (c *waveCollector) Describe(ch chan<- *prometheus.Desc) { ch <- waveDesc }

func (c *waveCollector) Collect(ch chan<- prometheus.Metric) {
	for k, v := range c.fn() {
		ch <- prometheus.MustNewConstMetric(waveDesc, prometheus.GaugeValue, v, k[0], k[1])
	}
}
