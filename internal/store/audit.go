package store

import (
	"context"
	"time"

	bolt "go.etcd.io/bbolt"
)

// AuditEntry records who did what and when. The audit bucket is
// append-only: nothing in this package rewrites an entry except forgetting
// a person's data.
type AuditEntry struct {
	Time   time.Time `json:"time"`
	User   string    `json:"user"`
	Action string    `json:"action"` // e.g. wave.create, endorsement.confirm
	Object string    `json:"object"`
	Detail string    `json:"detail,omitempty"`
}

func appendAudit(tx *bolt.Tx, now time.Time, user, action, object, detail string) error {
	b := bucket(tx, "audit")
	seq, _ := b.NextSequence()
	return putJSON(b, key(u64(uint64(now.UnixNano())), u64(seq)), AuditEntry{Time: now.UTC(), User: user, Action: action, Object: object, Detail: detail})
}

// Audit appends an entry to the audit trail.
func (s *Store) Audit(ctx context.Context, user, action, object, detail string) error {
	return s.db.Update(func(tx *bolt.Tx) error { return appendAudit(tx, s.now(), user, action, object, detail) })
}

// AuditLog returns entries since the given time (zero: all), optionally
// for one user, oldest first, at most limit.
func (s *Store) AuditLog(ctx context.Context, user string, since time.Time, limit int) ([]AuditEntry, error) {
	var out []AuditEntry
	err := s.db.View(func(tx *bolt.Tx) error {
		cur := bucket(tx, "audit").Cursor()
		start := []byte{}
		if !since.IsZero() {
			start = u64(uint64(since.UnixNano()))
		}
		for k, v := cur.Seek(start); k != nil && len(out) < limit; k, v = cur.Next() {
			var e AuditEntry
			if _, err := getJSON(bucket(tx, "audit"), k, &e); err != nil {
				return err
			}
			_ = v
			if user == "" || e.User == user {
				out = append(out, e)
			}
		}
		return nil
	})
	return out, err
}

// AuditSeq returns the audit trail's sequence: it grows with every entry,
// so a caller can tell whether anything was audited meanwhile.
func (s *Store) AuditSeq() uint64 {
	var seq uint64
	s.db.View(func(tx *bolt.Tx) error {
		seq = bucket(tx, "audit").Sequence()
		return nil
	})
	return seq
}
