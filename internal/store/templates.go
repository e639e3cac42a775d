package store

import (
	"bytes"
	"context"
	"maps"
	"time"

	"github.com/outreach-coalition/outreach/internal/outreach"
	bolt "go.etcd.io/bbolt"
)

// TemplateVersion is one stored version of a mail template: every source
// file it needs (its language variants, the layout and partials).
type TemplateVersion struct {
	Name    string            `json:"name"`
	Version uint64            `json:"version"`
	Files   map[string]string `json:"files"`
	By      string            `json:"by"`
	Time    time.Time         `json:"time"`
}

func templateKey(name string, v uint64) []byte { return key([]byte(name), []byte{0}, u64(v)) }

// SaveTemplate stores files as a new version of template name unless they
// equal the latest version. It returns the latest version afterwards and
// whether a new one was made.
func (s *Store) SaveTemplate(ctx context.Context, name string, files map[string]string, by string) (uint64, bool, error) {
	var v uint64
	var created bool
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := bucket(tx, "templates")
		latest, ok, err := latestTemplate(b, name)
		if err != nil {
			return err
		}
		if ok && maps.Equal(latest.Files, files) {
			v = latest.Version
			return nil
		}
		v = latest.Version + 1
		created = true
		return putJSON(b, templateKey(name, v), TemplateVersion{Name: name, Version: v, Files: files, By: by, Time: s.now().UTC()})
	})
	return v, created, err
}

func latestTemplate(b *bolt.Bucket, name string) (TemplateVersion, bool, error) {
	var t TemplateVersion
	prefix := key([]byte(name), []byte{0})
	c := b.Cursor()
	k, _ := c.Seek(templateKey(name, 1<<63))
	if k == nil {
		k, _ = c.Last()
	} else {
		k, _ = c.Prev()
	}
	if k == nil || !bytes.HasPrefix(k, prefix) {
		return t, false, nil
	}
	_, err := getJSON(b, k, &t)
	return t, true, err
}

// Template returns version v of template name; v == 0 means the latest.
func (s *Store) Template(ctx context.Context, name string, v uint64) (*TemplateVersion, error) {
	var t TemplateVersion
	err := s.db.View(func(tx *bolt.Tx) error {
		b := bucket(tx, "templates")
		if v == 0 {
			var ok bool
			var err error
			if t, ok, err = latestTemplate(b, name); err == nil && !ok {
				err = notFound("template", name)
			}
			return err
		}
		ok, err := getJSON(b, templateKey(name, v), &t)
		if err == nil && !ok {
			err = outreach.Errorf(outreach.ENOTFOUND, "template %s version %d not found", name, v)
		}
		return err
	})
	return &t, err
}

// Templates lists the latest version of every template.
func (s *Store) Templates(ctx context.Context) ([]TemplateVersion, error) {
	var out []TemplateVersion
	err := s.db.View(func(tx *bolt.Tx) error {
		b := bucket(tx, "templates")
		var prev string
		var cur TemplateVersion
		err := b.ForEach(func(k, _ []byte) error {
			name := string(k[:bytes.IndexByte(k, 0)])
			if name != prev && prev != "" {
				out = append(out, cur)
			}
			prev = name
			_, err := getJSON(b, k, &cur)
			return err
		})
		if prev != "" {
			out = append(out, cur)
		}
		return err
	})
	return out, err
}
