package e2e

import (
	"context"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "github.com/emersion/go-message/charset" // decode any charset partners use
	"github.com/emersion/go-message/mail"
	gomail "github.com/wneessen/go-mail"

	"github.com/outreach-coalition/outreach/test/realmail"
)

// sent is one message outreach sent, as it arrived in a mailbox.
type sent struct {
	realmail.RawMessage
	// ReplyTo is the reply address, campaign+TOKEN@domain, and Token its
	// token; MessageID is without angle brackets.
	ReplyTo, Token, MessageID string
	Subject, ToName, FromName string
	// Text is the decoded text/plain part.
	Text string
	// ListUnsubscribe is the List-Unsubscribe header, if any.
	ListUnsubscribe string
	// Received holds the Received headers, the latest first.
	Received []string
}

// fromCampaign returns the messages among msgs that the daemon of campaign
// sent: their Reply-To is campaign's local part plus a token, and their
// Message-ID is that token at the campaign's domain (how outbox mints them).
func fromCampaign(t *testing.T, msgs []realmail.RawMessage, campaign string) []sent {
	t.Helper()
	local, domain, _ := strings.Cut(campaign, "@")
	var out []sent
	for _, m := range msgs {
		h := m.Header()
		rt, err := h.AddressList("Reply-To")
		if err != nil || len(rt) != 1 {
			continue
		}
		l, d, _ := strings.Cut(rt[0].Address, "@")
		token, ok := strings.CutPrefix(l, local+"+")
		if !ok || !strings.EqualFold(d, domain) {
			continue
		}
		s := sent{RawMessage: m, ReplyTo: rt[0].Address, Token: token}
		s.MessageID, _ = h.MessageID()
		if s.MessageID != token+"@"+domain {
			t.Errorf("message %d to campaign %s: Message-ID %q does not carry its reply token %q", m.UID, campaign, s.MessageID, token)
		}
		s.Subject, _ = h.Subject()
		if to, err := h.AddressList("To"); err == nil && len(to) == 1 {
			s.ToName = to[0].Name
		}
		if from, err := h.AddressList("From"); err == nil && len(from) == 1 {
			s.FromName = from[0].Name
		}
		s.ListUnsubscribe = h.Get("List-Unsubscribe")
		s.Received = h.Values("Received")
		s.Text = textPart(t, m.Raw)
		out = append(out, s)
	}
	return out
}

// textPart returns the decoded text/plain part of a raw message.
func textPart(t *testing.T, raw []byte) string {
	t.Helper()
	r, err := mail.CreateReader(strings.NewReader(string(raw)))
	if err != nil {
		t.Errorf("parse message: %v", err)
		return ""
	}
	for {
		p, err := r.NextPart()
		if err == io.EOF {
			return ""
		}
		if err != nil {
			t.Errorf("parse message part: %v", err)
			return ""
		}
		if h, ok := p.Header.(*mail.InlineHeader); ok {
			if ct, _, _ := h.ContentType(); ct == "text/plain" {
				b, err := io.ReadAll(p.Body)
				if err != nil {
					t.Errorf("read text part: %v", err)
				}
				return string(b)
			}
		}
	}
}

// waitSent polls user's INBOX until it holds at least n messages of
// campaign and returns them all.
func waitSent(t *testing.T, s *realmail.Servers, user, campaign string, n int, timeout time.Duration) []sent {
	t.Helper()
	var got []sent
	waitFor(t, timeout, "mail of "+campaign+" in "+user, func() (bool, string) {
		got = fromCampaign(t, s.Mailbox(t, user), campaign)
		return len(got) >= n, strconv.Itoa(len(got)) + " messages, want " + strconv.Itoa(n)
	})
	return got
}

// reply is a partner's answer, sent through Postfix's MX port as a mail
// client would: to the reply address, quoting the original's Message-ID.
type reply struct {
	from, to, subject string
	inReplyTo         string // without <>
	text, html        string // either or both
	messageID         string // without <>
}

// send relays r through the MX port: plain SMTP without AUTH, as mail from
// the internet arrives.
func (r reply) send(t *testing.T, s *realmail.Servers) {
	t.Helper()
	m := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	if err := m.From(r.from); err != nil {
		t.Fatal(err)
	}
	if err := m.To(r.to); err != nil {
		t.Fatal(err)
	}
	m.Subject(r.subject)
	m.SetMessageIDWithValue(r.messageID)
	m.SetDate()
	if r.inReplyTo != "" {
		m.SetGenHeader(gomail.HeaderInReplyTo, "<"+r.inReplyTo+">")
		m.SetGenHeader(gomail.HeaderReferences, "<"+r.inReplyTo+">")
	}
	switch {
	case r.text != "" && r.html != "":
		m.SetBodyString(gomail.TypeTextPlain, r.text)
		m.AddAlternativeString(gomail.TypeTextHTML, r.html)
	case r.html != "":
		m.SetBodyString(gomail.TypeTextHTML, r.html)
	default:
		m.SetBodyString(gomail.TypeTextPlain, r.text)
	}
	host, p, err := net.SplitHostPort(s.MX)
	if err != nil {
		t.Fatal(err)
	}
	port, _ := strconv.Atoi(p)
	c, err := gomail.NewClient(host, gomail.WithPort(port), gomail.WithTLSPolicy(gomail.NoTLS), gomail.WithTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := c.DialAndSendWithContext(ctx, m); err != nil {
		t.Fatalf("send reply from %s to %s through %s: %v", r.from, r.to, s.MX, err)
	}
}

// hasMessageID reports whether msgs holds a message with Message-ID id
// (without <>).
func hasMessageID(msgs []realmail.RawMessage, id string) bool {
	for _, m := range msgs {
		if got, err := m.Header().MessageID(); err == nil && got == id {
			return true
		}
	}
	return false
}
