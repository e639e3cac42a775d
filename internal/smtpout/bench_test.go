package smtpout

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	gomail "github.com/wneessen/go-mail"

	"github.com/outreach-coalition/outreach/internal/devmail"
)

// benchConns is C, the number of connections both benchmarks use.
const benchConns = 4

func benchMsgs(b *testing.B, n int) []*gomail.Msg {
	b.Helper()
	msgs := make([]*gomail.Msg, n)
	for i := range msgs {
		msgs[i] = newMsg(b, fmt.Sprintf("r%d@example.net", i), "Joint letter")
	}
	return msgs
}

// BenchmarkBareGoMail is the baseline: go-mail alone on C reused
// connections, no NOOP/RSET, to devmail keeping no message.
func BenchmarkBareGoMail(b *testing.B) {
	srv := startDevmail(b, devmail.Options{Keep: devmail.KeepNone})
	msgs := benchMsgs(b, b.N)
	b.ResetTimer()
	elapsed, err := BareSend(context.Background(), srv.Addr(), benchConns, msgs)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	if srv.Count() != b.N {
		b.Fatalf("server got %d messages; want %d", srv.Count(), b.N)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
}

// BenchmarkPool sends the same load through Pool.Send from C goroutines
// over C connections.
func BenchmarkPool(b *testing.B) {
	srv := startDevmail(b, devmail.Options{Keep: devmail.KeepNone})
	p := newPool(b, Config{Endpoint: endpointOf(b, srv, NoTLS), Connections: benchConns})
	msgs := benchMsgs(b, b.N)
	var next atomic.Int64
	var failed atomic.Int64
	var wg sync.WaitGroup
	ctx := context.Background()
	b.ResetTimer()
	for range benchConns {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(msgs) {
					return
				}
				if r := sendMsg(ctx, b, p, msgs[i], fmt.Sprintf("r%d@example.net", i)); r.Outcome != Sent {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	if failed.Load() != 0 || srv.Count() != b.N {
		b.Fatalf("%d sends failed, server got %d of %d", failed.Load(), srv.Count(), b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
