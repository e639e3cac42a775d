package store

import (
	"context"
	"crypto/sha256"
	"strings"
	"testing"
	"time"

	"github.com/outreach-coalition/outreach/internal/outreach"
)

func TestUserNames(t *testing.T) {
	for in, want := range map[string]string{
		"admin": "admin", " Ana@Example.ORG ": "ana@example.org", "ops-team_2": "ops-team_2",
		"": "", "two words": "", "a@b": "", "x\ny": "", strings.Repeat("a", 65): "",
	} {
		got, err := UserName(in)
		if got != want || (want == "") != (err != nil) {
			t.Errorf("UserName(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestUsersCreateListUpdate(t *testing.T) {
	s := MustOpen(t)
	ctx := context.Background()
	if _, err := s.CreateUser(ctx, outreach.User{Name: "admin", Role: outreach.RoleAdmin}, Credential{PasswordHash: []byte("h")}, "system"); err != nil {
		t.Fatal(err)
	}
	u, err := s.CreateUser(ctx, outreach.User{Name: "Coord@Example.org", Role: outreach.RoleCoordinator, Countries: []string{"ph", "MY", "MY"}}, Credential{OneTimeHash: []byte("x")}, "admin")
	if err != nil {
		t.Fatal(err)
	}
	if u.Name != "coord@example.org" || strings.Join(u.Countries, ",") != "MY,PH" || u.HasPassword || !u.MustChangePassword {
		t.Errorf("created %+v; want a lower-case name, sorted unique countries, a one-time password", u)
	}
	if _, err := s.CreateUser(ctx, outreach.User{Name: "coord@example.org", Role: outreach.RoleViewer}, Credential{}, "admin"); outreach.ErrorCode(err) != outreach.ECONFLICT {
		t.Errorf("second create = %v; want conflict", err)
	}
	for _, bad := range []outreach.User{
		{Name: "x@example.org", Role: "boss"},
		{Name: "y@example.org", Role: outreach.RoleViewer, Countries: []string{"XX"}},
		{Name: "z@example.org", Role: outreach.RoleAdmin, Countries: []string{"MY"}},
	} {
		if _, err := s.CreateUser(ctx, bad, Credential{}, "admin"); outreach.ErrorCode(err) != outreach.EINVALID {
			t.Errorf("create %+v = %v; want invalid", bad, err)
		}
	}
	list, _ := s.Users(ctx)
	if len(list) != 2 || list[0].Name != "admin" {
		t.Fatalf("users = %+v", list)
	}

	yes := true
	if _, err := s.UpdateUser(ctx, "admin", UserPatch{Disabled: &yes}, "admin"); outreach.ErrorCode(err) != outreach.ECONFLICT {
		t.Errorf("disabling the last admin = %v; want conflict", err)
	}
	viewer := outreach.RoleViewer
	if _, err := s.UpdateUser(ctx, "admin", UserPatch{Role: &viewer}, "admin"); outreach.ErrorCode(err) != outreach.ECONFLICT {
		t.Errorf("demoting the last admin = %v; want conflict", err)
	}
	one := []string{"PH"}
	u, err = s.UpdateUser(ctx, "coord@example.org", UserPatch{Countries: &one}, "admin")
	if err != nil || strings.Join(u.Countries, ",") != "PH" {
		t.Fatalf("update = %+v, %v", u, err)
	}
	tok, _, err := s.CreateToken(ctx, "coord@example.org", outreach.RoleCoordinator, "admin")
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Authenticate(ctx, tok)
	if err != nil || p.Role != outreach.RoleCoordinator || strings.Join(p.Countries, ",") != "PH" {
		t.Errorf("token principal = %+v, %v; want the user's role and scope", p, err)
	}
	if _, err := s.UpdateUser(ctx, "coord@example.org", UserPatch{Disabled: &yes}, "admin"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, tok); outreach.ErrorCode(err) != outreach.EUNAUTHORIZED {
		t.Errorf("token of a disabled user = %v; want unauthorized", err)
	}
	entries, _ := s.AuditLog(ctx, "admin", time.Time{}, 100)
	var actions []string
	for _, e := range entries {
		actions = append(actions, e.Action)
	}
	if got := strings.Join(actions, " "); got != "user.create user.edit token.create user.disable" {
		t.Errorf("audit = %s", got)
	}
}

func TestSessionsOneTimePasswordAndRevocation(t *testing.T) {
	s := MustOpen(t)
	ctx := context.Background()
	otp := sha256.Sum256([]byte("one-time"))
	if _, err := s.CreateUser(ctx, outreach.User{Name: "ana@example.org", Role: outreach.RoleViewer, Countries: []string{"MY"}}, Credential{OneTimeHash: otp[:]}, "admin"); err != nil {
		t.Fatal(err)
	}
	wrong := sha256.Sum256([]byte("guess"))
	if _, err := s.CreateSession(ctx, &outreach.Session{User: "ana@example.org"}, wrong[:]); outreach.ErrorCode(err) != outreach.EUNAUTHORIZED {
		t.Fatalf("session with a wrong one-time password = %v", err)
	}
	sess := &outreach.Session{User: "ana@example.org", Addr: "192.0.2.7"}
	secret, err := s.CreateSession(ctx, sess, otp[:])
	if err != nil {
		t.Fatal(err)
	}
	if !sess.MustChangePassword || !strings.HasPrefix(secret, "oss_"+sess.ID+"_") {
		t.Errorf("session %+v secret %q", sess, secret)
	}
	if _, err := s.CreateSession(ctx, &outreach.Session{User: "ana@example.org"}, otp[:]); err == nil {
		t.Error("a one-time password opened a second session")
	}
	got, p, err := s.SessionBySecret(ctx, secret)
	if err != nil || got.ID != sess.ID || p.Name != "ana@example.org" || strings.Join(p.Countries, ",") != "MY" {
		t.Fatalf("SessionBySecret = %+v %+v %v", got, p, err)
	}
	for _, bad := range []string{"", "oss_x", secret + "x", strings.Replace(secret, "oss_", "otk_", 1)} {
		if _, _, err := s.SessionBySecret(ctx, bad); outreach.ErrorCode(err) != outreach.EUNAUTHORIZED {
			t.Errorf("SessionBySecret(%q) = %v; want unauthorized", bad, err)
		}
	}
	second, err := s.CreateSession(ctx, &outreach.Session{User: "ana@example.org"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetCredential(ctx, "ana@example.org", Credential{PasswordHash: []byte("bcrypt")}, sess.ID, "ana@example.org"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.SessionBySecret(ctx, second); err == nil {
		t.Error("a password change left the other session open")
	}
	if _, _, err := s.SessionBySecret(ctx, secret); err != nil {
		t.Errorf("the session that changed the password was ended: %v", err)
	}
	if _, err := s.DeleteSession(ctx, sess.ID, "session.revoke", "admin"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.SessionBySecret(ctx, secret); err == nil {
		t.Error("a revoked session still opens")
	}
	if list, _ := s.Sessions(ctx, ""); len(list) != 0 {
		t.Errorf("sessions left: %+v", list)
	}
	old, _ := s.CreateSession(ctx, &outreach.Session{User: "ana@example.org", Expires: time.Unix(1, 0)}, nil)
	n, err := s.PruneSessions(ctx, func(x *outreach.Session) bool { return x.Expires.Before(time.Unix(2, 0)) })
	if err != nil || n != 1 {
		t.Errorf("pruned %d, %v; want 1", n, err)
	}
	if _, _, err := s.SessionBySecret(ctx, old); err == nil {
		t.Error("a pruned session still opens")
	}
}
