package store

import (
	"bytes"
	"context"
	"encoding/hex"
	"strings"
	"time"

	"github.com/outreach-coalition/outreach/internal/outreach"
	bolt "go.etcd.io/bbolt"
)

// appendFill is the fill of pages in buckets that grow mostly at the end
// of a key range (bbolt splits at half a page by default, for random
// inserts): the log and its indexes, whose keys end with the time, and the
// deliveries and queue, whose keys begin with increasing ids. A commit
// that touches a run of such keys then writes fewer pages, and fsync time
// grows with the pages written.
const appendFill = 0.95

func fill(b *bolt.Bucket) *bolt.Bucket {
	b.FillPercent = appendFill
	return b
}

// appendLog adds an attempt to the delivery log and its indexes. The log
// key is time|seq; each index key ends with the log key, so an index scan
// yields log keys in time order.
func appendLog(tx *bolt.Tx, a *outreach.Attempt) error {
	lg := bucket(tx, "log")
	lg.FillPercent = appendFill
	seq, _ := lg.NextSequence()
	lk := key(u64(uint64(a.Time.UnixNano())), u64(seq))
	if err := putJSON(lg, lk, a); err != nil {
		return err
	}
	if a.WaveID != 0 {
		if err := fill(bucket(tx, "log_by_wave")).Put(key(u64(a.WaveID), lk), nil); err != nil {
			return err
		}
		if err := fill(bucket(tx, "log_by_wave_status")).Put(key(u64(a.WaveID), []byte(a.Outcome), []byte{0}, lk), nil); err != nil {
			return err
		}
	}
	if err := fill(bucket(tx, "log_by_status")).Put(key([]byte(a.Outcome), []byte{0}, lk), nil); err != nil {
		return err
	}
	return fill(bucket(tx, "log_by_email")).Put(key([]byte(outreach.EmailKey(a.Email)), []byte{0}, lk), nil)
}

// LogFilter selects delivery log entries. Zero fields match everything.
type LogFilter struct {
	WaveID uint64
	SendID uint64
	Status string // an attempt outcome: sent, retrying, failed, suppressed, uncertain
	Email  string
	Domain string
	Since  time.Time
	Until  time.Time
	After  string // cursor from a previous page
	Limit  int
}

// Log returns a page of the delivery log, oldest first, and the cursor of
// the next page ("" at the end). It walks the most selective index: the
// address, the wave and status, the wave, the status, or the time range.
func (s *Store) Log(ctx context.Context, f LogFilter) ([]outreach.Attempt, string, error) {
	if f.Limit <= 0 || f.Limit > 10000 {
		f.Limit = 100
	}
	var after []byte
	if f.After != "" {
		var err error
		if after, err = hex.DecodeString(f.After); err != nil || len(after) != 16 {
			return nil, "", outreach.FieldError("after", "%q is not a log cursor", f.After)
		}
	}
	var idx string
	var prefix []byte
	switch {
	case f.Email != "":
		idx, prefix = "log_by_email", key([]byte(outreach.EmailKey(f.Email)), []byte{0})
	case f.WaveID != 0 && f.Status != "":
		idx, prefix = "log_by_wave_status", key(u64(f.WaveID), []byte(f.Status), []byte{0})
	case f.WaveID != 0:
		idx, prefix = "log_by_wave", u64(f.WaveID)
	case f.Status != "":
		idx, prefix = "log_by_status", key([]byte(f.Status), []byte{0})
	}
	var out []outreach.Attempt
	var last []byte
	var next string
	err := s.db.View(func(tx *bolt.Tx) error {
		lg := bucket(tx, "log")
		var cur *bolt.Cursor
		if idx == "" {
			cur = lg.Cursor()
		} else {
			cur = bucket(tx, idx).Cursor()
		}
		start := prefix
		switch {
		case after != nil:
			start = key(prefix, after, []byte{0})
		case !f.Since.IsZero():
			start = key(prefix, u64(uint64(f.Since.UnixNano())))
		}
		var until []byte
		if !f.Until.IsZero() {
			until = u64(uint64(f.Until.UnixNano()))
		}
		n := 0
		for k, v := cur.Seek(start); k != nil && bytes.HasPrefix(k, prefix); k, v = cur.Next() {
			lk := k[len(prefix):]
			if len(lk) != 16 {
				continue
			}
			if until != nil && bytes.Compare(lk[:8], until) >= 0 {
				break
			}
			if idx != "" {
				v = lg.Get(lk)
			}
			var a outreach.Attempt
			if _, err := getJSON(lg, lk, &a); err != nil || v == nil {
				continue
			}
			if (f.Status != "" && a.Outcome != f.Status) || (f.WaveID != 0 && a.WaveID != f.WaveID) ||
				(f.SendID != 0 && a.SendID != f.SendID) || (f.Domain != "" && !strings.EqualFold(outreach.EmailDomain(a.Email), f.Domain)) ||
				(!f.Since.IsZero() && a.Time.Before(f.Since)) {
				continue
			}
			if len(out) == f.Limit {
				next = hex.EncodeToString(last)
				break
			}
			last = bytes.Clone(lk)
			out = append(out, a)
			if n++; n%4096 == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
		}
		return nil
	})
	return out, next, err
}
