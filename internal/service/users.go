package service

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/outreach-coalition/outreach/internal/outreach"
	"github.com/outreach-coalition/outreach/internal/store"
	"golang.org/x/crypto/bcrypt"
)

// SignInOptions tune passwords and web UI sessions. Zero values mean the
// defaults.
type SignInOptions struct {
	TTL          time.Duration // a session's absolute lifetime (12h)
	Idle         time.Duration // how long a session lasts without a request (2h)
	PasswordCost int           // bcrypt cost (bcrypt.DefaultCost); tests lower it
}

func (o SignInOptions) ttl() time.Duration  { return cmpOr(o.TTL, 12*time.Hour) }
func (o SignInOptions) idle() time.Duration { return cmpOr(o.Idle, 2*time.Hour) }
func (o SignInOptions) cost() int {
	if o.PasswordCost == 0 {
		return bcrypt.DefaultCost
	}
	return o.PasswordCost
}

func cmpOr(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// Password rules: bcrypt reads at most 72 bytes, and a short password is
// guessed whatever the hash.
const (
	minPasswordRunes = 10
	maxPasswordBytes = 72
)

func checkPassword(name, pw string) error {
	switch {
	case utf8.RuneCountInString(pw) < minPasswordRunes:
		return outreach.FieldError("password", "must be at least %d characters", minPasswordRunes)
	case len(pw) > maxPasswordBytes:
		return outreach.FieldError("password", "must be at most %d bytes", maxPasswordBytes)
	case strings.EqualFold(pw, name):
		return outreach.FieldError("password", "must not be the user name")
	}
	return nil
}

// OneTimePassword returns a random one-time password (130 bits, base32)
// and the credential that stores only its SHA-256: like an API token, it
// is a random secret, so a fast hash is enough, and it is consumed by the
// one sign-in it allows, which must then set a password.
func OneTimePassword() (string, store.Credential) {
	pw := strings.ToLower(rand.Text())
	sum := sha256.Sum256([]byte(pw))
	return pw, store.Credential{OneTimeHash: sum[:]}
}

// HashPassword checks a chosen password and returns its bcrypt credential.
func (s *Service) HashPassword(name, pw string) (store.Credential, error) {
	if err := checkPassword(name, pw); err != nil {
		return store.Credential{}, err
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pw), s.SignIn.cost())
	if err != nil {
		return store.Credential{}, fmt.Errorf("hash password: %w", err)
	}
	return store.Credential{PasswordHash: h}, nil
}

// UserInput describes a user to add. An empty Password gives the user a
// one-time password, returned once.
type UserInput struct {
	Name      string   `json:"name"`
	Role      string   `json:"role"`
	Countries []string `json:"countries,omitempty"`
	Password  string   `json:"password,omitempty"`
}

// Users lists users (admin only).
func (s *Service) Users(ctx context.Context, p *outreach.Principal) ([]outreach.User, error) {
	if err := can(p, outreach.RoleAdmin); err != nil {
		return nil, err
	}
	return s.Store.Users(ctx)
}

// AddUser adds a user (admin only). It returns the one-time password when
// in.Password is empty.
func (s *Service) AddUser(ctx context.Context, p *outreach.Principal, in UserInput) (*outreach.User, string, error) {
	if err := can(p, outreach.RoleAdmin); err != nil {
		return nil, "", err
	}
	uname, err := store.UserName(in.Name)
	if err != nil {
		return nil, "", err
	}
	var otp string
	var cred store.Credential
	if in.Password == "" {
		otp, cred = OneTimePassword()
	} else if cred, err = s.HashPassword(uname, in.Password); err != nil {
		return nil, "", err
	}
	u, err := s.Store.CreateUser(ctx, outreach.User{Name: uname, Role: in.Role, Countries: in.Countries}, cred, name(p))
	if err != nil {
		return nil, "", err
	}
	markAudited(ctx)
	return u, otp, nil
}

// UpdateUser changes a user's role, countries or disabled state (admin
// only). Disabling ends the user's sessions and stops its tokens.
func (s *Service) UpdateUser(ctx context.Context, p *outreach.Principal, user string, patch store.UserPatch) (*outreach.User, error) {
	if err := can(p, outreach.RoleAdmin); err != nil {
		return nil, err
	}
	u, err := s.Store.UpdateUser(ctx, user, patch, name(p))
	if err == nil {
		markAudited(ctx)
	}
	return u, err
}

// ResetPassword sets a user's password (admin only), or gives it a new
// one-time password, returned, when password is empty. The user's
// sessions end.
func (s *Service) ResetPassword(ctx context.Context, p *outreach.Principal, user, password string) (string, error) {
	if err := can(p, outreach.RoleAdmin); err != nil {
		return "", err
	}
	var otp string
	var cred store.Credential
	var err error
	if password == "" {
		otp, cred = OneTimePassword()
	} else if cred, err = s.HashPassword(user, password); err != nil {
		return "", err
	}
	if err := s.Store.SetCredential(ctx, user, cred, "", name(p)); err != nil {
		return "", err
	}
	markAudited(ctx)
	return otp, nil
}

// ChangePassword sets the signed-in user's own password. The current
// password is required, except in a session opened with a one-time
// password, which exists to set one. The user's other sessions end.
func (s *Service) ChangePassword(ctx context.Context, p *outreach.Principal, sess *outreach.Session, current, password string) error {
	if err := can(p, outreach.RoleViewer); err != nil {
		return err
	}
	if sess == nil || sess.User != p.Name {
		return outreach.Errorf(outreach.EFORBIDDEN, "change your password from a signed-in session")
	}
	if !sess.MustChangePassword {
		_, cred, err := s.Store.UserCredential(ctx, p.Name)
		if err != nil {
			return err
		}
		if bcrypt.CompareHashAndPassword(cred.PasswordHash, []byte(current)) != nil {
			return outreach.FieldError("current", "is not your current password")
		}
	}
	cred, err := s.HashPassword(p.Name, password)
	if err != nil {
		return err
	}
	if err := s.Store.SetCredential(ctx, p.Name, cred, sess.ID, name(p)); err != nil {
		return err
	}
	sess.MustChangePassword = false
	markAudited(ctx)
	return nil
}

// Sessions lists open sessions, of one user or all (admin only).
func (s *Service) Sessions(ctx context.Context, p *outreach.Principal, user string) ([]outreach.Session, error) {
	if err := can(p, outreach.RoleAdmin); err != nil {
		return nil, err
	}
	return s.Store.Sessions(ctx, user)
}

// RevokeSession ends a session (admin only).
func (s *Service) RevokeSession(ctx context.Context, p *outreach.Principal, id string) error {
	if err := can(p, outreach.RoleAdmin); err != nil {
		return err
	}
	if _, err := s.Store.DeleteSession(ctx, id, "session.revoke", name(p)); err != nil {
		return err
	}
	markAudited(ctx)
	return nil
}

// LoginResult is a new session.
type LoginResult struct {
	Secret  string // the session cookie's value, shown once
	Session *outreach.Session
}

// ThrottledError refuses a sign-in attempt while an account or a client
// address has failed too often. Its code is ETOOMANY.
type ThrottledError struct {
	RetryAfter time.Duration
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("too many failed sign-ins: try again in %s", e.RetryAfter.Round(time.Second))
}

// Unwrap gives the error its code, for outreach.ErrorCode.
func (e *ThrottledError) Unwrap() error {
	return &outreach.Error{Code: outreach.ETOOMANY, Message: e.Error()}
}

// equaliser is a bcrypt hash compared when the user does not exist, so that
// a wrong name takes as long as a wrong password.
const equaliser = "$2a$10$ye8756HQ.RpxtYmlrQe.cO4YcL.oOWjdC3gSQFgVjm6Swi.fz5vSm"

// Login checks a user name and password and opens a session. Failed
// attempts are counted per account and per client address (addr); from
// the tenth within a day, attempts are refused with a *ThrottledError
// until a lockout passes (see loginThrottle), without the password being
// checked. Wrong names, wrong passwords and disabled users all get the
// same EUNAUTHORIZED answer.
func (s *Service) Login(ctx context.Context, user, password, addr, userAgent string) (*LoginResult, error) {
	now := s.Now()
	bad := outreach.Errorf(outreach.EUNAUTHORIZED, "wrong user name or password")
	// The account's key is its normalised name: "Any Name <ana@x>" and
	// "\"ana\"@x" are ana@x, and must not each get their own failures.
	acct := "user:" + strings.ToLower(strings.TrimSpace(user))
	if n, err := store.UserName(user); err == nil {
		acct = "user:" + strings.ToLower(n)
	}
	keys := []string{acct, "addr:" + throttledAddr(addr)}
	if wait := s.logins.wait(now, keys...); wait > 0 {
		s.Log.Warn("sign-in refused: too many failures", "user", s.loggedUser(ctx, user), "addr", addr, "retry_after", wait)
		return nil, &ThrottledError{RetryAfter: wait}
	}
	var oneTime []byte
	ok := false
	uname, err := store.UserName(user)
	var u *outreach.User
	var cred store.Credential
	if err == nil {
		u, cred, err = s.Store.UserCredential(ctx, uname)
	}
	switch {
	case err != nil || u.Disabled:
		bcrypt.CompareHashAndPassword([]byte(equaliser), []byte(password))
	case len(cred.PasswordHash) > 0:
		ok = bcrypt.CompareHashAndPassword(cred.PasswordHash, []byte(password)) == nil
	case len(cred.OneTimeHash) > 0:
		sum := sha256.Sum256([]byte(strings.TrimSpace(password)))
		ok = subtle.ConstantTimeCompare(sum[:], cred.OneTimeHash) == 1
		oneTime = sum[:]
	}
	if !ok {
		s.logins.fail(now, keys...)
		s.Log.Info("sign-in failed", "user", s.loggedUser(ctx, user), "addr", addr)
		return nil, bad
	}
	sess := &outreach.Session{User: u.Name, Created: now.UTC(), LastSeen: now.UTC(), Expires: now.Add(s.SignIn.ttl()).UTC(), Addr: addr, UserAgent: truncate(userAgent, 200)}
	secret, err := s.Store.CreateSession(ctx, sess, oneTime)
	if err != nil {
		if outreach.ErrorCode(err) == outreach.EUNAUTHORIZED {
			s.logins.fail(now, keys...)
		}
		return nil, err
	}
	s.logins.succeed(acct)
	markAudited(ctx)
	if _, err := s.Store.PruneSessions(ctx, s.sessionOver); err != nil {
		s.Log.Error("prune sessions", "err", err)
	}
	return &LoginResult{Secret: secret, Session: sess}, nil
}

// throttledAddr is the client address failures are counted under: an
// IPv6 address's /64, the block one subscriber usually holds whole, so
// that stepping through it gets no fresh guesses.
func throttledAddr(addr string) string {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return addr
	}
	if a = a.Unmap(); a.Is6() {
		p, _ := a.WithZone("").Prefix(64)
		return p.String()
	}
	return a.String()
}

// loggedUser is how a sign-in attempt's user name goes into the log: the
// name of an existing user, else "(unknown user)". What was typed in the
// name field may be a password typed in the wrong field; it never goes
// into the log.
func (s *Service) loggedUser(ctx context.Context, user string) string {
	if uname, err := store.UserName(user); err == nil {
		if u, err := s.Store.User(ctx, uname); err == nil {
			return u.Name
		}
	}
	return "(unknown user)"
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// sessionOver reports whether a session has ended by time.
func (s *Service) sessionOver(sess *outreach.Session) bool {
	now := s.Now()
	return !now.Before(sess.Expires) || now.Sub(sess.LastSeen) >= s.SignIn.idle()
}

// SessionPrincipal returns the principal and session a session secret
// opens, or EUNAUTHORIZED when it is unknown, revoked or over (past its
// lifetime, or idle too long). Use refreshes the session's idle clock at
// most once a minute.
func (s *Service) SessionPrincipal(ctx context.Context, secret string) (*outreach.Principal, *outreach.Session, error) {
	sess, p, err := s.Store.SessionBySecret(ctx, secret)
	if err != nil {
		return nil, nil, err
	}
	if s.sessionOver(sess) {
		return nil, nil, outreach.Errorf(outreach.EUNAUTHORIZED, "your session has ended: sign in again")
	}
	if now := s.Now(); now.Sub(sess.LastSeen) >= time.Minute {
		if err := s.Store.TouchSession(ctx, sess.ID, now); err != nil {
			s.Log.Error("touch session", "err", err)
		}
	}
	return p, sess, nil
}

// Logout ends the signed-in user's own session.
func (s *Service) Logout(ctx context.Context, p *outreach.Principal, sess *outreach.Session) error {
	if p == nil || sess == nil || sess.User != p.Name {
		return nil
	}
	if _, err := s.Store.DeleteSession(ctx, sess.ID, "session.logout", p.Name); err != nil && outreach.ErrorCode(err) != outreach.ENOTFOUND {
		return err
	}
	markAudited(ctx)
	return nil
}

// Sign-in throttling: a key (an account, a client address) may fail
// maxFailures times; after that each attempt waits baseLockout, doubled
// for every further failure up to maxLockout, counted from the last
// failure. Failures are forgotten a failureWindow after the last one, and
// an account's at its next successful sign-in (an address's are not: one
// good password must not unlock guessing at other accounts).
const (
	maxFailures   = 10
	baseLockout   = time.Minute
	maxLockout    = time.Hour
	failureWindow = 24 * time.Hour
	maxTracked    = 10000
)

// loginThrottle counts failed sign-ins in memory; a restart forgets them.
// Its zero value is ready to use.
type loginThrottle struct {
	mu   sync.Mutex
	keys map[string]*failures
}

type failures struct {
	n    int
	last time.Time
}

func (t *loginThrottle) wait(now time.Time, keys ...string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	var longest time.Duration
	for _, k := range keys {
		f := t.keys[k]
		if f == nil || f.n < maxFailures || now.Sub(f.last) >= failureWindow {
			continue
		}
		d := min(baseLockout<<min(f.n-maxFailures, 16), maxLockout)
		if w := f.last.Add(d).Sub(now); w > longest {
			longest = w
		}
	}
	return longest
}

func (t *loginThrottle) fail(now time.Time, keys ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.keys == nil {
		t.keys = map[string]*failures{}
	}
	if len(t.keys) >= maxTracked {
		for k, f := range t.keys {
			if now.Sub(f.last) >= failureWindow || f.n < maxFailures {
				delete(t.keys, k)
			}
		}
	}
	for _, k := range keys {
		f := t.keys[k]
		if f == nil || now.Sub(f.last) >= failureWindow {
			f = &failures{}
			t.keys[k] = f
		}
		f.n++
		f.last = now
	}
}

func (t *loginThrottle) succeed(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.keys, key)
}

// ForgetResult says what forgetting a contact did.
type ForgetResult struct {
	store.ForgetReport
	FileBefore int64 `json:"file_before"` // database file size before compaction
	FileAfter  int64 `json:"file_after"`
}

// ForgetContact erases a person's data for a data-protection request
// (admin only): see store.Forget. The address stays suppressed under its
// keyed hash. The store is then compacted so that the old bytes leave the
// file; if compaction fails, the erasure stands and the error says to
// run `outreach compact` with the daemon stopped.
func (s *Service) ForgetContact(ctx context.Context, p *outreach.Principal, email string) (*ForgetResult, error) {
	if err := can(p, outreach.RoleAdmin); err != nil {
		return nil, err
	}
	rep, err := s.Store.Forget(ctx, email, name(p))
	if err != nil {
		return nil, err
	}
	markAudited(ctx)
	s.Log.Info("contact forgotten", "hash", rep.Hash, "records", rep.Records, "keys", rep.Keys, "by", name(p))
	res := &ForgetResult{ForgetReport: *rep}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
	defer cancel()
	if res.FileBefore, res.FileAfter, err = s.Store.CompactLive(cctx); err != nil {
		s.Log.Error("compact after forget", "err", err)
		return res, outreach.Errorf(outreach.EUNAVAILABLE, "the data was erased, but the database file could not be compacted (%v): stop the daemon and run `outreach compact` so that the old bytes leave the file", err)
	}
	return res, nil
}

// auditMark records whether a request wrote the audit trail.
type auditMark struct {
	mu   sync.Mutex
	done bool
}

type auditMarkKey struct{}

// WithAuditMark returns a context in which the service notes whether an
// operation wrote the audit trail (see Audited). The HTTP layer uses it
// to audit, as a safety net, a state-changing request that nothing
// audited.
func WithAuditMark(ctx context.Context) context.Context {
	return context.WithValue(ctx, auditMarkKey{}, &auditMark{})
}

// Audited reports whether an operation under ctx (see WithAuditMark)
// wrote the audit trail.
func Audited(ctx context.Context) bool {
	m, _ := ctx.Value(auditMarkKey{}).(*auditMark)
	if m == nil {
		return false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.done
}

// markAudited notes that an operation wrote the audit trail, for the
// operations whose store transaction writes it.
func markAudited(ctx context.Context) {
	if m, _ := ctx.Value(auditMarkKey{}).(*auditMark); m != nil {
		m.mu.Lock()
		m.done = true
		m.mu.Unlock()
	}
}
