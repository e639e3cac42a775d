package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/hex"
	"strings"
	"time"

	"github.com/outreach-coalition/outreach/internal/outreach"
	bolt "go.etcd.io/bbolt"
)

// principalRecord is a named principal: a user, the admin created at
// first start, or the holder of tokens. PasswordHash is bcrypt;
// OneTimeHash is the SHA-256 of a random one-time password.
type principalRecord struct {
	Name         string    `json:"name"`
	Role         string    `json:"role"`
	Countries    []string  `json:"countries,omitempty"`
	Disabled     bool      `json:"disabled,omitempty"`
	PasswordHash []byte    `json:"password_hash,omitempty"`
	OneTimeHash  []byte    `json:"one_time_hash,omitempty"`
	Created      time.Time `json:"created"`
	Updated      time.Time `json:"updated,omitzero"`
}

func (r *principalRecord) user() outreach.User {
	return outreach.User{Name: r.Name, Role: r.Role, Countries: r.Countries, Disabled: r.Disabled,
		HasPassword: len(r.PasswordHash) > 0, MustChangePassword: len(r.PasswordHash) == 0 && len(r.OneTimeHash) > 0,
		Created: r.Created, Updated: r.Updated}
}

type tokenRecord struct {
	outreach.Token
	Hash []byte `json:"hash"`
}

// Token secrets look like otk_<id>_<secret>; only SHA-256(secret) is
// stored. The id makes lookup a single Get; the comparison is constant
// time.
const tokenPrefix = "otk_"

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// CreateToken makes a token for principal name with role, creating the
// principal (with that role) if it does not exist. A token's role cannot
// exceed its principal's. It returns the secret, shown once.
func (s *Store) CreateToken(ctx context.Context, name, role, by string) (string, *outreach.Token, error) {
	if !outreach.ValidRole(role) {
		return "", nil, outreach.FieldError("role", "%q is not admin, coordinator or viewer", role)
	}
	if name == "" || strings.ContainsAny(name, " \t\r\n") {
		return "", nil, outreach.FieldError("name", "%q must be a non-empty word", name)
	}
	idb := make([]byte, 6)
	sec := make([]byte, 20)
	rand.Read(idb)
	rand.Read(sec)
	id := hex.EncodeToString(idb)
	secret := strings.ToLower(b32.EncodeToString(sec))
	sum := sha256.Sum256([]byte(secret))
	t := tokenRecord{Token: outreach.Token{ID: id, Name: name, Principal: name, Role: role, Created: s.now().UTC()}, Hash: sum[:]}
	err := s.db.Update(func(tx *bolt.Tx) error {
		p := bucket(tx, "principals")
		var rec principalRecord
		ok, err := getJSON(p, []byte(name), &rec)
		if err != nil {
			return err
		}
		if !ok {
			rec = principalRecord{Name: name, Role: role, Created: s.now().UTC()}
			if err := putJSON(p, []byte(name), rec); err != nil {
				return err
			}
		}
		if !outreach.RoleAtLeast(rec.Role, role) {
			return outreach.FieldError("role", "%s is a %s: a token cannot grant more (%s)", name, rec.Role, role)
		}
		if err := putJSON(bucket(tx, "tokens"), []byte(id), t); err != nil {
			return err
		}
		return appendAudit(tx, s.now(), by, "token.create", id, name+" "+role)
	})
	if err != nil {
		return "", nil, err
	}
	return tokenPrefix + id + "_" + secret, &t.Token, nil
}

// Authenticate returns the principal a token secret belongs to, or an
// EUNAUTHORIZED error.
func (s *Store) Authenticate(ctx context.Context, secret string) (*outreach.Principal, error) {
	bad := outreach.Errorf(outreach.EUNAUTHORIZED, "invalid or revoked token")
	rest, ok := strings.CutPrefix(secret, tokenPrefix)
	if !ok {
		return nil, bad
	}
	id, sec, ok := strings.Cut(rest, "_")
	if !ok {
		return nil, bad
	}
	var p *outreach.Principal
	err := s.db.View(func(tx *bolt.Tx) error {
		var t tokenRecord
		if ok, err := getJSON(bucket(tx, "tokens"), []byte(id), &t); err != nil || !ok {
			return bad
		}
		sum := sha256.Sum256([]byte(sec))
		if subtle.ConstantTimeCompare(sum[:], t.Hash) != 1 {
			return bad
		}
		var rec principalRecord
		if ok, err := getJSON(bucket(tx, "principals"), []byte(t.Principal), &rec); err != nil || !ok || rec.Disabled {
			return bad
		}
		role := t.Role
		if !outreach.RoleAtLeast(rec.Role, role) {
			role = rec.Role
		}
		p = &outreach.Principal{Name: rec.Name, Role: role, Countries: rec.Countries}
		return nil
	})
	return p, err
}

// Tokens lists tokens (never their secrets).
func (s *Store) Tokens(ctx context.Context) ([]outreach.Token, error) {
	var out []outreach.Token
	err := s.db.View(func(tx *bolt.Tx) error {
		b := bucket(tx, "tokens")
		return b.ForEach(func(k, v []byte) error {
			var t tokenRecord
			_, err := getJSON(b, k, &t)
			out = append(out, t.Token)
			return err
		})
	})
	return out, err
}

// RevokeToken deletes a token by id.
func (s *Store) RevokeToken(ctx context.Context, id, by string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		if bucket(tx, "tokens").Get([]byte(id)) == nil {
			return notFound("token", id)
		}
		if err := bucket(tx, "tokens").Delete([]byte(id)); err != nil {
			return err
		}
		return appendAudit(tx, s.now(), by, "token.revoke", id, "")
	})
}

// HasPrincipals reports whether any principal exists (first start creates
// the admin).
func (s *Store) HasPrincipals(ctx context.Context) (bool, error) {
	var ok bool
	err := s.db.View(func(tx *bolt.Tx) error {
		k, _ := bucket(tx, "principals").Cursor().First()
		ok = k != nil
		return nil
	})
	return ok, err
}
