package store

import (
	"context"
	"time"

	"github.com/outreach-coalition/outreach/internal/outreach"
	bolt "go.etcd.io/bbolt"
)

// Suppress adds address to the suppression list (or refreshes its entry)
// and, when a contact has that address, moves the contact's status to
// match the reason (unsubscribed, bounced, complained).
func (s *Store) Suppress(ctx context.Context, address, reason, source string) error {
	addr, err := outreach.ParseEmail(address)
	if err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		if err := suppress(tx, s.now(), addr, reason, source); err != nil {
			return err
		}
		return appendAudit(tx, s.now(), source, "suppress.add", addr, reason)
	})
}

// ImportSuppressions adds every address in one transaction (an existing
// opt-out list). It returns how many were new.
func (s *Store) ImportSuppressions(ctx context.Context, addrs []string, reason, source string) (int, error) {
	n := 0
	err := s.db.Update(func(tx *bolt.Tx) error {
		for _, a := range addrs {
			if bucket(tx, "suppressions").Get([]byte(outreach.EmailKey(a))) == nil {
				n++
			}
			if err := suppress(tx, s.now(), a, reason, source); err != nil {
				return err
			}
		}
		return appendAudit(tx, s.now(), source, "suppress.import", "", reason)
	})
	return n, err
}

func suppress(tx *bolt.Tx, now time.Time, addr, reason, source string) error {
	k := []byte(outreach.EmailKey(addr))
	if err := putJSON(bucket(tx, "suppressions"), k, outreach.Suppression{Address: string(k), Reason: reason, Source: source, Time: now.UTC()}); err != nil {
		return err
	}
	status := ""
	switch reason {
	case outreach.StatusUnsubscribed, outreach.StatusBounced, outreach.StatusComplained:
		status = reason
	}
	if status == "" {
		return nil
	}
	c, err := contactByEmail(tx, addr)
	if err != nil {
		return nil // suppressing an address that is no contact is fine
	}
	if c.Status == status {
		return nil
	}
	c.Status = status
	c.Updated = now.UTC()
	return putContact(tx, c)
}

// Unsuppress removes address from the suppression list, under its own key
// and under its keyed hash if it was forgotten (someone typing the address
// decides to write to it again). It does not reactivate a contact: that
// takes ReactivateContact.
func (s *Store) Unsuppress(ctx context.Context, address, by string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b := bucket(tx, "suppressions")
		found := false
		for _, k := range []string{outreach.EmailKey(address), addressHash(tx.DB(), address)} {
			if k == "" || b.Get([]byte(k)) == nil {
				continue
			}
			found = true
			if err := b.Delete([]byte(k)); err != nil {
				return err
			}
		}
		if !found {
			return notFound("suppression", address)
		}
		return appendAudit(tx, s.now(), by, "suppress.remove", address, "")
	})
}

// Suppressed reports whether address is on the suppression list.
func (s *Store) Suppressed(ctx context.Context, address string) (bool, error) {
	var ok bool
	err := s.db.View(func(tx *bolt.Tx) error {
		ok = isSuppressed(tx, address)
		return nil
	})
	return ok, err
}

// isSuppressed reports whether address is on the suppression list, under
// its own key or, once forgotten, under its keyed hash (see Forget).
func isSuppressed(tx *bolt.Tx, address string) bool {
	b := bucket(tx, "suppressions")
	if b.Get([]byte(outreach.EmailKey(address))) != nil {
		return true
	}
	h := addressHash(tx.DB(), address)
	return h != "" && b.Get([]byte(h)) != nil
}

// Suppressions lists the suppression list in address order.
func (s *Store) Suppressions(ctx context.Context) ([]outreach.Suppression, error) {
	var out []outreach.Suppression
	err := s.db.View(func(tx *bolt.Tx) error {
		return bucket(tx, "suppressions").ForEach(func(k, v []byte) error {
			var sup outreach.Suppression
			if _, err := getJSON(bucket(tx, "suppressions"), k, &sup); err != nil {
				return err
			}
			out = append(out, sup)
			return nil
		})
	})
	return out, err
}
