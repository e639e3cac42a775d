package service

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/outreach-coalition/outreach/internal/outreach"
	"github.com/outreach-coalition/outreach/internal/store"
)

func newUsersService(t *testing.T) *Service {
	t.Helper()
	st, err := store.Open(t.TempDir(), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s := New(st, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	s.SignIn.PasswordCost = 4
	return s
}

var testAdmin = &outreach.Principal{Name: "admin", Role: outreach.RoleAdmin}

func TestLoginThrottleSchedule(t *testing.T) {
	var th loginThrottle
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 9; i++ {
		th.fail(t0, "user:a")
	}
	if w := th.wait(t0, "user:a"); w != 0 {
		t.Errorf("after 9 failures wait %v; want 0", w)
	}
	for n, want := range map[int]time.Duration{10: time.Minute, 11: 2 * time.Minute, 12: 4 * time.Minute, 16: time.Hour, 40: time.Hour} {
		var th loginThrottle
		for i := 0; i < n; i++ {
			th.fail(t0, "user:a")
		}
		if w := th.wait(t0, "user:a", "addr:x"); w != want {
			t.Errorf("after %d failures wait %v; want %v", n, w, want)
		}
		if w := th.wait(t0.Add(want), "user:a"); w != 0 {
			t.Errorf("after %d failures and the lockout, wait %v; want 0", n, w)
		}
	}
	th.fail(t0, "user:a")
	if w := th.wait(t0.Add(24*time.Hour), "user:a"); w != 0 {
		t.Errorf("a day later wait %v; want 0", w)
	}
	th.fail(t0.Add(24*time.Hour), "user:a")
	if w := th.wait(t0.Add(24*time.Hour), "user:a"); w != 0 {
		t.Errorf("failures older than a day still count: wait %v", w)
	}
	th.succeed("user:a")
	if len(th.keys) != 0 {
		t.Errorf("keys after success: %v", th.keys)
	}
}

func TestPasswordsAndRoles(t *testing.T) {
	s := newUsersService(t)
	ctx := context.Background()
	coord := &outreach.Principal{Name: "c", Role: outreach.RoleCoordinator}
	if _, _, err := s.AddUser(ctx, coord, UserInput{Name: "x@example.org", Role: outreach.RoleViewer}); outreach.ErrorCode(err) != outreach.EFORBIDDEN {
		t.Errorf("a coordinator adding a user = %v; want forbidden", err)
	}
	if _, err := s.ForgetContact(ctx, coord, "x@example.org"); outreach.ErrorCode(err) != outreach.EFORBIDDEN {
		t.Errorf("a coordinator forgetting = %v; want forbidden", err)
	}
	for _, pw := range []string{"short", "ana@example.org", string(make([]byte, 73))} {
		if _, _, err := s.AddUser(ctx, testAdmin, UserInput{Name: "ana@example.org", Role: outreach.RoleViewer, Password: pw}); outreach.ErrorCode(err) != outreach.EINVALID {
			t.Errorf("password %q = %v; want invalid", pw, err)
		}
	}
	if _, _, err := s.AddUser(ctx, testAdmin, UserInput{Name: "ana@example.org", Role: outreach.RoleViewer, Password: "first passphrase"}); err != nil {
		t.Fatal(err)
	}
	one, err := s.Login(ctx, "ana@example.org", "first passphrase", "a", "")
	if err != nil {
		t.Fatal(err)
	}
	two, _ := s.Login(ctx, "ana@example.org", "first passphrase", "a", "")
	ana := &outreach.Principal{Name: "ana@example.org", Role: outreach.RoleViewer}
	if err := s.ChangePassword(ctx, ana, one.Session, "wrong", "second passphrase"); outreach.ErrorCode(err) != outreach.EINVALID {
		t.Errorf("change with a wrong current password = %v; want invalid", err)
	}
	if err := s.ChangePassword(ctx, ana, two.Session, "first passphrase", "second passphrase"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.SessionPrincipal(ctx, one.Secret); err == nil {
		t.Error("the other session survived the password change")
	}
	if _, _, err := s.SessionPrincipal(ctx, two.Secret); err != nil {
		t.Errorf("the changing session ended: %v", err)
	}
	if _, err := s.Login(ctx, "ana@example.org", "first passphrase", "a", ""); err == nil {
		t.Error("the old password still signs in")
	}
	otp, err := s.ResetPassword(ctx, testAdmin, "ana@example.org", "")
	if err != nil || otp == "" {
		t.Fatalf("reset = %q, %v", otp, err)
	}
	if _, _, err := s.SessionPrincipal(ctx, two.Secret); err == nil {
		t.Error("a session survived the reset")
	}
	res, err := s.Login(ctx, "ana@example.org", otp, "a", "")
	if err != nil || !res.Session.MustChangePassword {
		t.Fatalf("one-time sign-in = %+v, %v", res, err)
	}
	if err := s.ChangePassword(ctx, ana, res.Session, "", "third passphrase"); err != nil || res.Session.MustChangePassword {
		t.Errorf("setting a password from the one-time session = %v (must change %v)", err, res.Session.MustChangePassword)
	}
	if _, p, err := s.Store.SessionBySecret(ctx, res.Secret); err != nil || p.Name != "ana@example.org" {
		t.Errorf("the one-time session after setting a password: %v", err)
	}
	if got, _, _ := s.Store.SessionBySecret(ctx, res.Secret); got.MustChangePassword {
		t.Error("the stored session still must change its password")
	}
}

// A failed or refused sign-in logs the user name only when it names a
// user: a password typed into the name field never reaches the log.
func TestSignInLogsNoTypedSecret(t *testing.T) {
	s := newUsersService(t)
	var logs bytes.Buffer
	s.Log = slog.New(slog.NewTextHandler(&logs, nil))
	ctx := context.Background()
	if _, _, err := s.AddUser(ctx, testAdmin, UserInput{Name: "ana@example.org", Role: outreach.RoleViewer, Password: "a long enough password"}); err != nil {
		t.Fatal(err)
	}
	const typed = "Tr0ub4dor&3-secret"
	if _, err := s.Login(ctx, typed, "whatever", "192.0.2.1", "test"); err == nil {
		t.Fatal("sign-in with a password as the name succeeded")
	}
	for i := 0; i < maxFailures; i++ {
		s.logins.fail(s.Now(), "user:"+strings.ToLower(typed))
	}
	var te *ThrottledError
	if _, err := s.Login(ctx, typed, "whatever", "192.0.2.1", "test"); !errors.As(err, &te) {
		t.Fatalf("sign-in after %d failures = %v; want it throttled", maxFailures, err)
	}
	if _, err := s.Login(ctx, "ana@example.org", "wrong password", "192.0.2.2", "test"); err == nil {
		t.Fatal("sign-in with a wrong password succeeded")
	}
	out := logs.String()
	if strings.Contains(out, "Tr0ub4dor") || strings.Contains(strings.ToLower(out), "tr0ub4dor") {
		t.Errorf("the log holds what was typed as the user name:\n%s", out)
	}
	if !strings.Contains(out, "(unknown user)") || !strings.Contains(out, "too many failures") || !strings.Contains(out, "user=ana@example.org") {
		t.Errorf("the log does not name the known user, or the unknown one as such, or the lockout:\n%s", out)
	}
}

// The account lockout counts the account, whatever form of its address
// each attempt typed: a display name or quotes do not make a new one.
func TestLockoutCountsTheAccountNotItsSpelling(t *testing.T) {
	s := newUsersService(t)
	ctx := context.Background()
	const pw = "a long enough password"
	if _, _, err := s.AddUser(ctx, testAdmin, UserInput{Name: "ana@example.org", Role: outreach.RoleViewer, Password: pw}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < maxFailures; i++ {
		name := fmt.Sprintf("Guess %d <ana@example.org>", i)
		if i%2 == 1 {
			name = fmt.Sprintf("\"ana\"@Example.org%s", strings.Repeat(" ", i))
		}
		if _, err := s.Login(ctx, name, "wrong password", fmt.Sprintf("192.0.2.%d", i+1), "test"); outreach.ErrorCode(err) != outreach.EUNAUTHORIZED {
			t.Fatalf("attempt %d as %q = %v; want a wrong password", i, name, err)
		}
	}
	var te *ThrottledError
	if _, err := s.Login(ctx, "ana@example.org", pw, "198.51.100.1", "test"); !errors.As(err, &te) {
		t.Errorf("sign-in after %d failures under other spellings = %v; want the account locked out", maxFailures, err)
	}
}

// Failures from one IPv6 /64 count together: stepping through the block
// gets no fresh guesses; another block is not locked out.
func TestLockoutCountsAnIPv6Block(t *testing.T) {
	s := newUsersService(t)
	ctx := context.Background()
	const pw = "a long enough password"
	for i := 0; i <= maxFailures; i++ {
		if _, _, err := s.AddUser(ctx, testAdmin, UserInput{Name: fmt.Sprintf("u%d", i), Role: outreach.RoleViewer, Password: pw}); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < maxFailures; i++ {
		if _, err := s.Login(ctx, fmt.Sprintf("u%d", i), "wrong password", fmt.Sprintf("2001:db8:1:2::%x", i+1), "test"); outreach.ErrorCode(err) != outreach.EUNAUTHORIZED {
			t.Fatalf("attempt %d = %v; want a wrong password", i, err)
		}
	}
	last := fmt.Sprintf("u%d", maxFailures)
	var te *ThrottledError
	if _, err := s.Login(ctx, last, pw, "2001:db8:1:2:ffff::1", "test"); !errors.As(err, &te) {
		t.Errorf("sign-in from the same /64 after %d failures = %v; want it locked out", maxFailures, err)
	}
	if _, err := s.Login(ctx, last, pw, "2001:db8:1:3::1", "test"); err != nil {
		t.Errorf("sign-in from another /64 = %v; want it to pass", err)
	}
	if got := throttledAddr("::ffff:192.0.2.1"); got != "192.0.2.1" {
		t.Errorf("throttledAddr of a mapped IPv4 address = %q", got)
	}
}
