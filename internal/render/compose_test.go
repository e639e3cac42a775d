package render_test

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"unicode"

	gomail "github.com/wneessen/go-mail"

	"github.com/outreach-coalition/outreach/internal/outreach"
	"github.com/outreach-coalition/outreach/internal/render"
)

// oracle composes with the go-mail builder Compose used to be and writes
// the message with e's boundary.
func oracle(t testing.TB, r *render.Rendered, e *render.Envelope) ([]byte, error) {
	t.Helper()
	m, err := oldCompose(r, e)
	if err != nil {
		return nil, err
	}
	if e.Boundary != "" {
		m.SetBoundary(e.Boundary)
	}
	var b bytes.Buffer
	if _, err := m.WriteTo(&b); err != nil {
		t.Fatalf("go-mail WriteTo: %v", err)
	}
	return b.Bytes(), nil
}

// longestLine returns the length of the longest line of raw, without CRLF.
func longestLine(raw []byte) int {
	n := 0
	for line := range bytes.SplitSeq(raw, []byte("\r\n")) {
		n = max(n, len(line))
	}
	return n
}

// TestComposeMatchesGoMail checks every shipped template in every
// language, with and without list headers, against the go-mail builder.
func TestComposeMatchesGoMail(t *testing.T) {
	s := shipped(t)
	for _, name := range s.Names() {
		for _, lang := range s.Languages(name) {
			d := sampleFor(name, lang)
			r, err := s.Render(name, d)
			if err != nil {
				t.Fatal(err)
			}
			for _, list := range []string{"", "https://outreach.example.org/u/x", "http://127.0.0.1:8080/u/x"} {
				e := envelope(name, d)
				e.Boundary = "b0undary"
				e.ListUnsubscribeURL = list
				want, err := oracle(t, r, e)
				if err != nil {
					t.Fatal(err)
				}
				m, err := render.Compose(nil, r, e)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(m.Data, want) {
					t.Errorf("%s.%s with %q: Compose differs from go-mail:\n got %q\nwant %q", name, lang, list, m.Data, want)
				}
			}
		}
	}
}

type composeInput struct {
	subject, toName, text, html, key, value, listURL, mailto, from string
}

var composeSeeds = []composeInput{
	{"Hello", "Ana Example", "Hi\n", "<p>Hi</p>\n", "X-Tag", "a", "https://example.org/u/t", "mailto:u@example.org", "Coalition <campaign@example.org>"},
	{"Appel \u00e0 l'action : rejoignez la campagne pour la ratification du PF-PIDESC", "Jo\u00e3o Ningu\u00e9m", "caf\u00e9 \r\nline\rtwo ", "<b>\u00e9</b>\t", "X-Caf\u00e9", "caf\u00e9", "http://127.0.0.1:8080/u/x", "", "campaign@example.org"},
	{"=?utf-8?q?=0D=0ABcc:_x@evil.test?=", "=?utf-8?q?Eve?=", "=?x?=", "--b0undary\r\n", "X-Enc", "=?utf-8?q?x?=", "", "mailto:u@example.org?subject=unsubscribe", "\"Coalition, \\\"The\\\"\" <c@example.org>"},
	{strings.Repeat("w", 61) + " long word", strings.Repeat("n", 70), strings.Repeat("t ", 100), strings.Repeat("\u00e9", 300), "X-Long", strings.Repeat("v ", 100) + strings.Repeat("v", 90), "https://example.org/" + strings.Repeat("p", 100), "", "=?utf-8?q?Caf=C3=A9?= <c@example.org>"},
	{"a\tb\t" + strings.Repeat("c", 1000), "x\t" + strings.Repeat("y", 1000), "", "", "X-Tab", "a\t" + strings.Repeat("b", 1000), "", "", "c@example.org"},
	{"Subject\r\nBcc: x@evil.test", "Ana\nBcc", "x", "y", "Bcc", "x@evil.test", "ftp://x", "u@example.org", "not an address"},
	{"ok", "", "", "", "x-lower", "\u5f35\u5049 " + strings.Repeat("\U0001F600", 30), "https://example.org/u>, <https://evil.test", "mailto:x", "\u00e9@example.org"},
	{"  spaced  subject  ", " ", "\x00\xff\xfe", "\r\r\n\n", "", "", "", "", "c@example.org"},
	{strings.Repeat("\u00e9", 100), "\xff\xfe name", strings.Repeat("a", 75) + " \n", strings.Repeat("=", 200), "X-Empty", "", "", "", "c@example.org"},
}

// FuzzComposeMatchesGoMail checks Compose against the go-mail builder it
// replaces: the same refusals, and the same bytes for every message
// go-mail wrote correctly. The one exception is a message go-mail wrote
// with a header line longer than the 998 characters RFC 5322 section
// 2.1.1 allows (it folds only at spaces and never cuts a long word):
// Compose refuses it or writes it within the limit instead.
func FuzzComposeMatchesGoMail(f *testing.F) {
	for _, c := range composeSeeds {
		f.Add(c.subject, c.toName, c.text, c.html, c.key, c.value, c.listURL, c.mailto, c.from)
	}
	f.Fuzz(func(t *testing.T, subject, toName, text, html, key, value, listURL, mailto, from string) {
		r := &render.Rendered{Subject: subject, Text: text, HTML: html}
		d := render.SampleData()
		e := envelope("call-to-action", d)
		e.From, e.ToName, e.ListUnsubscribeURL, e.ListUnsubscribeMailto = from, toName, listURL, mailto
		e.Boundary = "fuzz-boundary"
		if key != "" {
			e.Headers[key] = value
		}
		want, oldErr := oracle(t, r, e)
		m, err := render.Compose(nil, r, e)
		switch {
		case oldErr != nil:
			if err == nil || err.Error() != oldErr.Error() || outreach.ErrorCode(err) != outreach.ErrorCode(oldErr) {
				t.Fatalf("Compose = %v; go-mail builder refused with %v", err, oldErr)
			}
		case longestLine(want) > 998:
			if err != nil {
				if outreach.ErrorCode(err) != outreach.EINVALID {
					t.Fatalf("Compose = %v; want EINVALID or a message", err)
				}
				return
			}
			if n := longestLine(m.Data); n > 998 {
				t.Fatalf("Compose wrote a line of %d characters", n)
			}
			checkParses(t, m.Data, r)
		case err != nil:
			t.Fatalf("Compose = %v; go-mail builder accepted it", err)
		case !bytes.Equal(m.Data, want):
			t.Fatalf("Compose differs from go-mail:\n got %q\nwant %q", m.Data, want)
		}
	})
}

// checkParses checks that raw is a 7-bit message whose subject decodes to
// r's and whose parts are r's text and HTML.
func checkParses(t *testing.T, raw []byte, r *render.Rendered) {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("ReadMessage: %v\n%q", err, raw)
	}
	if subj, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject")); err != nil || subj != strings.ToValidUTF8(r.Subject, "\uFFFD") {
		t.Fatalf("Subject decodes to %q, %v; want %q", subj, err, r.Subject)
	}
	if _, err := msg.Header.AddressList("To"); err != nil {
		t.Fatalf("To: %v", err)
	}
	_, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for _, want := range []string{r.Text, r.HTML} {
		p, err := mr.NextPart()
		if err != nil {
			t.Fatalf("NextPart: %v", err)
		}
		got, err := io.ReadAll(p)
		if err != nil {
			t.Fatal(err)
		}
		want = strings.NewReplacer("\r\n", "\r\n", "\r", "\r\n", "\n", "\r\n").Replace(want)
		if string(got) != want {
			t.Fatalf("part = %q; want %q", got, want)
		}
	}
}

// TestComposeLineLimit shows what Compose does where go-mail wrote a
// header line over 998 characters.
func TestComposeLineLimit(t *testing.T) {
	s := shipped(t)
	d := render.SampleData()
	r, err := s.Render("call-to-action", d)
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("x", 1000)
	for _, tc := range []struct {
		name  string
		edit  func(r *render.Rendered, e *render.Envelope)
		field string // the field refused, or "" for a message
	}{
		{"subject word", func(r *render.Rendered, e *render.Envelope) { r.Subject = strings.Repeat("ab\t", 400) }, ""},
		{"display name", func(r *render.Rendered, e *render.Envelope) { e.ToName = strings.Repeat("ab\t", 400) }, ""},
		{"address", func(r *render.Rendered, e *render.Envelope) { e.To = long + "@example.net" }, "to"},
		{"message-id", func(r *render.Rendered, e *render.Envelope) { e.MessageID = long + "@example.org" }, "message_id"},
		{"unsubscribe URL", func(r *render.Rendered, e *render.Envelope) { e.ListUnsubscribeURL = "https://example.org/" + long }, "list_unsubscribe_url"},
		{"unsubscribe mailto", func(r *render.Rendered, e *render.Envelope) {
			e.ListUnsubscribeMailto = "mailto:u@example.org?subject=" + long
		}, "list_unsubscribe_mailto"},
		{"header value", func(r *render.Rendered, e *render.Envelope) { e.Headers["X-Long"] = long }, "headers"},
		{"header name", func(r *render.Rendered, e *render.Envelope) { e.Headers["X-"+long] = "v" }, "headers"},
	} {
		r := *r
		e := envelope("call-to-action", d)
		tc.edit(&r, e)
		old, err := oracle(t, &r, e)
		if err != nil || longestLine(old) <= 998 {
			t.Fatalf("%s: go-mail = %v, longest line %d; want a line over 998", tc.name, err, longestLine(old))
		}
		m, err := render.Compose(nil, &r, e)
		if tc.field != "" {
			if outreach.ErrorCode(err) != outreach.EINVALID || !strings.Contains(err.Error(), tc.field) {
				t.Errorf("%s: Compose = %v; want EINVALID naming %s", tc.name, err, tc.field)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: Compose = %v", tc.name, err)
		}
		if n := longestLine(m.Data); n > 998 {
			t.Errorf("%s: longest line %d", tc.name, n)
		}
		checkParses(t, m.Data, &r)
	}
}

func TestComposeBoundary(t *testing.T) {
	s := shipped(t)
	d := render.SampleData()
	r, err := s.Render("call-to-action", d)
	if err != nil {
		t.Fatal(err)
	}
	e := envelope("call-to-action", d)
	random := regexp.MustCompile(`boundary=([0-9a-f]{60})\r\n`)
	m1, err := render.Compose(nil, r, e)
	if err != nil {
		t.Fatal(err)
	}
	m2, err := render.Compose(nil, r, e)
	if err != nil {
		t.Fatal(err)
	}
	b1, b2 := random.FindSubmatch(m1.Data), random.FindSubmatch(m2.Data)
	if b1 == nil || b2 == nil || bytes.Equal(b1[1], b2[1]) {
		t.Fatalf("boundaries %q and %q; want two random 60-digit hex ones", b1, b2)
	}
	if !bytes.HasSuffix(m1.Data, []byte("\r\n--"+string(b1[1])+"--\r\n")) {
		t.Errorf("message does not end with its closing boundary")
	}
	checkParses(t, m1.Data, r)
	for _, b := range []string{"a b", "a=b", `"q"`, strings.Repeat("b", 71), "caf\u00e9"} {
		e.Boundary = b
		if _, err := render.Compose(nil, r, e); outreach.ErrorCode(err) != outreach.EINVALID {
			t.Errorf("boundary %q: Compose = %v; want EINVALID", b, err)
		}
	}
}

// TestComposeReusesBuffer checks that a buffer large enough is reused and
// the result does not depend on what it held.
func TestComposeReusesBuffer(t *testing.T) {
	s := shipped(t)
	d := render.SampleData()
	r, err := s.Render("call-to-action", d)
	if err != nil {
		t.Fatal(err)
	}
	e := envelope("call-to-action", d)
	e.Boundary = "b"
	fresh, err := render.Compose(nil, r, e)
	if err != nil {
		t.Fatal(err)
	}
	buf := bytes.Repeat([]byte("junk"), 8192)
	m, err := render.Compose(buf, r, e)
	if err != nil {
		t.Fatal(err)
	}
	if &m.Data[0] != &buf[0] || !bytes.Equal(m.Data, fresh.Data) {
		t.Errorf("Compose into a used buffer: reused %v, equal %v", &m.Data[0] == &buf[0], bytes.Equal(m.Data, fresh.Data))
	}
	if m.Sender != "campaign+sampletoken@example.org" {
		t.Errorf("Sender = %q", m.Sender)
	}
	var w bytes.Buffer
	if n, err := m.WriteTo(&w); err != nil || n != int64(len(m.Data)) || !bytes.Equal(w.Bytes(), m.Data) {
		t.Errorf("WriteTo = %d, %v", n, err)
	}
	allocs := testing.AllocsPerRun(20, func() {
		if m, err = render.Compose(m.Data, r, e); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 20 {
		t.Errorf("Compose into a reused buffer: %v allocations; want at most 20", allocs)
	}
}

// BenchmarkCompose composes the call-to-action, rendered once, with
// Compose into a reused buffer and with the go-mail builder it replaces.
func BenchmarkCompose(b *testing.B) {
	s := shipped(b)
	for _, lang := range []string{"en", "fr"} {
		d := render.SampleData()
		d.Contact.Language = lang
		r, err := s.Render("call-to-action", d)
		if err != nil {
			b.Fatal(err)
		}
		e := envelope("call-to-action", d)
		b.Run(lang+"/compose", func(b *testing.B) {
			b.ReportAllocs()
			var buf []byte
			for b.Loop() {
				m, err := render.Compose(buf, r, e)
				if err != nil {
					b.Fatal(err)
				}
				buf = m.Data
			}
			b.ReportMetric(float64(len(buf)), "bytes/msg")
		})
		b.Run(lang+"/gomail", func(b *testing.B) {
			b.ReportAllocs()
			var buf bytes.Buffer
			for b.Loop() {
				m, err := oldCompose(r, e)
				if err != nil {
					b.Fatal(err)
				}
				buf.Reset()
				if _, err := m.WriteTo(&buf); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(buf.Len()), "bytes/msg")
		})
	}
}

// The oracle of the differential tests: Compose as it was when it built a
// go-mail v0.8.1 message (commit 85df546), with its helpers, unchanged
// but for the names. Keep it as it is: it defines the bytes.

func oldIsControl(r rune) bool { return r != '\t' && unicode.IsControl(r) }

// reserved reports the headers only Compose sets (case-insensitively).
// Auto-Submitted is among them: a campaign message is sent on a person's
// behalf and must not look automatic (RFC 3834), or replies are suppressed.
func oldReserved(k string) bool {
	switch strings.ToLower(k) {
	case "from", "sender", "to", "cc", "bcc", "reply-to", "subject", "date", "message-id",
		"mime-version", "content-type", "content-transfer-encoding", "return-path",
		"list-unsubscribe", "list-unsubscribe-post", "auto-submitted":
		return true
	}
	return false
}

// Compose builds the message to send: multipart/alternative with the text
// and HTML bodies in UTF-8 quoted-printable, the Message-ID and Date given,
// no User-Agent, and the subject and display names RFC 2047-encoded so the
// header is ASCII on the wire (RFC 6532 needs SMTPUTF8, which Dovecot 2.3
// lacks). The envelope sender (return path) is ReplyTo, so bounces come
// back with the delivery's token. It never sets Auto-Submitted. A line
// break or other control character in any header value is refused.
func oldCompose(r *render.Rendered, e *render.Envelope) (*gomail.Msg, error) {
	if r == nil || e == nil {
		return nil, fmt.Errorf("compose: nil message or envelope")
	}
	from, err := oldAddress("from", e.From, "")
	if err != nil {
		return nil, err
	}
	to, err := oldAddress("to", e.To, e.ToName)
	if err != nil {
		return nil, err
	}
	replyTo, err := oldAddress("reply_to", e.ReplyTo, "")
	if err != nil {
		return nil, err
	}
	if err := oldMessageID(e.MessageID); err != nil {
		return nil, err
	}
	if e.Date.IsZero() {
		return nil, outreach.FieldError("date", "is required")
	}
	if r.Subject == "" || strings.ContainsFunc(r.Subject, oldIsControl) {
		return nil, outreach.FieldError("subject", "%q is empty or has a line break or control character", r.Subject)
	}

	m := gomail.NewMsg(gomail.WithNoDefaultUserAgent(), gomail.WithCharset(gomail.CharsetUTF8),
		gomail.WithEncoding(gomail.EncodingQP))
	m.SetAddrHeaderFromMailAddress(gomail.HeaderFrom, from)
	m.SetAddrHeaderFromMailAddress(gomail.HeaderTo, to)
	m.SetAddrHeaderFromMailAddress(gomail.HeaderReplyTo, replyTo)
	m.EnvelopeFromMailAddress(&mail.Address{Address: replyTo.Address})
	m.SetMessageIDWithValue(e.MessageID)
	m.SetDateWithValue(e.Date)
	if oldNeedsQ(r.Subject) {
		m.SetGenHeaderPreformatted(gomail.HeaderSubject, render.OldQEncode(r.Subject))
	} else {
		m.Subject(r.Subject)
	}
	if err := oldListHeaders(m, e.ListUnsubscribeURL, e.ListUnsubscribeMailto); err != nil {
		return nil, err
	}
	for k, v := range e.Headers {
		if err := oldExtraHeader(k, v); err != nil {
			return nil, err
		}
		m.SetGenHeader(gomail.Header(k), v)
	}
	m.SetBodyString(gomail.TypeTextPlain, r.Text)
	m.AddAlternativeString(gomail.TypeTextHTML, r.HTML)
	return m, nil
}

// address parses one address and, when name is given, sets it as the
// display name. The address must be ASCII (no SMTPUTF8 on the way).
func oldAddress(field, s, name string) (*mail.Address, error) {
	if strings.TrimSpace(s) == "" {
		return nil, outreach.FieldError(field, "is required")
	}
	if strings.ContainsFunc(s, oldIsControl) {
		return nil, outreach.FieldError(field, "%q has a line break or control character", s)
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return nil, outreach.FieldError(field, "%q is not an email address", s)
	}
	for _, c := range a.Address {
		if c > 0x7e {
			return nil, outreach.FieldError(field, "%q is not ASCII; the relay path has no SMTPUTF8", a.Address)
		}
	}
	if name != "" {
		if strings.ContainsFunc(name, oldIsControl) {
			return nil, outreach.FieldError(field+"_name", "%q has a line break or control character", name)
		}
		a.Name = strings.ToValidUTF8(name, "\uFFFD")
	}
	if oldNeedsQ(a.Name) && oldIsASCII(a.Name) {
		// net/mail would quote it as is: drop the display name rather
		// than write a line too long or an encoded-word from the data.
		a.Name = ""
	}
	return a, nil
}

func oldMessageID(id string) error {
	at := strings.LastIndexByte(id, '@')
	if at <= 0 || at == len(id)-1 || strings.ContainsFunc(id, func(r rune) bool {
		return r <= ' ' || r > '~' || r == '<' || r == '>' || r == '"' || r == '(' || r == ')' || r == ',' || r == ';' || r == '\\'
	}) {
		return outreach.FieldError("message_id", "%q is not left@right without <>, spaces or specials", id)
	}
	return nil
}

// listHeaders sets List-Unsubscribe (RFC 2369) and, for an https URL,
// List-Unsubscribe-Post: List-Unsubscribe=One-Click (RFC 8058). They are
// set as generic headers, which go-mail writes in sorted order, rather than
// with SetListUnsubscribeOneClick, whose preformatted headers come out in
// map order.
func oldListHeaders(m *gomail.Msg, httpURL, mailto string) error {
	var uris []string
	post := false
	if httpURL != "" {
		u, err := url.Parse(httpURL)
		if err != nil || !oldUriSafe(httpURL) || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return outreach.FieldError("list_unsubscribe_url", "%q is not an http(s) URL without spaces, commas or <>", httpURL)
		}
		uris = append(uris, "<"+httpURL+">")
		post = u.Scheme == "https"
	}
	if mailto != "" {
		if !strings.HasPrefix(mailto, "mailto:") || !oldUriSafe(mailto) || !strings.Contains(mailto, "@") {
			return outreach.FieldError("list_unsubscribe_mailto", "%q is not a mailto: URI without spaces, commas or <>", mailto)
		}
		uris = append(uris, "<"+mailto+">")
	}
	if len(uris) > 0 {
		m.SetGenHeader(gomail.HeaderListUnsubscribe, strings.Join(uris, ", "))
	}
	if post {
		m.SetGenHeader(gomail.HeaderListUnsubscribePost, "List-Unsubscribe=One-Click")
	}
	return nil
}

func oldUriSafe(s string) bool {
	return !strings.ContainsFunc(s, func(r rune) bool {
		return r <= ' ' || r > '~' || r == '<' || r == '>' || r == ','
	})
}

// extraHeader checks a caller's header: an RFC 5322 field name (printable
// ASCII but colon) that Compose does not set itself, and a value without
// line breaks or control characters.
func oldExtraHeader(k, v string) error {
	if k == "" || strings.ContainsFunc(k, func(r rune) bool { return r <= ' ' || r > '~' || r == ':' }) {
		return outreach.FieldError("headers", "%q is not a header name", k)
	}
	if oldReserved(k) {
		return outreach.FieldError("headers", "%s is set by outreach itself", k)
	}
	if strings.ContainsFunc(v, oldIsControl) {
		return outreach.FieldError("headers", "%s: %q has a line break or control character", k, v)
	}
	return nil
}

func oldIsASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] > 0x7e {
			return false
		}
	}
	return true
}

// needsQ reports an ASCII subject that go-mail would write as is but that
// must be encoded: one with "=?", which a client would decode as an
// encoded-word that came from the data, or with a word too long to fold
// within the line limits of RFC 5322 section 2.1.1.
func oldNeedsQ(s string) bool {
	if strings.Contains(s, "=?") {
		return true
	}
	for w := range strings.FieldsSeq(s) {
		if len(w) > 60 {
			return true
		}
	}
	return false
}
