package smtpout

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// BareSend is the throughput baseline for benchmarks: it sends msgs with
// go-mail alone, from conns goroutines each holding one reused plain-text
// connection to addr (a loopback sink such as devmail), without NOOP, RSET,
// rate limits, retries or DKIM, each message to the recipients in its
// headers. It returns the time from the first dial to the last reply and the
// errors of the messages that failed, joined. msgs are consumed: a Msg must
// not be sent twice.
func BareSend(ctx context.Context, addr string, conns int, msgs []*gomail.Msg) (time.Duration, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return 0, fmt.Errorf("bare send: address %q: %w", addr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return 0, fmt.Errorf("bare send: port of %q: %w", addr, err)
	}
	if conns < 1 {
		conns = 1
	}
	client, err := gomail.NewClient(host, gomail.WithPort(port), gomail.WithTLSPolicy(gomail.NoTLS),
		gomail.WithoutNoop(), gomail.WithoutRset(), gomail.WithHELO("localhost"))
	if err != nil {
		return 0, fmt.Errorf("bare send: %w", err)
	}

	start := time.Now()
	var next atomic.Int64
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for range conns {
		wg.Go(func() {
			sc, err := client.DialToSMTPClientWithContext(ctx)
			if err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("bare send: dial %s: %w", addr, err))
				mu.Unlock()
				return
			}
			defer func() { _ = client.CloseWithSMTPClient(sc) }()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(msgs) || ctx.Err() != nil {
					return
				}
				if err := client.SendWithSMTPClient(sc, msgs[i]); err != nil {
					mu.Lock()
					errs = append(errs, fmt.Errorf("bare send: message %d: %w", i, err))
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err := ctx.Err(); err != nil {
		errs = append(errs, fmt.Errorf("bare send: %w", err))
	}
	return elapsed, errors.Join(errs...)
}
