package store

import (
	"context"

	"github.com/outreach-coalition/outreach/internal/outreach"
	bolt "go.etcd.io/bbolt"
)

// CreateWave stores a new wave.
func (s *Store) CreateWave(ctx context.Context, w *outreach.Wave) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b := bucket(tx, "waves")
		w.ID, _ = b.NextSequence()
		w.Created = s.now().UTC()
		if err := putJSON(b, u64(w.ID), w); err != nil {
			return err
		}
		return appendAudit(tx, s.now(), w.CreatedBy, "wave.create", w.Name, w.Template)
	})
}

// UpdateWave stores w over the wave with its id.
func (s *Store) UpdateWave(ctx context.Context, w *outreach.Wave) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b := bucket(tx, "waves")
		if b.Get(u64(w.ID)) == nil {
			return notFound("wave", w.ID)
		}
		return putJSON(b, u64(w.ID), w)
	})
}

// Wave returns a wave by id.
func (s *Store) Wave(ctx context.Context, id uint64) (*outreach.Wave, error) {
	var w outreach.Wave
	err := s.db.View(func(tx *bolt.Tx) error {
		ok, err := getJSON(bucket(tx, "waves"), u64(id), &w)
		if err == nil && !ok {
			err = notFound("wave", id)
		}
		return err
	})
	return &w, err
}

// Waves lists every wave.
func (s *Store) Waves(ctx context.Context) ([]outreach.Wave, error) {
	var out []outreach.Wave
	err := s.db.View(func(tx *bolt.Tx) error {
		b := bucket(tx, "waves")
		return b.ForEach(func(k, _ []byte) error {
			var w outreach.Wave
			_, err := getJSON(b, k, &w)
			out = append(out, w)
			return err
		})
	})
	return out, err
}

// WaveSends returns the sends (runs) of a wave, oldest first.
func (s *Store) WaveSends(ctx context.Context, waveID uint64) ([]outreach.Send, error) {
	all, err := s.Sends(ctx, "")
	var out []outreach.Send
	for _, send := range all {
		if send.WaveID == waveID && send.Kind == outreach.SendWave {
			out = append(out, send)
		}
	}
	return out, err
}
