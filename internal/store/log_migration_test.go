package store

import (
	"context"
	"encoding/hex"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/outreach-coalition/outreach/internal/outreach"
	bolt "go.etcd.io/bbolt"
)

// schema1LogBuckets are the delivery log's index buckets before schema 2.
var schema1LogBuckets = []string{"log_by_wave", "log_by_wave_status", "log_by_status", "log_by_email"}

// writeSchema1 writes a database as a schema-1 build left it: every
// bucket of that schema, and the log entries with the four index buckets
// laid out as that build's appendLog wrote them.
func writeSchema1(t *testing.T, dir string, log []outreach.Attempt) {
	t.Helper()
	db, err := bolt.Open(filepath.Join(dir, FileName), 0o600, &bolt.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error {
		names := append(slices.DeleteFunc(slices.Clone(buckets), func(n string) bool { return n == "log_index" }), schema1LogBuckets...)
		for _, name := range names {
			if _, err := tx.CreateBucket([]byte(name)); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		}
		if err := bucket(tx, "meta").Put([]byte("schema"), u64(1)); err != nil {
			return err
		}
		lg := bucket(tx, "log")
		for i := range log {
			a := &log[i]
			seq, _ := lg.NextSequence()
			lk := key(u64(uint64(a.Time.UnixNano())), u64(seq))
			if err := putJSON(lg, lk, a); err != nil {
				return err
			}
			puts := map[string][]byte{
				"log_by_status": key([]byte(a.Outcome), []byte{0}, lk),
				"log_by_email":  key([]byte(outreach.EmailKey(a.Email)), []byte{0}, lk),
			}
			if a.WaveID != 0 {
				puts["log_by_wave"] = key(u64(a.WaveID), lk)
				puts["log_by_wave_status"] = key(u64(a.WaveID), []byte(a.Outcome), []byte{0}, lk)
			}
			for name, k := range puts {
				if err := bucket(tx, name).Put(k, nil); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// schema1Log is a log of two waves and entries of no wave, with every
// outcome and addresses written in different cases.
func schema1Log() []outreach.Attempt {
	base := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	emails := []string{"Ana@Example.org", "bo@example.net", "ana@example.org", "cy@example.org", "BO@example.net"}
	outcomes := []string{outreach.DeliverySent, outreach.DeliveryRetrying, outreach.DeliverySent, outreach.DeliveryFailed,
		outreach.DeliveryUncertain, outreach.DeliverySuppressed, outreach.DeliveryRetrying}
	var log []outreach.Attempt
	for i := range 60 {
		log = append(log, outreach.Attempt{
			DeliveryID: uint64(i + 1), SendID: uint64(i%3 + 1), WaveID: uint64(i % 3), // wave 0: no wave
			Email: emails[i%len(emails)], Time: base.Add(time.Duration(i) * time.Minute),
			Outcome: outcomes[i%len(outcomes)], Code: 250, Response: fmt.Sprint("response ", i),
		})
	}
	return log
}

// logCase is one Log query and the entries it must return, oldest first.
type logCase struct {
	name string
	f    LogFilter
	want []int // indexes into the log
}

func logCases(log []outreach.Attempt) []logCase {
	match := func(keep func(a outreach.Attempt) bool) []int {
		var out []int
		for i, a := range log {
			if keep(a) {
				out = append(out, i)
			}
		}
		return out
	}
	since := log[25].Time
	var cases []logCase
	cases = append(cases,
		logCase{"none", LogFilter{}, match(func(outreach.Attempt) bool { return true })},
		logCase{"since", LogFilter{Since: since}, match(func(a outreach.Attempt) bool { return !a.Time.Before(since) })},
		logCase{"email", LogFilter{Email: "ANA@example.org"}, match(func(a outreach.Attempt) bool { return outreach.EmailKey(a.Email) == "ana@example.org" })},
		logCase{"email+wave", LogFilter{Email: "bo@example.net", WaveID: 2}, match(func(a outreach.Attempt) bool {
			return outreach.EmailKey(a.Email) == "bo@example.net" && a.WaveID == 2
		})},
		logCase{"unknown email", LogFilter{Email: "nobody@example.org"}, nil},
	)
	for _, w := range []uint64{1, 2} {
		cases = append(cases,
			logCase{fmt.Sprint("wave ", w), LogFilter{WaveID: w}, match(func(a outreach.Attempt) bool { return a.WaveID == w })},
			logCase{fmt.Sprint("wave ", w, " since"), LogFilter{WaveID: w, Since: since}, match(func(a outreach.Attempt) bool {
				return a.WaveID == w && !a.Time.Before(since)
			})},
		)
		for _, o := range []string{outreach.DeliverySent, outreach.DeliveryRetrying, outreach.DeliveryFailed} {
			cases = append(cases, logCase{fmt.Sprint("wave ", w, " ", o), LogFilter{WaveID: w, Status: o}, match(func(a outreach.Attempt) bool {
				return a.WaveID == w && a.Outcome == o
			})})
		}
	}
	for _, o := range []string{outreach.DeliverySent, outreach.DeliveryRetrying, outreach.DeliveryFailed, outreach.DeliveryUncertain, outreach.DeliverySuppressed} {
		cases = append(cases, logCase{"status " + o, LogFilter{Status: o}, match(func(a outreach.Attempt) bool { return a.Outcome == o })})
	}
	return cases
}

// checkLog pages through each case two entries at a time and compares
// the entries and the cursors with the ones the log was written with.
func checkLog(t *testing.T, s *Store, log []outreach.Attempt) {
	t.Helper()
	ctx := context.Background()
	for _, c := range logCases(log) {
		if len(c.want) == 0 && c.name != "unknown email" {
			t.Fatalf("%s: the test log has no entry for this case", c.name)
		}
		var got []int
		f := c.f
		f.Limit = 2
		for page := 0; ; page++ {
			if page > len(log) {
				t.Fatalf("%s: paging does not end", c.name)
			}
			as, next, err := s.Log(ctx, f)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			for _, a := range as {
				got = append(got, int(a.DeliveryID-1))
			}
			if next == "" {
				break
			}
			// The cursor is the hex log key (time|seq) of the page's last entry.
			last := int(as[len(as)-1].DeliveryID - 1)
			if want := hex.EncodeToString(key(u64(uint64(log[last].Time.UnixNano())), u64(uint64(last+1)))); next != want {
				t.Fatalf("%s: cursor %s; want %s", c.name, next, want)
			}
			f.After = next
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: got entries %v; want %v", c.name, got, c.want)
		}
	}
	since := log[25].Time
	for _, w := range []uint64{0, 1, 2} {
		for _, o := range []string{outreach.DeliverySent, outreach.DeliveryRetrying, outreach.DeliveryFailed, outreach.DeliveryUncertain, outreach.DeliverySuppressed, "bogus"} {
			for _, from := range []time.Time{{}, since} {
				want := 0
				for _, a := range log {
					if a.Outcome == o && (w == 0 || a.WaveID == w) && !a.Time.Before(from) {
						want++
					}
				}
				got, err := s.CountLog(ctx, w, o, from)
				if err != nil || got != want {
					t.Errorf("CountLog(wave %d, %s, since %v) = %d, %v; want %d", w, o, from, got, err, want)
				}
			}
		}
	}
}

func bucketNames(t *testing.T, s *Store) []string {
	t.Helper()
	var names []string
	s.db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
			names = append(names, string(name))
			return nil
		})
	})
	return names
}

func logIndexKeys(t *testing.T, s *Store) map[byte]int {
	t.Helper()
	n := map[byte]int{}
	s.db.View(func(tx *bolt.Tx) error {
		return bucket(tx, "log_index").ForEach(func(k, _ []byte) error {
			n[k[0]]++
			return nil
		})
	})
	return n
}

// A schema-1 database is migrated to one log_index bucket: every Log
// filter and CountLog give what the four old buckets gave, the old
// buckets are gone, and opening again changes nothing.
func TestMigrateLogIndexesFromSchema1(t *testing.T) {
	dir := t.TempDir()
	log := schema1Log()
	writeSchema1(t, dir, log)
	s, err := Open(dir, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if v, err := s.Schema(); err != nil || v != 2 || SchemaVersion != 2 {
		t.Fatalf("schema = %d, %v (this build: %d); want 2", v, err, SchemaVersion)
	}
	names := bucketNames(t, s)
	for _, old := range schema1LogBuckets {
		if slices.Contains(names, old) {
			t.Errorf("bucket %s survived the migration", old)
		}
	}
	withWave := 0
	for _, a := range log {
		if a.WaveID != 0 {
			withWave++
		}
	}
	keys := logIndexKeys(t, s)
	if want := map[byte]int{tagWave: withWave, tagWaveStatus: withWave, tagStatus: len(log), tagEmail: len(log)}; !maps.Equal(keys, want) {
		t.Errorf("log_index keys by tag = %v; want %v", keys, want)
	}
	checkLog(t, s, log)
	s.Close()

	s, err = Open(dir, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, _ := s.Schema(); v != 2 {
		t.Errorf("schema after reopening = %d; want 2", v)
	}
	if again := logIndexKeys(t, s); !maps.Equal(again, keys) {
		t.Errorf("log_index keys after reopening = %v; want %v", again, keys)
	}
	checkLog(t, s, log)

	// New entries go to the same index as the migrated ones.
	next := outreach.Attempt{DeliveryID: uint64(len(log) + 1), SendID: 1, WaveID: 1, Email: "ana@EXAMPLE.org",
		Time: log[len(log)-1].Time.Add(time.Minute), Outcome: outreach.DeliveryFailed}
	if err := s.db.Update(func(tx *bolt.Tx) error { return appendLog(tx, &next) }); err != nil {
		t.Fatal(err)
	}
	checkLog(t, s, append(log, next))
}

// A database created by this build has log_index and none of the four
// buckets it replaced.
func TestFreshDatabaseHasOnlyLogIndex(t *testing.T) {
	s := MustOpen(t)
	names := bucketNames(t, s)
	if !slices.Contains(names, "log_index") {
		t.Errorf("buckets %v lack log_index", names)
	}
	for _, n := range names {
		if strings.HasPrefix(n, "log_by_") {
			t.Errorf("fresh database has bucket %s", n)
		}
	}
	log := schema1Log()
	if err := s.db.Update(func(tx *bolt.Tx) error {
		for i := range log {
			if err := appendLog(tx, &log[i]); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	checkLog(t, s, log)
}
