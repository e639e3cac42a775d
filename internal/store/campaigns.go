package store

import (
	"context"

	"github.com/outreach-coalition/outreach/internal/outreach"
	bolt "go.etcd.io/bbolt"
)

// CreateCampaign validates and stores a new campaign.
func (s *Store) CreateCampaign(ctx context.Context, c *outreach.Campaign) error {
	if err := c.Validate(); err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		b := bucket(tx, "campaigns")
		var dup bool
		b.ForEach(func(k, v []byte) error {
			var o outreach.Campaign
			getJSON(b, k, &o)
			dup = dup || o.Name == c.Name
			return nil
		})
		if dup {
			return outreach.Errorf(outreach.ECONFLICT, "a campaign named %q exists", c.Name)
		}
		c.ID, _ = b.NextSequence()
		c.Created = s.now().UTC()
		return putJSON(b, u64(c.ID), c)
	})
}

// EnsureDefaultCampaign creates campaign 1 from c when there is no campaign
// yet, and returns campaign 1.
func (s *Store) EnsureDefaultCampaign(ctx context.Context, c *outreach.Campaign) (*outreach.Campaign, error) {
	if cur, err := s.Campaign(ctx, 1); err == nil {
		return cur, nil
	}
	if err := s.CreateCampaign(ctx, c); err != nil {
		return nil, err
	}
	return c, nil
}

// UpdateCampaign replaces a campaign's settings.
func (s *Store) UpdateCampaign(ctx context.Context, c *outreach.Campaign) error {
	if err := c.Validate(); err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		b := bucket(tx, "campaigns")
		if b.Get(u64(c.ID)) == nil {
			return notFound("campaign", c.ID)
		}
		return putJSON(b, u64(c.ID), c)
	})
}

// Campaign returns a campaign by id.
func (s *Store) Campaign(ctx context.Context, id uint64) (*outreach.Campaign, error) {
	var c outreach.Campaign
	err := s.db.View(func(tx *bolt.Tx) error {
		ok, err := getJSON(bucket(tx, "campaigns"), u64(id), &c)
		if err == nil && !ok {
			err = notFound("campaign", id)
		}
		return err
	})
	return &c, err
}

// Campaigns lists every campaign.
func (s *Store) Campaigns(ctx context.Context) ([]outreach.Campaign, error) {
	var out []outreach.Campaign
	err := s.db.View(func(tx *bolt.Tx) error {
		b := bucket(tx, "campaigns")
		return b.ForEach(func(k, v []byte) error {
			var c outreach.Campaign
			_, err := getJSON(b, k, &c)
			out = append(out, c)
			return err
		})
	})
	return out, err
}

// SaveSegment stores a named filter (already parsed by the caller).
func (s *Store) SaveSegment(ctx context.Context, seg outreach.Segment) error {
	if seg.Name == "" {
		return outreach.FieldError("name", "is required")
	}
	return s.db.Update(func(tx *bolt.Tx) error { return putJSON(bucket(tx, "segments"), []byte(seg.Name), seg) })
}

// Segment returns a saved segment.
func (s *Store) Segment(ctx context.Context, name string) (*outreach.Segment, error) {
	var seg outreach.Segment
	err := s.db.View(func(tx *bolt.Tx) error {
		ok, err := getJSON(bucket(tx, "segments"), []byte(name), &seg)
		if err == nil && !ok {
			err = notFound("segment", name)
		}
		return err
	})
	return &seg, err
}

// Segments lists saved segments by name.
func (s *Store) Segments(ctx context.Context) ([]outreach.Segment, error) {
	var out []outreach.Segment
	err := s.db.View(func(tx *bolt.Tx) error {
		b := bucket(tx, "segments")
		return b.ForEach(func(k, v []byte) error {
			var seg outreach.Segment
			_, err := getJSON(b, k, &seg)
			out = append(out, seg)
			return err
		})
	})
	return out, err
}

// DeleteSegment removes a saved segment.
func (s *Store) DeleteSegment(ctx context.Context, name string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		if bucket(tx, "segments").Get([]byte(name)) == nil {
			return notFound("segment", name)
		}
		return bucket(tx, "segments").Delete([]byte(name))
	})
}
