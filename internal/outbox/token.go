package outbox

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"strings"
)

// Tokens mint and check the per-delivery reply token. A token is the
// delivery id followed by an HMAC-SHA256 tag of it, truncated to 80 bits,
// in lower-case base32 without padding: short enough for an address's
// local part (campaign+TOKEN@...), unchanged by case folding (base32's
// alphabet is case-insensitive), unguessable without the secret, and it
// maps back to its delivery without an index. The same token is the local
// part of the delivery's Message-ID, so In-Reply-To and References map
// back the same way.
type Tokens struct{ secret []byte }

// NewTokens returns Tokens keyed by secret.
func NewTokens(secret []byte) *Tokens { return &Tokens{secret: secret} }

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

const tagLen = 10

func (t *Tokens) tag(id []byte) []byte {
	m := hmac.New(sha256.New, t.secret)
	m.Write([]byte("outreach delivery token v1\x00"))
	m.Write(id)
	return m.Sum(nil)[:tagLen]
}

// Token returns the token of delivery id.
func (t *Tokens) Token(id uint64) string {
	idb := binary.AppendUvarint(nil, id)
	return strings.ToLower(b32.EncodeToString(append(idb, t.tag(idb)...)))
}

// Parse returns the delivery id of token, and false for a forged,
// truncated or malformed token. Case is ignored.
func (t *Tokens) Parse(token string) (uint64, bool) {
	raw, err := b32.DecodeString(strings.ToUpper(token))
	if err != nil || len(raw) <= tagLen {
		return 0, false
	}
	idb, tag := raw[:len(raw)-tagLen], raw[len(raw)-tagLen:]
	id, n := binary.Uvarint(idb)
	if n != len(idb) || !hmac.Equal(tag, t.tag(idb)) {
		return 0, false
	}
	// base32 ignores the unused low bits of the last character: accept
	// only the canonical spelling, so one delivery has one token.
	if !strings.EqualFold(b32.EncodeToString(raw), token) {
		return 0, false
	}
	return id, true
}

// ReplyAddress returns LOCAL+TOKEN@domain for the campaign reply address
// LOCAL@domain.
func ReplyAddress(base, token string) string {
	at := strings.LastIndexByte(base, '@')
	if at < 0 {
		return base
	}
	return base[:at] + "+" + token + base[at:]
}

// MessageID returns the Message-ID (without <>) of a delivery.
func MessageID(token, replyTo string) string {
	domain := replyTo[strings.LastIndexByte(replyTo, '@')+1:]
	return token + "@" + domain
}

// FromAddress extracts a delivery id from an address of the form
// LOCAL+TOKEN@domain (any case), or from a Message-ID TOKEN@domain.
func (t *Tokens) FromAddress(addr string) (uint64, bool) {
	local := addr
	if at := strings.LastIndexByte(addr, '@'); at >= 0 {
		local = addr[:at]
	}
	if plus := strings.LastIndexByte(local, '+'); plus >= 0 {
		local = local[plus+1:]
	}
	return t.Parse(local)
}
