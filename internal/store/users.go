package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/outreach-coalition/outreach/internal/outreach"
	bolt "go.etcd.io/bbolt"
)

// Credential is how a user proves who they are: the bcrypt hash of a
// password they chose, or the SHA-256 of a one-time password (random, shown
// once, good for one sign-in that must set a password). The store never
// sees a password; the service hashes.
type Credential struct {
	PasswordHash []byte
	OneTimeHash  []byte
}

// UserName checks and normalises a user name: an email address (lower
// case) or a word of letters, digits, ".", "_" and "-" such as "admin".
func UserName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if strings.Contains(name, "@") {
		addr, err := outreach.ParseEmail(name)
		if err != nil {
			return "", outreach.FieldError("name", "%v", err)
		}
		return outreach.EmailKey(addr), nil
	}
	ok := name != "" && len(name) <= 64
	for _, r := range name {
		ok = ok && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-')
	}
	if !ok {
		return "", outreach.FieldError("name", "%q is neither an email address nor a word of letters, digits, '.', '_' and '-'", name)
	}
	return name, nil
}

func checkRoleScope(role string, countries []string) error {
	if !outreach.ValidRole(role) {
		return outreach.FieldError("role", "%q is not admin, coordinator or viewer", role)
	}
	for _, c := range countries {
		if !outreach.ValidCountry(c) {
			return outreach.FieldError("countries", "%q is not an ISO 3166-1 alpha-2 country code", c)
		}
	}
	if role == outreach.RoleAdmin && len(countries) > 0 {
		return outreach.FieldError("countries", "an admin sees every country: only coordinators and viewers are scoped")
	}
	return nil
}

func normCountries(in []string) []string {
	var out []string
	for _, c := range in {
		if c = strings.ToUpper(strings.TrimSpace(c)); c != "" && !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	slices.Sort(out)
	return out
}

// CreateUser adds a user with a credential. It returns ECONFLICT when a
// user (or a token holder) of that name exists.
func (s *Store) CreateUser(ctx context.Context, u outreach.User, cred Credential, by string) (*outreach.User, error) {
	name, err := UserName(u.Name)
	if err != nil {
		return nil, err
	}
	countries := normCountries(u.Countries)
	if err := checkRoleScope(u.Role, countries); err != nil {
		return nil, err
	}
	now := s.now().UTC()
	rec := principalRecord{Name: name, Role: u.Role, Countries: countries, PasswordHash: cred.PasswordHash, OneTimeHash: cred.OneTimeHash, Created: now}
	err = s.db.Update(func(tx *bolt.Tx) error {
		p := bucket(tx, "principals")
		if p.Get([]byte(name)) != nil {
			return outreach.Errorf(outreach.ECONFLICT, "user %s exists (outreach users list)", name)
		}
		if err := putJSON(p, []byte(name), rec); err != nil {
			return err
		}
		detail := u.Role
		if len(countries) > 0 {
			detail += " " + strings.Join(countries, ",")
		}
		return appendAudit(tx, now, by, "user.create", name, detail)
	})
	if err != nil {
		return nil, err
	}
	out := rec.user()
	return &out, nil
}

func getPrincipal(tx *bolt.Tx, name string) (*principalRecord, error) {
	var rec principalRecord
	ok, err := getJSON(bucket(tx, "principals"), []byte(name), &rec)
	if err != nil {
		return nil, fmt.Errorf("user %s: %w", name, err)
	}
	if !ok {
		return nil, notFound("user", name)
	}
	return &rec, nil
}

// User returns a user by name.
func (s *Store) User(ctx context.Context, name string) (*outreach.User, error) {
	var u outreach.User
	err := s.db.View(func(tx *bolt.Tx) error {
		rec, err := getPrincipal(tx, name)
		if err == nil {
			u = rec.user()
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return &u, nil
}

// UserCredential returns a user and its credential, for signing in.
func (s *Store) UserCredential(ctx context.Context, name string) (*outreach.User, Credential, error) {
	var u outreach.User
	var cred Credential
	err := s.db.View(func(tx *bolt.Tx) error {
		rec, err := getPrincipal(tx, name)
		if err == nil {
			u = rec.user()
			cred = Credential{PasswordHash: rec.PasswordHash, OneTimeHash: rec.OneTimeHash}
		}
		return err
	})
	if err != nil {
		return nil, cred, err
	}
	return &u, cred, nil
}

// Users lists users (and token holders) in name order.
func (s *Store) Users(ctx context.Context) ([]outreach.User, error) {
	out := []outreach.User{}
	err := s.db.View(func(tx *bolt.Tx) error {
		b := bucket(tx, "principals")
		return b.ForEach(func(k, _ []byte) error {
			var rec principalRecord
			if _, err := getJSON(b, k, &rec); err != nil {
				return fmt.Errorf("user %s: %w", k, err)
			}
			out = append(out, rec.user())
			return nil
		})
	})
	return out, err
}

// UserPatch changes some of a user's fields; nil fields stay.
type UserPatch struct {
	Role      *string
	Countries *[]string
	Disabled  *bool
}

// UpdateUser applies p. Disabling a user ends its sessions (its tokens
// stop working while it is disabled). No change may leave the store
// without an enabled admin (ECONFLICT).
func (s *Store) UpdateUser(ctx context.Context, name string, p UserPatch, by string) (*outreach.User, error) {
	var u outreach.User
	err := s.db.Update(func(tx *bolt.Tx) error {
		rec, err := getPrincipal(tx, name)
		if err != nil {
			return err
		}
		wasAdmin := rec.Role == outreach.RoleAdmin && !rec.Disabled
		var changes []string
		action := "user.edit"
		if p.Role != nil && *p.Role != rec.Role {
			changes = append(changes, "role "+rec.Role+" -> "+*p.Role)
			rec.Role = *p.Role
		}
		if p.Countries != nil {
			c := normCountries(*p.Countries)
			if !slices.Equal(c, rec.Countries) {
				changes = append(changes, fmt.Sprintf("countries %v -> %v", rec.Countries, c))
				rec.Countries = c
			}
		}
		if p.Disabled != nil && *p.Disabled != rec.Disabled {
			rec.Disabled = *p.Disabled
			action = "user.enable"
			if rec.Disabled {
				action = "user.disable"
			}
		}
		if err := checkRoleScope(rec.Role, rec.Countries); err != nil {
			return err
		}
		u = rec.user()
		if len(changes) == 0 && action == "user.edit" {
			return nil
		}
		rec.Updated = s.now().UTC()
		if err := putJSON(bucket(tx, "principals"), []byte(name), rec); err != nil {
			return err
		}
		if wasAdmin {
			if err := requireAdmin(tx); err != nil {
				return err
			}
		}
		if rec.Disabled {
			if _, err := deleteSessions(tx, name, ""); err != nil {
				return err
			}
		}
		u = rec.user()
		return appendAudit(tx, s.now(), by, action, name, strings.Join(changes, "; "))
	})
	if err != nil {
		return nil, err
	}
	return &u, nil
}

// requireAdmin fails unless an enabled admin remains.
func requireAdmin(tx *bolt.Tx) error {
	b := bucket(tx, "principals")
	c := b.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		var rec principalRecord
		if _, err := getJSON(b, k, &rec); err == nil && rec.Role == outreach.RoleAdmin && !rec.Disabled {
			return nil
		}
	}
	return outreach.Errorf(outreach.ECONFLICT, "this would leave no enabled admin: make another user admin first")
}

// SetCredential replaces a user's credential and ends its sessions, except
// keepSession (the session of a user changing its own password).
func (s *Store) SetCredential(ctx context.Context, name string, cred Credential, keepSession, by string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		rec, err := getPrincipal(tx, name)
		if err != nil {
			return err
		}
		rec.PasswordHash, rec.OneTimeHash = cred.PasswordHash, cred.OneTimeHash
		rec.Updated = s.now().UTC()
		if err := putJSON(bucket(tx, "principals"), []byte(name), rec); err != nil {
			return err
		}
		n, err := deleteSessions(tx, name, keepSession)
		if err != nil {
			return err
		}
		if keepSession != "" && len(cred.PasswordHash) > 0 {
			b := bucket(tx, "sessions")
			var r sessionRecord
			if ok, err := getJSON(b, []byte(keepSession), &r); err == nil && ok && r.MustChangePassword {
				r.MustChangePassword = false
				if err := putJSON(b, []byte(keepSession), r); err != nil {
					return err
				}
			}
		}
		detail := "password set"
		if len(cred.PasswordHash) == 0 {
			detail = "one-time password issued"
		}
		if n > 0 {
			detail += fmt.Sprintf("; %d sessions ended", n)
		}
		return appendAudit(tx, s.now(), by, "user.password", name, detail)
	})
}

// Session secrets look like oss_<id>_<secret>; only SHA-256(secret) is
// stored, as for tokens.
const sessionPrefix = "oss_"

type sessionRecord struct {
	outreach.Session
	Hash []byte `json:"hash"`
}

// CreateSession stores a new session for sess.User, filling its ID, and
// returns its secret (the cookie's value). When oneTime is not nil it is
// the SHA-256 of a one-time password, checked against the user's and
// consumed in the same transaction, so that it signs in once only; the
// session is then marked MustChangePassword. A disabled or unknown user,
// or a one-time password that does not match, is EUNAUTHORIZED.
func (s *Store) CreateSession(ctx context.Context, sess *outreach.Session, oneTime []byte) (string, error) {
	bad := outreach.Errorf(outreach.EUNAUTHORIZED, "wrong user name or password")
	sess.ID = strings.ToLower(rand.Text()[:12])
	secret := strings.ToLower(rand.Text())
	sum := sha256.Sum256([]byte(secret))
	err := s.db.Update(func(tx *bolt.Tx) error {
		rec, err := getPrincipal(tx, sess.User)
		if err != nil || rec.Disabled {
			return bad
		}
		if oneTime != nil {
			if len(rec.OneTimeHash) == 0 || subtle.ConstantTimeCompare(oneTime, rec.OneTimeHash) != 1 {
				return bad
			}
			rec.OneTimeHash = nil
			rec.Updated = s.now().UTC()
			if err := putJSON(bucket(tx, "principals"), []byte(rec.Name), rec); err != nil {
				return err
			}
			sess.MustChangePassword = true
		}
		if err := putJSON(bucket(tx, "sessions"), []byte(sess.ID), sessionRecord{Session: *sess, Hash: sum[:]}); err != nil {
			return err
		}
		detail := sess.Addr
		if oneTime != nil {
			detail += " (one-time password)"
		}
		return appendAudit(tx, s.now(), sess.User, "session.login", sess.ID, strings.TrimSpace(detail))
	})
	if err != nil {
		return "", err
	}
	return sessionPrefix + sess.ID + "_" + secret, nil
}

// SessionBySecret returns the session a secret opens and its user as a
// principal with the user's current role and scope, or EUNAUTHORIZED.
// It does not check expiry: the service does, with its clock.
func (s *Store) SessionBySecret(ctx context.Context, secret string) (*outreach.Session, *outreach.Principal, error) {
	bad := outreach.Errorf(outreach.EUNAUTHORIZED, "your session has ended: sign in again")
	rest, ok := strings.CutPrefix(secret, sessionPrefix)
	if !ok {
		return nil, nil, bad
	}
	id, sec, ok := strings.Cut(rest, "_")
	if !ok {
		return nil, nil, bad
	}
	var sess outreach.Session
	var p *outreach.Principal
	err := s.db.View(func(tx *bolt.Tx) error {
		var r sessionRecord
		if ok, err := getJSON(bucket(tx, "sessions"), []byte(id), &r); err != nil || !ok {
			return bad
		}
		sum := sha256.Sum256([]byte(sec))
		if subtle.ConstantTimeCompare(sum[:], r.Hash) != 1 {
			return bad
		}
		rec, err := getPrincipal(tx, r.User)
		if err != nil || rec.Disabled {
			return bad
		}
		sess = r.Session
		u := rec.user()
		p = u.Principal()
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return &sess, p, nil
}

// TouchSession records that a session was used at t.
func (s *Store) TouchSession(ctx context.Context, id string, t time.Time) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b := bucket(tx, "sessions")
		var r sessionRecord
		if ok, err := getJSON(b, []byte(id), &r); err != nil || !ok {
			return err
		}
		r.LastSeen = t.UTC()
		return putJSON(b, []byte(id), r)
	})
}

// DeleteSession ends a session; action is the audit action
// (session.logout, session.revoke).
func (s *Store) DeleteSession(ctx context.Context, id, action, by string) (*outreach.Session, error) {
	var r sessionRecord
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := bucket(tx, "sessions")
		if ok, err := getJSON(b, []byte(id), &r); err != nil || !ok {
			return notFound("session", id)
		}
		if err := b.Delete([]byte(id)); err != nil {
			return err
		}
		return appendAudit(tx, s.now(), by, action, id, r.User)
	})
	if err != nil {
		return nil, err
	}
	return &r.Session, nil
}

// Sessions lists open sessions, of one user or (user "") of all.
func (s *Store) Sessions(ctx context.Context, user string) ([]outreach.Session, error) {
	out := []outreach.Session{}
	err := s.db.View(func(tx *bolt.Tx) error {
		b := bucket(tx, "sessions")
		return b.ForEach(func(k, _ []byte) error {
			var r sessionRecord
			if _, err := getJSON(b, k, &r); err != nil {
				return fmt.Errorf("session %s: %w", k, err)
			}
			if user == "" || r.User == user {
				out = append(out, r.Session)
			}
			return nil
		})
	})
	return out, err
}

// PruneSessions deletes the sessions for which expired returns true and
// returns how many.
func (s *Store) PruneSessions(ctx context.Context, expired func(*outreach.Session) bool) (int, error) {
	n := 0
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := bucket(tx, "sessions")
		var dead [][]byte
		err := b.ForEach(func(k, _ []byte) error {
			var r sessionRecord
			if _, err := getJSON(b, k, &r); err != nil || expired(&r.Session) {
				dead = append(dead, bytes.Clone(k))
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range dead {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		n = len(dead)
		return nil
	})
	return n, err
}

// deleteSessions deletes a user's sessions except keep; it returns how
// many it deleted.
func deleteSessions(tx *bolt.Tx, user, keep string) (int, error) {
	b := bucket(tx, "sessions")
	var dead [][]byte
	err := b.ForEach(func(k, _ []byte) error {
		var r sessionRecord
		if _, err := getJSON(b, k, &r); err == nil && r.User == user && r.ID != keep {
			dead = append(dead, bytes.Clone(k))
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, k := range dead {
		if err := b.Delete(k); err != nil {
			return 0, err
		}
	}
	return len(dead), nil
}
