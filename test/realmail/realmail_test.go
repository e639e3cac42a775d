package realmail_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	gomail "github.com/wneessen/go-mail"

	"github.com/outreach-coalition/outreach/test/realmail"
)

const wait = 20 * time.Second

// token returns a string unique to this run, to find our own messages in
// mailboxes shared with earlier runs.
func token(t *testing.T) string {
	t.Helper()
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func newMsg(t *testing.T, from, to, subject, msgID string) *gomail.Msg {
	t.Helper()
	m := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	if err := m.From(from); err != nil {
		t.Fatal(err)
	}
	if err := m.To(to); err != nil {
		t.Fatal(err)
	}
	m.Subject(subject)
	m.SetMessageIDWithValue(msgID)
	m.SetDate()
	m.SetBodyString(gomail.TypeTextPlain, "Dear partner,\nplease endorse the letter.\n")
	return m
}

// submit sends msgs through the submission port: STARTTLS required, the test
// CA trusted, AUTH PLAIN as sender@.
func submit(t *testing.T, s *realmail.Servers, msgs ...*gomail.Msg) error {
	t.Helper()
	host, port := splitAddr(t, s.Submission)
	c, err := gomail.NewClient(host,
		gomail.WithPort(port),
		gomail.WithTLSPolicy(gomail.TLSMandatory),
		gomail.WithTLSConfig(s.TLSConfig(t)),
		gomail.WithSMTPAuth(gomail.SMTPAuthPlain),
		gomail.WithUsername(s.Address("sender")),
		gomail.WithPassword(s.Password),
		gomail.WithTimeout(10*time.Second))
	if err != nil {
		t.Fatalf("new client: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return c.DialAndSendWithContext(ctx, msgs...)
}

// relay sends msgs through the MX port: plain SMTP, no AUTH.
func relay(t *testing.T, s *realmail.Servers, msgs ...*gomail.Msg) error {
	t.Helper()
	host, port := splitAddr(t, s.MX)
	c, err := gomail.NewClient(host, gomail.WithPort(port), gomail.WithTLSPolicy(gomail.NoTLS),
		gomail.WithTimeout(10*time.Second))
	if err != nil {
		t.Fatalf("new client: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return c.DialAndSendWithContext(ctx, msgs...)
}

func splitAddr(t *testing.T, addr string) (string, int) {
	t.Helper()
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("address %q: %v", addr, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		t.Fatalf("address %q: %v", addr, err)
	}
	return host, port
}

func hasMessageID(id string) func(realmail.RawMessage) bool {
	return func(m realmail.RawMessage) bool {
		got, err := m.Header().MessageID()
		return err == nil && got == id
	}
}

func inReplyTo(id string) func(realmail.RawMessage) bool {
	return func(m realmail.RawMessage) bool {
		ids, err := m.Header().MsgIDList("In-Reply-To")
		return err == nil && len(ids) == 1 && ids[0] == id
	}
}

func headerSection(raw []byte) []byte {
	if i := bytes.Index(raw, []byte("\r\n\r\n")); i >= 0 {
		return raw[:i]
	}
	return raw
}

func TestSubmissionDeliversEncodedSubject(t *testing.T) {
	s := realmail.Env(t)
	t.Parallel()
	tok := token(t)
	id := "submit-" + tok + "@outreach.test"
	subject := "Appel à soutien – ¿firmáis? Zażółć " + tok
	if err := submit(t, s, newMsg(t, s.Address("sender"), s.Address("partner1"), subject, id)); err != nil {
		t.Fatalf("submit: %v", err)
	}

	m := s.WaitMessage(t, "partner1", hasMessageID(id), wait)
	h := m.Header()
	if got, err := h.Subject(); err != nil || got != subject {
		t.Errorf("Subject = %q, %v; want %q", got, err, subject)
	}
	hdr := headerSection(m.Raw)
	for _, b := range hdr {
		if b >= 0x80 {
			t.Errorf("header section has raw 8-bit bytes; want RFC 2047 encoded words:\n%s", hdr)
			break
		}
	}
	if !bytes.Contains(hdr, []byte("=?UTF-8?")) {
		t.Errorf("header section has no UTF-8 encoded word:\n%s", hdr)
	}

	// Received: "with ESMTPSA" (RFC 3848) or "with UTF8SMTPSA" (RFC 6531,
	// go-mail asks for SMTPUTF8 when offered) means STARTTLS and AUTH.
	var qid string
	for _, r := range h.Values("Received") {
		if m := receivedSA.FindStringSubmatch(r); m != nil {
			qid = m[1]
		}
	}
	if qid == "" {
		t.Fatalf("no Received field with ESMTPSA or UTF8SMTPSA: %q", h.Values("Received"))
	}

	// The Postfix log shows the SASL login for this queue id, and the TLS
	// handshake earlier in the same smtpd session.
	login := realmail.WaitLog(t, s.PostfixLog, wait, qid+": client=", "sasl_method=PLAIN", "sasl_username="+s.Address("sender"))
	pid := smtpdPID(login)
	if pid == "" {
		t.Fatalf("no smtpd pid in log line %q", login)
	}
	data, err := os.ReadFile(s.PostfixLog)
	if err != nil {
		t.Fatal(err)
	}
	session := ""
	for line := range strings.Lines(string(data)) {
		if !strings.Contains(line, "smtpd["+pid+"]:") {
			continue
		}
		if strings.Contains(line, ": connect from ") {
			session = ""
		}
		session += line
		if strings.Contains(line, qid+": client=") {
			break
		}
	}
	if !strings.Contains(session, "TLS connection established") {
		t.Errorf("postfix log: no TLS handshake in the session of %s:\n%s", qid, session)
	}
}

// smtpdPID returns the pid in "postfix/submission/smtpd[1234]: ...".
var receivedSA = regexp.MustCompile(`\bwith (?:ESMTPSA|UTF8SMTPSA) id ([0-9A-Za-z]+)\b`)

func smtpdPID(line string) string {
	_, after, ok := strings.Cut(line, "smtpd[")
	if !ok {
		return ""
	}
	pid, _, _ := strings.Cut(after, "]")
	return pid
}

func TestPlusAddressLandsInCampaignMailbox(t *testing.T) {
	s := realmail.Env(t)
	t.Parallel()
	tok := token(t)
	id := "reply-" + tok + "@partner.test"
	rcpt := "campaign+" + tok + "@" + s.Domain
	if err := relay(t, s, newMsg(t, s.Address("partner3"), rcpt, "Re: endorsement", id)); err != nil {
		t.Fatalf("send through MX: %v", err)
	}
	m := s.WaitMessage(t, "campaign", hasMessageID(id), wait)
	if got := m.Header().Get("Delivered-To"); got != rcpt {
		t.Errorf("Delivered-To = %q; want %q", got, rcpt)
	}
}

func TestUnknownUserBouncesWithDSN(t *testing.T) {
	s := realmail.Env(t)
	t.Parallel()
	tok := token(t)
	id := "unknown-" + tok + "@outreach.test"
	if err := submit(t, s, newMsg(t, s.Address("sender"), "nobody@"+s.Domain, "Call to action "+tok, id)); err != nil {
		t.Fatalf("submit: %v (want acceptance: unknown users are refused later, by LMTP)", err)
	}
	dsn := s.WaitMessage(t, "sender", func(m realmail.RawMessage) bool {
		return bytes.Contains(m.Raw, []byte("<"+id+">")) && bytes.Contains(m.Raw, []byte("nobody@"))
	}, wait)
	mt, params, err := dsn.Header().ContentType()
	if err != nil || mt != "multipart/report" || params["report-type"] != "delivery-status" {
		t.Errorf("Content-Type = %q %v, %v; want multipart/report; report-type=delivery-status", mt, params, err)
	}
	for _, want := range []string{
		"Final-Recipient: rfc822; nobody@" + s.Domain,
		"Action: failed",
		"Status: 5.1.1",
	} {
		if !bytes.Contains(dsn.Raw, []byte(want)) {
			t.Errorf("DSN lacks %q:\n%s", want, dsn.Raw)
		}
	}
}

func TestRejectedRecipientFailsAtRCPT(t *testing.T) {
	s := realmail.Env(t)
	t.Parallel()
	m := newMsg(t, s.Address("sender"), "reject@"+s.Domain, "Call to action", "reject-"+token(t)+"@outreach.test")
	err := submit(t, s, m)
	var se *gomail.SendError
	if !errors.As(err, &se) {
		t.Fatalf("submit to reject@ = %v; want a *gomail.SendError", err)
	}
	if se.Reason != gomail.ErrSMTPRcptTo || se.ErrorCode() != 550 || se.EnhancedStatusCode() != "5.1.1" || se.IsTemp() {
		t.Errorf("SendError = reason %q code %d status %q temp %v; want RCPT TO, 550, 5.1.1, permanent",
			se.Reason, se.ErrorCode(), se.EnhancedStatusCode(), se.IsTemp())
	}
}

func TestVacationReplyUnlessListMail(t *testing.T) {
	s := realmail.Env(t)
	t.Parallel()
	s.SetVacation(t, "partner2", "Away until Monday.")
	tok := token(t)
	listID := "list-" + tok + "@outreach.test"
	plainID := "plain-" + tok + "@outreach.test"

	list := newMsg(t, s.Address("sender"), s.Address("partner2"), "Newsletter "+tok, listID)
	list.SetListUnsubscribe("mailto:unsubscribe@" + s.Domain)
	if err := submit(t, s, list); err != nil {
		t.Fatalf("submit list message: %v", err)
	}
	realmail.WaitLog(t, s.DovecotLog, wait, "msgid=<"+listID+">", "discarding vacation response")

	if err := submit(t, s, newMsg(t, s.Address("sender"), s.Address("partner2"), "Call to action "+tok, plainID)); err != nil {
		t.Fatalf("submit plain message: %v", err)
	}
	reply := s.WaitMessage(t, "sender", inReplyTo(plainID), wait)
	h := reply.Header()
	if got := h.Get("Auto-Submitted"); !strings.HasPrefix(got, "auto-replied") {
		t.Errorf("Auto-Submitted = %q; want auto-replied", got)
	}
	if !bytes.Contains(reply.Raw, []byte("Away until Monday.")) {
		t.Errorf("vacation reply lacks the text:\n%s", reply.Raw)
	}
	for _, m := range s.Mailbox(t, "sender") {
		if inReplyTo(listID)(m) {
			t.Errorf("vacation reply to the List-Unsubscribe message (UID %d):\n%s", m.UID, m.Raw)
		}
	}
}

func TestSubmissionRejectsWrongPassword(t *testing.T) {
	s := realmail.Env(t)
	t.Parallel()
	host, port := splitAddr(t, s.Submission)
	c, err := gomail.NewClient(host, gomail.WithPort(port), gomail.WithTLSPolicy(gomail.TLSMandatory),
		gomail.WithTLSConfig(s.TLSConfig(t)), gomail.WithSMTPAuth(gomail.SMTPAuthPlain),
		gomail.WithUsername(s.Address("sender")), gomail.WithPassword(s.Password+"x"),
		gomail.WithTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = c.DialWithContext(ctx)
	if err == nil {
		c.Close()
		t.Fatal("dial with a wrong password succeeded")
	}
	if !strings.Contains(err.Error(), "535") {
		t.Errorf("dial with a wrong password = %v; want 535", err)
	}
}

func TestIMAPStartTLSLogin(t *testing.T) {
	s := realmail.Env(t)
	t.Parallel()
	c, err := imapclient.DialStartTLS(s.IMAP, &imapclient.Options{TLSConfig: s.TLSConfig(t)})
	if err != nil {
		t.Fatalf("STARTTLS to %s: %v", s.IMAP, err)
	}
	defer c.Close()
	if err := c.Login(s.Address("campaign"), s.Password).Wait(); err != nil {
		t.Fatalf("login: %v", err)
	}
	if _, err := c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		t.Errorf("select INBOX: %v", err)
	}
	if err := c.Logout().Wait(); err != nil {
		t.Errorf("logout: %v", err)
	}
}

func TestEmptyAndWaitMailbox(t *testing.T) {
	s := realmail.Env(t)
	t.Parallel()
	s.EmptyMailbox(t, "partner5")
	if got := s.Mailbox(t, "partner5"); len(got) != 0 {
		t.Fatalf("after EmptyMailbox: %d messages; want 0", len(got))
	}
	tok := token(t)
	ids := []string{"one-" + tok + "@partner.test", "two-" + tok + "@partner.test"}
	for _, id := range ids {
		if err := relay(t, s, newMsg(t, s.Address("partner6"), s.Address("partner5"), "Mailbox "+tok, id)); err != nil {
			t.Fatalf("send through MX: %v", err)
		}
	}
	got := s.WaitMailbox(t, "partner5", 2, wait)
	if len(got) != 2 {
		t.Fatalf("WaitMailbox: %d messages; want 2", len(got))
	}
	seen := map[string]bool{}
	for _, m := range got {
		id, _ := m.Header().MessageID()
		seen[id] = true
	}
	for _, id := range ids {
		if !seen[id] {
			t.Errorf("mailbox lacks Message-ID %q; has %v", id, seen)
		}
	}
	if got[0].UID >= got[1].UID {
		t.Errorf("UIDs %d, %d; want increasing", got[0].UID, got[1].UID)
	}
}
