package schedule

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is a Clock the test moves. Only the latest After is live: the
// scheduler waits on one timer at a time.
type fakeClock struct {
	mu     sync.Mutex
	cond   *sync.Cond
	now    time.Time
	at     time.Time
	ch     chan time.Time
	fired  bool
	armed  int // Until calls so far
	closed bool
}

func newFakeClock(now time.Time) *fakeClock {
	f := &fakeClock{now: now}
	f.cond = sync.NewCond(&f.mu)
	return f
}

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeClock) Until(t time.Time) <-chan time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ch = make(chan time.Time, 1)
	f.at = t
	f.fired = !t.After(f.now)
	if f.fired {
		f.ch <- f.now
	}
	f.armed++
	f.cond.Broadcast()
	return f.ch
}

// waitArmed waits until Until has been called more than n times.
func (f *fakeClock) waitArmed(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		f.mu.Lock()
		armed := f.armed
		f.mu.Unlock()
		if armed > n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the scheduler did not wait on a new timer within 5s")
		}
		time.Sleep(time.Millisecond)
	}
}

// waitAt waits until the scheduler waits on a timer for deadline.
func (f *fakeClock) waitAt(t *testing.T, deadline time.Time) {
	t.Helper()
	limit := time.Now().Add(5 * time.Second)
	for {
		f.mu.Lock()
		ok := f.ch != nil && f.at.Equal(deadline)
		f.mu.Unlock()
		if ok {
			return
		}
		if time.Now().After(limit) {
			t.Fatalf("the scheduler did not wait for %v within 5s", deadline)
		}
		time.Sleep(time.Millisecond)
	}
}

func (f *fakeClock) armedCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.armed
}

// step waits until the scheduler waits on a timer, moves the clock to its
// deadline and fires it. It returns the new time.
func (f *fakeClock) step(t *testing.T) time.Time {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	deadline := time.AfterFunc(5*time.Second, func() {
		f.mu.Lock()
		f.closed = true
		f.cond.Broadcast()
		f.mu.Unlock()
	})
	defer deadline.Stop()
	for (f.ch == nil || f.fired) && !f.closed {
		f.cond.Wait()
	}
	if f.closed {
		t.Fatal("the scheduler did not wait on a timer within 5s")
	}
	f.now = f.at
	f.fired = true
	f.ch <- f.now
	return f.now
}

// recorder records the slots a job ran for and the clock when it ran.
type recorder struct {
	mu    sync.Mutex
	slots []time.Time
	at    []time.Time
}

func (r *recorder) job(clock Clock) Job {
	return func(ctx context.Context, slot time.Time) error {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.slots = append(r.slots, slot)
		r.at = append(r.at, clock.Now())
		return nil
	}
}

func (r *recorder) wait(t *testing.T, n int) []time.Time {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		r.mu.Lock()
		got := append([]time.Time(nil), r.slots...)
		r.mu.Unlock()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d runs after 5s; want %d", len(got), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// waitIdle waits until no run of entry id is in progress.
func waitIdle(t *testing.T, s *Scheduler, id string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s.mu.Lock()
		e, ok := s.entries[id]
		busy := ok && e.running.Load()
		s.mu.Unlock()
		if !busy {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("a run of %s is still in progress after 5s", id)
		}
		time.Sleep(time.Millisecond)
	}
}

type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func start(t *testing.T, o Options) (*Scheduler, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	o.Log = slog.New(slog.NewTextHandler(logs, nil))
	s := New(o)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return s, logs
}

// TestDaylightSavingDays runs daily waves through the 2026 change days on
// a test clock: each runs exactly once a day, at the time the package
// comment promises.
func TestDaylightSavingDays(t *testing.T) {
	for _, tc := range []struct {
		name, spec, zone, from, until, want string
	}{
		{"02:30 New York, spring forward runs at 03:00", "30 2 * * *", "America/New_York", "2026-03-06T12:00:00Z", "2026-03-10T00:00:00Z",
			"2026-03-07T07:30:00Z 2026-03-08T07:00:00Z 2026-03-09T06:30:00Z"},
		{"01:30 New York, fall back runs once", "30 1 * * *", "America/New_York", "2026-10-30T12:00:00Z", "2026-11-03T00:00:00Z",
			"2026-10-31T05:30:00Z 2026-11-01T05:30:00Z 2026-11-02T06:30:00Z"},
		{"02:30 Bogota, unaffected by New York", "30 2 * * *", "America/Bogota", "2026-03-06T12:00:00Z", "2026-03-10T00:00:00Z",
			"2026-03-07T07:30:00Z 2026-03-08T07:30:00Z 2026-03-09T07:30:00Z"},
		{"01:30 Bogota, unaffected by New York", "30 1 * * *", "America/Bogota", "2026-10-30T12:00:00Z", "2026-11-03T00:00:00Z",
			"2026-10-31T06:30:00Z 2026-11-01T06:30:00Z 2026-11-02T06:30:00Z"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := newFakeClock(utc(tc.from))
			s, _ := start(t, Options{Clock: clock, Grace: time.Hour})
			var r recorder
			s.Set(Entry{ID: "w", Schedule: mustParse(t, tc.spec, tc.zone), Last: utc(tc.from), Job: r.job(clock)})
			n := 0
			for now := clock.step(t); now.Before(utc(tc.until)); now = clock.step(t) {
				n++
				r.wait(t, n)
				waitIdle(t, s, "w")
			}
			var slots []time.Time
			for _, slot := range r.wait(t, n) {
				if slot.Before(utc(tc.until)) {
					slots = append(slots, slot)
				}
			}
			if got := formatAll(slots); got != tc.want {
				t.Errorf("ran at %s; want %s", got, tc.want)
			}
			r.mu.Lock()
			defer r.mu.Unlock()
			for i := range slots {
				if !r.at[i].Equal(r.slots[i]) {
					t.Errorf("run %d for %v started at %v", i, r.slots[i], r.at[i])
				}
			}
		})
	}
}

func TestMissedRunWithinGraceRunsOnce(t *testing.T) {
	// Daily 09:00 UTC; the daemon was down from before 09:00 on the 2nd
	// until 10:30 on the 4th: three runs were missed, the latest 1h30 ago.
	clock := newFakeClock(utc("2026-05-04T10:30:00Z"))
	var r recorder
	var skipped []Missed
	var mu sync.Mutex
	s, logs := start(t, Options{Clock: clock, Grace: 2 * time.Hour})
	s.Set(Entry{ID: "w", Schedule: mustParse(t, "0 9 * * *", "UTC"), Last: utc("2026-05-01T09:00:00Z"), Job: r.job(clock),
		Skipped: func(ctx context.Context, m Missed) { mu.Lock(); skipped = append(skipped, m); mu.Unlock() }})
	got := r.wait(t, 1)
	if len(got) != 1 || !got[0].Equal(utc("2026-05-04T09:00:00Z")) {
		t.Fatalf("runs = %v; want only the latest missed one, 2026-05-04T09:00Z", got)
	}
	if next, _ := s.Next("w"); !next.Equal(utc("2026-05-05T09:00:00Z")) {
		t.Errorf("next = %v; want the next day", next)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(skipped) != 1 || skipped[0].Count != 2 || !skipped[0].Ran || !skipped[0].First.Equal(utc("2026-05-02T09:00:00Z")) {
		t.Errorf("skipped = %+v; want 2 skipped from 05-02, the latest ran", skipped)
	}
	if !strings.Contains(logs.String(), "running the latest now") {
		t.Errorf("the catch-up is not logged:\n%s", logs)
	}
}

func TestLateSingleRunIsLogged(t *testing.T) {
	clock := newFakeClock(utc("2026-05-04T10:30:00Z"))
	var r recorder
	s, logs := start(t, Options{Clock: clock, Grace: 6 * time.Hour})
	s.Set(Entry{ID: "once", Schedule: Once(utc("2026-05-04T09:00:00Z")), Last: utc("2026-05-01T00:00:00Z"), Job: r.job(clock)})
	if got := r.wait(t, 1); !got[0].Equal(utc("2026-05-04T09:00:00Z")) {
		t.Fatalf("ran for %v", got)
	}
	if !strings.Contains(logs.String(), "running a missed run late") {
		t.Errorf("the late run is not logged:\n%s", logs)
	}
}

func TestMissedRunOutsideGraceIsSkipped(t *testing.T) {
	clock := newFakeClock(utc("2026-05-04T12:00:00Z"))
	var r recorder
	skipped := make(chan Missed, 1)
	s, logs := start(t, Options{Clock: clock, Grace: 2 * time.Hour})
	s.Set(Entry{ID: "w", Schedule: mustParse(t, "0 9 * * *", "UTC"), Last: utc("2026-05-01T09:00:00Z"), Job: r.job(clock),
		Skipped: func(ctx context.Context, m Missed) { skipped <- m }})
	select {
	case m := <-skipped:
		if m.Ran || m.Count != 3 || !m.Last.Equal(utc("2026-05-04T09:00:00Z")) {
			t.Errorf("skipped = %+v; want 3 skipped, none ran", m)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no skip reported")
	}
	// The next run is the regular one; nothing ran for the missed ones.
	if now := clock.step(t); !now.Equal(utc("2026-05-05T09:00:00Z")) {
		t.Fatalf("next run at %v", now)
	}
	if got := r.wait(t, 1); len(got) != 1 || !got[0].Equal(utc("2026-05-05T09:00:00Z")) {
		t.Errorf("runs = %v; want only 05-05 09:00", got)
	}
	if !strings.Contains(logs.String(), "older than the grace period") {
		t.Errorf("the skip is not logged:\n%s", logs)
	}
}

func TestMissedOnceWithinAndOutsideGrace(t *testing.T) {
	clock := newFakeClock(utc("2026-05-04T12:00:00Z"))
	var in, out recorder
	s, _ := start(t, Options{Clock: clock, Grace: time.Hour})
	skipped := make(chan Missed, 1)
	s.Set(Entry{ID: "in", Schedule: Once(utc("2026-05-04T11:30:00Z")), Last: utc("2026-05-01T00:00:00Z"), Job: in.job(clock)})
	s.Set(Entry{ID: "out", Schedule: Once(utc("2026-05-04T10:30:00Z")), Last: utc("2026-05-01T00:00:00Z"), Job: out.job(clock),
		Skipped: func(ctx context.Context, m Missed) { skipped <- m }})
	in.wait(t, 1)
	select {
	case m := <-skipped:
		if m.Count != 1 || m.Ran {
			t.Errorf("skipped = %+v", m)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the once run outside the grace period was not reported skipped")
	}
	out.mu.Lock()
	defer out.mu.Unlock()
	if len(out.slots) != 0 {
		t.Errorf("the run outside the grace period ran: %v", out.slots)
	}
}

func TestPanickingJobKeepsItsSchedule(t *testing.T) {
	clock := newFakeClock(utc("2026-05-01T00:00:00Z"))
	s, logs := start(t, Options{Clock: clock})
	var mu sync.Mutex
	calls := 0
	ran := make(chan int, 10)
	s.Set(Entry{ID: "p", Schedule: mustParse(t, "0 * * * *", "UTC"), Last: clock.Now(), Job: func(ctx context.Context, slot time.Time) error {
		mu.Lock()
		calls++
		n := calls
		mu.Unlock()
		ran <- n
		if n == 1 {
			panic("boom")
		}
		return errors.New("a plain failure")
	}})
	for i := 1; i <= 3; i++ {
		clock.step(t)
		select {
		case n := <-ran:
			if n != i {
				t.Fatalf("call %d; want %d", n, i)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("run %d did not happen after a panic", i)
		}
		waitIdle(t, s, "p")
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(logs.String(), "a plain failure") && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if l := logs.String(); !strings.Contains(l, "panicked") || !strings.Contains(l, "boom") || !strings.Contains(l, "a plain failure") {
		t.Errorf("panic and failure not logged:\n%s", l)
	}
}

func TestJobsNeverOverlap(t *testing.T) {
	clock := newFakeClock(utc("2026-05-01T00:00:00Z"))
	s, logs := start(t, Options{Clock: clock})
	release := make(chan struct{})
	started := make(chan time.Time, 10)
	s.Set(Entry{ID: "slow", Schedule: mustParse(t, "*/5 * * * *", "UTC"), Last: clock.Now(), Job: func(ctx context.Context, slot time.Time) error {
		started <- slot
		<-release
		return nil
	}})
	clock.step(t) // 00:05 starts and blocks
	first := <-started
	clock.step(t) // 00:10: still running, skipped
	clock.step(t) // 00:15: still running, skipped
	select {
	case s := <-started:
		t.Fatalf("a second run started at %v while the first was running", s)
	default:
	}
	close(release)
	waitIdle(t, s, "slow")
	// Once the first returns, the next slot runs again.
	deadline := time.Now().Add(5 * time.Second)
	for {
		clock.step(t)
		select {
		case s := <-started:
			if !s.After(first) {
				t.Fatalf("run for %v after %v", s, first)
			}
			if !strings.Contains(logs.String(), "previous run is still going") {
				t.Errorf("the skip is not logged:\n%s", logs)
			}
			return
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("no run after the slow one returned")
		}
	}
}

func TestRemoveStopsRuns(t *testing.T) {
	clock := newFakeClock(utc("2026-05-01T00:00:00Z"))
	s, _ := start(t, Options{Clock: clock})
	var r recorder
	s.Set(Entry{ID: "a", Schedule: mustParse(t, "0 * * * *", "UTC"), Last: clock.Now(), Job: r.job(clock)})
	var keep recorder
	s.Set(Entry{ID: "b", Schedule: mustParse(t, "30 * * * *", "UTC"), Last: clock.Now(), Job: keep.job(clock)})
	clock.waitAt(t, utc("2026-05-01T00:30:00Z")) // the scheduler has seen b
	clock.step(t)                                // 00:30 b
	keep.wait(t, 1)
	waitIdle(t, s, "b")
	armed := clock.armedCount()
	s.Remove("a")
	clock.waitArmed(t, armed)
	if _, ok := s.Next("a"); ok {
		t.Fatal("a still scheduled")
	}
	clock.step(t) // 01:30 b (a's 01:00 is gone)
	keep.wait(t, 2)
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.slots) != 0 {
		t.Errorf("removed entry ran at %v", r.slots)
	}
}
