package store

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/outreach-coalition/outreach/internal/outreach"
	bolt "go.etcd.io/bbolt"
)

// compactSuffix names the file a compaction writes before it replaces the
// database.
const compactSuffix = ".compact"

// handle is the open database behind a lock, so that CompactLive can
// replace the file while requests come and go. Every transaction holds the
// read side for its whole duration; the swap holds the write side.
type handle struct {
	mu   sync.RWMutex
	db   *bolt.DB
	opts *bolt.Options
}

// View runs fn in a read transaction (bolt.DB.View).
func (h *handle) View(fn func(*bolt.Tx) error) error {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.db.View(fn)
}

// Update runs fn in a write transaction (bolt.DB.Update).
func (h *handle) Update(fn func(*bolt.Tx) error) error {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.db.Update(fn)
}

// Batch runs fn in a write transaction shared with concurrent callers
// (bolt.DB.Batch); fn may run more than once.
func (h *handle) Batch(fn func(*bolt.Tx) error) error {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.db.Batch(fn)
}

// Close closes the database.
func (h *handle) Close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	addressKeys.Delete(h.db)
	return h.db.Close()
}

// exclusive takes the write side of the lock. It first polls TryLock for
// a moment when no transaction is open, which never blocks new readers;
// under steady load there may be no such moment, so after quietWait it
// waits in Lock, which lets open transactions finish and holds new ones
// back. A read opened inside another read in the same goroutine would
// deadlock against that wait, as it already can against a bbolt remap:
// the package never nests transactions.
func (h *handle) exclusive(ctx context.Context) error {
	const quietWait = 100 * time.Millisecond
	tick := time.NewTicker(200 * time.Microsecond)
	defer tick.Stop()
	deadline := time.Now().Add(quietWait)
	for !h.mu.TryLock() {
		if time.Now().After(deadline) {
			h.mu.Lock()
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
	return nil
}

// addressKeys maps each open *bolt.DB to its address key. isSuppressed
// is called from transactions all over the package with nothing but the
// transaction, and must match forgotten addresses by their keyed hash, so
// it looks the key up by tx.DB(). This is the package's one piece of
// shared state, kept on purpose: the alternative, storing the key in the
// file beside the hashes, would let anyone holding a copy of the file test
// guessed addresses against them.
var addressKeys sync.Map

// SetAddressKey sets the secret key of the keyed hash that replaces a
// forgotten address (see Forget). Call it once, before the store is
// shared; without it forgetting is refused and only plain suppressions
// are checked.
func (s *Store) SetAddressKey(key []byte) {
	s.db.mu.Lock()
	defer s.db.mu.Unlock()
	addressKeys.Store(s.db.db, append([]byte(nil), key...))
}

// addressHash returns "hash:" and the keyed hash of an address, or "" when
// the database has no address key.
func addressHash(db *bolt.DB, address string) string {
	k, ok := addressKeys.Load(db)
	if !ok {
		return ""
	}
	m := hmac.New(sha256.New, k.([]byte))
	m.Write([]byte("outreach forgotten address v1\x00"))
	m.Write([]byte(outreach.EmailKey(address)))
	return hashPrefix + hex.EncodeToString(m.Sum(nil)[:16])
}

// hashPrefix starts every keyed hash that stands for a forgotten address.
const hashPrefix = "hash:"

// AddressHash returns the keyed hash that stands for address once it is
// forgotten: "hash:" and 32 hex digits (HMAC-SHA-256 with the address
// key, truncated to 128 bits). It returns "" without an address key.
func (s *Store) AddressHash(address string) string {
	s.db.mu.RLock()
	defer s.db.mu.RUnlock()
	return addressHash(s.db.db, address)
}

// CompactLive rewrites the open database into a fresh file holding only
// live data and swaps it in, so that the bytes of deleted and overwritten
// records are gone from the file (bbolt reuses free pages but never
// clears them). Transactions wait while it runs; it waits for a moment
// when none is open, up to ctx's deadline. It returns the file sizes
// before and after.
func (s *Store) CompactLive(ctx context.Context) (before, after int64, err error) {
	if err := s.db.exclusive(ctx); err != nil {
		return 0, 0, fmt.Errorf("compact: wait for open transactions: %w", err)
	}
	defer s.db.mu.Unlock()
	old := s.db.db
	tmp := s.path + compactSuffix
	os.Remove(tmp)
	dst, err := bolt.Open(tmp, 0o600, s.db.opts)
	if err != nil {
		return 0, 0, fmt.Errorf("compact: %w", err)
	}
	fail := func(err error) (int64, int64, error) {
		dst.Close()
		os.Remove(tmp)
		return 0, 0, fmt.Errorf("compact: %w", err)
	}
	if err := bolt.Compact(dst, old, 64<<20); err != nil {
		return fail(err)
	}
	if err := dst.Sync(); err != nil {
		return fail(err)
	}
	fi, err := os.Stat(s.path)
	if err != nil {
		return fail(err)
	}
	fo, err := os.Stat(tmp)
	if err != nil {
		return fail(err)
	}
	// The compacted database stays open under its new name: renaming an
	// open file keeps its descriptor, map and lock, so no other process
	// can take the lock in between.
	if err := os.Rename(tmp, s.path); err != nil {
		return fail(err)
	}
	syncDir(filepath.Dir(s.path))
	if k, ok := addressKeys.Load(old); ok {
		addressKeys.Store(dst, k)
		addressKeys.Delete(old)
	}
	s.db.db = dst
	if err := old.Close(); err != nil {
		return fi.Size(), fo.Size(), fmt.Errorf("compact: close the old file: %w", err)
	}
	return fi.Size(), fo.Size(), nil
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// errNoAddressKey is returned by Forget when SetAddressKey was not called.
var errNoAddressKey = errors.New("no address key: the daemon sets it from its secret")
