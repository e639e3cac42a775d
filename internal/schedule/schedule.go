// Package schedule is the clock behind waves: it computes when a wave runs
// and calls it then.
//
// Cron specs are parsed by github.com/robfig/cron/v3 (five fields or a
// descriptor such as @weekly), but times are computed here, on the wall
// clock of the wave's zone, because robfig's own arithmetic skips a local
// time that does not exist on a daylight-saving day and runs a repeated
// one twice. Here, as in ISC cron:
//
//   - a local time that does not exist (02:30 on a spring-forward day in
//     America/New_York) runs at the first instant after the gap (03:00);
//   - a local time that occurs twice (01:30 on a fall-back day) runs once,
//     at its first occurrence.
//
// robfig's runner is not used either: it cannot be driven by a test clock,
// keeps nothing across restarts and has no notion of missed runs. The
// Scheduler in this package takes a Clock, is told each entry's last run
// (kept in bbolt by the caller), runs a missed run once when it is within
// the grace period and skips it otherwise, never overlaps a job with
// itself and survives a panicking job.
package schedule

import (
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Schedule gives the times a job runs.
type Schedule interface {
	// Next returns the first run time strictly after t, or the zero time
	// when there is none.
	Next(t time.Time) time.Time
}

// MinEvery is the shortest interval accepted in an "@every" spec.
const MinEvery = time.Minute

// Parse parses a cron spec evaluated in the IANA zone: five fields
// (minute hour day-of-month month day-of-week, e.g. "30 9 * * MON-FRI")
// or a descriptor (@yearly, @monthly, @weekly, @daily, @hourly, or
// "@every 90m", which counts from the previous run rather than the clock).
// The zone is given separately, never as CRON_TZ= in the spec. Parse does
// not check that the spec ever fires; call Next for that.
func Parse(spec, zone string) (Schedule, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return nil, fmt.Errorf("empty cron spec")
	}
	if strings.HasPrefix(spec, "TZ=") || strings.HasPrefix(spec, "CRON_TZ=") {
		return nil, fmt.Errorf("cron spec %q: give the time zone separately (--tz), not in the spec", spec)
	}
	loc, err := LoadZone(zone)
	if err != nil {
		return nil, err
	}
	sched, err := cron.ParseStandard(spec)
	if err != nil {
		return nil, fmt.Errorf("cron spec %q: %w (want five fields: minute hour day-of-month month day-of-week, or @daily, @weekly, ...)", spec, err)
	}
	switch s := sched.(type) {
	case *cron.SpecSchedule:
		s.Location = time.UTC // Next works on wall-clock times written as UTC.
		return &wallSchedule{spec: s, loc: loc}, nil
	case cron.ConstantDelaySchedule:
		if s.Delay < MinEvery {
			return nil, fmt.Errorf("cron spec %q: the interval must be at least %s", spec, MinEvery)
		}
		return s, nil
	}
	return nil, fmt.Errorf("cron spec %q: unsupported schedule", spec)
}

// LoadZone loads an IANA time zone. The empty name and "Local" are refused:
// a wave's zone must not depend on the machine the daemon runs on.
func LoadZone(name string) (*time.Location, error) {
	if name == "" {
		return nil, fmt.Errorf("no time zone given: name an IANA zone such as Europe/Paris or UTC")
	}
	if name == "Local" {
		return nil, fmt.Errorf("time zone %q depends on the machine: name an IANA zone such as Europe/Paris or UTC", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("time zone %q is not an IANA zone (such as America/Bogota or UTC)", name)
	}
	return loc, nil
}

// wallSchedule runs a robfig spec on the wall clock of loc.
type wallSchedule struct {
	spec *cron.SpecSchedule // Location is UTC
	loc  *time.Location
}

// Next returns the instant of the first matching wall-clock time after t,
// with the daylight-saving rules of the package comment.
func (s *wallSchedule) Next(t time.Time) time.Time {
	w := wall(t, s.loc)
	// A wall time can map to an instant at or before t only around a
	// fall-back (its first occurrence has passed) or a gap; a few steps
	// always get past it.
	for range 1000 {
		n := s.spec.Next(w)
		if n.IsZero() {
			return n
		}
		if x := resolve(n, s.loc); x.After(t) {
			return x
		}
		w = n
	}
	return time.Time{}
}

// Once is a schedule that runs at one instant.
type Once time.Time

// Next returns the instant when it is after t, else the zero time.
func (o Once) Next(t time.Time) time.Time {
	if at := time.Time(o); at.After(t) {
		return at
	}
	return time.Time{}
}

// Local returns the instant at which the wall clock in loc reads the given
// date and time, with the rules of the package comment: a time in a gap
// gives the first instant after the gap, a repeated time its first
// occurrence. Out-of-range values are normalised as by time.Date.
func Local(year int, month time.Month, day, hour, minute int, loc *time.Location) time.Time {
	return resolve(time.Date(year, month, day, hour, minute, 0, 0, time.UTC), loc)
}

// Wall returns t's wall-clock reading in loc, written as a UTC time, for
// comparing local times across an offset change: 01:30 EDT and 01:30 EST
// have the same Wall.
func Wall(t time.Time, loc *time.Location) time.Time { return wall(t, loc) }

func wall(t time.Time, loc *time.Location) time.Time {
	l := t.In(loc)
	return time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute(), l.Second(), l.Nanosecond(), time.UTC)
}

// resolve maps a wall-clock time w (written as UTC) in loc to an instant:
// the earliest instant showing w, or, when no instant shows w (a
// spring-forward gap), the first instant showing a later time.
func resolve(w time.Time, loc *time.Location) time.Time {
	r := time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), w.Nanosecond(), loc)
	// The candidates are w read with each UTC offset in force near r.
	var best, below, above time.Time
	for _, probe := range []time.Time{r.Add(-12 * time.Hour), r, r.Add(12 * time.Hour)} {
		_, off := probe.Zone()
		x := w.Add(-time.Duration(off) * time.Second)
		switch got := wall(x, loc); {
		case got.Equal(w):
			if best.IsZero() || x.Before(best) {
				best = x
			}
		case got.Before(w):
			if below.IsZero() || x.After(below) {
				below = x
			}
		default:
			if above.IsZero() || x.Before(above) {
				above = x
			}
		}
	}
	if !best.IsZero() {
		return best.In(loc)
	}
	if below.IsZero() || above.IsZero() || !below.Before(above) {
		return r
	}
	// In the gap: find the first instant whose wall clock is not before w.
	lo, hi := below.UnixNano(), above.UnixNano()
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		if wall(time.Unix(0, mid), loc).Before(w) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return time.Unix(0, hi).In(loc)
}
