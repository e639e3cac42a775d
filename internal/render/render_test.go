package render_test

import (
	"bytes"
	"errors"
	"flag"
	"io/fs"
	"mime"
	"net/mail"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/outreach-coalition/outreach/internal/outreach"
	"github.com/outreach-coalition/outreach/internal/render"
	"github.com/outreach-coalition/outreach/templates"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from the current output")

func shipped(t testing.TB) *render.Set {
	t.Helper()
	sub, err := fs.Sub(templates.Mail, "mail")
	if err != nil {
		t.Fatal(err)
	}
	s, err := render.Load(sub)
	if err != nil {
		t.Fatalf("Load(templates.Mail) = %v", err)
	}
	return s
}

// envelope returns the fixed envelope of the golden files; list headers
// only for the templates that go to partners in bulk.
func envelope(name string, d *render.Data) *render.Envelope {
	e := &render.Envelope{
		From:      d.Campaign.From,
		To:        d.Contact.Email,
		ToName:    d.Contact.Name,
		ReplyTo:   d.Delivery.ReplyTo,
		MessageID: d.Delivery.MessageID,
		Date:      time.Date(2026, time.November, 26, 9, 0, 0, 0, time.UTC),
		Headers:   map[string]string{"X-Outreach-Delivery": "1"},
	}
	if name != "letter" && name != "thank-you" {
		e.ListUnsubscribeURL = d.Delivery.UnsubscribeURL
		e.ListUnsubscribeMailto = "mailto:campaign+sampletoken@example.org?subject=unsubscribe"
	}
	return e
}

func sampleFor(name, lang string) *render.Data {
	d := render.SampleData()
	d.Contact.Language = lang
	if name == "letter" || name == "thank-you" {
		d.Delivery.UnsubscribeURL = ""
	}
	if name == "letter" {
		d.Contact.Name = "H.E. the President"
		d.Contact.Organization = "Office of the President"
		d.Contact.Kind = outreach.KindHeadOfState
		d.Contact.Email = "president@example.gov"
	}
	return d
}

// write renders, composes and writes one message with a fixed boundary.
func write(t testing.TB, s *render.Set, name string, d *render.Data, e *render.Envelope) (*render.Rendered, []byte) {
	t.Helper()
	r, err := s.Render(name, d)
	if err != nil {
		t.Fatalf("Render(%s, %s) = %v", name, d.Contact.Language, err)
	}
	golden := *e
	golden.Boundary = "outreach-golden-boundary"
	m, err := render.Compose(nil, r, &golden)
	if err != nil {
		t.Fatalf("Compose(%s, %s) = %v", name, d.Contact.Language, err)
	}
	return r, m.Data
}

func TestGolden(t *testing.T) {
	s := shipped(t)
	want := []string{"call-to-action", "endorsement-request", "letter", "reminder", "thank-you"}
	if got := s.Names(); !slices.Equal(got, want) {
		t.Fatalf("Names() = %v; want %v", got, want)
	}
	for _, name := range s.Names() {
		if got, want := s.Languages(name), []string{"en", "es", "fr", "pt"}; !slices.Equal(got, want) {
			t.Errorf("Languages(%s) = %v; want %v", name, got, want)
		}
		for _, lang := range s.Languages(name) {
			t.Run(name+"."+lang, func(t *testing.T) {
				d := sampleFor(name, lang)
				r, got := write(t, s, name, d, envelope(name, d))
				if r.Lang != lang {
					t.Errorf("Lang = %s; want %s", r.Lang, lang)
				}
				file := filepath.Join("testdata", "golden", name+"."+lang+".eml")
				if *update {
					if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(file, got, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(file)
				if err != nil {
					t.Fatalf("%v (run go test -update to create it)", err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("%s differs from the composed message (go test -update to accept):\n%s", file, got)
				}
				if bytes.Contains(got, []byte("<no value>")) {
					t.Errorf("%s contains <no value>", file)
				}
				for i, c := range got {
					if c > 0x7e || c < 0x20 && c != '\r' && c != '\n' {
						t.Fatalf("%s: byte %d is %#x; the message must be 7-bit", file, i, c)
					}
				}
				msg, err := mail.ReadMessage(bytes.NewReader(got))
				if err != nil {
					t.Fatal(err)
				}
				subj, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
				if err != nil || subj != r.Subject {
					t.Errorf("decoded Subject = %q, %v; want %q", subj, err, r.Subject)
				}
			})
		}
	}
}

func TestDefaultsAndEmptyContact(t *testing.T) {
	s := shipped(t)
	d := render.SampleData()
	d.Contact = outreach.Contact{Email: "x@example.net", Language: "en"}
	for _, name := range s.Names() {
		if err := s.CheckData(name, d); err != nil {
			t.Errorf("CheckData(%s, empty contact) = %v", name, err)
		}
	}
	r, err := s.Render("call-to-action", d)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(r.Text, "Dear colleague,") {
		t.Errorf("text without a name does not fall back to the default:\n%s", r.Text)
	}
}

func TestFallback(t *testing.T) {
	s := shipped(t)
	for _, tc := range []struct {
		lang, def string
		want      string
		tried     []string
	}{
		{"es-MX", "en", "es", []string{"es-MX", "es"}},
		{"pt-BR", "en", "pt", []string{"pt-BR", "pt"}},
		{"de", "fr", "fr", []string{"de", "fr"}},
		{"de-AT", "", "en", []string{"de-AT", "de", "en"}},
		{"", "es", "es", []string{"es"}},
		{"not a tag", "de", "en", []string{"de", "en"}},
		{"FR_ca", "en", "fr", []string{"fr-CA", "fr"}},
	} {
		d := render.SampleData()
		d.Contact.Language, d.Campaign.DefaultLanguage = tc.lang, tc.def
		r, err := s.Render("call-to-action", d)
		if err != nil {
			t.Fatalf("Render(%q, default %q) = %v", tc.lang, tc.def, err)
		}
		if r.Lang != tc.want || !slices.Equal(r.Tried, tc.tried) {
			t.Errorf("Render(%q, default %q) = %s after %v; want %s after %v", tc.lang, tc.def, r.Lang, r.Tried, tc.want, tc.tried)
		}
	}
	d := render.SampleData()
	d.Contact.Language = "es-MX"
	r, err := s.Render("endorsement-request", d)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(r.Text, "Malasia") || !strings.Contains(r.HTML, `lang="es"`) {
		t.Errorf("es-MX did not get the Spanish variant:\n%s", r.Text)
	}
}

func TestNoVariant(t *testing.T) {
	s, err := render.LoadFiles(map[string]string{
		"hello/fr.subject": "Bonjour", "hello/fr.txt": "Bonjour", "hello/fr.html": "<p>Bonjour</p>",
	})
	if err != nil {
		t.Fatal(err)
	}
	d := render.SampleData()
	d.Contact.Language, d.Campaign.DefaultLanguage = "de", "es"
	_, err = s.Render("hello", d)
	var ps render.Problems
	if !errors.As(err, &ps) || !strings.Contains(err.Error(), "no variant for any of de, es, en") {
		t.Errorf("Render without a matching variant = %v; want Problems naming the chain", err)
	}
	if outreach.ErrorCode(err) != outreach.EINVALID {
		t.Errorf("ErrorCode = %s; want %s", outreach.ErrorCode(err), outreach.EINVALID)
	}
	if _, err := s.Render("nope", d); outreach.ErrorCode(err) != outreach.ENOTFOUND {
		t.Errorf("Render(unknown) = %v; want ENOTFOUND", err)
	}
}

// minimal is a one-template set whose parts are given.
func minimal(subject, text, html string) map[string]string {
	return map[string]string{"t/en.subject": subject, "t/en.txt": text, "t/en.html": html}
}

func TestLoadProblems(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  []string // each must appear in the error, in order
	}{
		{"syntax error", minimal("Hi", "Hello\n\n{{.Contact.Name}\nmore\n", "<p>x</p>"),
			[]string{"t/en.txt:3: bad character"}},
		{"unclosed action", minimal("Hi", "Hello\n\n{{if .Contact.Name}}\nno end\n", "<p>x</p>"),
			[]string{"t/en.txt:5: unexpected EOF"}},
		{"unknown field", minimal("Hi", "Hello\n{{.Contact.Nmae}}\n", "<p>{{.Campaign.Nmae}}</p>"),
			[]string{"t/en.html:1: at <.Campaign.Nmae>: can't evaluate field Nmae", "t/en.txt:2: at <.Contact.Nmae>: can't evaluate field Nmae"}},
		{"unknown function", minimal("{{shout .Contact.Name}}", "x", "x"),
			[]string{`t/en.subject:1: function "shout" not defined`}},
		{"two-line subject", minimal("Hi\nthere", "x", "x"),
			[]string{"t/en.subject:2: a subject is one line"}},
		{"missing html", map[string]string{"t/en.subject": "Hi", "t/en.txt": "x"},
			[]string{"t/en.html: missing"}},
		{"bad file", map[string]string{"t/en.subject": "Hi", "t/en.txt": "x", "t/en.html": "x", "t/en.htm": "x", "Weird/en.txt": "x"},
			[]string{"Weird/en.txt: unexpected file", "t/en.htm: unexpected file"}},
		{"bad language", map[string]string{"t/english.subject": "x", "t/english.txt": "x", "t/english.html": "x"},
			[]string{`t/english.html: "english" is not a BCP 47`}},
		{"error in partial", map[string]string{"t/en.subject": "Hi", "t/en.txt": "x", "t/en.html": "x",
			"_layout.txt": "{{template \"content\" .}}\n{{template \"footer\" .}}", "_partials/footer.txt": "--\n{{.Campaign.Adress}}"},
			[]string{"_partials/footer.txt:2: at <.Campaign.Adress>"}},
		{"layout without content", map[string]string{"t/en.subject": "Hi", "t/en.txt": "x", "t/en.html": "<p>x</p>", "_layout.html": "<html></html>"},
			[]string{`_layout.html: a layout must call {{template "content" .}}`}},
		{"empty body", minimal("Hi", "{{/* nothing */}}\n", "<p>x</p>"),
			[]string{"t/en.txt: renders to nothing"}},
		{"missing map key", minimal("Hi", "{{.Wave.Name}} {{index .Contact.Attrs \"x\"}}", "{{.Contact.Attrs.sector}}"), nil},
		{"ambiguous html", minimal("Hi", "x", "<a href=\"{{.Delivery.UnsubscribeURL}}>x</a>"),
			[]string{"t/en.html: ends in a non-text context"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := render.LoadFiles(tc.files)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("LoadFiles = %v; want no error", err)
				}
				return
			}
			var ps render.Problems
			if !errors.As(err, &ps) {
				t.Fatalf("LoadFiles = %v; want Problems", err)
			}
			msg := err.Error()
			rest := msg
			for _, w := range tc.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("LoadFiles error:\n%s\nwant it to contain, in order: %q", msg, tc.want)
				}
				rest = rest[i+len(w):]
			}
			if strings.Contains(msg, "<no value>") {
				t.Errorf("error mentions <no value>: %s", msg)
			}
		})
	}
}

func TestLoadDirectories(t *testing.T) {
	for _, tc := range []struct{ dir, want string }{
		{"syntax", "call-to-action/en.txt:4: "},
		{"unknownfield", "call-to-action/en.html:3: at <.Contact.Organisation>"},
	} {
		_, err := render.Load(os.DirFS(filepath.Join("testdata", "broken", tc.dir)))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Load(testdata/broken/%s) = %v; want %q", tc.dir, err, tc.want)
		}
	}
}

func TestAttributes(t *testing.T) {
	s, err := render.LoadFiles(minimal("{{.Contact.Attrs.sector}}", "{{with .Contact}}{{.Attrs.region}}{{end}}", "{{$.Contact.Attrs.sector}}"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.Attributes("t"), []string{"region", "sector"}; !slices.Equal(got, want) {
		t.Errorf("Attributes = %v; want %v", got, want)
	}
	ok := outreach.Contact{Email: "a@example.net", Attrs: map[string]string{"sector": "health", "region": "north"}}
	missing := outreach.Contact{Email: "b@example.net", Attrs: map[string]string{"sector": "health"}}
	err = s.Check("t", ok, missing)
	if err == nil || !strings.Contains(err.Error(), `t/en.txt:1: contact b@example.net: at <.Attrs.region>: map has no entry for key "region"`) ||
		strings.Contains(err.Error(), "a@example.net") {
		t.Errorf("Check = %v; want one problem for b@example.net", err)
	}
	if err := s.Check("t"); err == nil {
		t.Errorf("Check with the sample contact, which has no attributes = nil; want a problem")
	}
}

func TestFiles(t *testing.T) {
	s := shipped(t)
	files := s.Files("letter")
	for _, p := range []string{"_layout.html", "_layout.txt", "_partials/footer/es.html", "letter/pt.subject"} {
		if _, ok := files[p]; !ok {
			t.Errorf("Files(letter) lacks %s", p)
		}
	}
	for p := range files {
		if strings.HasPrefix(p, "reminder/") {
			t.Errorf("Files(letter) has %s", p)
		}
	}
	one, err := render.LoadFiles(files)
	if err != nil {
		t.Fatal(err)
	}
	if got := one.Names(); !slices.Equal(got, []string{"letter"}) {
		t.Errorf("LoadFiles(Files(letter)).Names() = %v", got)
	}
	if s.Files("nope") != nil || s.Has("nope") || !s.Has("letter") {
		t.Errorf("Files/Has of an unknown template")
	}
}

func TestEscapingAndInjection(t *testing.T) {
	s := shipped(t)
	d := render.SampleData()
	d.Contact.Name = "<script>alert(1)</script>"
	d.Contact.Organization = `Acme "Rights" & <b>Co</b>`
	r, err := s.Render("endorsement-request", d)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(r.HTML, "<script>") || !strings.Contains(r.HTML, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Errorf("HTML does not escape the name:\n%s", r.HTML)
	}
	if strings.Contains(r.HTML, "<b>Co</b>") {
		t.Errorf("HTML does not escape the organisation")
	}
	if !strings.Contains(r.Text, "<script>alert(1)</script>") {
		t.Errorf("plain text altered the name:\n%s", r.Text)
	}

	// A line break in a name reaching the subject is refused.
	d = render.SampleData()
	d.Contact.Organization = "Org\r\nBcc: x@evil.test"
	_, err = s.Render("endorsement-request", d)
	if err == nil || !strings.Contains(err.Error(), "endorsement-request/en.subject: the data put a line break in the subject") {
		t.Errorf("Render with a CRLF organisation in the subject = %v; want a subject problem", err)
	}
	if err := s.Check("endorsement-request", d.Contact); err == nil || !strings.Contains(err.Error(), "contact ana@example.net") {
		t.Errorf("Check = %v; want a problem naming the contact", err)
	}

	// A line break in the display name never gives a Bcc header.
	d = render.SampleData()
	d.Contact.Name = "Ana\r\nBcc: x@evil.test"
	r, err = s.Render("call-to-action", d)
	if err != nil {
		t.Fatal(err)
	}
	e := envelope("call-to-action", d)
	if _, err := render.Compose(nil, r, e); err == nil {
		t.Errorf("Compose with a CRLF display name = nil error; want refusal")
	}
	e.ToName = "Ana Bcc: x@evil.test, \"Quoted\" <y@evil.test>"
	_, raw := write(t, s, "call-to-action", d, e)
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := msg.Header["Bcc"]; ok {
		t.Errorf("message has a Bcc header:\n%s", raw)
	}
	to, err := msg.Header.AddressList("To")
	if err != nil || len(to) != 1 || to[0].Address != "ana@example.net" || to[0].Name != e.ToName {
		t.Errorf("To = %v, %v; want one address with the whole name", to, err)
	}
}

func TestCompose(t *testing.T) {
	s := shipped(t)
	d := render.SampleData()
	d.Contact.Language = "pt"
	d.Contact.Name = "João Ninguém"
	e := envelope("call-to-action", d)
	r, raw := write(t, s, "call-to-action", d, e)
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	h := msg.Header
	for k, want := range map[string]string{
		"Message-Id":            "<sampletoken.1@example.org>",
		"Reply-To":              "<campaign+sampletoken@example.org>",
		"List-Unsubscribe":      "<https://outreach.example.org/u/sampletoken>, <mailto:campaign+sampletoken@example.org?subject=unsubscribe>",
		"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
		"Date":                  "Thu, 26 Nov 2026 09:00:00 +0000",
		"X-Outreach-Delivery":   "1",
		"Mime-Version":          "1.0",
	} {
		if got := h.Get(k); got != want {
			t.Errorf("%s = %q; want %q", k, got, want)
		}
	}
	for _, k := range []string{"Auto-Submitted", "User-Agent", "X-Mailer", "Precedence"} {
		if _, ok := h[k]; ok {
			t.Errorf("message has %s", k)
		}
	}
	to, err := h.AddressList("To")
	if err != nil || to[0].Name != "João Ninguém" {
		t.Errorf("To = %v, %v; want the decoded name", to, err)
	}
	if !strings.HasPrefix(h.Get("Content-Type"), "multipart/alternative") {
		t.Errorf("Content-Type = %s", h.Get("Content-Type"))
	}
	if !strings.Contains(string(raw), "Content-Transfer-Encoding: quoted-printable") || !strings.Contains(string(raw), "text/html; charset=UTF-8") {
		t.Errorf("parts are not UTF-8 quoted-printable:\n%s", raw)
	}
	if r.Lang != "pt" {
		t.Errorf("Lang = %s", r.Lang)
	}

	// Envelope sender is the reply address.
	m, err := render.Compose(nil, r, e)
	if err != nil {
		t.Fatal(err)
	}
	if m.Sender != "campaign+sampletoken@example.org" {
		t.Errorf("Sender = %q; want the reply address", m.Sender)
	}

	// No list headers for letters; no Post header for an http URL.
	e2 := *e
	e2.ListUnsubscribeURL, e2.ListUnsubscribeMailto = "", ""
	_, raw = write(t, s, "call-to-action", d, &e2)
	if bytes.Contains(raw, []byte("List-Unsubscribe")) {
		t.Errorf("list headers without list URLs")
	}
	e2.ListUnsubscribeURL = "http://127.0.0.1:8080/u/x"
	_, raw = write(t, s, "call-to-action", d, &e2)
	if !bytes.Contains(raw, []byte("List-Unsubscribe: <http://127.0.0.1:8080/u/x>")) || bytes.Contains(raw, []byte("List-Unsubscribe-Post")) {
		t.Errorf("http list URL: want List-Unsubscribe without -Post:\n%s", raw)
	}
}

func TestComposeRefuses(t *testing.T) {
	s := shipped(t)
	d := render.SampleData()
	r, err := s.Render("call-to-action", d)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		edit func(e *render.Envelope)
	}{
		{"no to", func(e *render.Envelope) { e.To = "" }},
		{"bad to", func(e *render.Envelope) { e.To = "not an address" }},
		{"crlf in to", func(e *render.Envelope) { e.To = "a@example.net\r\nBcc: x@evil.test" }},
		{"non-ascii address", func(e *render.Envelope) { e.To = "josé@example.net" }},
		{"no reply-to", func(e *render.Envelope) { e.ReplyTo = "" }},
		{"message-id with <>", func(e *render.Envelope) { e.MessageID = "<a@b>" }},
		{"message-id without @", func(e *render.Envelope) { e.MessageID = "abc" }},
		{"zero date", func(e *render.Envelope) { e.Date = time.Time{} }},
		{"ftp unsubscribe", func(e *render.Envelope) { e.ListUnsubscribeURL = "ftp://example.org/u" }},
		{"unsubscribe with >", func(e *render.Envelope) { e.ListUnsubscribeURL = "https://example.org/u>, <https://evil.test" }},
		{"bad mailto", func(e *render.Envelope) { e.ListUnsubscribeMailto = "unsubscribe@example.org" }},
		{"reserved header", func(e *render.Envelope) { e.Headers = map[string]string{"bcc": "x@evil.test"} }},
		{"auto-submitted", func(e *render.Envelope) { e.Headers = map[string]string{"Auto-Submitted": "auto-generated"} }},
		{"header name with colon", func(e *render.Envelope) { e.Headers = map[string]string{"X-A: b": "c"} }},
		{"header value with LF", func(e *render.Envelope) { e.Headers = map[string]string{"X-A": "b\nBcc: x@evil.test"} }},
	} {
		e := envelope("call-to-action", d)
		tc.edit(e)
		if _, err := render.Compose(nil, r, e); err == nil {
			t.Errorf("Compose(%s) = nil error; want refusal", tc.name)
		} else if outreach.ErrorCode(err) != outreach.EINVALID {
			t.Errorf("Compose(%s) = %v; want EINVALID", tc.name, err)
		}
	}
	bad := *r
	bad.Subject = "a\nb"
	if _, err := render.Compose(nil, &bad, envelope("call-to-action", d)); err == nil {
		t.Errorf("Compose with a two-line subject = nil error")
	}
}

func TestFunctions(t *testing.T) {
	files := minimal("x",
		`{{date .Now "en" "Asia/Kuala_Lumpur"}}|{{date .Now "es"}}|{{date .Now "fr"}}|{{date .Now "pt-BR" "America/Sao_Paulo"}}|{{date .Now "de" "Not/AZone"}}`+
			`|{{country "MY" "es"}}|{{country "PH" "fr"}}|{{country "BR" "pt"}}|{{country "MY" "zz"}}|{{country "" "en"}}|{{country "M1" "en"}}`+
			`|{{.Contact.Name | default "Sir/Madam"}}|{{"  " | default "blank"}}|{{join ", " .Contact.Tags}}|{{.Contact.Regions | join "+"}}|{{title "human rights"}}|{{upper "straße"}}`,
		"x")
	s, err := render.LoadFiles(files)
	if err != nil {
		t.Fatal(err)
	}
	d := render.SampleData()
	d.Contact.Name = ""
	d.Contact.Tags = []string{"a", "b"}
	d.Contact.Regions = []string{"AU", "OAS"}
	d.Now = time.Date(2026, time.November, 25, 20, 0, 0, 0, time.UTC)
	r, err := s.Render("t", d)
	if err != nil {
		t.Fatal(err)
	}
	want := "26 November 2026|25 de noviembre de 2026|25 novembre 2026|25 de novembro de 2026|25 November 2026" +
		"|Malasia|Philippines|Brasil|Malaysia||M1" +
		"|Sir/Madam|blank|a, b|AU+OAS|Human Rights|STRASSE\n"
	if r.Text != want {
		t.Errorf("functions:\n got %q\nwant %q", r.Text, want)
	}
	d.Now = time.Date(2026, time.May, 1, 12, 0, 0, 0, time.UTC)
	s, err = render.LoadFiles(minimal("x", `{{date .Now "fr-CA"}}`, "x"))
	if err != nil {
		t.Fatal(err)
	}
	if r, err := s.Render("t", d); err != nil || r.Text != "1er mai 2026\n" {
		t.Errorf("French first of the month = %v, %v", r, err)
	}
	if _, err := render.LoadFiles(minimal("x", `{{join ", " .Contact.Name}}`, "x")); err == nil {
		t.Errorf("join of a string: want an error at load")
	}
}

func TestLetterRoster(t *testing.T) {
	s := shipped(t)
	d := sampleFor("letter", "fr")
	d.Endorsers = []render.Endorser{{Name: "Réseau A"}, {Organization: "Organisation B"}}
	r, err := s.Render("letter", d)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(r.Text, "  - Réseau A\n  - Organisation B\n") || !strings.Contains(r.HTML, "<li>Réseau A</li>\n<li>Organisation B</li>") {
		t.Errorf("roster does not print each endorser's name, or its organisation when it has none:\n%s\n%s", r.Text, r.HTML)
	}
	if !strings.Contains(r.Text, "26 novembre 2026") || !strings.Contains(r.Subject, "Malaisie") {
		t.Errorf("letter lacks the French date or country: %q\n%s", r.Subject, r.Text)
	}
}

func TestConcurrentRender(t *testing.T) {
	s := shipped(t)
	langs := []string{"en", "es-MX", "fr", "pt-BR"}
	errs := make(chan error, len(langs)*len(s.Names()))
	var wg sync.WaitGroup
	for _, name := range s.Names() {
		for _, lang := range langs {
			wg.Go(func() {
				for range 20 {
					d := sampleFor(name, lang)
					r, err := s.Render(name, d)
					if err == nil {
						_, err = render.Compose(nil, r, envelope(name, d))
					}
					if err != nil {
						errs <- err
						return
					}
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
