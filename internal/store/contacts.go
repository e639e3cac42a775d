package store

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/outreach-coalition/outreach/internal/outreach"
	bolt "go.etcd.io/bbolt"
)

// Match selects contacts; nil matches all.
type Match func(*outreach.Contact) bool

// Upsert outcomes.
const (
	Created   = "created"
	Updated   = "updated"
	Unchanged = "unchanged"
)

// PutFunc stores one contact inside an import.
type PutFunc func(c *outreach.Contact) (string, error)

// ImportContacts runs fill inside one write transaction; fill calls put for
// each contact. When fill returns an error nothing is written: an import is
// all-or-nothing unless its caller skips the bad rows itself.
//
// put merges into an existing contact with the same EmailKey: non-empty
// fields replace stored ones, empty ones leave them, tags and regions are
// replaced when given, attributes are merged. An import never reactivates
// a contact whose status is not active (only ReactivateContact does), but
// may set a status other than active.
func (s *Store) ImportContacts(ctx context.Context, fill func(put PutFunc) error) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		contacts, byEmail := bucket(tx, "contacts"), bucket(tx, "contacts_by_email")
		// New contacts are appended (ids and, below, index keys in
		// order): fill split pages to 90%, not bbolt's default 50%.
		contacts.FillPercent, byEmail.FillPercent = 0.9, 0.9
		now := s.now().UTC()
		var old outreach.Contact
		n := 0
		// The index entries of new contacts are put at the end, in key
		// order: bbolt splits nodes only at commit, so unordered puts
		// into one transaction cost O(n²) memmove (200k rows: 25 s
		// instead of 3 s).
		created := map[string]uint64{}
		var newKeys []string
		put := func(c *outreach.Contact) (string, error) {
			if n++; n%4096 == 0 && ctx.Err() != nil {
				return "", ctx.Err()
			}
			addr, err := outreach.ParseEmail(c.Email)
			if err != nil {
				return "", err
			}
			k := outreach.EmailKey(addr)
			result := Created
			id := byEmail.Get([]byte(k))
			if cid, ok := created[k]; ok {
				id = u64(cid)
			}
			if id != nil {
				if err := decodeContact(contacts.Get(id), &old, false); err != nil {
					return "", err
				}
				merged := mergeContact(&old, c)
				merged.Normalize()
				if err := merged.Validate(); err != nil {
					return "", err
				}
				if contactEqual(&old, &merged) {
					return Unchanged, nil
				}
				*c = merged
				c.Updated = now
				result = Updated
			} else {
				c.Normalize()
				if err := c.Validate(); err != nil {
					return "", err
				}
				id, _ := contacts.NextSequence()
				c.ID = id
				c.Created, c.Updated = now, now
				created[k] = id
				newKeys = append(newKeys, k)
			}
			// bbolt keeps the value slice until commit: never reuse it.
			return result, contacts.Put(u64(c.ID), encodeContact(nil, c))
		}
		if err := fill(put); err != nil {
			return err
		}
		slices.Sort(newKeys)
		for _, k := range newKeys {
			if err := byEmail.Put([]byte(k), u64(created[k])); err != nil {
				return err
			}
		}
		return nil
	})
}

func mergeContact(old, c *outreach.Contact) outreach.Contact {
	m := *old
	m.Regions = slices.Clone(old.Regions)
	m.Tags = slices.Clone(old.Tags)
	m.Attrs = maps.Clone(old.Attrs)
	set := func(dst *string, v string) {
		if v = strings.TrimSpace(v); v != "" {
			*dst = v
		}
	}
	set(&m.Name, c.Name)
	set(&m.Organization, c.Organization)
	set(&m.Kind, c.Kind)
	set(&m.Country, c.Country)
	set(&m.Language, c.Language)
	set(&m.TimeZone, c.TimeZone)
	set(&m.Consent.Source, c.Consent.Source)
	if !c.Consent.Date.IsZero() {
		m.Consent.Date = c.Consent.Date
	}
	if len(c.Regions) > 0 {
		m.Regions = slices.Clone(c.Regions)
	}
	if len(c.Tags) > 0 {
		m.Tags = slices.Clone(c.Tags)
	}
	for k, v := range c.Attrs {
		if m.Attrs == nil {
			m.Attrs = map[string]string{}
		}
		m.Attrs[k] = v
	}
	// Never reactivate: only a move away from active is taken from input.
	if old.Status == outreach.StatusActive && c.Status != "" {
		m.Status = strings.ToLower(strings.TrimSpace(c.Status))
	}
	return m
}

func contactEqual(a, b *outreach.Contact) bool {
	return a.Email == b.Email && a.Name == b.Name && a.Organization == b.Organization && a.Kind == b.Kind &&
		a.Country == b.Country && a.Language == b.Language && a.TimeZone == b.TimeZone && a.Status == b.Status &&
		a.Consent.Source == b.Consent.Source && a.Consent.Date.Equal(b.Consent.Date) &&
		slices.Equal(a.Regions, b.Regions) && slices.Equal(a.Tags, b.Tags) && maps.Equal(a.Attrs, b.Attrs)
}

// Contact returns the contact with the given address.
func (s *Store) Contact(ctx context.Context, email string) (*outreach.Contact, error) {
	var c *outreach.Contact
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		c, err = contactByEmail(tx, email)
		return err
	})
	return c, err
}

// ContactByID returns the contact with the given id.
func (s *Store) ContactByID(ctx context.Context, id uint64) (*outreach.Contact, error) {
	var c outreach.Contact
	err := s.db.View(func(tx *bolt.Tx) error {
		b := bucket(tx, "contacts").Get(u64(id))
		if b == nil {
			return notFound("contact", id)
		}
		return decodeContact(b, &c, false)
	})
	if err != nil {
		return nil, err
	}
	return &c, nil
}

func contactByEmail(tx *bolt.Tx, email string) (*outreach.Contact, error) {
	id := bucket(tx, "contacts_by_email").Get([]byte(outreach.EmailKey(email)))
	if id == nil {
		return nil, notFound("contact", email)
	}
	var c outreach.Contact
	if err := decodeContact(bucket(tx, "contacts").Get(id), &c, false); err != nil {
		return nil, fmt.Errorf("contact %s: %w", email, err)
	}
	return &c, nil
}

func putContact(tx *bolt.Tx, c *outreach.Contact) error {
	return bucket(tx, "contacts").Put(u64(c.ID), encodeContact(nil, c))
}

// ContactPatch changes some fields of a contact; nil fields stay.
type ContactPatch struct {
	Name, Organization, Kind, Country, Language, TimeZone *string
	Regions, Tags                                         *[]string
	Attrs                                                 map[string]*string // nil value deletes
	Status                                                *string            // may not reactivate
}

// UpdateContact applies p to the contact with address email.
func (s *Store) UpdateContact(ctx context.Context, email string, p ContactPatch) (*outreach.Contact, error) {
	var c *outreach.Contact
	err := s.db.Update(func(tx *bolt.Tx) error {
		var err error
		if c, err = contactByEmail(tx, email); err != nil {
			return err
		}
		for dst, v := range map[*string]*string{&c.Name: p.Name, &c.Organization: p.Organization, &c.Kind: p.Kind, &c.Country: p.Country, &c.Language: p.Language, &c.TimeZone: p.TimeZone} {
			if v != nil {
				*dst = *v
			}
		}
		if p.Regions != nil {
			c.Regions = *p.Regions
		}
		if p.Tags != nil {
			c.Tags = *p.Tags
		}
		for k, v := range p.Attrs {
			if c.Attrs == nil {
				c.Attrs = map[string]string{}
			}
			if v == nil {
				delete(c.Attrs, k)
			} else {
				c.Attrs[k] = *v
			}
		}
		if p.Status != nil && *p.Status != c.Status {
			if *p.Status == outreach.StatusActive {
				return outreach.FieldError("status", "an edit cannot reactivate a %s contact: use `outreach contacts reactivate` with a reason", c.Status)
			}
			c.Status = *p.Status
		}
		c.Normalize()
		if err := c.Validate(); err != nil {
			return err
		}
		c.Updated = s.now().UTC()
		return putContact(tx, c)
	})
	return c, err
}

// ReactivateContact returns an unsubscribed, bounced or complained contact
// to active and lifts its suppression. reason is required.
func (s *Store) ReactivateContact(ctx context.Context, email, reason, by string) (*outreach.Contact, error) {
	if reason == "" {
		return nil, outreach.FieldError("reason", "is required to reactivate a contact")
	}
	var c *outreach.Contact
	err := s.db.Update(func(tx *bolt.Tx) error {
		var err error
		if c, err = contactByEmail(tx, email); err != nil {
			return err
		}
		c.Status = outreach.StatusActive
		c.Updated = s.now().UTC()
		if err := bucket(tx, "suppressions").Delete([]byte(c.Key())); err != nil {
			return err
		}
		if err := putContact(tx, c); err != nil {
			return err
		}
		return appendAudit(tx, s.now(), by, "contact.reactivate", c.Email, reason)
	})
	return c, err
}

// DeleteContact removes a contact (its deliveries and log entries stay).
func (s *Store) DeleteContact(ctx context.Context, email string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		k := []byte(outreach.EmailKey(email))
		id := bucket(tx, "contacts_by_email").Get(k)
		if id == nil {
			return notFound("contact", email)
		}
		if err := bucket(tx, "contacts").Delete(id); err != nil {
			return err
		}
		return bucket(tx, "contacts_by_email").Delete(k)
	})
}

// CountContacts counts the contacts that match.
func (s *Store) CountContacts(ctx context.Context, match Match) (int, error) {
	n := 0
	err := s.db.View(func(tx *bolt.Tx) error {
		var c outreach.Contact
		cur := bucket(tx, "contacts").Cursor()
		i := 0
		for k, v := cur.First(); k != nil; k, v = cur.Next() {
			if i++; i%65536 == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
			if err := decodeContact(v, &c, true); err != nil {
				return fmt.Errorf("contact %d: %w", btou(k), err)
			}
			if match == nil || match(&c) {
				n++
			}
		}
		return nil
	})
	return n, err
}

// EachContact calls fn, in id order, with a copy of each matching contact
// whose id is greater than after, until fn returns false.
func (s *Store) EachContact(ctx context.Context, match Match, after uint64, fn func(*outreach.Contact) bool) error {
	return s.db.View(func(tx *bolt.Tx) error {
		var c outreach.Contact
		cur := bucket(tx, "contacts").Cursor()
		for k, v := cur.Seek(u64(after + 1)); k != nil; k, v = cur.Next() {
			if err := decodeContact(v, &c, true); err != nil {
				return fmt.Errorf("contact %d: %w", btou(k), err)
			}
			if match != nil && !match(&c) {
				continue
			}
			var own outreach.Contact
			if err := decodeContact(v, &own, false); err != nil {
				return err
			}
			if !fn(&own) {
				return nil
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
		return nil
	})
}

// ListContacts returns up to limit matching contacts with id > after, and
// the cursor for the next page (0 when there is none).
func (s *Store) ListContacts(ctx context.Context, match Match, after uint64, limit int) ([]outreach.Contact, uint64, error) {
	var out []outreach.Contact
	var next uint64
	err := s.EachContact(ctx, match, after, func(c *outreach.Contact) bool {
		if len(out) == limit {
			next = out[len(out)-1].ID
			return false
		}
		out = append(out, *c)
		return true
	})
	return out, next, err
}
