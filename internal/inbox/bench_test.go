package inbox

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/outreach-coalition/outreach/internal/outreach"
)

// benchReplies returns n replies to n partners' endorsement requests, in a
// realistic mix: endorsements in four languages, declines, questions,
// auto-replies and bounces.
func benchReplies(f *fixture, n int) [][]byte {
	var cs []outreach.Contact
	var emails []string
	for i := range n {
		e := fmt.Sprintf("p%d@org%d.test", i, i)
		cs = append(cs, outreach.Contact{Email: e, Organization: fmt.Sprintf("Org %d", i), Country: "KE"})
		emails = append(emails, e)
	}
	f.contacts(cs...)
	ds := f.send("endorsement-request", emails...)
	bodies := []string{
		endorse,
		"Nos sumamos a la carta.\n\nSaludos,\nLuis",
		"Nous soutenons la lettre.\n\nCordialement,\nMarie",
		"Apoiamos a carta.\n\nAbraços,\nJoão",
		"We cannot endorse this letter.\n\nRegards",
		"Could you tell us when the letter will be sent? We may endorse it then.",
		"Yes\n\nSent from my phone\n\nOn Mon, 2 Mar 2026, Campaign wrote:\n> Please reply to endorse the joint letter.\n> Thank you.",
	}
	out := make([][]byte, 0, n)
	for i, e := range emails {
		d := ds[e]
		switch i % 10 {
		case 8:
			m := answer(d, "I am out of the office until Monday.")
			m.subject = "Automatic reply: Endorse the joint letter"
			m.headers = []string{"Auto-Submitted: auto-replied"}
			out = append(out, m.withID(fmt.Sprintf("auto%d@org.test", i)).raw())
		case 9:
			out = append(out, dsn(d, d.Email, "failed", "5.1.1"))
		default:
			out = append(out, answer(d, bodies[i%len(bodies)]).withID(fmt.Sprintf("r%d@org.test", i)).raw())
		}
	}
	return out
}

// BenchmarkInbox measures reading and processing 10,000 replies from an
// in-process IMAP server: fetch, parse, match, classify, record (one bbolt
// transaction each, fsync off as in tests) and move to the processed
// folder.
func BenchmarkInbox(b *testing.B) {
	const total = 10_000
	var elapsed time.Duration
	for range b.N {
		b.StopTimer()
		f := newFixture(b, outreach.Campaign{})
		srv := startIMAP(b)
		for _, raw := range benchReplies(f, total) {
			srv.add(raw)
		}
		w := f.inbox.Watcher(watchConfig(srv.endpoint()))
		ctx, cancel := context.WithCancel(context.Background())
		ran := make(chan error, 1)
		b.StartTimer()
		start := time.Now()
		go func() { ran <- w.Run(ctx) }()
		deadline := start.Add(5 * time.Minute)
		for w.Status().Processed < total {
			if time.Now().After(deadline) {
				b.Fatalf("%d of %d replies processed within 5 minutes", w.Status().Processed, total)
			}
			time.Sleep(5 * time.Millisecond)
		}
		elapsed += time.Since(start)
		b.StopTimer()
		cancel()
		if err := <-ran; err != nil {
			b.Fatal(err)
		}
		if n := len(f.replies()); n != total {
			b.Fatalf("%d replies recorded; want %d", n, total)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(total*b.N)/elapsed.Seconds(), "replies/s")
	b.ReportMetric(elapsed.Seconds()/float64(b.N), "s/10k")
}
