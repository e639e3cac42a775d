package schedule

import (
	"strings"
	"testing"
	"time"
)

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func mustParse(t *testing.T, spec, zone string) Schedule {
	t.Helper()
	s, err := Parse(spec, zone)
	if err != nil {
		t.Fatalf("Parse(%q, %q): %v", spec, zone, err)
	}
	return s
}

// runs returns the run times of s in (from, to].
func runs(s Schedule, from, to time.Time) []time.Time {
	var out []time.Time
	for t := s.Next(from); !t.IsZero() && !t.After(to); t = s.Next(t) {
		out = append(out, t)
	}
	return out
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func formatAll(ts []time.Time) string {
	var b []string
	for _, t := range ts {
		b = append(b, t.UTC().Format(time.RFC3339))
	}
	return strings.Join(b, " ")
}

func TestNextDaylightSaving(t *testing.T) {
	for _, tc := range []struct {
		name, spec, zone string
		from, to         string
		want             string // run instants in UTC
	}{
		{
			// 2026-03-08: 02:00 EST jumps to 03:00 EDT (07:00 UTC).
			name: "spring forward: a missing 02:30 runs at 03:00", spec: "30 2 * * *", zone: "America/New_York",
			from: "2026-03-06T12:00:00Z", to: "2026-03-10T00:00:00Z",
			want: "2026-03-07T07:30:00Z 2026-03-08T07:00:00Z 2026-03-09T06:30:00Z",
		},
		{
			// 2026-11-01: 02:00 EDT falls back to 01:00 EST; 01:30 occurs at 05:30 and 06:30 UTC.
			name: "fall back: a repeated 01:30 runs once", spec: "30 1 * * *", zone: "America/New_York",
			from: "2026-10-30T12:00:00Z", to: "2026-11-03T00:00:00Z",
			want: "2026-10-31T05:30:00Z 2026-11-01T05:30:00Z 2026-11-02T06:30:00Z",
		},
		{
			name: "Bogota keeps no daylight saving: unaffected in March", spec: "30 2 * * *", zone: "America/Bogota",
			from: "2026-03-06T12:00:00Z", to: "2026-03-10T00:00:00Z",
			want: "2026-03-07T07:30:00Z 2026-03-08T07:30:00Z 2026-03-09T07:30:00Z",
		},
		{
			name: "Bogota keeps no daylight saving: unaffected in November", spec: "30 1 * * *", zone: "America/Bogota",
			from: "2026-10-30T12:00:00Z", to: "2026-11-03T00:00:00Z",
			want: "2026-10-31T06:30:00Z 2026-11-01T06:30:00Z 2026-11-02T06:30:00Z",
		},
		{
			name: "every 30 minutes across the gap: the skipped hour collapses into one run", spec: "*/30 * * * *", zone: "America/New_York",
			from: "2026-03-08T06:00:00Z", to: "2026-03-08T08:00:00Z",
			want: "2026-03-08T06:30:00Z 2026-03-08T07:00:00Z 2026-03-08T07:30:00Z 2026-03-08T08:00:00Z",
		},
		{
			name: "hourly across the fall-back: the repeated hour runs once", spec: "0 * * * *", zone: "America/New_York",
			from: "2026-11-01T04:30:00Z", to: "2026-11-01T08:00:00Z",
			// 01:00 EDT (05:00Z), then 02:00 EST (07:00Z), then 03:00 EST.
			want: "2026-11-01T05:00:00Z 2026-11-01T07:00:00Z 2026-11-01T08:00:00Z",
		},
		{
			name: "weekly descriptor in Paris", spec: "@weekly", zone: "Europe/Paris",
			from: "2026-03-20T00:00:00Z", to: "2026-04-06T00:00:00Z",
			// Sundays at 00:00: CET (+1) then CEST (+2) after 2026-03-29.
			want: "2026-03-21T23:00:00Z 2026-03-28T23:00:00Z 2026-04-04T22:00:00Z",
		},
		{
			name: "Lord Howe's half-hour shift", spec: "15 2 * * *", zone: "Australia/Lord_Howe",
			// 2026-10-04 02:00 +10:30 jumps to 02:30 +11:00 (2026-10-03T15:30Z).
			from: "2026-10-02T12:00:00Z", to: "2026-10-05T12:00:00Z",
			want: "2026-10-02T15:45:00Z 2026-10-03T15:30:00Z 2026-10-04T15:15:00Z",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := mustParse(t, tc.spec, tc.zone)
			if got := formatAll(runs(s, utc(tc.from), utc(tc.to))); got != tc.want {
				t.Errorf("runs of %q in %s = %s; want %s", tc.spec, tc.zone, got, tc.want)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	for _, tc := range []struct{ spec, zone, want string }{
		{"", "UTC", "empty"},
		{"30 2 * * *", "", "no time zone"},
		{"30 2 * * *", "Local", "depends on the machine"},
		{"30 2 * * *", "Mars/Olympus", "not an IANA zone"},
		{"CRON_TZ=Europe/Paris 30 2 * * *", "UTC", "separately"},
		{"0 30 2 * * *", "UTC", "five fields"},
		{"61 * * * *", "UTC", "cron spec"},
		{"@every 10s", "UTC", "at least"},
		{"@fortnightly", "UTC", "cron spec"},
	} {
		_, err := Parse(tc.spec, tc.zone)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q, %q) = %v; want an error containing %q", tc.spec, tc.zone, err, tc.want)
		}
	}
}

func TestUnsatisfiableSpecNeverRuns(t *testing.T) {
	s := mustParse(t, "0 9 31 2 *", "UTC")
	if n := s.Next(utc("2026-01-01T00:00:00Z")); !n.IsZero() {
		t.Errorf("Next of Feb 31 = %v; want the zero time", n)
	}
}

func TestEveryCountsFromTheLastRun(t *testing.T) {
	s := mustParse(t, "@every 90m", "UTC")
	from := utc("2026-05-01T10:17:00Z")
	if got, want := s.Next(from), from.Add(90*time.Minute); !got.Equal(want) {
		t.Errorf("Next = %v; want %v", got, want)
	}
}

func TestOnce(t *testing.T) {
	at := utc("2026-05-01T10:00:00Z")
	o := Once(at)
	if got := o.Next(at.Add(-time.Second)); !got.Equal(at) {
		t.Errorf("Next before = %v; want %v", got, at)
	}
	if got := o.Next(at); !got.IsZero() {
		t.Errorf("Next at = %v; want zero", got)
	}
}

func TestLocal(t *testing.T) {
	ny := mustZone(t, "America/New_York")
	for _, tc := range []struct {
		y       int
		m       time.Month
		d, h, n int
		want    string
	}{
		{2026, 3, 8, 2, 30, "2026-03-08T07:00:00Z"},  // in the gap: first instant after
		{2026, 11, 1, 1, 30, "2026-11-01T05:30:00Z"}, // repeated: the first
		{2026, 6, 1, 9, 0, "2026-06-01T13:00:00Z"},
		{2026, 12, 31, 24, 0, "2027-01-01T05:00:00Z"}, // normalised
	} {
		if got := Local(tc.y, tc.m, tc.d, tc.h, tc.n, ny).UTC().Format(time.RFC3339); got != tc.want {
			t.Errorf("Local(%d-%02d-%02d %02d:%02d NY) = %s; want %s", tc.y, tc.m, tc.d, tc.h, tc.n, got, tc.want)
		}
	}
}

// FuzzParse checks that no spec or zone makes Parse or Next panic, and
// that every schedule Parse accepts moves forward in time.
func FuzzParse(f *testing.F) {
	for _, seed := range []struct{ spec, zone string }{
		{"30 2 * * *", "America/New_York"}, {"*/15 9-17 * * MON-FRI", "Europe/Paris"}, {"@weekly", "UTC"},
		{"@every 90m", "UTC"}, {"0 9 31 2 *", "UTC"}, {"15 2 * * *", "Australia/Lord_Howe"}, {"", ""}, {"? * * * *", "Asia/Kolkata"},
		{"59 23 L * *", "UTC"}, {"0 0 29 2 *", "Pacific/Apia"},
	} {
		f.Add(seed.spec, seed.zone, int64(1772924400)) // 2026-03-08T00:00Z
	}
	f.Fuzz(func(t *testing.T, spec, zone string, unix int64) {
		s, err := Parse(spec, zone)
		if err != nil {
			return
		}
		from := time.Unix(unix%(1<<33), 0)
		prev := from
		for range 5 {
			next := s.Next(prev)
			if next.IsZero() {
				return
			}
			if !next.After(prev) {
				t.Fatalf("Parse(%q, %q).Next(%v) = %v, not after", spec, zone, prev, next)
			}
			prev = next
		}
	})
}
