package devmail_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	smtp "github.com/emersion/go-smtp"

	"github.com/outreach-coalition/outreach/internal/devmail"
)

func start(t *testing.T, o devmail.Options) *devmail.Server {
	t.Helper()
	s, err := devmail.Start(t.Context(), o)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func message(subject string) string {
	return "From: a@example.org\r\nTo: b@example.net\r\nSubject: " + subject + "\r\n\r\nHello.\r\n"
}

// send delivers one message over a new connection with go-smtp's client.
func send(c *smtp.Client, from, to, body string) error {
	if err := c.Mail(from, nil); err != nil {
		return err
	}
	if err := c.Rcpt(to, nil); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write([]byte(body)); err != nil {
		return err
	}
	return w.Close()
}

func dial(t *testing.T, addr string) *smtp.Client {
	t.Helper()
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func code(err error) int {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}

func TestRefusesNonLoopback(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "192.0.2.1:2525", "[::]:0", "example.org:25", "127.0.0.1"} {
		if s, err := devmail.Start(t.Context(), devmail.Options{Addr: addr}); err == nil {
			s.Close()
			t.Errorf("Start(%q) = nil error; want refusal", addr)
		}
	}
}

func TestAcceptAndKeep(t *testing.T) {
	s := start(t, devmail.Options{})
	c := dial(t, s.Addr())
	if err := send(c, "bot@example.org", "Alice@Example.NET", message("=?UTF-8?Q?H=C3=A9llo?=")); err != nil {
		t.Fatalf("send: %v", err)
	}
	if err := send(c, "bot@example.org", "bob@example.net", message("second")); err != nil {
		t.Fatalf("send: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := s.Wait(ctx, 2); err != nil {
		t.Fatal(err)
	}
	msgs := s.Messages()
	if len(msgs) != 2 {
		t.Fatalf("Messages() has %d; want 2", len(msgs))
	}
	m := msgs[0]
	if m.ID != 1 || m.From != "bot@example.org" || len(m.To) != 1 || m.To[0] != "Alice@Example.NET" || m.Subject != "Héllo" {
		t.Errorf("first message = %+v", m)
	}
	if !strings.Contains(string(m.Raw), "Hello.\r\n") || m.Received.IsZero() {
		t.Errorf("raw = %q, received %v", m.Raw, m.Received)
	}
	if got := s.CountFor("alice@example.net"); got != 1 {
		t.Errorf("CountFor(alice) = %d; want 1", got)
	}
	if got := s.Count(); got != 2 {
		t.Errorf("Count() = %d; want 2", got)
	}
	if got := s.Connections(); got != 1 {
		t.Errorf("Connections() = %d; want 1", got)
	}
	if got := s.Open(); got != 1 {
		t.Errorf("Open() = %d; want 1", got)
	}
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return s.Open() == 0 })
}

// waitFor polls cond until it holds, failing the test after 5 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestRing(t *testing.T) {
	s := start(t, devmail.Options{Keep: 2})
	c := dial(t, s.Addr())
	for i := range 5 {
		if err := send(c, "a@example.org", "b@example.net", message(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	msgs := s.Messages()
	if len(msgs) != 2 || msgs[0].ID != 4 || msgs[1].ID != 5 || msgs[1].Subject != "4" {
		t.Errorf("Messages() = %+v; want IDs 4 and 5", msgs)
	}
	if s.Count() != 5 || s.CountFor("B@example.net") != 5 {
		t.Errorf("Count() = %d, CountFor = %d; want 5, 5", s.Count(), s.CountFor("b@example.net"))
	}
}

func TestKeepNone(t *testing.T) {
	s := start(t, devmail.Options{Keep: devmail.KeepNone})
	c := dial(t, s.Addr())
	if err := send(c, "a@example.org", "b@example.net", message("x")); err != nil {
		t.Fatal(err)
	}
	if n := len(s.Messages()); n != 0 {
		t.Errorf("Messages() has %d; want 0", n)
	}
	if s.Count() != 1 || s.CountFor("b@example.net") != 1 {
		t.Errorf("Count() = %d; want 1", s.Count())
	}
}

func TestAuth(t *testing.T) {
	s := start(t, devmail.Options{Username: "bot", Password: "s3cret"})

	c := dial(t, s.Addr())
	if err := c.Mail("a@example.org", nil); code(err) != 502 {
		t.Errorf("MAIL before AUTH: %v; want 502", err)
	}
	if err := c.Auth(sasl.NewPlainClient("", "bot", "wrong")); code(err) != 535 {
		t.Errorf("AUTH with a wrong password: %v; want 535", err)
	}

	c = dial(t, s.Addr())
	if err := c.Auth(sasl.NewPlainClient("", "bot", "s3cret")); err != nil {
		t.Fatalf("AUTH: %v", err)
	}
	if err := send(c, "a@example.org", "b@example.net", message("x")); err != nil {
		t.Fatalf("send after AUTH: %v", err)
	}
}

func TestHook(t *testing.T) {
	type call struct {
		stage   devmail.Stage
		rcpt    string
		attempt int
	}
	var mu sync.Mutex
	var calls []call
	s := start(t, devmail.Options{Hook: func(stage devmail.Stage, from, rcpt string, attempt int) error {
		mu.Lock()
		calls = append(calls, call{stage, rcpt, attempt})
		mu.Unlock()
		switch {
		case stage == devmail.StageRcpt && rcpt == "ghost@example.net":
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
		case stage == devmail.StageData && rcpt == "busy@example.net" && attempt == 1:
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 7, 1}, Message: "try later"}
		}
		return nil
	}})
	c := dial(t, s.Addr())
	if err := send(c, "a@example.org", "ghost@example.net", message("x")); code(err) != 550 {
		t.Errorf("send to ghost: %v; want 550", err)
	}
	if err := c.Reset(); err != nil {
		t.Fatal(err)
	}
	if err := send(c, "a@example.org", "busy@example.net", message("x")); code(err) != 451 {
		t.Errorf("first send to busy: %v; want 451", err)
	}
	if err := send(c, "a@example.org", "Busy@example.net", message("x")); err != nil {
		t.Errorf("second send to busy: %v; want success", err)
	}
	if s.Count() != 1 || s.CountFor("busy@example.net") != 1 || s.CountFor("ghost@example.net") != 0 {
		t.Errorf("Count() = %d; want 1, for busy only", s.Count())
	}
	mu.Lock()
	defer mu.Unlock()
	want := []call{
		{devmail.StageMail, "", 1}, {devmail.StageRcpt, "ghost@example.net", 1},
		{devmail.StageMail, "", 2}, {devmail.StageRcpt, "busy@example.net", 1}, {devmail.StageData, "busy@example.net", 1},
		{devmail.StageMail, "", 3}, {devmail.StageRcpt, "Busy@example.net", 2}, {devmail.StageData, "Busy@example.net", 2},
	}
	if fmt.Sprint(calls) != fmt.Sprint(want) {
		t.Errorf("hook calls = %v\nwant %v", calls, want)
	}
}

func TestDropMidData(t *testing.T) {
	s := start(t, devmail.Options{Hook: func(stage devmail.Stage, _, _ string, _ int) error {
		if stage == devmail.StageData {
			return devmail.ErrDrop
		}
		return nil
	}})
	c := dial(t, s.Addr())
	err := send(c, "a@example.org", "b@example.net", message("x"))
	if err == nil || code(err) != 0 {
		t.Errorf("send: %v; want a connection error without reply", err)
	}
	if s.Count() != 0 {
		t.Errorf("Count() = %d; want 0", s.Count())
	}
}

func TestStartTLS(t *testing.T) {
	cfg, caPEM, err := devmail.SelfSigned()
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	s := start(t, devmail.Options{TLSConfig: cfg})

	c, err := smtp.DialStartTLS(s.Addr(), &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatalf("DialStartTLS: %v", err)
	}
	defer c.Close()
	if err := send(c, "a@example.org", "b@example.net", message("x")); err != nil {
		t.Fatalf("send: %v", err)
	}
	if s.Connections() != 1 || s.Open() != 1 {
		t.Errorf("Connections() = %d, Open() = %d; want 1, 1", s.Connections(), s.Open())
	}
	// go-smtp shakes hands lazily, at the first command after STARTTLS.
	c2, err := smtp.DialStartTLS(s.Addr(), &tls.Config{ServerName: "127.0.0.1"})
	if err == nil {
		err = c2.Noop()
		c2.Close()
	}
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("STARTTLS without the CA: %v; want a certificate error", err)
	}
}

func TestImplicitTLS(t *testing.T) {
	cfg, caPEM, err := devmail.SelfSigned()
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	s := start(t, devmail.Options{TLSConfig: cfg, ImplicitTLS: true})
	c, err := smtp.DialTLS(s.Addr(), &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatalf("DialTLS: %v", err)
	}
	defer c.Close()
	if err := send(c, "a@example.org", "b@example.net", message("x")); err != nil {
		t.Fatalf("send: %v", err)
	}
}

func TestReadTimeout(t *testing.T) {
	s := start(t, devmail.Options{ReadTimeout: 50 * time.Millisecond})
	conn, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(conn)
	greeting, _ := r.ReadString('\n')
	bye, _ := r.ReadString('\n')
	if !strings.HasPrefix(greeting, "220 ") || !strings.HasPrefix(bye, "421 4.4.2") {
		t.Errorf("got %q then %q; want 220 then 421 4.4.2", greeting, bye)
	}
	if _, err := r.ReadByte(); err == nil {
		t.Error("connection still open after the idle timeout")
	}
}

func TestStopRestart(t *testing.T) {
	s := start(t, devmail.Options{})
	addr := s.Addr()
	c := dial(t, addr)
	if err := send(c, "a@example.org", "b@example.net", message("x")); err != nil {
		t.Fatal(err)
	}
	s.Stop()
	if err := send(c, "a@example.org", "b@example.net", message("y")); err == nil {
		t.Error("send on a connection open across Stop succeeded")
	}
	if conn, err := net.Dial("tcp", addr); err == nil {
		conn.Close()
		t.Fatal("dial after Stop succeeded")
	}
	if err := s.Restart(t.Context()); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	if s.Addr() != addr {
		t.Errorf("Addr() after Restart = %s; want %s", s.Addr(), addr)
	}
	c = dial(t, addr)
	if err := send(c, "a@example.org", "b@example.net", message("z")); err != nil {
		t.Fatalf("send after Restart: %v", err)
	}
	if s.Count() != 2 {
		t.Errorf("Count() = %d; want 2", s.Count())
	}
	s.Close()
	if err := s.Restart(t.Context()); err == nil {
		t.Error("Restart after Close succeeded")
	}
}

func TestWait(t *testing.T) {
	s := start(t, devmail.Options{})
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	if err := s.Wait(ctx, 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Wait on an idle server = %v; want deadline exceeded", err)
	}

	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		done <- s.Wait(ctx, 3)
	}()
	c := dial(t, s.Addr())
	for range 3 {
		if err := send(c, "a@example.org", "b@example.net", message("x")); err != nil {
			t.Fatal(err)
		}
	}
	if err := <-done; err != nil {
		t.Errorf("Wait(3) after 3 messages = %v", err)
	}
}

func FuzzSubject(f *testing.F) {
	f.Add([]byte("Subject: plain\r\n\r\nbody"))
	f.Add([]byte("subject: =?UTF-8?B?w6k=?=\r\n folded\r\n\r\n"))
	f.Add([]byte("X: y\nSubject: lf only\n\nbody"))
	f.Add([]byte("no header at all"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, raw []byte) {
		s := devmail.SubjectOf(raw)
		if strings.Contains(s, "\r\n") {
			t.Errorf("SubjectOf(%q) = %q contains CRLF", raw, s)
		}
	})
}
