package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/outreach-coalition/outreach/internal/web"
)

// daemon is `outreach serve` running as a child process.
type daemon struct {
	bin, dir string
	cmd      *exec.Cmd
	logs     *lockedBuffer
	done     chan error
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startDaemon runs `bin serve` with data in dir on a free loopback port
// and waits until it listens.
func startDaemon(ctx context.Context, bin, dir string, env ...string) (*daemon, error) {
	addrFile := filepath.Join(dir, "serve.addr")
	d := &daemon{bin: bin, dir: dir, logs: &lockedBuffer{}, done: make(chan error, 1)}
	d.cmd = exec.Command(bin, "serve", "--data", dir, "--http", "127.0.0.1:0")
	d.cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "OUTREACH_LOG_LEVEL=warn",
		"OUTREACH_HTTP_PUBLIC_URL=https://outreach.example.org"}, env...)
	d.cmd.Stdout, d.cmd.Stderr = d.logs, d.logs
	if err := d.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s serve: %w", bin, err)
	}
	go func() { d.done <- d.cmd.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(addrFile); err == nil {
			return d, nil
		}
		select {
		case err := <-d.done:
			return nil, fmt.Errorf("serve exited: %v\n%s", err, d.logs)
		case <-ctx.Done():
			d.stop()
			return nil, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			d.stop()
			return nil, fmt.Errorf("serve did not start within 30s:\n%s", d.logs)
		}
	}
}

// client returns an API client with the admin token.
func (d *daemon) client() (*web.Client, error) {
	addr, err := os.ReadFile(filepath.Join(d.dir, "serve.addr"))
	if err != nil {
		return nil, err
	}
	tok, err := os.ReadFile(filepath.Join(d.dir, "admin.token"))
	if err != nil {
		return nil, err
	}
	return &web.Client{BaseURL: "http://" + strings.TrimSpace(string(addr)), Token: strings.TrimSpace(string(tok))}, nil
}

// cli runs a client command of the binary against the daemon.
func (d *daemon) cli(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, d.bin, append([]string{"--data", d.dir}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("outreach %s: %w\n%s", strings.Join(args, " "), err, errb.String())
	}
	return out.String(), nil
}

// stop ends the daemon with SIGTERM (SIGKILL after 30 s).
func (d *daemon) stop() error {
	select {
	case err := <-d.done:
		d.done <- err
		return err
	default:
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-d.done:
		d.done <- err
		return err
	case <-time.After(30 * time.Second):
		d.cmd.Process.Kill()
		return errors.New("serve did not stop within 30s of SIGTERM")
	}
}

// procCPU returns the user+system CPU time a process has used, from
// /proc/PID/stat (fields 14 and 15, in clock ticks of 1/100 s on Linux).
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may contain spaces.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, nil
}

// procMem returns VmHWM (peak resident set) and VmRSS in bytes from
// /proc/PID/status.
func procMem(pid int) (hwm, rss int64, err error) {
	m, err := procStatus(pid)
	return m["VmHWM"], m["VmRSS"], err
}

// procStatus returns the kB fields of /proc/PID/status (VmHWM, VmRSS,
// RssAnon, RssFile, ...) in bytes.
func procStatus(pid int) (map[string]int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m := map[string]int64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || !strings.HasSuffix(v, " kB") {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(v, " kB")), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("/proc/%d/status: %s: %w", pid, k, err)
		}
		m[k] = kb << 10
	}
	return m, sc.Err()
}

func mib(b int64) string { return fmt.Sprintf("%.0f MB", float64(b)/(1<<20)) }

// syncLatency measures what a small durable commit costs on the disk of
// dir right now: the median and worst of n 4 KiB writes each followed by
// fdatasync, as a bbolt commit does.
func syncLatency(dir string, n int) (median, worst time.Duration, err error) {
	f, err := os.CreateTemp(dir, "synctest-")
	if err != nil {
		return 0, 0, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	page := make([]byte, 4096)
	d := make([]time.Duration, n)
	for i := range d {
		start := time.Now()
		if _, err := f.WriteAt(page, int64(i%16)*4096); err != nil {
			return 0, 0, err
		}
		if err := syscall.Fdatasync(int(f.Fd())); err != nil {
			return 0, 0, err
		}
		d[i] = time.Since(start)
	}
	slices.Sort(d)
	return d[n/2], d[n-1], nil
}
