package outbox

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"testing"
	"time"

	"github.com/outreach-coalition/outreach/internal/devmail"
	"github.com/outreach-coalition/outreach/internal/outreach"
	"github.com/outreach-coalition/outreach/internal/render"
	"github.com/outreach-coalition/outreach/internal/smtpout"
	"github.com/outreach-coalition/outreach/internal/store"
	"github.com/outreach-coalition/outreach/templates"
)

// BenchmarkEngine sends waves of the shipped call to action through the
// whole engine (claim, render, compose, SMTP over 4 connections to an
// in-process devmail keeping nothing, record) and reports msgs/s from
// enqueueing to the send being recorded done. The fsync variant is what
// the daemon does; nosync shows what the commits cost.
func BenchmarkEngine(b *testing.B) {
	for _, sync := range []bool{true, false} {
		name := "fsync"
		if !sync {
			name = "nosync"
		}
		b.Run(name, func(b *testing.B) { benchEngine(b, 2000, 4, !sync) })
	}
}

func benchEngine(b *testing.B, n, conns int, noSync bool) {
	ctx := context.Background()
	st, err := store.Open(b.TempDir(), store.Options{NoSync: noSync})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	sink, err := devmail.Start(ctx, devmail.Options{Keep: devmail.KeepNone})
	if err != nil {
		b.Fatal(err)
	}
	defer sink.Close()

	sub, _ := fs.Sub(templates.Mail, "mail")
	set, err := render.Load(sub)
	if err != nil {
		b.Fatal(err)
	}
	version, _, err := st.SaveTemplate(ctx, "call-to-action", set.Files("call-to-action"), "bench")
	if err != nil {
		b.Fatal(err)
	}
	camp, err := st.EnsureDefaultCampaign(ctx, &outreach.Campaign{Name: "Bench", From: "Campaign <campaign@example.org>",
		ReplyTo: "campaign@example.org", DefaultLanguage: "en", PostalAddress: "1 Example Street"})
	if err != nil {
		b.Fatal(err)
	}
	langs := []string{"en", "es", "fr", "pt"}
	cs := make([]outreach.Contact, n)
	for i := range cs {
		cs[i] = outreach.Contact{Email: fmt.Sprintf("p%05d@org%d.example", i, i%97), Name: fmt.Sprintf("Partner %05d", i),
			Organization: fmt.Sprintf("Organisation %d", i), Kind: outreach.KindPartner, Country: "MY", Language: langs[i%len(langs)]}
	}
	if err := st.ImportContacts(ctx, func(put store.PutFunc) error {
		for i := range cs {
			if _, err := put(&cs[i]); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	rcpts := make([]store.Recipient, n)
	for i, c := range cs {
		rcpts[i] = store.Recipient{ContactID: c.ID, Email: c.Email}
	}

	ep, err := smtpout.ParseURL("smtp://" + sink.Addr() + "?tls=none")
	if err != nil {
		b.Fatal(err)
	}
	pool, err := smtpout.New(smtpout.Config{Endpoint: ep, Connections: conns, HELO: "localhost"}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	eng := New(Config{Connections: conns, PublicURL: "https://outreach.example.org"}, st, pool,
		NewTokens([]byte("bench-secret-bench-secret")), slog.New(slog.DiscardHandler), nil)
	runCtx, stop := context.WithCancel(ctx)
	stopped := make(chan error, 1)
	go func() { stopped <- eng.Run(runCtx) }()
	defer func() {
		stop()
		<-stopped
	}()

	var elapsed time.Duration
	for b.Loop() {
		b.StopTimer()
		base := sink.Count()
		send := &outreach.Send{Kind: outreach.SendWave, Name: "bench", CampaignID: camp.ID, Template: "call-to-action",
			TemplateVersion: version, ListHeaders: true}
		b.StartTimer()
		start := time.Now()
		if err := st.CreateSend(ctx, send, rcpts, eng.Mint(camp)); err != nil {
			b.Fatal(err)
		}
		eng.Kick()
		wctx, cancel := context.WithTimeout(ctx, time.Minute)
		if err := sink.Wait(wctx, base+n); err != nil {
			b.Fatal(err)
		}
		for {
			s, err := st.Send(ctx, send.ID)
			if err != nil {
				b.Fatal(err)
			}
			if s.State == outreach.SendDone {
				if s.Counts.Sent != n {
					b.Fatalf("send done with %+v; want %d sent", s.Counts, n)
				}
				break
			}
			if wctx.Err() != nil {
				b.Fatalf("send not done: %+v", s.Counts)
			}
			time.Sleep(time.Millisecond)
		}
		cancel()
		elapsed += time.Since(start)
	}
	b.ReportMetric(float64(n*b.N)/elapsed.Seconds(), "msgs/s")
}
