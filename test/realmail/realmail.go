// Package realmail connects tests to the real Postfix and Dovecot instances
// that test/mailservers/start.sh runs on 127.0.0.1, and reads what they
// delivered.
//
// Tests call Env first. It skips the test with one line when the servers are
// not configured, unless OUTREACH_REAL_MAIL=1 (set by `make test-real`), in
// which case a missing server fails the test. The instances are shared by
// every test of a run and keep their mailboxes between runs: a test should
// mark what it sends (a unique Message-ID or subject) and look for it with
// WaitMessage rather than count messages.
package realmail

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"
)

// SkipMessage is the one line a test is skipped with when the real servers
// are not configured.
const SkipMessage = "real mail servers not running: run `make test-real` (needs root and Debian packages)"

// Servers describes one running pair of Postfix and Dovecot instances, as
// written by start.sh to STATE_DIR/env.
type Servers struct {
	// Submission is host:port of Postfix's submission listener: STARTTLS
	// required, AUTH PLAIN/LOGIN against Dovecot (user sender@Domain).
	Submission string
	// MX is host:port of Postfix's plain SMTP listener, without AUTH: how
	// partners reply. It relays only to Domain.
	MX string
	// IMAP (STARTTLS available) and IMAPS (implicit TLS) are Dovecot's
	// listeners, host:port.
	IMAP, IMAPS string
	// CAFile is the PEM file of the test CA that signed the servers'
	// certificate (valid for 127.0.0.1, localhost and mail.Domain).
	CAFile string
	// Domain is the local mail domain, example.test.
	Domain string
	// Password is the password of every user in Users.
	Password string
	// PostfixLog and DovecotLog are the servers' log files.
	PostfixLog, DovecotLog string
	// StateDir holds everything of the instances; MailHome holds the users'
	// home directories (MailHome/DOMAIN/LOCALPART).
	StateDir, MailHome string
	// PostfixConfig is Postfix's configuration directory (postfix -c) and
	// DovecotConfig Dovecot's configuration file (dovecot -c, doveadm -c).
	PostfixConfig, DovecotConfig string
	// Users are the full addresses of the mailboxes: campaign@, sender@ and
	// partner1@ to partner20@Domain.
	Users []string
}

// RawMessage is one message of a mailbox, as stored.
type RawMessage struct {
	UID uint32
	Raw []byte
}

// Header parses the message's header section. A malformed header yields
// the fields read before the error.
func (m RawMessage) Header() *mail.Header {
	h, _ := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(m.Raw)))
	return &mail.Header{Header: message.Header{Header: h}}
}

// Env returns the servers described by the file named in
// $OUTREACH_REAL_MAIL_ENV after checking that each listener accepts a
// connection. When the file is missing or unreadable or a server does not
// answer, the test fails if $OUTREACH_REAL_MAIL is "1" and is skipped with
// SkipMessage otherwise.
func Env(t testing.TB) *Servers {
	t.Helper()
	s, err := load(os.Getenv("OUTREACH_REAL_MAIL_ENV"))
	if err == nil {
		err = s.probe()
	}
	if err != nil {
		if os.Getenv("OUTREACH_REAL_MAIL") == "1" {
			t.Fatalf("real mail servers required (OUTREACH_REAL_MAIL=1): %v", err)
		}
		t.Skip(SkipMessage)
	}
	return s
}

func load(path string) (*Servers, error) {
	if path == "" {
		return nil, fmt.Errorf("OUTREACH_REAL_MAIL_ENV is not set")
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open env file: %w", err)
	}
	defer f.Close()
	vars, err := parseEnv(path, f)
	if err != nil {
		return nil, err
	}
	return fromVars(path, vars)
}

// parseEnv reads shell-style KEY=VALUE lines. Blank lines and lines starting
// with # are ignored; a value may be wrapped in single or double quotes.
func parseEnv(name string, r io.Reader) (map[string]string, error) {
	vars := make(map[string]string)
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		text = strings.TrimPrefix(text, "export ")
		key, value, ok := strings.Cut(text, "=")
		if !ok || !validKey(key) {
			return nil, fmt.Errorf("%s:%d: want KEY=VALUE, got %q", name, line, text)
		}
		if n := len(value); n >= 2 && (value[0] == '"' || value[0] == '\'') && value[n-1] == value[0] {
			value = value[1 : n-1]
		}
		vars[key] = value
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return vars, nil
}

func validKey(k string) bool {
	if k == "" || (k[0] >= '0' && k[0] <= '9') {
		return false
	}
	for _, c := range k {
		if !(c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func fromVars(name string, v map[string]string) (*Servers, error) {
	s := &Servers{
		Submission: v["OUTREACH_REAL_SMTP_SUBMISSION"],
		MX:         v["OUTREACH_REAL_SMTP_MX"],
		IMAP:       v["OUTREACH_REAL_IMAP"],
		IMAPS:      v["OUTREACH_REAL_IMAPS"],
		CAFile:     v["OUTREACH_REAL_CA"],
		Domain:     v["OUTREACH_REAL_DOMAIN"],
		Password:   v["OUTREACH_REAL_PASSWORD"],
		PostfixLog: v["OUTREACH_REAL_POSTFIX_LOG"],
		DovecotLog: v["OUTREACH_REAL_DOVECOT_LOG"],
		StateDir:   v["OUTREACH_REAL_STATE_DIR"],
		MailHome:   v["OUTREACH_REAL_MAIL_HOME"],

		PostfixConfig: v["OUTREACH_REAL_POSTFIX_CONFIG"],
		DovecotConfig: v["OUTREACH_REAL_DOVECOT_CONFIG"],
	}
	required := []struct{ key, value string }{
		{"OUTREACH_REAL_SMTP_SUBMISSION", s.Submission},
		{"OUTREACH_REAL_SMTP_MX", s.MX},
		{"OUTREACH_REAL_IMAP", s.IMAP},
		{"OUTREACH_REAL_IMAPS", s.IMAPS},
		{"OUTREACH_REAL_CA", s.CAFile},
		{"OUTREACH_REAL_DOMAIN", s.Domain},
		{"OUTREACH_REAL_PASSWORD", s.Password},
		{"OUTREACH_REAL_USERS", v["OUTREACH_REAL_USERS"]},
	}
	for _, r := range required {
		if r.value == "" {
			return nil, fmt.Errorf("%s: %s is missing or empty", name, r.key)
		}
	}
	for _, addr := range []string{s.Submission, s.MX, s.IMAP, s.IMAPS} {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return nil, fmt.Errorf("%s: bad address %q: %w", name, addr, err)
		}
	}
	for u := range strings.SplitSeq(v["OUTREACH_REAL_USERS"], ",") {
		if u = strings.TrimSpace(u); u != "" {
			s.Users = append(s.Users, u)
		}
	}
	return s, nil
}

func (s *Servers) probe() error {
	for _, addr := range []string{s.Submission, s.MX, s.IMAP, s.IMAPS} {
		c, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err != nil {
			return fmt.Errorf("probe %s: %w", addr, err)
		}
		c.Close()
	}
	if _, err := os.Stat(s.CAFile); err != nil {
		return fmt.Errorf("test CA: %w", err)
	}
	return nil
}

// Address returns user as a full address: a bare local part gets "@"+Domain.
func (s *Servers) Address(user string) string {
	if strings.Contains(user, "@") {
		return user
	}
	return user + "@" + s.Domain
}

// TLSConfig returns a client configuration that trusts only the test CA and
// verifies the server as 127.0.0.1.
func (s *Servers) TLSConfig(t testing.TB) *tls.Config {
	t.Helper()
	pem, err := os.ReadFile(s.CAFile)
	if err != nil {
		t.Fatalf("read test CA: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("test CA %s: no certificate found", s.CAFile)
	}
	return &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
}

// Mailbox returns every message in user's INBOX in UID order, read over
// IMAPS without setting \Seen.
func (s *Servers) Mailbox(t testing.TB, user string) []RawMessage {
	t.Helper()
	return s.Folder(t, user, "INBOX")
}

// Folder returns every message in user's mailbox folder (such as
// "Processed") in UID order, read over IMAPS without setting \Seen. A
// folder that does not exist fails the test.
func (s *Servers) Folder(t testing.TB, user, folder string) []RawMessage {
	t.Helper()
	msgs, err := s.fetchFolder(s.TLSConfig(t), user, folder, 1)
	if err != nil {
		t.Fatalf("read %s of %s: %v", folder, s.Address(user), err)
	}
	return msgs
}

// WaitMailbox polls user's INBOX until it holds at least n messages and
// returns them all; the test fails after timeout.
func (s *Servers) WaitMailbox(t testing.TB, user string, n int, timeout time.Duration) []RawMessage {
	t.Helper()
	cfg := s.TLSConfig(t)
	deadline := time.Now().Add(timeout)
	for {
		msgs, err := s.fetch(cfg, user, 1)
		if err == nil && len(msgs) >= n {
			return msgs
		}
		if time.Now().After(deadline) {
			if err != nil {
				t.Fatalf("mailbox of %s after %v: %v", s.Address(user), timeout, err)
			}
			t.Fatalf("mailbox of %s after %v: %d messages, want at least %d", s.Address(user), timeout, len(msgs), n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// WaitMessage polls user's INBOX until a message satisfies match and
// returns the first such message in UID order; the test fails after timeout.
func (s *Servers) WaitMessage(t testing.TB, user string, match func(RawMessage) bool, timeout time.Duration) RawMessage {
	t.Helper()
	cfg := s.TLSConfig(t)
	deadline := time.Now().Add(timeout)
	next := uint32(1)
	for {
		msgs, err := s.fetch(cfg, user, next)
		for _, m := range msgs {
			if match(m) {
				return m
			}
			next = max(next, m.UID+1)
		}
		if time.Now().After(deadline) {
			if err != nil {
				t.Fatalf("mailbox of %s after %v: %v", s.Address(user), timeout, err)
			}
			t.Fatalf("mailbox of %s after %v: no matching message among UIDs below %d", s.Address(user), timeout, next)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// EmptyMailbox deletes every message in user's INBOX.
func (s *Servers) EmptyMailbox(t testing.TB, user string) {
	t.Helper()
	err := s.withMailbox(s.TLSConfig(t), user, false, func(c *imapclient.Client, sel *imap.SelectData) error {
		if sel.NumMessages == 0 {
			return nil
		}
		all := imap.SeqSet{{Start: 1, Stop: 0}}
		store := &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}
		if err := c.Store(all, store, nil).Close(); err != nil {
			return fmt.Errorf("store \\Deleted: %w", err)
		}
		if err := c.Expunge().Close(); err != nil {
			return fmt.Errorf("expunge: %w", err)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("empty mailbox of %s: %v", s.Address(user), err)
	}
}

// fetch returns the INBOX messages of user whose UID is at least from.
func (s *Servers) fetch(cfg *tls.Config, user string, from uint32) ([]RawMessage, error) {
	return s.fetchFolder(cfg, user, "INBOX", from)
}

// fetchFolder returns the messages of user's folder whose UID is at least
// from.
func (s *Servers) fetchFolder(cfg *tls.Config, user, folder string, from uint32) ([]RawMessage, error) {
	var msgs []RawMessage
	err := s.withFolder(cfg, user, folder, true, func(c *imapclient.Client, sel *imap.SelectData) error {
		if sel.NumMessages == 0 || uint32(sel.UIDNext) <= from {
			return nil
		}
		var set imap.UIDSet
		set.AddRange(imap.UID(from), 0)
		body := &imap.FetchItemBodySection{Peek: true}
		bufs, err := c.Fetch(set, &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{body}}).Collect()
		if err != nil {
			return fmt.Errorf("fetch: %w", err)
		}
		for _, b := range bufs {
			if uint32(b.UID) < from {
				continue // "N:*" includes the highest UID even when below N (RFC 9051 6.4.8)
			}
			msgs = append(msgs, RawMessage{UID: uint32(b.UID), Raw: b.FindBodySection(body)})
		}
		return nil
	})
	return msgs, err
}

func (s *Servers) withMailbox(cfg *tls.Config, user string, readOnly bool, f func(*imapclient.Client, *imap.SelectData) error) error {
	return s.withFolder(cfg, user, "INBOX", readOnly, f)
}

func (s *Servers) withFolder(cfg *tls.Config, user, folder string, readOnly bool, f func(*imapclient.Client, *imap.SelectData) error) error {
	c, err := imapclient.DialTLS(s.IMAPS, &imapclient.Options{
		TLSConfig: cfg,
		Dialer:    &net.Dialer{Timeout: 5 * time.Second},
	})
	if err != nil {
		return fmt.Errorf("dial %s: %w", s.IMAPS, err)
	}
	defer c.Close()
	if err := c.Login(s.Address(user), s.Password).Wait(); err != nil {
		return fmt.Errorf("login: %w", err)
	}
	sel, err := c.Select(folder, &imap.SelectOptions{ReadOnly: readOnly}).Wait()
	if err != nil {
		return fmt.Errorf("select %s: %w", folder, err)
	}
	if err := f(c, sel); err != nil {
		return err
	}
	return c.Logout().Wait()
}

// WaitLog polls the log file at path until a line contains every one of
// substrs, and returns that line; the test fails after timeout.
func WaitLog(t testing.TB, path string, timeout time.Duration, substrs ...string) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		data, err := os.ReadFile(path)
		if err == nil {
			if line, ok := findLine(data, substrs); ok {
				return line
			}
		}
		if time.Now().After(deadline) {
			if err != nil {
				t.Fatalf("log %s: %v", path, err)
			}
			t.Fatalf("log %s: no line containing %q after %v", path, substrs, timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func findLine(data []byte, substrs []string) (string, bool) {
	for line := range strings.Lines(string(data)) {
		ok := true
		for _, sub := range substrs {
			if !strings.Contains(line, sub) {
				ok = false
				break
			}
		}
		if ok {
			return strings.TrimRight(line, "\n"), true
		}
	}
	return "", false
}
