package contactcsv

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/outreach-coalition/outreach/internal/outreach"
)

func trickyContacts() []outreach.Contact {
	return []outreach.Contact{
		{
			Email: "aminah@suara.example", Name: "Aminah Binti Yusof", Organization: "Suara Rakyat, Malaysia",
			Kind: "partner", Country: "MY", Language: "ms", Tags: []string{"board", "human rights", "media "},
			Attrs:   map[string]string{"sector": "civil society, legal", "note": "said \"yes\"\nthen called back", "phone": " +60 3-1234 "},
			Consent: outreach.Consent{Source: "signup form", Date: time.Date(2025, 1, 15, 0, 0, 0, 0, time.UTC)},
		},
		{
			Email: "Ivan.Petrov@Pravo.example", Name: "Иван Петров", Organization: "Правозащитный центр «Мемориал»",
			Kind: "partner", Country: "FR", Regions: []string{"CoE"}, Language: "ru",
			Consent: outreach.Consent{Source: "call", Date: time.Date(2025, 3, 1, 9, 30, 15, 500_000_000, time.FixedZone("", 8*3600))},
		},
		{
			Email: "pm@pmo.gov.test", Name: "مكتب رئيس الوزراء", Organization: "国务院办公厅", Kind: "head_of_state",
			Country: "KE", TimeZone: "Africa/Nairobi", Status: "unsubscribed",
		},
		{
			Email: "\"Quoted Name\" <q@x.example>", Name: " leading and trailing ", Organization: "=SUM(A1:A2)",
			Kind: "NHRI", Country: "co", Tags: []string{"a,b", "c\"d"}, Status: "BOUNCED",
			Attrs: map[string]string{"sector": "", "ignored": "not in the header"},
		},
		{Email: "min@x.test", Kind: "ministry", Country: "US", Language: "pt-br", Status: "complained"},
	}
}

func TestRoundTrip(t *testing.T) {
	want := trickyContacts()
	var buf bytes.Buffer
	w := NewWriter(&buf, []string{"sector", "note", "phone"})
	for i := range want {
		if err := w.Write(&want[i]); err != nil {
			t.Fatalf("Write(%s): %v", want[i].Email, err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	res := readAll(t, buf.String())
	if len(res.rowErrs) > 0 {
		t.Fatalf("row errors reading back:\n%v\n%s", res.rowErrs, buf.String())
	}
	if len(res.contacts) != len(want) {
		t.Fatalf("read back %d contacts; want %d", len(res.contacts), len(want))
	}
	for i := range want {
		w := want[i]
		w.Normalize()
		delete(w.Attrs, "ignored")
		for k, v := range w.Attrs {
			if v = strings.TrimSpace(v); v == "" {
				delete(w.Attrs, k)
			} else {
				w.Attrs[k] = v
			}
		}
		if len(w.Attrs) == 0 {
			w.Attrs = nil
		}
		got := res.contacts[i]
		if !got.Consent.Date.Equal(w.Consent.Date) {
			t.Errorf("contact %d consent date = %v; want %v", i, got.Consent.Date, w.Consent.Date)
		}
		got.Consent.Date, w.Consent.Date = time.Time{}, time.Time{}
		if !reflect.DeepEqual(got, w) {
			t.Errorf("contact %d read back as\n%+v\nwant\n%+v", i, got, w)
		}
	}

	// Writing what was read gives the same bytes: the format is stable.
	var again bytes.Buffer
	w2 := NewWriter(&again, []string{"phone", "note", "sector"})
	for i := range res.contacts {
		if err := w2.Write(&res.contacts[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w2.Flush(); err != nil {
		t.Fatal(err)
	}
	var first bytes.Buffer
	w3 := NewWriter(&first, []string{"sector", "note", "phone"})
	for i := range want {
		c := want[i]
		c.Normalize()
		if err := w3.Write(&c); err != nil {
			t.Fatal(err)
		}
	}
	if err := w3.Flush(); err != nil {
		t.Fatal(err)
	}
	if again.String() != first.String() {
		t.Errorf("second export differs:\n%s\nfirst:\n%s", again.String(), first.String())
	}
}

func TestWriterHeader(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf, []string{"zone", "Sector", "sector", "email", "Organisation", "", "phone number", "a.b", " region "})
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	want := "email,name,organization,kind,country,regions,language,timezone,tags,consent,consent_date,status,region,sector,zone\n"
	if buf.String() != want {
		t.Errorf("header = %q; want %q", buf.String(), want)
	}
}

func TestWriterUsesAttributeKeysAsGiven(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf, []string{"Sector"})
	c := outreach.Contact{Email: "a@x.example", Kind: "partner", Status: "active", Attrs: map[string]string{"Sector": "media"}}
	if err := w.Write(&c); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	res := readAll(t, buf.String())
	if len(res.contacts) != 1 || res.contacts[0].Attrs["sector"] != "media" {
		t.Errorf("read back %+v; want attribute sector=media", res.contacts)
	}
}

func TestWriterRefusesWhatWouldNotReadBack(t *testing.T) {
	tests := []struct {
		name  string
		c     outreach.Contact
		field string
	}{
		{"tag with ;", outreach.Contact{Email: "a@x.example", Tags: []string{"a;b"}}, "tags"},
		{"region with |", outreach.Contact{Email: "a@x.example", Regions: []string{"AU|EU"}}, "regions"},
		{"invalid UTF-8 name", outreach.Contact{Email: "a@x.example", Name: "\xff"}, "name"},
		{"invalid UTF-8 attribute", outreach.Contact{Email: "a@x.example", Attrs: map[string]string{"sector": "\xfe"}}, "sector"},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		w := NewWriter(&buf, []string{"sector"})
		err := w.Write(&tt.c)
		var oe *outreach.Error
		if !errors.As(err, &oe) || oe.Field != tt.field || oe.Code != outreach.EINVALID {
			t.Errorf("%s: Write = %v; want EINVALID on field %s", tt.name, err, tt.field)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(buf.String(), "\n"); n != 1 {
			t.Errorf("%s: wrote %d lines; want only the header", tt.name, n)
		}
	}
}

// failWriter accepts n bytes, then fails.
type failWriter struct{ n int }

func (f *failWriter) Write(p []byte) (int, error) {
	if len(p) > f.n {
		return 0, io.ErrShortWrite
	}
	f.n -= len(p)
	return len(p), nil
}

func TestWriterReportsWriteErrors(t *testing.T) {
	w := NewWriter(&failWriter{n: 10}, nil)
	c := outreach.Contact{Email: "a@x.example"}
	var err error
	for i := 0; i < 1000 && err == nil; i++ {
		err = w.Write(&c)
	}
	if err == nil {
		err = w.Flush()
	}
	if !errors.Is(err, io.ErrShortWrite) {
		t.Errorf("Write and Flush = %v; want %v", err, io.ErrShortWrite)
	}
	if err := w.Flush(); !errors.Is(err, io.ErrShortWrite) {
		t.Errorf("Flush after a failed write = %v; want %v", err, io.ErrShortWrite)
	}
}

func TestWriterEscapesFormulas(t *testing.T) {
	var b strings.Builder
	w := NewWriter(&b, []string{"note"})
	c := outreach.Contact{Email: "f@example.test", Name: "=HYPERLINK(\"http://x.test\")", Organization: "+1 Org", Kind: "partner", Status: "active",
		Attrs: map[string]string{"note": "@SUM(A1)"}}
	if err := w.Write(&c); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	out := b.String()
	for _, bad := range []string{",=HYPERLINK", ",+1 Org", ",@SUM"} {
		if strings.Contains(out, bad) {
			t.Errorf("export has a formula cell %q:\n%s", bad, out)
		}
	}
	r, err := NewReader(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != c.Name || got.Organization != c.Organization || got.Attrs["note"] != "@SUM(A1)" {
		t.Errorf("round trip = %q %q %q", got.Name, got.Organization, got.Attrs["note"])
	}
}
