package store

import (
	"bytes"
	"context"
	"time"

	bolt "go.etcd.io/bbolt"
)

// CountLog counts the delivery log entries with an outcome at or after
// since, of one wave when waveID is not 0. It walks index keys only
// (the status and wave-status keys of log_index) and decodes no entry, so counting a
// day of a million-entry log stays cheap.
func (s *Store) CountLog(ctx context.Context, waveID uint64, outcome string, since time.Time) (int, error) {
	prefix := key([]byte{tagStatus}, []byte(outcome), []byte{0})
	if waveID != 0 {
		prefix = key([]byte{tagWaveStatus}, u64(waveID), []byte(outcome), []byte{0})
	}
	n := 0
	err := s.db.View(func(tx *bolt.Tx) error {
		cur := bucket(tx, "log_index").Cursor()
		start := prefix
		if !since.IsZero() {
			start = key(prefix, u64(uint64(since.UnixNano())))
		}
		for k, _ := cur.Seek(start); k != nil && bytes.HasPrefix(k, prefix); k, _ = cur.Next() {
			if n++; n%65536 == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
		}
		return nil
	})
	return n, err
}
