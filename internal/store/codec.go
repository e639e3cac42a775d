package store

import (
	"encoding/binary"
	"errors"
	"time"
	"unsafe"

	"github.com/outreach-coalition/outreach/internal/outreach"
)

// Contacts are stored in a compact binary form rather than JSON: a segment
// count decodes every contact, and at a million contacts JSON alone would
// take seconds. Layout (version 1): a version byte, then uvarint ID, then
// length-prefixed strings Email, Name, Organization, Kind, Country,
// Language, TimeZone, Status, Consent.Source; then Regions and Tags as a
// uvarint count of strings; Attrs as a count of key/value pairs; then
// varint unix nanoseconds for Consent.Date, Created, Updated (0 = zero time).

const contactCodecV1 = 1

var errCorrupt = errors.New("corrupt contact record")

func encodeContact(buf []byte, c *outreach.Contact) []byte {
	buf = append(buf[:0], contactCodecV1)
	buf = binary.AppendUvarint(buf, c.ID)
	for _, s := range [...]string{c.Email, c.Name, c.Organization, c.Kind, c.Country, c.Language, c.TimeZone, c.Status, c.Consent.Source} {
		buf = appendString(buf, s)
	}
	for _, list := range [...][]string{c.Regions, c.Tags} {
		buf = binary.AppendUvarint(buf, uint64(len(list)))
		for _, s := range list {
			buf = appendString(buf, s)
		}
	}
	buf = binary.AppendUvarint(buf, uint64(len(c.Attrs)))
	for k, v := range c.Attrs {
		buf = appendString(buf, k)
		buf = appendString(buf, v)
	}
	for _, t := range [...]time.Time{c.Consent.Date, c.Created, c.Updated} {
		var n int64
		if !t.IsZero() {
			n = t.UnixNano()
		}
		buf = binary.AppendVarint(buf, n)
	}
	return buf
}

func appendString(buf []byte, s string) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(s)))
	return append(buf, s...)
}

// decodeContact decodes b into c, reusing c's slices and map. With borrow
// set, strings point into b instead of being copied: only for callers that
// drop c before b's transaction ends (bbolt's memory is valid only
// inside its transaction), such as a segment count.
func decodeContact(b []byte, c *outreach.Contact, borrow bool) error {
	d := decoder{b: b, borrow: borrow}
	if d.byte() != contactCodecV1 {
		return errCorrupt
	}
	c.ID = d.uvarint()
	for _, p := range [...]*string{&c.Email, &c.Name, &c.Organization, &c.Kind, &c.Country, &c.Language, &c.TimeZone, &c.Status, &c.Consent.Source} {
		*p = d.string()
	}
	for _, p := range [...]*[]string{&c.Regions, &c.Tags} {
		n := d.uvarint()
		if n > uint64(len(d.b)) {
			return errCorrupt
		}
		list := (*p)[:0]
		for i := uint64(0); i < n; i++ {
			list = append(list, d.string())
		}
		if n == 0 {
			list = nil
		}
		*p = list
	}
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		return errCorrupt
	}
	if n == 0 {
		c.Attrs = nil
	} else {
		if c.Attrs == nil {
			c.Attrs = make(map[string]string, n)
		} else {
			clear(c.Attrs)
		}
		for i := uint64(0); i < n; i++ {
			k := d.string()
			c.Attrs[k] = d.string()
		}
	}
	for _, p := range [...]*time.Time{&c.Consent.Date, &c.Created, &c.Updated} {
		if v := d.varint(); v != 0 {
			*p = time.Unix(0, v).UTC()
		} else {
			*p = time.Time{}
		}
	}
	if d.err {
		return errCorrupt
	}
	return nil
}

type decoder struct {
	b      []byte
	borrow bool
	err    bool
}

func (d *decoder) byte() byte {
	if len(d.b) == 0 {
		d.err = true
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = true
		d.b = nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = true
		d.b = nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) string() string {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.err = true
		d.b = nil
		return ""
	}
	s := d.b[:n]
	d.b = d.b[n:]
	if n == 0 {
		return ""
	}
	if d.borrow {
		return unsafe.String(&s[0], len(s))
	}
	return string(s)
}
