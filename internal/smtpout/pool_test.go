package smtpout

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	smtp "github.com/emersion/go-smtp"
	gomail "github.com/wneessen/go-mail"

	"github.com/outreach-coalition/outreach/internal/devmail"
)

// bothTransactions runs f for the BDAT transaction devmail's PIPELINING
// and CHUNKING allow and, with ?chunking=off, for MAIL, RCPT, DATA.
func bothTransactions(t *testing.T, f func(t *testing.T, noChunking bool)) {
	for _, off := range []bool{false, true} {
		name := "bdat"
		if off {
			name = "data"
		}
		t.Run(name, func(t *testing.T) { f(t, off) })
	}
}

func startDevmail(t testing.TB, o devmail.Options) *devmail.Server {
	t.Helper()
	s, err := devmail.Start(context.Background(), o)
	if err != nil {
		t.Fatalf("devmail.Start: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func endpointOf(t testing.TB, s *devmail.Server, mode TLSMode) *Endpoint {
	t.Helper()
	host, port, err := net.SplitHostPort(s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(port)
	return &Endpoint{Host: host, Port: n, TLS: mode}
}

func newPool(t testing.TB, cfg Config) *Pool {
	t.Helper()
	if cfg.HELO == "" {
		cfg.HELO = "sender.example.org"
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	p, err := New(cfg, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

func newMsg(t testing.TB, to, subject string) *gomail.Msg {
	t.Helper()
	m := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	if err := m.FromFormat("Coalition", "campaign@example.org"); err != nil {
		t.Fatal(err)
	}
	if err := m.EnvelopeFrom("bounces+42@example.org"); err != nil {
		t.Fatal(err)
	}
	if err := m.To(to); err != nil {
		t.Fatal(err)
	}
	m.Subject(subject)
	m.SetMessageIDWithValue(fmt.Sprintf("%s.%d@example.org", strings.ReplaceAll(to, "@", "."), time.Now().UnixNano()))
	m.SetDate()
	m.SetBodyString(gomail.TypeTextPlain, "Please endorse the letter.\r\n")
	return m
}

// sendMsg writes m and sends it through p from its envelope sender to rcpt.
func sendMsg(ctx context.Context, t testing.TB, p *Pool, m *gomail.Msg, rcpt string) Result {
	t.Helper()
	from, err := m.GetSender(false)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if _, err := m.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	return p.Send(ctx, strings.Trim(from, "<>"), rcpt, b.Bytes())
}

// send builds a message to rcpt and sends it through p.
func send(t testing.TB, p *Pool, rcpt string) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return sendMsg(ctx, t, p, newMsg(t, rcpt, "Joint letter"), rcpt)
}

func wantSent(t *testing.T, r Result) {
	t.Helper()
	if r.Outcome != Sent || r.Err != nil {
		t.Fatalf("Send = %v %d %q (err %v); want sent", r.Outcome, r.Code, r.Response, r.Err)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 5s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func reject(code int, enh smtp.EnhancedCode, msg string) error {
	return &smtp.SMTPError{Code: code, EnhancedCode: enh, Message: msg}
}

func TestSendAndReuse(t *testing.T) {
	srv := startDevmail(t, devmail.Options{})
	p := newPool(t, Config{Endpoint: endpointOf(t, srv, NoTLS)})

	r := send(t, p, "Alice@Example.net")
	wantSent(t, r)
	if r.Code != 250 || r.Enhanced != "2.0.0" || !strings.Contains(r.Response, "queued") ||
		r.Server != srv.Addr() || r.Duration <= 0 {
		t.Errorf("Send = %+v", r)
	}
	msgs := srv.Messages()
	if len(msgs) != 1 {
		t.Fatalf("server got %d messages; want 1", len(msgs))
	}
	m := msgs[0]
	if m.From != "bounces+42@example.org" || len(m.To) != 1 || m.To[0] != "Alice@Example.net" || m.Subject != "Joint letter" {
		t.Errorf("envelope/subject = %q %q %q", m.From, m.To, m.Subject)
	}
	if !strings.Contains(string(m.Raw), "Message-ID: <Alice.Example.net.") || strings.Contains(string(m.Raw), "X-Mailer") {
		t.Errorf("raw message:\n%s", m.Raw)
	}

	// The envelope recipient is the one given, whatever the headers say.
	msg := newMsg(t, "header-only@example.net", "x")
	wantSent(t, sendMsg(t.Context(), t, p, msg, "envelope@example.net"))
	if srv.CountFor("envelope@example.net") != 1 || srv.CountFor("header-only@example.net") != 0 {
		t.Error("the message went to the header recipient, not the envelope one")
	}

	for i := range 5 {
		wantSent(t, send(t, p, fmt.Sprintf("r%d@example.net", i)))
	}
	if n := srv.Connections(); n != 1 {
		t.Errorf("sequential sends used %d connections; want 1", n)
	}
}

func TestBadInput(t *testing.T) {
	srv := startDevmail(t, devmail.Options{})
	p := newPool(t, Config{Endpoint: endpointOf(t, srv, NoTLS)})
	for _, rcpt := range []string{"", "no-at-sign", "a@b.example\r\nRCPT TO:<x@y>"} {
		r := sendMsg(t.Context(), t, p, newMsg(t, "a@example.net", "x"), rcpt)
		if r.Outcome != Permanent || r.Step != StepRcpt || r.Err == nil || r.NoSuchUser() || r.RelayFault() {
			t.Errorf("Send to %q = %+v; want permanent at rcpt", rcpt, r)
		}
	}
	if r := p.Send(t.Context(), "bounces@example.org", "a@example.net", nil); r.Outcome != Permanent || r.Step != StepData {
		t.Errorf("Send(nil) = %+v; want permanent at data", r)
	}
	for _, data := range []string{"Subject: x\n\nx\r\n", "Subject: x\r\n\r\nx\n.\nMAIL FROM:<a@b>\r\n", "Subject: x\r\n\r\nx\r", "Subject: x\r\r\n\r\nx\r\n"} {
		if r := p.Send(t.Context(), "bounces@example.org", "a@example.net", []byte(data)); r.Outcome != Permanent || r.Step != StepData || !strings.Contains(r.Response, "bare CR or LF") {
			t.Errorf("Send(%q) = %+v; want permanent at data: bare line break", data, r)
		}
	}
	for _, from := range []string{"", "no-at-sign", "a@b.example>\r\nRCPT TO:<x@y"} {
		if r := p.Send(t.Context(), from, "a@example.net", []byte("Subject: x\r\n\r\nx\r\n")); r.Outcome != Permanent || r.Step != StepMail {
			t.Errorf("Send from %q = %+v; want permanent at mail", from, r)
		}
	}
	if srv.Count() != 0 {
		t.Errorf("server got %d messages; want 0", srv.Count())
	}
}

// tlsServer starts devmail with a generated certificate and AUTH, and writes
// the certificate to a CA file.
func tlsServer(t *testing.T, implicit bool) (*devmail.Server, string) {
	t.Helper()
	cfg, caPEM, err := devmail.SelfSigned("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	srv := startDevmail(t, devmail.Options{TLSConfig: cfg, ImplicitTLS: implicit, Username: "bot", Password: "p@ss word"})
	return srv, caFile
}

func TestStartTLS(t *testing.T) {
	srv, caFile := tlsServer(t, false)
	ep := endpointOf(t, srv, StartTLS)
	ep.Username, ep.Password = "bot", "p@ss word"

	p := newPool(t, Config{Endpoint: ep, CAFile: caFile})
	for _, rcpt := range []string{"a@example.net", "a2@example.net", "a3@example.net"} {
		wantSent(t, send(t, p, rcpt))
	}
	// The check for a hung-up connection must not mistake TLS for one.
	if n := srv.Connections(); n != 1 {
		t.Errorf("Connections() = %d; want 1 for three messages", n)
	}
	if err := p.Ping(t.Context()); err != nil {
		t.Errorf("Ping: %v", err)
	}

	// Without the CA the certificate cannot be verified: a relay fault.
	p = newPool(t, Config{Endpoint: ep})
	r := send(t, p, "b@example.net")
	if r.Outcome != Permanent || !r.RelayFault() || r.Code != 0 || !strings.Contains(r.Response, "certificate") {
		t.Errorf("Send without the CA = %+v; want a permanent relay fault about the certificate", r)
	}
	if err := p.Ping(t.Context()); err == nil || strings.Contains(err.Error(), "p@ss word") {
		t.Errorf("Ping without the CA = %v; want an error without the password", err)
	}
	if srv.CountFor("b@example.net") != 0 {
		t.Error("message sent over an unverified connection")
	}
}

func TestStartTLSMissing(t *testing.T) {
	srv := startDevmail(t, devmail.Options{})
	p := newPool(t, Config{Endpoint: endpointOf(t, srv, StartTLS)})
	r := send(t, p, "a@example.net")
	if r.Outcome != Permanent || !r.RelayFault() || !strings.Contains(r.Response, "STARTTLS") {
		t.Errorf("Send = %+v; want a permanent relay fault about STARTTLS", r)
	}
	// Opportunistic TLS goes ahead in plain text.
	p = newPool(t, Config{Endpoint: endpointOf(t, srv, OpportunisticTLS)})
	wantSent(t, send(t, p, "a@example.net"))
}

func TestImplicitTLS(t *testing.T) {
	srv, caFile := tlsServer(t, true)
	ep := endpointOf(t, srv, ImplicitTLS)
	ep.Username, ep.Password = "bot", "p@ss word"
	p := newPool(t, Config{Endpoint: ep, CAFile: caFile})
	wantSent(t, send(t, p, "a@example.net"))
	wantSent(t, send(t, p, "b@example.net"))
	if srv.Connections() != 1 {
		t.Errorf("Connections() = %d; want 1", srv.Connections())
	}
}

func TestWrongPassword(t *testing.T) {
	srv := startDevmail(t, devmail.Options{Username: "bot", Password: "right"})
	ep := endpointOf(t, srv, NoTLS)
	ep.Username, ep.Password = "bot", "wrong-password"
	p := newPool(t, Config{Endpoint: ep})
	r := send(t, p, "a@example.net")
	if r.Outcome != Permanent || r.Code != 535 || r.Enhanced != "5.7.8" || !r.RelayFault() || r.NoSuchUser() {
		t.Errorf("Send = %+v; want permanent 535 5.7.8 relay fault", r)
	}
	if strings.Contains(r.Err.Error(), "wrong-password") {
		t.Errorf("error %q shows the password", r.Err)
	}
	if err := p.Ping(t.Context()); err == nil || !strings.Contains(err.Error(), "535") {
		t.Errorf("Ping = %v; want a 535 error", err)
	}
	waitFor(t, "connections closed after failed AUTH", func() bool { return srv.Open() == 0 })
}

func TestReplies(t *testing.T) { bothTransactions(t, testReplies) }

func testReplies(t *testing.T, noChunking bool) {
	hook := func(stage devmail.Stage, from, rcpt string, attempt int) error {
		switch {
		case stage == devmail.StageRcpt && rcpt == "shutdown@example.net":
			return reject(421, smtp.EnhancedCode{4, 3, 2}, "shutting down")
		case stage == devmail.StageRcpt && rcpt == "full@example.net":
			return reject(452, smtp.EnhancedCode{4, 2, 2}, "mailbox full")
		case stage == devmail.StageData && rcpt == "greylist@example.net":
			return reject(451, smtp.EnhancedCode{4, 7, 1}, "greylisted")
		case stage == devmail.StageRcpt && rcpt == "ghost@example.net":
			return reject(550, smtp.EnhancedCode{5, 1, 1}, "no such user")
		case stage == devmail.StageRcpt && rcpt == "nullmx@example.net":
			return reject(556, smtp.EnhancedCode{5, 1, 10}, "null MX")
		case stage == devmail.StageData && rcpt == "spam@example.net":
			return reject(554, smtp.EnhancedCode{5, 7, 1}, "looks like spam")
		case stage == devmail.StageMail && strings.HasPrefix(from, "bounces+42@") && attempt == 1:
			return reject(553, smtp.EnhancedCode{5, 1, 8}, "bad sender domain")
		}
		return nil
	}
	srv := startDevmail(t, devmail.Options{Hook: hook})
	ep := endpointOf(t, srv, NoTLS)
	ep.NoChunking = noChunking
	p := newPool(t, Config{Endpoint: ep, Connections: 1})

	cases := []struct {
		rcpt       string
		outcome    Outcome
		code       int
		enhanced   string
		step       Step
		noSuchUser bool
	}{
		{"sender-rejected@example.net", Permanent, 553, "5.1.8", StepMail, false},
		{"full@example.net", Temporary, 452, "4.2.2", StepRcpt, false},
		{"greylist@example.net", Temporary, 451, "4.7.1", StepData, false},
		{"ghost@example.net", Permanent, 550, "5.1.1", StepRcpt, true},
		{"nullmx@example.net", Permanent, 556, "5.1.10", StepRcpt, true},
		{"spam@example.net", Permanent, 554, "5.7.1", StepData, false},
		{"shutdown@example.net", Temporary, 421, "4.3.2", StepRcpt, false},
		{"ok@example.net", Sent, 250, "2.0.0", StepData, false},
	}
	for _, tc := range cases {
		r := send(t, p, tc.rcpt)
		if r.Outcome != tc.outcome || r.Code != tc.code || r.Enhanced != tc.enhanced || r.Step != tc.step ||
			r.NoSuchUser() != tc.noSuchUser || r.RelayFault() {
			t.Errorf("Send to %s = %v %d %s at %s (NoSuchUser %v); want %v %d %s at %s (%v)",
				tc.rcpt, r.Outcome, r.Code, r.Enhanced, r.Step, r.NoSuchUser(),
				tc.outcome, tc.code, tc.enhanced, tc.step, tc.noSuchUser)
		}
		if r.Outcome != Sent && (r.Err == nil || !strings.Contains(r.Err.Error(), tc.rcpt)) {
			t.Errorf("Send to %s: error %v does not name the recipient", tc.rcpt, r.Err)
		}
	}
	// Rejections are answered with RSET on the same connection; only the
	// 421 (server closing) costs a new one, twice: the retry met it again.
	if n := srv.Connections(); n != 3 {
		t.Errorf("Connections() = %d; want 3", n)
	}
	if srv.Count() != 1 || srv.CountFor("ok@example.net") != 1 {
		t.Errorf("server accepted %d messages; want only ok@", srv.Count())
	}
}

func TestConnectionDrops(t *testing.T) { bothTransactions(t, testConnectionDrops) }

func testConnectionDrops(t *testing.T, noChunking bool) {
	hook := func(stage devmail.Stage, _, rcpt string, attempt int) error {
		switch {
		case stage == devmail.StageData && rcpt == "drop-data-once@example.net" && attempt == 1:
			return devmail.ErrDrop
		case stage == devmail.StageRcpt && rcpt == "drop-rcpt-once@example.net" && attempt == 1:
			return devmail.ErrDrop
		case stage == devmail.StageRcpt && rcpt == "drop-rcpt-always@example.net":
			return devmail.ErrDrop
		}
		return nil
	}
	srv := startDevmail(t, devmail.Options{Hook: hook})
	ep := endpointOf(t, srv, NoTLS)
	ep.NoChunking = noChunking
	p := newPool(t, Config{Endpoint: ep, Connections: 1})

	// Dropped after the whole message was sent: it may have been taken,
	// so no retry within Send.
	r := send(t, p, "drop-data-once@example.net")
	if r.Outcome != Temporary || r.Code != 0 || r.Step != StepData || !r.Maybe {
		t.Errorf("drop mid-DATA: %+v; want temporary at data, no code, maybe delivered", r)
	}
	if srv.CountFor("drop-data-once@example.net") != 0 {
		t.Error("dropped message counted")
	}
	wantSent(t, send(t, p, "after-drop@example.net"))
	wantSent(t, send(t, p, "drop-data-once@example.net"))

	if noChunking {
		// Dropped before the data: redialled and retried at once.
		wantSent(t, send(t, p, "drop-rcpt-once@example.net"))
		if srv.CountFor("drop-rcpt-once@example.net") != 1 {
			t.Error("retried message not delivered exactly once")
		}
	} else {
		// With BDAT the message went out with RCPT: the server may have
		// taken it before the connection went, so no retry within Send.
		r := send(t, p, "drop-rcpt-once@example.net")
		if r.Outcome != Temporary || r.Code != 0 || r.Step != StepRcpt || !r.Maybe {
			t.Errorf("drop at RCPT: %+v; want temporary at rcpt, maybe delivered", r)
		}
		wantSent(t, send(t, p, "drop-rcpt-once@example.net"))
	}
	r = send(t, p, "drop-rcpt-always@example.net")
	if r.Outcome != Temporary || r.Code != 0 || r.Step != StepRcpt || r.Maybe != !noChunking {
		t.Errorf("drop at every RCPT: %+v; want temporary at rcpt", r)
	}
	wantSent(t, send(t, p, "last@example.net"))
}

func TestIdleServerClose(t *testing.T) { bothTransactions(t, testIdleServerClose) }

func testIdleServerClose(t *testing.T, noChunking bool) {
	srv := startDevmail(t, devmail.Options{ReadTimeout: 100 * time.Millisecond})
	ep := endpointOf(t, srv, NoTLS)
	ep.NoChunking = noChunking
	p := newPool(t, Config{Endpoint: ep, Connections: 1})
	wantSent(t, send(t, p, "a@example.net"))
	waitFor(t, "server closes the idle session", func() bool { return srv.Open() == 0 })

	r := send(t, p, "b@example.net")
	wantSent(t, r)
	if n := srv.Connections(); n != 2 {
		t.Errorf("Connections() = %d; want 2 (one redial)", n)
	}
	if srv.CountFor("b@example.net") != 1 {
		t.Errorf("b@ got %d copies; want 1", srv.CountFor("b@example.net"))
	}
}

func TestIdleLimit(t *testing.T) {
	srv := startDevmail(t, devmail.Options{})
	p := newPool(t, Config{Endpoint: endpointOf(t, srv, NoTLS), Connections: 1})
	p.idleLimit = time.Nanosecond
	wantSent(t, send(t, p, "a@example.net"))
	wantSent(t, send(t, p, "b@example.net"))
	if n := srv.Connections(); n != 2 {
		t.Errorf("Connections() = %d; want 2: a connection idle too long is not reused", n)
	}
	waitFor(t, "the idle connection closed", func() bool { return srv.Open() == 1 })
}

func TestServerDown(t *testing.T) {
	srv := startDevmail(t, devmail.Options{})
	p := newPool(t, Config{Endpoint: endpointOf(t, srv, NoTLS)})
	wantSent(t, send(t, p, "a@example.net"))

	srv.Stop()
	for _, rcpt := range []string{"b@example.net", "c@example.net"} {
		r := send(t, p, rcpt)
		if r.Outcome != Temporary || r.Step != StepConnect || r.Code != 0 || r.RelayFault() {
			t.Errorf("Send while down = %+v; want temporary at connect", r)
		}
	}
	if err := p.Ping(t.Context()); err == nil {
		t.Error("Ping while down succeeded")
	}

	if err := srv.Restart(t.Context()); err != nil {
		t.Fatal(err)
	}
	wantSent(t, send(t, p, "b@example.net"))
	if err := p.Ping(t.Context()); err != nil {
		t.Errorf("Ping after restart: %v", err)
	}
}

func TestConcurrentSends(t *testing.T) {
	srv := startDevmail(t, devmail.Options{})
	p := newPool(t, Config{Endpoint: endpointOf(t, srv, NoTLS), Connections: 4})
	const workers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				rcpt := fmt.Sprintf("w%d-%d@example.net", w, i)
				if r := send(t, p, rcpt); r.Outcome != Sent {
					errs <- fmt.Errorf("%s: %v %v", rcpt, r.Outcome, r.Err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if srv.Count() != workers*each {
		t.Errorf("server got %d messages; want %d", srv.Count(), workers*each)
	}
	for w := range workers {
		for i := range each {
			if n := srv.CountFor(fmt.Sprintf("w%d-%d@example.net", w, i)); n != 1 {
				t.Errorf("w%d-%d got %d copies; want 1", w, i, n)
			}
		}
	}
	if n := srv.Connections(); n > 4 || n < 1 {
		t.Errorf("Connections() = %d; want 1 to 4", n)
	}
}

func TestRateLimits(t *testing.T) {
	srv := startDevmail(t, devmail.Options{})
	p := newPool(t, Config{Endpoint: endpointOf(t, srv, NoTLS), Rate: 1, DomainRate: 0.5})
	wantSent(t, send(t, p, "a@example.net"))

	// Read the limiters' state through reservations instead of waiting.
	now := time.Now()
	global := p.rate.ReserveN(now, 1)
	if d := global.DelayFrom(now); d < 900*time.Millisecond || d > time.Second {
		t.Errorf("global delay after one send = %v; want about 1s", d)
	}
	global.CancelAt(now)
	dom := p.domainLimiter("example.net").ReserveN(now, 1)
	if d := dom.DelayFrom(now); d < 1900*time.Millisecond || d > 2*time.Second {
		t.Errorf("domain delay after one send = %v; want about 2s", d)
	}
	dom.CancelAt(now)
	other := p.domainLimiter("example.com").ReserveN(now, 1)
	if d := other.DelayFrom(now); d != 0 {
		t.Errorf("delay for an unused domain = %v; want 0", d)
	}
	other.CancelAt(now)

	// A send that cannot get its turn before the deadline is Temporary.
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	r := sendMsg(ctx, t, p, newMsg(t, "b@example.net", "x"), "b@example.net")
	if r.Outcome != Temporary || r.Step != StepConnect || srv.CountFor("b@example.net") != 0 {
		t.Errorf("Send over the rate limit = %+v; want temporary without sending", r)
	}
}

func TestRatePacing(t *testing.T) {
	srv := startDevmail(t, devmail.Options{})
	p := newPool(t, Config{Endpoint: endpointOf(t, srv, NoTLS), Rate: 50, Connections: 4})
	start := time.Now()
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Go(func() { send(t, p, fmt.Sprintf("p%d@example.net", i)) })
	}
	wg.Wait()
	// Six messages at 50/s, evenly spaced: at least five gaps of 20 ms.
	if elapsed := time.Since(start); elapsed < 95*time.Millisecond {
		t.Errorf("6 messages at 50/s took %v; want at least 100ms", elapsed)
	}
	if srv.Count() != 6 {
		t.Errorf("server got %d messages; want 6", srv.Count())
	}
}

func TestContext(t *testing.T) {
	release := make(chan struct{})
	srv := startDevmail(t, devmail.Options{Hook: func(stage devmail.Stage, _, rcpt string, _ int) error {
		if stage == devmail.StageData && rcpt == "slow@example.net" {
			<-release
		}
		return nil
	}})
	t.Cleanup(func() { close(release) })
	p := newPool(t, Config{Endpoint: endpointOf(t, srv, NoTLS), Timeout: 30 * time.Second})

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if r := sendMsg(ctx, t, p, newMsg(t, "a@example.net", "x"), "a@example.net"); r.Outcome != Temporary {
		t.Errorf("Send with a cancelled context = %+v; want temporary", r)
	}

	// The context aborts a transaction that go-mail alone would let run
	// until the socket timeout.
	ctx, cancel = context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	r := sendMsg(ctx, t, p, newMsg(t, "slow@example.net", "x"), "slow@example.net")
	if r.Outcome != Temporary || !errors.Is(r.Err, context.DeadlineExceeded) || r.Duration > 5*time.Second {
		t.Errorf("Send past its deadline = %v after %v (err %v); want temporary, deadline exceeded", r.Outcome, r.Duration, r.Err)
	}
	wantSent(t, send(t, p, "next@example.net"))
}

func TestClose(t *testing.T) {
	srv := startDevmail(t, devmail.Options{})
	p := newPool(t, Config{Endpoint: endpointOf(t, srv, NoTLS)})
	wantSent(t, send(t, p, "a@example.net"))
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	r := send(t, p, "b@example.net")
	if r.Outcome != Temporary || !errors.Is(r.Err, ErrClosed) {
		t.Errorf("Send after Close = %+v; want temporary ErrClosed", r)
	}
	waitFor(t, "idle connection closed", func() bool { return srv.Open() == 0 })
}

func TestNewValidates(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	ep := &Endpoint{Host: "mail.example.org", Port: 587}
	cases := []struct {
		cfg  Config
		want string
	}{
		{Config{}, "smtp.url"},
		{Config{Endpoint: &Endpoint{Host: "mail.example.org", Port: 25, TLS: NoTLS}}, "loopback"},
		{Config{Endpoint: ep, CAFile: filepath.Join(dir, "missing.pem")}, "smtp.ca_file"},
		{Config{Endpoint: ep, CAFile: notPEM}, "no PEM certificate"},
		{Config{Endpoint: ep, Rate: -1}, "smtp.rate"},
		{Config{Endpoint: ep, Connections: -2}, "smtp.connections"},
		{Config{Endpoint: ep, DKIM: &DKIM{Domain: "example.org"}}, "selector"},
	}
	for _, tc := range cases {
		if _, err := New(tc.cfg, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v) = %v; want an error about %s", tc.cfg, err, tc.want)
		}
	}
}
