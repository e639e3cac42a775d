package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// daemonT is an `outreach serve` running in-process for a test.
type daemonT struct {
	t      *testing.T
	data   string
	env    []string
	cancel context.CancelFunc
	done   chan error
	logs   *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startDaemon runs serve on a fresh port with data in dir (a new temp dir
// when empty) and waits until its API answers.
func startDaemon(t *testing.T, dir string, env ...string) *daemonT {
	t.Helper()
	return startDaemonArgs(t, dir, nil, env...)
}

// startDaemonArgs is startDaemon with extra serve flags.
func startDaemonArgs(t *testing.T, dir string, flags []string, env ...string) *daemonT {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	d := &daemonT{t: t, data: dir, env: append([]string{"OUTREACH_OUTBOX_NO_SYNC=true"}, env...), done: make(chan error, 1), logs: &syncBuffer{}}
	os.Remove(filepath.Join(dir, "serve.addr"))
	ctx, cancel := context.WithCancel(context.Background())
	d.cancel = cancel
	go func() {
		d.done <- run(ctx, append([]string{"serve", "--data", dir, "--http", "127.0.0.1:0"}, flags...), d.env, strings.NewReader(""), d.logs, d.logs)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(dir, "serve.addr")); err == nil {
			break
		}
		select {
		case err := <-d.done:
			t.Fatalf("serve exited: %v\n%s", err, d.logs)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("daemon did not start:\n%s", d.logs)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Cleanup(d.stop)
	return d
}

func (d *daemonT) stop() {
	if d.cancel == nil {
		return
	}
	d.cancel()
	select {
	case err := <-d.done:
		if err != nil {
			d.t.Errorf("serve: %v", err)
		}
	case <-time.After(20 * time.Second):
		d.t.Error("serve did not stop within 20s")
	}
	d.cancel = nil
}

// cli runs an outreach client command against the daemon.
func (d *daemonT) cli(args ...string) (stdout, stderr string, err error) {
	return d.cliIn("", args...)
}

func (d *daemonT) cliIn(stdin string, args ...string) (string, string, error) {
	var out, errb bytes.Buffer
	err := run(context.Background(), append([]string{"--data", d.data}, args...), d.env, strings.NewReader(stdin), &out, &errb)
	return out.String(), errb.String(), err
}

func (d *daemonT) mustCLI(args ...string) string {
	d.t.Helper()
	out, errs, err := d.cli(args...)
	if err != nil {
		d.t.Fatalf("outreach %s: %v\n%s", strings.Join(args, " "), err, errs)
	}
	return out
}
