package imapwatch

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkFetch measures how fast a watcher drains a mailbox of 10,000
// small messages from imapmemserver over loopback: search, fetch, handle
// (an in-memory checkpoint) and MOVE to the processed folder.
func BenchmarkFetch(b *testing.B) {
	const total = 10_000
	var elapsed time.Duration
	for range b.N {
		b.StopTimer()
		srv := startServer(b, serverOptions{})
		for n := range total {
			srv.add("INBOX", n)
		}
		var last atomic.Uint32
		done := make(chan struct{})
		h := func(ctx context.Context, m Message) error {
			last.Store(m.UID)
			if m.UID == total {
				close(done)
			}
			return nil
		}
		w := New(fastConfig(srv.endpoint(SecurityNone)), checkpointFunc(func() uint32 { return last.Load() }), h, nil)
		ctx, cancel := context.WithCancel(context.Background())
		ran := make(chan error, 1)
		b.StartTimer()
		start := time.Now()
		go func() { ran <- w.Run(ctx) }()
		select {
		case <-done:
		case <-time.After(2 * time.Minute):
			b.Fatal("10,000 messages not handled within 2 minutes")
		}
		elapsed += time.Since(start)
		b.StopTimer()
		cancel()
		if err := <-ran; err != nil {
			b.Fatal(err)
		}
		if got := w.Status().Processed; got != total {
			b.Fatalf("Processed = %d; want %d", got, total)
		}
		srv.stop()
		b.StartTimer()
	}
	b.ReportMetric(float64(total*b.N)/elapsed.Seconds(), "msgs/s")
}

type checkpointFunc func() uint32

func (f checkpointFunc) Last(context.Context, string, uint32) (uint32, error) { return f(), nil }
