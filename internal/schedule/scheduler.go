package schedule

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Clock tells the time and waits. Tests pass a fake one.
type Clock interface {
	Now() time.Time
	// Until sends the time on the returned channel once the clock reaches
	// t (at once if it has). A deadline rather than a duration, so that a
	// clock that moves between reading Now and arming the timer cannot
	// push the timer past it.
	Until(t time.Time) <-chan time.Time
}

type systemClock struct{}

func (systemClock) Now() time.Time                     { return time.Now() }
func (systemClock) Until(t time.Time) <-chan time.Time { return time.After(time.Until(t)) }

// Job runs one scheduled run. slot is the run's scheduled time (for a
// missed run, the latest missed time), which the job should record as its
// last run so that the next start-up knows what was missed.
type Job func(ctx context.Context, slot time.Time) error

// Missed describes runs that were due while nothing could run them (the
// daemon was down or the machine asleep).
type Missed struct {
	Count       int       // how many were due (at most maxCount is counted)
	First, Last time.Time // the earliest and latest of them
	Ran         bool      // Last was within the grace period and ran
}

// Entry is one scheduled job.
type Entry struct {
	ID       string
	Schedule Schedule
	// Last is when the job last ran (or when it was created): runs due
	// after Last and before now are missed runs.
	Last time.Time
	Job  Job
	// Skipped, if set, is called after missed runs were skipped.
	Skipped func(ctx context.Context, m Missed)
}

// Options configures a Scheduler.
type Options struct {
	// Clock defaults to the system clock.
	Clock Clock
	// Grace is how late a run may start: a missed run younger than Grace
	// runs once (only the latest, if several were missed), older ones are
	// skipped. Whatever Grace says, a run a minute late still runs, so
	// that timer latency never skips one.
	Grace time.Duration
	// Log receives a line for every run started, skipped or failed.
	Log *slog.Logger
}

// minGrace is the least lateness tolerated.
const minGrace = time.Minute

// maxCount bounds how many missed runs are counted for the log.
const maxCount = 100000

// Scheduler runs entries at their schedules' times. Its methods are safe
// for concurrent use.
type Scheduler struct {
	clock Clock
	grace time.Duration
	log   *slog.Logger

	mu      sync.Mutex
	entries map[string]*entry
	wake    chan struct{}
	jobs    sync.WaitGroup
}

type entry struct {
	Entry
	last    time.Time    // runs at or before last have been handled
	next    time.Time    // zero: none left
	running *atomic.Bool // shared by every version of the entry with this ID
}

// New returns a scheduler; call Run to start it.
func New(o Options) *Scheduler {
	if o.Clock == nil {
		o.Clock = systemClock{}
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return &Scheduler{clock: o.Clock, grace: max(o.Grace, minGrace), log: o.Log,
		entries: map[string]*entry{}, wake: make(chan struct{}, 1)}
}

// Set adds an entry or replaces the one with the same ID. Runs due between
// e.Last and now are missed runs, handled as Options.Grace says when Run
// next looks (at once if it is running).
func (s *Scheduler) Set(e Entry) {
	s.mu.Lock()
	running := new(atomic.Bool)
	if old, ok := s.entries[e.ID]; ok {
		running = old.running
	}
	s.entries[e.ID] = &entry{Entry: e, last: e.Last, next: e.Schedule.Next(e.Last), running: running}
	s.mu.Unlock()
	s.poke()
}

// Remove drops an entry. A run in progress is not interrupted.
func (s *Scheduler) Remove(id string) {
	s.mu.Lock()
	delete(s.entries, id)
	s.mu.Unlock()
	s.poke()
}

// Next returns the next run time of an entry (zero when it has none left)
// and whether the entry exists.
func (s *Scheduler) Next(id string) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[id]
	if !ok {
		return time.Time{}, false
	}
	return e.next, true
}

func (s *Scheduler) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run runs jobs until ctx is done, then waits for the jobs in progress.
// Jobs get a context that is not cancelled with ctx, so that a run being
// started is stored whole.
func (s *Scheduler) Run(ctx context.Context) error {
	jobCtx := context.WithoutCancel(ctx)
	for {
		now := s.clock.Now()
		next := s.tick(jobCtx, now)
		var timer <-chan time.Time
		if !next.IsZero() {
			timer = s.clock.Until(next)
		}
		select {
		case <-ctx.Done():
			s.jobs.Wait()
			return nil
		case <-timer:
		case <-s.wake:
		}
	}
}

// tick starts the runs due at now and returns the earliest next run time.
func (s *Scheduler) tick(ctx context.Context, now time.Time) time.Time {
	s.mu.Lock()
	ids := make([]string, 0, len(s.entries))
	for id := range s.entries {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var earliest time.Time
	type skip struct {
		e *entry
		m Missed
	}
	var skips []skip
	for _, id := range ids {
		e := s.entries[id]
		if !e.next.IsZero() && !e.next.After(now) {
			slot, m := s.due(e, now)
			if !slot.IsZero() {
				if late := now.Sub(slot); late > minGrace {
					s.log.Warn("running a missed run late, within the grace period", "id", e.ID, "slot", slot, "late", late.Round(time.Second), "grace", s.grace)
				}
				s.fire(ctx, e, slot)
			}
			if m.Count > 0 {
				skips = append(skips, skip{e, m})
			}
			e.last = now
			e.next = e.Schedule.Next(now)
		}
		if !e.next.IsZero() && (earliest.IsZero() || e.next.Before(earliest)) {
			earliest = e.next
		}
	}
	s.mu.Unlock()
	for _, k := range skips {
		if k.m.Ran {
			s.log.Warn("missed scheduled runs: running the latest now, within the grace period", "id", k.e.ID,
				"missed", k.m.Count, "first", k.m.First, "latest", k.m.Last, "grace", s.grace)
		} else {
			s.log.Warn("missed scheduled runs skipped: older than the grace period", "id", k.e.ID,
				"missed", k.m.Count, "first", k.m.First, "latest", k.m.Last, "grace", s.grace)
		}
		if k.e.Skipped != nil {
			k.e.Skipped(ctx, k.m)
		}
	}
	return earliest
}

// due returns the run to start for an entry whose next run has come (zero
// when every due run is older than the grace period) and what was missed
// besides it.
func (s *Scheduler) due(e *entry, now time.Time) (time.Time, Missed) {
	var run time.Time
	from := e.last
	if w := now.Add(-s.grace); w.After(from) {
		from = w
	}
	for o, i := e.Schedule.Next(from), 0; !o.IsZero() && !o.After(now) && i < maxCount; o, i = e.Schedule.Next(o), i+1 {
		run = o
	}
	var m Missed
	for o := e.next; !o.IsZero() && !o.After(now) && m.Count < maxCount; o = e.Schedule.Next(o) {
		if m.Count == 0 {
			m.First = o
		}
		m.Last = o
		m.Count++
	}
	if !run.IsZero() {
		m.Count--
		m.Ran = true
		if m.Count == 0 {
			return run, Missed{}
		}
	}
	return run, m
}

// fire starts one run unless the previous one is still going. A panic in
// the job is logged and does not stop later runs.
func (s *Scheduler) fire(ctx context.Context, e *entry, slot time.Time) {
	if !e.running.CompareAndSwap(false, true) {
		s.log.Warn("scheduled run skipped: the previous run is still going", "id", e.ID, "slot", slot)
		return
	}
	job, id := e.Job, e.ID
	s.jobs.Add(1)
	go func() {
		defer s.jobs.Done()
		defer e.running.Store(false)
		defer func() {
			if r := recover(); r != nil {
				s.log.Error("scheduled run panicked", "id", id, "slot", slot, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			}
		}()
		s.log.Info("scheduled run", "id", id, "slot", slot)
		if err := job(ctx, slot); err != nil {
			s.log.Error("scheduled run failed", "id", id, "slot", slot, "err", err)
		}
	}()
}
