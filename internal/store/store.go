// Package store keeps outreach's state in one bbolt file. It implements the
// domain's operations as transactions, so that every state change that
// matters is committed before it is acted on. schema.go documents every
// bucket.
package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/outreach-coalition/outreach/internal/outreach"
	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// FileName is the database's name inside the data directory.
const FileName = "outreach.db"

// Options tune Open.
type Options struct {
	// NoSync skips fsync on commit: for tests and benchmarks only.
	NoSync bool
	// LockTimeout bounds the wait for another process's lock (default 1s).
	LockTimeout time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Store is an open database.
type Store struct {
	db   *handle
	path string
	now  func() time.Time
}

// ErrLocked is returned by Open when another process holds the database.
var ErrLocked = errors.New("in use by another outreach process")

// Open opens (creating if needed) the database in dir and migrates it to
// the current schema. A second process opening the same directory gets
// ErrLocked within LockTimeout.
func Open(dir string, o Options) (*Store, error) {
	if o.LockTimeout == 0 {
		o.LockTimeout = time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	path := filepath.Join(dir, FileName)
	os.Remove(path + compactSuffix) // left by a compaction that did not finish
	bo := &bolt.Options{Timeout: o.LockTimeout, NoSync: o.NoSync, FreelistType: bolt.FreelistMapType, NoFreelistSync: true}
	db, err := bolt.Open(path, 0o600, bo)
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("open %s: %w (stop the other `outreach serve` using this data directory, or pass another --data)", path, ErrLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	s := &Store{db: &handle{db: db, opts: bo}, path: path, now: o.Now}
	if err := s.migrate(); err != nil {
		s.db.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Path returns the database file's path.
func (s *Store) Path() string { return s.path }

// Backup writes a consistent copy of the database to w while the store
// stays open for reads and writes. It returns the bytes written.
func (s *Store) Backup(w io.Writer) (int64, error) {
	var n int64
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	return n, err
}

// Compact rewrites the database at dir/FileName into a fresh file without
// free pages and replaces the original. The database must not be open.
// It returns the sizes before and after.
func Compact(dir string) (before, after int64, err error) {
	path := filepath.Join(dir, FileName)
	src, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second, ReadOnly: true})
	if errors.Is(err, berrors.ErrTimeout) {
		return 0, 0, fmt.Errorf("compact %s: %w: stop the daemon first", path, ErrLocked)
	}
	if err != nil {
		return 0, 0, fmt.Errorf("compact: %w", err)
	}
	defer src.Close()
	tmp := path + ".compact"
	os.Remove(tmp)
	dst, err := bolt.Open(tmp, 0o600, nil)
	if err != nil {
		return 0, 0, fmt.Errorf("compact: %w", err)
	}
	if err := bolt.Compact(dst, src, 64<<20); err != nil {
		dst.Close()
		os.Remove(tmp)
		return 0, 0, fmt.Errorf("compact: %w", err)
	}
	dst.Close()
	fi, _ := os.Stat(path)
	fo, _ := os.Stat(tmp)
	src.Close()
	if err := os.Rename(tmp, path); err != nil {
		return 0, 0, fmt.Errorf("compact: %w", err)
	}
	return fi.Size(), fo.Size(), nil
}

// migrations run in order; migrations[i] moves the schema from i to i+1.
// Append only: never edit one that has shipped.
var migrations = []func(tx *bolt.Tx) error{
	// 0 -> 1: create every bucket.
	func(tx *bolt.Tx) error {
		for _, name := range buckets {
			if _, err := tx.CreateBucketIfNotExists([]byte(name)); err != nil {
				return err
			}
		}
		return nil
	},
	// 1 -> 2: the delivery log's four index buckets become tagged keys in
	// log_index (see schema.go). A database created at schema 0 has
	// log_index and none of the four already.
	func(tx *bolt.Tx) error {
		idx, err := tx.CreateBucketIfNotExists([]byte("log_index"))
		if err != nil {
			return err
		}
		idx.FillPercent = appendFill
		for _, old := range []struct {
			tag  byte
			name string
		}{{tagWave, "log_by_wave"}, {tagWaveStatus, "log_by_wave_status"}, {tagStatus, "log_by_status"}, {tagEmail, "log_by_email"}} {
			b := tx.Bucket([]byte(old.name))
			if b == nil {
				continue
			}
			if err := b.ForEach(func(k, _ []byte) error {
				return idx.Put(key([]byte{old.tag}, k), nil)
			}); err != nil {
				return fmt.Errorf("copy %s: %w", old.name, err)
			}
			if err := tx.DeleteBucket([]byte(old.name)); err != nil {
				return fmt.Errorf("delete %s: %w", old.name, err)
			}
		}
		return nil
	},
}

// SchemaVersion is the version this build writes.
var SchemaVersion = uint64(len(migrations))

func (s *Store) migrate() error {
	return s.db.Update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucketIfNotExists([]byte("meta"))
		if err != nil {
			return err
		}
		var v uint64
		if b := meta.Get([]byte("schema")); b != nil {
			v = binary.BigEndian.Uint64(b)
		}
		if v > SchemaVersion {
			return fmt.Errorf("database schema %d is newer than this outreach (%d): upgrade outreach", v, SchemaVersion)
		}
		for ; v < SchemaVersion; v++ {
			if err := migrations[v](tx); err != nil {
				return fmt.Errorf("migrate schema %d to %d: %w", v, v+1, err)
			}
			if err := meta.Put([]byte("schema"), u64(v+1)); err != nil {
				return err
			}
		}
		// Buckets added to the list without a migration are a bug caught here.
		for _, name := range buckets {
			if tx.Bucket([]byte(name)) == nil {
				return fmt.Errorf("bucket %s missing at schema %d: add a migration", name, v)
			}
		}
		return nil
	})
}

// Schema returns the stored schema version.
func (s *Store) Schema() (uint64, error) {
	var v uint64
	err := s.db.View(func(tx *bolt.Tx) error {
		v = binary.BigEndian.Uint64(tx.Bucket([]byte("meta")).Get([]byte("schema")))
		return nil
	})
	return v, err
}

func u64(v uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, v)
	return b
}

func btou(b []byte) uint64 { return binary.BigEndian.Uint64(b) }

func key(parts ...[]byte) []byte {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	k := make([]byte, 0, n)
	for _, p := range parts {
		k = append(k, p...)
	}
	return k
}

func bucket(tx *bolt.Tx, name string) *bolt.Bucket { return tx.Bucket([]byte(name)) }

func putJSON(b *bolt.Bucket, k []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(k, data)
}

func getJSON(b *bolt.Bucket, k []byte, v any) (bool, error) {
	data := b.Get(k)
	if data == nil {
		return false, nil
	}
	return true, json.Unmarshal(data, v)
}

func notFound(what string, id any) error {
	return outreach.Errorf(outreach.ENOTFOUND, "%s %v not found", what, id)
}
