package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/outreach-coalition/outreach/internal/outreach"
	bolt "go.etcd.io/bbolt"
)

// ForgetReport says what forgetting an address changed.
type ForgetReport struct {
	Hash    string `json:"hash"`    // the keyed hash that now stands for the address
	Contact bool   `json:"contact"` // a contact record was deleted
	Records int    `json:"records"` // records rewritten
	Keys    int    `json:"keys"`    // keys renamed
}

// forgetSkip are the buckets Forget leaves alone: staff accounts and the
// daemon's own bookkeeping, which hold no contact's data.
var forgetSkip = map[string]bool{"meta": true, "principals": true, "tokens": true, "sessions": true, "mailboxes": true}

// forgetTagged are the buckets whose keys begin with a one-byte tag
// (schema.go): the address is looked for after it, since a tag letter
// would otherwise read as part of the address's local part.
var forgetTagged = map[string]bool{"log_index": true}

// forgetText are the JSON fields whose whole text is erased in a record
// that belongs to the forgotten contact: what they wrote, and what was
// quoted from it.
var forgetText = map[string]bool{"text": true, "body": true, "raw": true, "html": true, "evidence": true, "subject": true, "quoted": true, "snippet": true}

// Forget erases a person's data for a data-protection request, in one
// transaction:
//   - the contact with that address is deleted;
//   - in every other record, the address is replaced by its keyed hash
//     (AddressHash), also inside keys (indexes such as log_index's address
//     keys and the suppression list), so the delivery log keeps an anonymised trace;
//   - in records that belong to the contact (JSON with its contact_id, or
//     mentioning the address: deliveries, log entries, replies,
//     endorsements, audit entries), free text (forgetText) is erased and
//     the contact's name is replaced by the hash; elsewhere a string that
//     is exactly the name (a roster entry) is replaced;
//   - the hash is put on the suppression list (keeping the reason of an
//     existing suppression), so that isSuppressed still refuses the
//     address if it is imported again.
//
// The walk covers every bucket but forgetSkip, so that records added by
// later features are covered without a list to keep; values that are
// neither JSON nor contacts only get the address masked in place. Forget
// scans the whole file inside a write transaction (seconds at a million
// records): it is meant for the rare request, and must be followed by
// CompactLive for the old bytes to leave the file. It returns ENOTFOUND
// when nothing holds the address.
func (s *Store) Forget(ctx context.Context, address, by string) (*ForgetReport, error) {
	addr, err := outreach.ParseEmail(address)
	if err != nil {
		return nil, err
	}
	rep := &ForgetReport{}
	err = s.db.Update(func(tx *bolt.Tx) error {
		rep.Hash = addressHash(tx.DB(), addr)
		if rep.Hash == "" {
			return fmt.Errorf("forget: %w", errNoAddressKey)
		}
		sc := newScrubber(addr, "", 0, rep.Hash)
		if c, err := contactByEmail(tx, addr); err == nil {
			sc = newScrubber(addr, c.Name, c.ID, rep.Hash)
			if err := bucket(tx, "contacts").Delete(u64(c.ID)); err != nil {
				return err
			}
			if err := bucket(tx, "contacts_by_email").Delete([]byte(outreach.EmailKey(addr))); err != nil {
				return err
			}
			rep.Contact = true
		}
		var names []string
		tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
			if !forgetSkip[string(name)] {
				names = append(names, string(name))
			}
			return nil
		})
		for _, name := range names {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := sc.bucket(tx.Bucket([]byte(name)), name == "contacts", forgetTagged[name], rep); err != nil {
				return fmt.Errorf("forget: bucket %s: %w", name, err)
			}
		}
		if !rep.Contact && rep.Records == 0 && rep.Keys == 0 {
			return outreach.Errorf(outreach.ENOTFOUND, "no contact or record has the address %s", addr)
		}
		sup := bucket(tx, "suppressions")
		if sup.Get([]byte(rep.Hash)) == nil {
			if err := putJSON(sup, []byte(rep.Hash), outreach.Suppression{Address: rep.Hash, Reason: "forgotten", Source: by, Time: s.now().UTC()}); err != nil {
				return err
			}
		}
		return appendAudit(tx, s.now(), by, "contact.forget", rep.Hash, fmt.Sprintf("contact deleted: %t; %d records rewritten; %d keys renamed", rep.Contact, rep.Records, rep.Keys))
	})
	if err != nil {
		return nil, err
	}
	return rep, nil
}

// scrubber rewrites the records that mention one address.
type scrubber struct {
	addr      []rune // lower case
	addrBytes []byte // lower case, for keys and binary values
	name      []rune // lower case; nil when the contact had no name
	nameStr   string
	contactID uint64
	marker    string
	needles   [][]byte // lower-case byte strings, any of which makes a value worth decoding
	// nameNeedles are the name's needles when the name has non-ASCII
	// letters, which mayMatch must fold with Unicode ("Élodie").
	nameNeedles [][]byte
	linkTag     []byte // `"contact_id":ID`
	buf         []byte
}

func newScrubber(addr, name string, contactID uint64, marker string) *scrubber {
	sc := &scrubber{addr: lowerRunes(outreach.EmailKey(addr)), addrBytes: []byte(outreach.EmailKey(addr)), contactID: contactID, marker: marker}
	sc.needles = append(sc.needles, sc.addrBytes, jsonEscaped(string(sc.addrBytes)))
	if name = strings.TrimSpace(name); name != "" {
		sc.name, sc.nameStr = lowerRunes(name), name
		lower := []byte(string(sc.name))
		sc.needles = append(sc.needles, lower, jsonEscaped(string(lower)))
		if strings.ContainsFunc(name, func(r rune) bool { return r >= utf8.RuneSelf }) {
			sc.nameNeedles = [][]byte{lower, jsonEscaped(string(lower))}
		}
	}
	if contactID != 0 {
		sc.linkTag = []byte(`"contact_id":` + strconv.FormatUint(contactID, 10))
	}
	return sc
}

func lowerRunes(s string) []rune {
	r := []rune(s)
	for i := range r {
		r[i] = unicode.ToLower(r[i])
	}
	return r
}

func jsonEscaped(s string) []byte {
	b, _ := json.Marshal(s)
	return b[1 : len(b)-1]
}

// lowerASCII returns b with ASCII letters lower-cased, in sc's buffer.
func (sc *scrubber) lowerASCII(b []byte) []byte {
	sc.buf = append(sc.buf[:0], b...)
	for i, c := range sc.buf {
		if 'A' <= c && c <= 'Z' {
			sc.buf[i] = c + 'a' - 'A'
		}
	}
	return sc.buf
}

// mayMatch is the cheap test run on every value: does it contain the
// address or the name (ASCII case folded), or the contact's id?
func (sc *scrubber) mayMatch(v []byte) bool {
	if sc.linkTag != nil {
		if i := bytes.Index(v, sc.linkTag); i >= 0 {
			if j := i + len(sc.linkTag); j == len(v) || v[j] < '0' || v[j] > '9' {
				return true
			}
		}
	}
	low := sc.lowerASCII(v)
	for _, n := range sc.needles {
		if bytes.Contains(low, n) {
			return true
		}
	}
	if sc.nameNeedles != nil {
		low := bytes.ToLower(v)
		for _, n := range sc.nameNeedles {
			if bytes.Contains(low, n) {
				return true
			}
		}
	}
	return false
}

// bucket rewrites the matching keys and values of b (and of the buckets
// nested in it); in a tagged bucket the first byte of each key is left
// out of the address search. Changes are collected first: bbolt cursors
// must not move over a bucket being modified.
func (sc *scrubber) bucket(b *bolt.Bucket, contacts, tagged bool, rep *ForgetReport) error {
	type change struct {
		oldKey, newKey, val []byte
		rewritten           bool
	}
	var changes []change
	var nested [][]byte
	cur := b.Cursor()
	for k, v := cur.First(); k != nil; k, v = cur.Next() {
		if v == nil {
			nested = append(nested, bytes.Clone(k))
			continue
		}
		var newKey []byte
		var keyHit bool
		if tagged && len(k) > 0 {
			if newKey, keyHit = sc.rewriteBytes(k[1:], []byte(sc.marker)); keyHit {
				newKey = key(k[:1], newKey)
			}
		} else {
			newKey, keyHit = sc.rewriteBytes(k, []byte(sc.marker))
		}
		val, valHit, err := sc.value(v, contacts)
		if err != nil {
			return fmt.Errorf("key %x: %w", k, err)
		}
		if !keyHit && !valHit {
			continue
		}
		ch := change{oldKey: bytes.Clone(k), newKey: newKey, val: val, rewritten: valHit}
		if !keyHit {
			ch.newKey = ch.oldKey
		}
		if !valHit {
			ch.val = bytes.Clone(v)
		}
		changes = append(changes, ch)
	}
	for _, ch := range changes {
		if !bytes.Equal(ch.oldKey, ch.newKey) {
			if err := b.Delete(ch.oldKey); err != nil {
				return err
			}
			rep.Keys++
		}
		if err := b.Put(ch.newKey, ch.val); err != nil {
			return err
		}
		if ch.rewritten {
			rep.Records++
		}
	}
	for _, k := range nested {
		if err := sc.bucket(b.Bucket(k), false, false, rep); err != nil {
			return err
		}
	}
	return nil
}

// value returns v rewritten, and whether it changed.
func (sc *scrubber) value(v []byte, contacts bool) ([]byte, bool, error) {
	if !sc.mayMatch(v) {
		return nil, false, nil
	}
	if contacts {
		var c outreach.Contact
		if err := decodeContact(v, &c, false); err != nil {
			return nil, false, err
		}
		if !sc.contact(&c) {
			return nil, false, nil
		}
		return encodeContact(nil, &c), true, nil
	}
	if json.Valid(v) {
		dec := json.NewDecoder(bytes.NewReader(v))
		dec.UseNumber()
		var doc any
		if err := dec.Decode(&doc); err != nil {
			return nil, false, err
		}
		linked := sc.linked(doc)
		doc, changed := sc.walk(doc, "", linked)
		if !changed {
			return nil, false, nil
		}
		out, err := json.Marshal(doc)
		return out, err == nil, err
	}
	// Neither JSON nor a contact: mask the address in place, keeping the
	// length so that a length-prefixed encoding still decodes.
	out, hit := sc.rewriteBytes(v, bytes.Repeat([]byte{'*'}, len(sc.addrBytes)))
	return out, hit, nil
}

// linked reports whether a decoded record belongs to the contact: its
// top-level contact_id is the contact's, or a string in it holds the
// address.
func (sc *scrubber) linked(doc any) bool {
	if m, ok := doc.(map[string]any); ok && sc.contactID != 0 {
		if n, ok := m["contact_id"].(json.Number); ok && n.String() == strconv.FormatUint(sc.contactID, 10) {
			return true
		}
	}
	found := false
	var visit func(any)
	visit = func(x any) {
		switch x := x.(type) {
		case string:
			found = found || sc.hasAddr(x)
		case []any:
			for _, e := range x {
				visit(e)
			}
		case map[string]any:
			for _, e := range x {
				visit(e)
			}
		}
	}
	visit(doc)
	return found
}

func (sc *scrubber) walk(x any, key string, linked bool) (any, bool) {
	switch x := x.(type) {
	case string:
		return sc.str(x, key, linked)
	case []any:
		changed := false
		for i, e := range x {
			var c bool
			x[i], c = sc.walk(e, key, linked)
			changed = changed || c
		}
		return x, changed
	case map[string]any:
		changed := false
		for k, e := range x {
			var c bool
			x[k], c = sc.walk(e, k, linked)
			changed = changed || c
		}
		return x, changed
	}
	return x, false
}

// str rewrites one string of a record found under key.
func (sc *scrubber) str(s, key string, linked bool) (string, bool) {
	if linked && forgetText[strings.ToLower(key)] {
		return "", s != ""
	}
	out := replaceBounded(s, sc.addr, addrBoundary, sc.marker)
	switch {
	case sc.name == nil:
	case linked:
		out = replaceBounded(out, sc.name, wordBoundary, sc.marker)
	case strings.EqualFold(strings.TrimSpace(out), sc.nameStr):
		out = sc.marker
	}
	return out, out != s
}

// contact rewrites the strings of another contact that mention the
// address or are exactly the name; it reports whether any changed.
func (sc *scrubber) contact(c *outreach.Contact) bool {
	changed := false
	fix := func(p *string) {
		if v, ok := sc.str(*p, "", false); ok {
			*p, changed = v, true
		}
	}
	for _, p := range []*string{&c.Name, &c.Organization, &c.Consent.Source} {
		fix(p)
	}
	for i := range c.Tags {
		fix(&c.Tags[i])
	}
	for k, v := range c.Attrs {
		if nv, ok := sc.str(v, "", false); ok {
			c.Attrs[k], changed = nv, true
		}
	}
	return changed
}

func (sc *scrubber) hasAddr(s string) bool {
	return replaceBounded(s, sc.addr, addrBoundary, "") != s
}

// rewriteBytes replaces each bounded occurrence of the address in b
// (ASCII case folded) with repl; it reports whether there was one.
func (sc *scrubber) rewriteBytes(b, repl []byte) ([]byte, bool) {
	low := sc.lowerASCII(b)
	n := sc.addrBytes
	var out []byte
	last := 0
	for i := 0; i+len(n) <= len(low); {
		j := bytes.Index(low[i:], n)
		if j < 0 {
			break
		}
		j += i
		var before, after, after2 rune = -1, -1, -1
		if j > 0 {
			before = rune(low[j-1])
		}
		if e := j + len(n); e < len(low) {
			after = rune(low[e])
			if e+1 < len(low) {
				after2 = rune(low[e+1])
			}
		}
		if addrBoundary(before, after, after2) {
			out = append(out, b[last:j]...)
			out = append(out, repl...)
			last = j + len(n)
			i = last
			continue
		}
		i = j + 1
	}
	if out == nil {
		return b, false
	}
	return append(out, b[last:]...), true
}

// replaceBounded replaces each occurrence of needle (lower case) in s,
// compared rune by rune in lower case, whose neighbours pass boundary.
func replaceBounded(s string, needle []rune, boundary func(before, after, after2 rune) bool, repl string) string {
	if len(needle) == 0 || !strings.Contains(strings.ToLower(s), string(needle)) {
		return s
	}
	rs := []rune(s)
	low := make([]rune, len(rs))
	for i, r := range rs {
		low[i] = unicode.ToLower(r)
	}
	var out []rune
	last := 0
	for i := 0; i+len(needle) <= len(low); i++ {
		if !runesEqual(low[i:i+len(needle)], needle) {
			continue
		}
		var before, after, after2 rune = -1, -1, -1
		if i > 0 {
			before = low[i-1]
		}
		if e := i + len(needle); e < len(low) {
			after = low[e]
			if e+1 < len(low) {
				after2 = low[e+1]
			}
		}
		if !boundary(before, after, after2) {
			continue
		}
		out = append(out, rs[last:i]...)
		out = append(out, []rune(repl)...)
		last = i + len(needle)
		i = last - 1
	}
	if out == nil && last == 0 {
		return s
	}
	return string(append(out, rs[last:]...))
}

func runesEqual(a, b []rune) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func isAlnum(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// addrBoundary: an address is not part of a longer one, so the rune
// before it is not one an address's local part may hold (RFC 5322 atext
// and "."), and the domain does not go on after it.
func addrBoundary(before, after, after2 rune) bool {
	if before >= 0 && (isAlnum(before) || strings.ContainsRune("!#$%&'*+-/=?^_`{|}~.", before)) {
		return false
	}
	if after >= 0 && (isAlnum(after) || after == '-' || after == '_' || (after == '.' && after2 >= 0 && isAlnum(after2))) {
		return false
	}
	return true
}

// wordBoundary: a name is a whole word or words.
func wordBoundary(before, after, _ rune) bool {
	return (before < 0 || !isAlnum(before)) && (after < 0 || !isAlnum(after))
}
