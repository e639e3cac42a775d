package render_test

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"slices"
	"strings"
	"testing"

	"github.com/outreach-coalition/outreach/internal/outreach"
	"github.com/outreach-coalition/outreach/internal/render"
)

// wantHeaders are the only header fields a composed wave message has.
var wantHeaders = []string{
	"Content-Type", "Date", "From", "List-Unsubscribe", "List-Unsubscribe-Post", "Message-Id",
	"Mime-Version", "Reply-To", "Subject", "To", "X-Outreach-Delivery",
}

func FuzzRender(f *testing.F) {
	s := shipped(f)
	attr, err := render.LoadFiles(minimal(
		"{{.Contact.Attrs.sector}} / {{.Contact.Name}}",
		"{{.Contact.Attrs.sector}}\n{{.Contact.Organization | default \"x\"}}",
		`<p title="{{.Contact.Attrs.sector}}">{{.Contact.Name}}</p><a href="{{.Contact.Attrs.sector}}">x</a>`))
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range [][4]string{
		{"Ana Example", "Example Network", "health", "en"},
		{"", "", "", ""},
		{"Ana\r\nBcc: x@evil.test", "Org\nBcc: y@evil.test", "a\r\n\r\nbody", "pt-BR"},
		{"<script>alert(1)</script>", `"quoted" <b>org</b>`, "javascript:alert(1)", "es-MX"},
		{"Zoë Ñandú 張偉", "Associação de Direitos", "saúde", "fr_ca"},
		{"\xff\xfe bad utf-8", "\x00nul", "\x1b[31m", "zz-ZZZZZZZZZ-1"},
		{"=?utf-8?q?=0D=0ABcc:_x@evil.test?=", "a,b <c@d.e>", "--outreach-boundary", "-"},
		{strings.Repeat("long name ", 40), strings.Repeat("x", 500), "\u2028line\u2029sep", "de"},
		{strings.Repeat("N", 1200), strings.Repeat("O", 1200), strings.Repeat("=?", 700), "en"},
	} {
		f.Add(seed[0], seed[1], seed[2], seed[3])
	}
	f.Fuzz(func(t *testing.T, name, org, sector, lang string) {
		d := render.SampleData()
		d.Contact.Name, d.Contact.Organization, d.Contact.Language = name, org, lang
		d.Contact.Attrs = map[string]string{"sector": sector}
		for _, tc := range []struct {
			set  *render.Set
			name string
		}{{s, "endorsement-request"}, {attr, "t"}} {
			r, err := tc.set.Render(tc.name, d)
			if err != nil {
				var ps render.Problems
				if !errors.As(err, &ps) {
					t.Fatalf("Render error %v is not Problems", err)
				}
				if strings.ContainsAny(r0(name, org, sector), "\r\n") || strings.ContainsFunc(name+org+sector, isCtl) {
					continue
				}
				t.Fatalf("Render(%q, %q, %q, %q) = %v", name, org, sector, lang, err)
			}
			if !slices.Contains([]string{"en", "es", "fr", "pt"}, r.Lang) && tc.name != "t" {
				t.Fatalf("Lang = %q", r.Lang)
			}
			e := envelope("call-to-action", d)
			m, err := render.Compose(nil, r, e)
			if err != nil {
				if outreach.ErrorCode(err) != outreach.EINVALID || !strings.ContainsFunc(name, isCtl) {
					t.Fatalf("Compose = %v", err)
				}
				continue
			}
			checkMessage(t, m.Data, r)
		}
	})
}

func r0(parts ...string) string { return strings.Join(parts, "") }

func isCtl(r rune) bool { return r != '\t' && (r < 0x20 || r >= 0x7f && r < 0xa0) }

// checkMessage parses a composed message: exactly wantHeaders, an ASCII
// 7-bit wire form, the subject decoding to the rendered one, and a
// multipart/alternative body of exactly a text and an HTML part.
func checkMessage(t *testing.T, raw []byte, r *render.Rendered) {
	t.Helper()
	for i, c := range raw {
		if c > 0x7e || c < 0x20 && c != '\r' && c != '\n' {
			t.Fatalf("byte %d is %#x; the message must be 7-bit:\n%s", i, c, raw)
		}
	}
	for i, line := range bytes.Split(raw, []byte("\r\n")) {
		if len(line) > 998 {
			t.Fatalf("line %d is %d bytes long; RFC 5322 allows 998", i+1, len(line))
		}
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("ReadMessage: %v\n%s", err, raw)
	}
	var keys []string
	for k := range msg.Header {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if !slices.Equal(keys, wantHeaders) {
		t.Fatalf("header keys = %v; want %v\n%s", keys, wantHeaders, raw)
	}
	if subj, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject")); err != nil || subj != r.Subject {
		t.Fatalf("Subject decodes to %q, %v; want %q", subj, err, r.Subject)
	}
	if to, err := msg.Header.AddressList("To"); err != nil || len(to) != 1 {
		t.Fatalf("To = %v, %v; want one address", to, err)
	}
	_, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	var types []string
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("NextPart: %v", err)
		}
		types = append(types, p.Header.Get("Content-Type"))
	}
	if want := []string{"text/plain; charset=UTF-8", "text/html; charset=UTF-8"}; !slices.Equal(types, want) {
		t.Fatalf("parts = %v; want %v", types, want)
	}
}

func BenchmarkRender(b *testing.B) {
	s := shipped(b)
	d := render.SampleData()
	e := envelope("call-to-action", d)
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		r, err := s.Render("call-to-action", d)
		if err != nil {
			b.Fatal(err)
		}
		m, err := render.Compose(buf, r, e)
		if err != nil {
			b.Fatal(err)
		}
		buf = m.Data
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
