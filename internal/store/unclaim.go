package store

import (
	"context"

	"github.com/outreach-coalition/outreach/internal/outreach"
	bolt "go.etcd.io/bbolt"
)

// Unclaim returns claimed deliveries that were never handed to SMTP (their
// send was paused or cancelled meanwhile) to the queue, as if they had not
// been claimed: no delivery log entry, the attempt not counted. A delivery
// of a cancelled send becomes cancelled.
func (s *Store) Unclaim(ctx context.Context, ids []uint64) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		deliveries, inflight, queue := bucket(tx, "deliveries"), bucket(tx, "inflight"), bucket(tx, "queue")
		now := s.now().UTC()
		touched := newTouchedSends(tx)
		for _, id := range ids {
			var d outreach.Delivery
			if ok, err := getJSON(deliveries, u64(id), &d); err != nil || !ok {
				continue
			}
			stored := d
			if !claimedView(inflight, &d) {
				continue
			}
			send, err := touched.get(d.SendID)
			if err != nil {
				return err
			}
			d.Attempts, d.Updated = stored.Attempts, now
			if stored.State == outreach.DeliverySending {
				d.Attempts = max(d.Attempts-1, 0)
			}
			if send.State == outreach.SendCancelled {
				send.Counts.Move(d.State, outreach.DeliveryCancelled)
				d.State = outreach.DeliveryCancelled
			} else {
				send.Counts.Move(d.State, outreach.DeliveryQueued)
				d.State = outreach.DeliveryQueued
				if err := queue.Put(queueKey(d.SendID, now, d.ID), nil); err != nil {
					return err
				}
			}
			if err := putJSON(deliveries, u64(id), d); err != nil {
				return err
			}
			if err := inflight.Delete(u64(id)); err != nil {
				return err
			}
		}
		_, err := touched.save(now)
		return err
	})
}
