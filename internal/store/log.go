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

// Tags of the delivery log's indexes in the log_index bucket (schema.go):
// each key is one tag byte followed by the index's own key. Keeping the
// four indexes in one B-tree makes an outbox commit write one leaf and
// branch path for them instead of four.
const (
	tagWave       = 'w' // wave id|time|seq
	tagWaveStatus = 'x' // wave id|outcome|0x00|time|seq
	tagStatus     = 's' // outcome|0x00|time|seq
	tagEmail      = 'e' // EmailKey|0x00|time|seq
)

// appendLog adds an attempt to the delivery log and its indexes. The log
// key is time|seq; each index key ends with the log key, so an index scan
// yields log keys in time order.
func appendLog(tx *bolt.Tx, a *outreach.Attempt) error {
	lg := fill(bucket(tx, "log"))
	seq, _ := lg.NextSequence()
	lk := key(u64(uint64(a.Time.UnixNano())), u64(seq))
	if err := putJSON(lg, lk, a); err != nil {
		return err
	}
	idx := fill(bucket(tx, "log_index"))
	if a.WaveID != 0 {
		if err := idx.Put(key([]byte{tagWave}, u64(a.WaveID), lk), nil); err != nil {
			return err
		}
		if err := idx.Put(key([]byte{tagWaveStatus}, u64(a.WaveID), []byte(a.Outcome), []byte{0}, lk), nil); err != nil {
			return err
		}
	}
	if err := idx.Put(key([]byte{tagStatus}, []byte(a.Outcome), []byte{0}, lk), nil); err != nil {
		return err
	}
	return idx.Put(key([]byte{tagEmail}, []byte(outreach.EmailKey(a.Email)), []byte{0}, lk), nil)
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
	// prefix selects one index's keys in log_index; nil walks the log.
	var prefix []byte
	switch {
	case f.Email != "":
		prefix = key([]byte{tagEmail}, []byte(outreach.EmailKey(f.Email)), []byte{0})
	case f.WaveID != 0 && f.Status != "":
		prefix = key([]byte{tagWaveStatus}, u64(f.WaveID), []byte(f.Status), []byte{0})
	case f.WaveID != 0:
		prefix = key([]byte{tagWave}, u64(f.WaveID))
	case f.Status != "":
		prefix = key([]byte{tagStatus}, []byte(f.Status), []byte{0})
	}
	byIndex := prefix != nil
	var out []outreach.Attempt
	var last []byte
	var next string
	err := s.db.View(func(tx *bolt.Tx) error {
		lg := bucket(tx, "log")
		cur := lg.Cursor()
		if byIndex {
			cur = bucket(tx, "log_index").Cursor()
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
			if byIndex {
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
