package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"

	"github.com/outreach-coalition/outreach/internal/outreach"
	"github.com/outreach-coalition/outreach/internal/web"
)

// mailboxServer is an in-memory IMAP server on 127.0.0.1 holding the
// campaign mailbox.
type mailboxServer struct {
	t    *testing.T
	user *imapmemserver.User
	addr string
}

func startMailbox(t *testing.T) *mailboxServer {
	t.Helper()
	mem := imapmemserver.New()
	user := imapmemserver.NewUser("campaign", "s3cret")
	if err := user.Create("INBOX", nil); err != nil {
		t.Fatal(err)
	}
	mem.AddUser(user)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return mem.NewSession(), nil, nil
		},
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}},
		InsecureAuth: true,
		Logger:       log.New(io.Discard, "", 0),
	})
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return &mailboxServer{t: t, user: user, addr: ln.Addr().String()}
}

func (s *mailboxServer) url() string {
	return "OUTREACH_IMAP_URL=imap://campaign:s3cret@" + s.addr + "/INBOX?tls=none"
}

func (s *mailboxServer) add(raw string) {
	s.t.Helper()
	if _, err := s.user.Append("INBOX", strings.NewReader(raw), &imap.AppendOptions{}); err != nil {
		s.t.Fatal(err)
	}
}

func (s *mailboxServer) count(mailbox string) int {
	st, err := s.user.Status(mailbox, &imap.StatusOptions{NumMessages: true})
	if err != nil {
		return -1
	}
	return int(*st.NumMessages)
}

// apiClient is a client of the daemon d with the admin token.
func apiClient(t *testing.T, d *daemonT) *web.Client {
	t.Helper()
	addr, err := os.ReadFile(filepath.Join(d.data, "serve.addr"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := os.ReadFile(filepath.Join(d.data, "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	return &web.Client{BaseURL: "http://" + strings.TrimSpace(string(addr)), Token: strings.TrimSpace(string(tok))}
}

// sentMail returns the messages the development mail server captured for
// rcpt, parsed.
func sentMail(t *testing.T, cl *web.Client, rcpt string) []*mail.Message {
	t.Helper()
	var msgs []struct {
		To  []string `json:"to"`
		Raw string   `json:"raw"`
	}
	if err := cl.JSON(context.Background(), http.MethodGet, "/api/v1/devmail/messages", map[string][]string{"raw": {"true"}}, nil, &msgs); err != nil {
		t.Fatal(err)
	}
	var out []*mail.Message
	for _, m := range msgs {
		for _, to := range m.To {
			if strings.EqualFold(to, rcpt) {
				pm, err := mail.ReadMessage(strings.NewReader(m.Raw))
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, pm)
			}
		}
	}
	return out
}

// eventually polls cond for up to 20 seconds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// replyTo writes a partner's answer to a captured message.
func replyTo(t *testing.T, m *mail.Message, from, body string) string {
	t.Helper()
	to := m.Header.Get("Reply-To")
	id := m.Header.Get("Message-Id")
	if to == "" || id == "" {
		t.Fatalf("captured message lacks Reply-To or Message-ID: %v", m.Header)
	}
	return fmt.Sprintf("From: %s\r\nTo: %s\r\nSubject: Re: %s\r\nMessage-ID: <%d.%s>\r\nIn-Reply-To: %s\r\nReferences: %s\r\n"+
		"Date: %s\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n%s",
		from, to, m.Header.Get("Subject"), time.Now().UnixNano(), from, id, id, time.Now().Format(time.RFC1123Z), strings.ReplaceAll(body, "\n", "\r\n"))
}

func (d *daemonT) endorsementsJSON(args ...string) []outreach.Endorsement {
	d.t.Helper()
	var es []outreach.Endorsement
	if err := json.Unmarshal([]byte(d.mustCLI(append([]string{"endorsements", "list", "--json"}, args...)...)), &es); err != nil {
		d.t.Fatal(err)
	}
	return es
}

func (d *daemonT) repliesJSON(args ...string) []outreach.Reply {
	d.t.Helper()
	var rs []outreach.Reply
	if err := json.Unmarshal([]byte(d.mustCLI(args...)), &rs); err != nil {
		d.t.Fatal(err)
	}
	return rs
}

// An endorsement request goes out through the development mail server, a
// Spanish partner answers it, and the daemon records a confirmed
// endorsement read over IMAP and thanks the partner; an uncertain answer
// waits for review and a coordinator's approval confirms it.
func TestRepliesEndToEnd(t *testing.T) {
	box := startMailbox(t)
	dir := t.TempDir()
	d := startDaemon(t, dir, box.url(), "OUTREACH_CAMPAIGN_THANK_YOU=true")
	contacts := filepath.Join(t.TempDir(), "partners.csv")
	writeCSV := "email,name,organization,kind,country,language\n" +
		"luis@derechos.example,Luis Pérez,Derechos Ya,partner,CO,es\n" +
		"ana@hrkenya.example,Ana,HR Kenya,partner,KE,en\n"
	if err := os.WriteFile(contacts, []byte(writeCSV), 0o600); err != nil {
		t.Fatal(err)
	}
	d.mustCLI("contacts", "import", contacts)
	d.mustCLI("waves", "add", "--name", "Requests", "--template", "endorsement-request", "--filter", "kind = partner", "--at", "now")
	cl := apiClient(t, d)
	eventually(t, "both requests captured", func() bool {
		return len(sentMail(t, cl, "luis@derechos.example")) == 1 && len(sentMail(t, cl, "ana@hrkenya.example")) == 1
	})
	luisReq := sentMail(t, cl, "luis@derechos.example")[0]
	anaReq := sentMail(t, cl, "ana@hrkenya.example")[0]

	box.add(replyTo(t, luisReq, "Luis Pérez <luis@derechos.example>",
		"Nos sumamos a la carta.\n\nSaludos,\nLuis\n\nEl lun, 2 mar 2026, Campaña escribió:\n> ¿Respalda su organización la carta?\n"))
	eventually(t, "a confirmed endorsement", func() bool {
		es := d.endorsementsJSON("--state", "confirmed")
		return len(es) == 1
	})
	e := d.endorsementsJSON()[0]
	if e.Email != "luis@derechos.example" || e.PrintName != "Derechos Ya" || e.Country != "CO" || e.Source != "reply" || !strings.Contains(e.Evidence, "Nos sumamos") {
		t.Errorf("endorsement = %+v; want Derechos Ya (CO) with the reply as evidence", e)
	}
	eventually(t, "the thank-you", func() bool { return len(sentMail(t, cl, "luis@derechos.example")) == 2 })
	thanks := sentMail(t, cl, "luis@derechos.example")[1]
	if thanks.Header.Get("List-Unsubscribe") != "" {
		t.Errorf("thank-you carries List-Unsubscribe: %q", thanks.Header.Get("List-Unsubscribe"))
	}
	if luisReq.Header.Get("List-Unsubscribe") == "" {
		t.Error("the request carries no List-Unsubscribe; the check above proves nothing")
	}

	box.add(replyTo(t, anaReq, "ana@hrkenya.example", "We would endorse if the letter mentioned the right to housing."))
	eventually(t, "a reply in review", func() bool { return len(d.repliesJSON("review", "list", "--json")) == 1 })
	queued := d.repliesJSON("review", "list", "--json")[0]
	if queued.Class != outreach.ClassOther || queued.From != "ana@hrkenya.example" || queued.Match != outreach.MatchToken {
		t.Errorf("review queue = %+v; want ana's conditional answer matched by token", queued)
	}
	if es := d.endorsementsJSON(); len(es) != 1 {
		t.Errorf("a conditional answer made an endorsement: %+v", es)
	}
	out := d.mustCLI("review", "reclassify", fmt.Sprint(queued.ID), "endorse", "--name", "HR Kenya", "--note", "confirmed by phone")
	if !strings.Contains(out, "confirmed") {
		t.Errorf("reclassify said %q", out)
	}
	if es := d.endorsementsJSON("--state", "confirmed", "--country", "KE"); len(es) != 1 || es[0].By != "admin" {
		t.Errorf("KE confirmed endorsements = %+v; want ana's, by admin", es)
	}
	if n := len(d.repliesJSON("review", "list", "--json")); n != 0 {
		t.Errorf("%d replies still in review", n)
	}
	eventually(t, "both replies moved", func() bool { return box.count("Processed") == 2 && box.count("INBOX") == 0 })

	// After a restart, mail that arrives again records nothing twice.
	d.stop()
	box.add(replyTo(t, luisReq, "luis@derechos.example", "Otra vez: nos sumamos."))
	d = startDaemon(t, dir, box.url(), "OUTREACH_CAMPAIGN_THANK_YOU=true")
	eventually(t, "the third reply moved", func() bool { return box.count("Processed") == 3 })
	if rs := d.repliesJSON("replies", "list", "--json"); len(rs) != 3 {
		t.Errorf("%d replies; want 3", len(rs))
	}
	if es := d.endorsementsJSON(); len(es) != 2 {
		t.Errorf("%d endorsements after a second endorsing reply; want 2 (it is evidence, not a new one)", len(es))
	}
	csv := d.mustCLI("endorsements", "export", "--state", "confirmed")
	if !strings.Contains(csv, "luis@derechos.example") || !strings.Contains(csv, "HR Kenya") {
		t.Errorf("export =\n%s", csv)
	}
}

func TestRepliesClassifyOffline(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"yes.eml":   "From: a@x.example\r\nTo: c@y.example\r\nSubject: Re: letter\r\nIn-Reply-To: <1@y.example>\r\n\r\nWe endorse the letter.\r\n",
		"stop.eml":  "From: a@x.example\r\nTo: c@y.example\r\nSubject: unsubscribe\r\n\r\nwhatever\r\n",
		"maybe.eml": "From: a@x.example\r\nTo: c@y.example\r\nSubject: Re: letter\r\n\r\nWe would endorse if it mentioned housing.\r\n",
	}
	var names []string
	for _, n := range []string{"yes.eml", "stop.eml", "maybe.eml"} {
		p := filepath.Join(dir, n)
		if err := os.WriteFile(p, []byte(files[n]), 0o600); err != nil {
			t.Fatal(err)
		}
		names = append(names, p)
	}
	// No daemon, no token, a data directory that does not exist.
	env := []string{"OUTREACH_SERVER=http://127.0.0.1:1", "OUTREACH_DATA_DIR=" + filepath.Join(dir, "none")}
	var out, errb bytes.Buffer
	if err := run(context.Background(), append([]string{"replies", "classify", "--json"}, names...), env, strings.NewReader(""), &out, &errb); err != nil {
		t.Fatalf("classify: %v\n%s", err, errb.String())
	}
	want := []struct {
		class  string
		review bool
	}{{"endorse", false}, {"unsubscribe", false}, {"other", true}}
	dec := json.NewDecoder(&out)
	for i, w := range want {
		var got struct {
			File   string `json:"file"`
			Class  string `json:"class"`
			Review *bool  `json:"review"`
			Reason string `json:"reason"`
		}
		if err := dec.Decode(&got); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		if got.File != names[i] || got.Class != w.class || got.Review == nil || *got.Review != w.review || got.Reason == "" {
			t.Errorf("line %d = %+v; want %s, class %s, review %v, a reason", i+1, got, names[i], w.class, w.review)
		}
	}
	out.Reset()
	if err := run(context.Background(), []string{"replies", "classify", names[0], filepath.Join(dir, "missing.eml")}, env, strings.NewReader(""), &out, &errb); err == nil {
		t.Error("classify of a missing file succeeded")
	}
	if !strings.HasPrefix(out.String(), names[0]+": endorse (sure): ") {
		t.Errorf("plain output = %q", out.String())
	}
	if !strings.Contains(errb.String(), "missing.eml") {
		t.Errorf("stderr = %q; want the missing file named", errb.String())
	}
}
