package inbox

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"

	"github.com/outreach-coalition/outreach/internal/imapwatch"
	"github.com/outreach-coalition/outreach/internal/outbox"
	"github.com/outreach-coalition/outreach/internal/outreach"
	"github.com/outreach-coalition/outreach/internal/store"
)

const (
	replyBase = "campaign@coalition.test"
	imapUser  = "bot"
	imapPass  = "s3cret"
)

// fakeOutbox mints real tokens and counts kicks.
type fakeOutbox struct {
	tokens *outbox.Tokens
	kicks  atomic.Int32
	onKick func(n int32) // called with the count after each kick
}

func (o *fakeOutbox) Mint(c *outreach.Campaign) store.Mint {
	return func(id uint64) (string, string) {
		tok := o.tokens.Token(id)
		return tok, outbox.MessageID(tok, c.ReplyTo)
	}
}

func (o *fakeOutbox) Kick() {
	n := o.kicks.Add(1)
	if o.onKick != nil {
		o.onKick(n)
	}
}

// fixture is a store with a campaign, contacts, templates and sends, and an
// inbox over it.
type fixture struct {
	t      testing.TB
	st     *store.Store
	tokens *outbox.Tokens
	outbox *fakeOutbox
	inbox  *Inbox
	camp   *outreach.Campaign
}

func newFixture(t testing.TB, camp outreach.Campaign) *fixture {
	t.Helper()
	st, err := store.Open(t.TempDir(), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ctx := context.Background()
	if camp.Name == "" {
		camp.Name = "OP-ICESCR"
	}
	camp.From, camp.ReplyTo, camp.DefaultLanguage = "Campaign <"+replyBase+">", replyBase, "en"
	c, err := st.EnsureDefaultCampaign(ctx, &camp)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"endorsement-request", "reminder", "call-to-action", "thank-you", "letter"} {
		if _, _, err := st.SaveTemplate(ctx, name, map[string]string{name + "/en.txt": "body"}, "system"); err != nil {
			t.Fatal(err)
		}
	}
	tokens := outbox.NewTokens([]byte("0123456789abcdef0123456789abcdef"))
	ob := &fakeOutbox{tokens: tokens}
	f := &fixture{t: t, st: st, tokens: tokens, outbox: ob, camp: c}
	f.inbox = New(Config{DefaultCampaign: c.ID, SoftBounceLimit: 3, SoftBounceWindow: 7 * 24 * time.Hour}, st, tokens, ob, nil, nil)
	return f
}

// contacts imports contacts.
func (f *fixture) contacts(cs ...outreach.Contact) {
	f.t.Helper()
	err := f.st.ImportContacts(context.Background(), func(put store.PutFunc) error {
		for i := range cs {
			if _, err := put(&cs[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) contact(email string) *outreach.Contact {
	f.t.Helper()
	c, err := f.st.Contact(context.Background(), email)
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

// contact2 returns the contact with address email, or nil.
func (f *fixture) contact2(email string) *outreach.Contact {
	c, err := f.st.Contact(context.Background(), email)
	if err != nil {
		return nil
	}
	return c
}

// send creates a send of template to the given addresses and returns its
// deliveries by address.
func (f *fixture) send(template string, emails ...string) map[string]outreach.Delivery {
	f.t.Helper()
	ctx := context.Background()
	var rcpts []store.Recipient
	for _, e := range emails {
		c := f.contact(e)
		rcpts = append(rcpts, store.Recipient{ContactID: c.ID, Email: c.Email})
	}
	s := &outreach.Send{Kind: outreach.SendWave, Name: template, CampaignID: f.camp.ID, Template: template, TemplateVersion: 1, ListHeaders: true}
	if err := f.st.CreateSend(ctx, s, rcpts, f.outbox.Mint(f.camp)); err != nil {
		f.t.Fatal(err)
	}
	ds, err := f.st.SendDeliveries(ctx, s.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	out := map[string]outreach.Delivery{}
	for _, d := range ds {
		out[d.Email] = d
	}
	return out
}

// process runs one message through the inbox.
func (f *fixture) process(raw []byte) *store.Recorded {
	f.t.Helper()
	rec, err := f.inbox.Process(context.Background(), raw, Source{})
	if err != nil {
		f.t.Fatal(err)
	}
	return rec
}

func (f *fixture) endorsements() []outreach.Endorsement {
	f.t.Helper()
	es, err := f.st.Endorsements(context.Background(), store.EndorsementFilter{})
	if err != nil {
		f.t.Fatal(err)
	}
	return es
}

func (f *fixture) replies() []outreach.Reply {
	f.t.Helper()
	rs, _, err := f.st.Replies(context.Background(), store.ReplyFilter{Limit: 1 << 30})
	if err != nil {
		f.t.Fatal(err)
	}
	return rs
}

// msg is a reply to write as raw RFC 5322.
type msg struct {
	id, from, to, cc, subject, inReplyTo, references string
	headers                                          []string
	body                                             string
	contentType                                      string
}

var msgSeq atomic.Int64

func (m msg) raw() []byte {
	var b bytes.Buffer
	if m.id == "" {
		m.id = fmt.Sprintf("r%d.%d@partner.test", msgSeq.Add(1), time.Now().UnixNano())
	}
	if m.id != "-" {
		fmt.Fprintf(&b, "Message-ID: <%s>\r\n", m.id)
	}
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\n", m.from, m.to)
	if m.cc != "" {
		fmt.Fprintf(&b, "Cc: %s\r\n", m.cc)
	}
	if m.subject == "" {
		m.subject = "Re: Endorse the joint letter on the OP-ICESCR"
	}
	fmt.Fprintf(&b, "Subject: %s\r\nDate: Mon, 2 Mar 2026 10:00:00 +0000\r\n", m.subject)
	if m.inReplyTo != "" {
		fmt.Fprintf(&b, "In-Reply-To: <%s>\r\n", m.inReplyTo)
	}
	if m.references != "" {
		fmt.Fprintf(&b, "References: %s\r\n", m.references)
	}
	for _, h := range m.headers {
		b.WriteString(h + "\r\n")
	}
	if m.contentType == "" {
		m.contentType = "text/plain; charset=utf-8"
	}
	fmt.Fprintf(&b, "MIME-Version: 1.0\r\nContent-Type: %s\r\n\r\n", m.contentType)
	b.WriteString(strings.ReplaceAll(m.body, "\n", "\r\n"))
	return b.Bytes()
}

// dsn returns a delivery status notification (RFC 3464) for rcpt, sent to
// the reply address of delivery d.
func dsn(d outreach.Delivery, rcpt, action, status string) []byte {
	return dsnTo(outbox.ReplyAddress(replyBase, d.Token), d.MessageID, rcpt, action, status)
}

// dsnTo returns a delivery status notification for rcpt sent to the
// address to, quoting a message with Message-ID origID.
func dsnTo(to, origID, rcpt, action, status string) []byte {
	boundary := "dsn-boundary-42"
	body := fmt.Sprintf(`This is a MIME-encapsulated message.

--%[1]s
Content-Type: text/plain; charset=us-ascii

Delivery to %[2]s: %[3]s.

--%[1]s
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.coalition.test

Final-Recipient: rfc822; %[2]s
Action: %[3]s
Status: %[4]s
Diagnostic-Code: smtp; %[4]s mailbox trouble

--%[1]s
Content-Type: text/rfc822-headers

Message-ID: <%[5]s>
To: %[2]s
Subject: Endorse the joint letter

--%[1]s--
`, boundary, rcpt, action, status, origID)
	return msg{
		id: fmt.Sprintf("dsn%d@mx.coalition.test", msgSeq.Add(1)), from: "MAILER-DAEMON@mx.coalition.test (Mail Delivery System)",
		to: to, subject: "Undelivered Mail Returned to Sender",
		headers:     []string{"Auto-Submitted: auto-replied", "Return-Path: <>"},
		contentType: `multipart/report; report-type=delivery-status; boundary="` + boundary + `"`,
		body:        body,
	}.raw()
}

// answer returns a reply to delivery d from its recipient, through its
// tokened Reply-To address.
func answer(d outreach.Delivery, body string) msg {
	return msg{from: d.Email, to: outbox.ReplyAddress(replyBase, d.Token), inReplyTo: d.MessageID, body: body}
}

// imapServer is an imapmemserver with one user, served on 127.0.0.1.
type imapServer struct {
	t    testing.TB
	user *imapmemserver.User
	mem  *imapmemserver.Server
	addr string
	srv  *imapserver.Server
}

func startIMAP(t testing.TB) *imapServer {
	t.Helper()
	s := &imapServer{t: t, mem: imapmemserver.New(), user: imapmemserver.NewUser(imapUser, imapPass)}
	if err := s.user.Create("INBOX", nil); err != nil {
		t.Fatal(err)
	}
	s.mem.AddUser(s.user)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	s.srv = imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return s.mem.NewSession(), nil, nil
		},
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}},
		InsecureAuth: true,
		Logger:       log.New(io.Discard, "", 0),
	})
	go s.srv.Serve(ln)
	t.Cleanup(func() { s.srv.Close() })
	return s
}

func (s *imapServer) endpoint() *imapwatch.Endpoint {
	_, p, _ := net.SplitHostPort(s.addr)
	port, _ := strconv.Atoi(p)
	return &imapwatch.Endpoint{Security: imapwatch.SecurityNone, Host: "127.0.0.1", Port: port, Username: imapUser, Password: imapPass, Mailbox: "INBOX"}
}

func (s *imapServer) add(raw []byte) {
	s.t.Helper()
	if _, err := s.user.Append("INBOX", bytes.NewReader(raw), &imap.AppendOptions{}); err != nil {
		s.t.Fatal(err)
	}
}

func (s *imapServer) count(mailbox string) int {
	st, err := s.user.Status(mailbox, &imap.StatusOptions{NumMessages: true})
	if err != nil {
		return -1
	}
	return int(*st.NumMessages)
}

func (s *imapServer) uidValidity() uint32 {
	st, err := s.user.Status("INBOX", &imap.StatusOptions{UIDValidity: true})
	if err != nil {
		s.t.Fatal(err)
	}
	return st.UIDValidity
}

func watchConfig(e *imapwatch.Endpoint) imapwatch.Config {
	return imapwatch.Config{Endpoint: e, PollInterval: time.Hour, Timeout: 2 * time.Second,
		Backoff: func(int) time.Duration { return 10 * time.Millisecond }}
}

// running runs w until the returned stop is called (or the test ends).
func running(t testing.TB, w *imapwatch.Watcher) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run = %v; want nil after cancel", err)
				}
			case <-time.After(5 * time.Second):
				t.Errorf("Run did not return within 5s of cancel")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// waitFor polls cond until it holds or 10 seconds pass.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
