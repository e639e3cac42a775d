package realmail

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// SetVacation gives user an active Sieve vacation script (RFC 5230) that
// answers every message with text (":seconds 0", RFC 6131), and removes it
// when the test ends. Like set-vacation.sh, it needs root: the files belong
// to the vmail user. Replies go to the envelope sender; Pigeonhole sends none
// for mail carrying List-Id, List-Unsubscribe or Precedence: bulk, nor when
// user is not in To or Cc, and logs "discarding vacation response" in
// DovecotLog instead. Tests sharing a user's vacation must not run in
// parallel.
func (s *Servers) SetVacation(t testing.TB, user, text string) {
	t.Helper()
	if err := s.setVacation(user, text); err != nil {
		t.Fatalf("set vacation for %s: %v", s.Address(user), err)
	}
	t.Cleanup(func() {
		if err := s.setVacation(user, ""); err != nil {
			t.Errorf("remove vacation for %s: %v", s.Address(user), err)
		}
	})
}

func (s *Servers) setVacation(addr, text string) error {
	if s.MailHome == "" {
		return fmt.Errorf("OUTREACH_REAL_MAIL_HOME is not set")
	}
	local, domain, _ := strings.Cut(s.Address(addr), "@")
	if local == "" || strings.ContainsAny(local, "/\\") || strings.HasPrefix(local, ".") {
		return fmt.Errorf("bad user %q", addr)
	}
	home := filepath.Join(s.MailHome, domain, local)
	active := filepath.Join(home, ".dovecot.sieve")
	script := filepath.Join(home, "sieve", "vacation.sieve")
	if text == "" {
		for _, p := range []string{active, script, strings.TrimSuffix(script, ".sieve") + ".svbin"} {
			if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
				return err
			}
		}
		return nil
	}

	uid, gid, err := vmailIDs()
	if err != nil {
		return err
	}
	for _, dir := range []string{home, filepath.Dir(script)} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
		if err := os.Chown(dir, uid, gid); err != nil {
			return err
		}
	}
	src := "require [\"vacation\", \"vacation-seconds\"];\n" +
		"vacation :seconds 0 :subject \"Out of office\" " + sieveString(text) + ";\n"
	tmp := script + ".tmp"
	if err := os.WriteFile(tmp, []byte(src), 0o600); err != nil {
		return err
	}
	if err := os.Chown(tmp, uid, gid); err != nil {
		return err
	}
	if err := os.Rename(tmp, script); err != nil {
		return err
	}
	if err := os.Remove(active); err != nil && !os.IsNotExist(err) {
		return err
	}
	if err := os.Symlink(filepath.Join("sieve", "vacation.sieve"), active); err != nil {
		return err
	}
	return os.Lchown(active, uid, gid)
}

// sieveString quotes s as a Sieve quoted string (RFC 5228 section 2.4.2).
func sieveString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

func vmailIDs() (uid, gid int, err error) {
	u, err := user.Lookup("vmail")
	if err != nil {
		return 0, 0, fmt.Errorf("look up vmail: %w", err)
	}
	if uid, err = strconv.Atoi(u.Uid); err != nil {
		return 0, 0, fmt.Errorf("vmail uid %q: %w", u.Uid, err)
	}
	if gid, err = strconv.Atoi(u.Gid); err != nil {
		return 0, 0, fmt.Errorf("vmail gid %q: %w", u.Gid, err)
	}
	return uid, gid, nil
}
