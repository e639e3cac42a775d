package contactcsv

import (
	"bytes"
	"errors"
	"io"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/outreach-coalition/outreach/internal/outreach"
)

// FuzzReader checks that arbitrary input never panics, that every contact
// returned without error is valid, that lines increase, and that writing
// the contacts read gives a file that reads back to the same contacts.
func FuzzReader(f *testing.F) {
	sample, err := os.ReadFile("testdata/sample10.csv")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sample)
	f.Add(generate(20))
	for _, s := range []string{
		"",
		"\ufeffemail,name\r\na@x.example,\"A\r\nB\"\r\n",
		"email;name;tags\na@x.example;\"x;y\";a|b\n",
		"email\tsector\na@x.example\t\"x\ty\"\n",
		"email,name\nbob@,x\n\na@x.example,\"unterminated\n",
		"email,Organisation,extra\na@x.example,\"O, \"\"Q\"\"\",\"multi\nline\"\nb@x.example,too,many,fields\n",
		"email,name,consent_date,timezone,status\na@x.example,\xff,2025-13-01,Local,gone\n",
		"email,country,kind,regions\na@x.example,my,Ministry,\nb@x.example,,legislator,AU|EU\n",
		"email,name\n\"Ana\" <a@x.example>,عائشة\nA@X.EXAMPLE,王小明\n",
		"\xff\xfee\x00",
		"email,a b\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := NewReader(bytes.NewReader(data))
		if err != nil {
			if outreach.ErrorCode(err) != outreach.EINVALID {
				t.Fatalf("NewReader error %v has code %q; want %q", err, outreach.ErrorCode(err), outreach.EINVALID)
			}
			return
		}
		var contacts []outreach.Contact
		attrs := map[string]bool{}
		last := 0
		for {
			c, line, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			var re *RowError
			if err != nil && !errors.As(err, &re) {
				t.Fatalf("fatal error from an in-memory reader: %v", err)
			}
			if line <= last {
				t.Fatalf("line %d after line %d", line, last)
			}
			last = line
			if re != nil {
				if re.Line != line {
					t.Fatalf("RowError.Line %d; Next returned line %d", re.Line, line)
				}
				continue
			}
			if err := c.Validate(); err != nil {
				t.Fatalf("line %d: contact returned without error fails Validate: %v", line, err)
			}
			for k := range c.Attrs {
				attrs[k] = true
			}
			contacts = append(contacts, c)
		}

		var names []string
		for k := range attrs {
			names = append(names, k)
		}
		var buf bytes.Buffer
		w := NewWriter(&buf, names)
		for i := range contacts {
			if err := w.Write(&contacts[i]); err != nil {
				t.Fatalf("Write(%+v): %v", contacts[i], err)
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		back, err := tryReadAll(buf.String())
		if err != nil || len(back.rowErrs) > 0 {
			t.Fatalf("reading back: %v %v\n%q", err, back.rowErrs, buf.String())
		}
		if len(back.contacts) != len(contacts) {
			t.Fatalf("read back %d contacts; want %d", len(back.contacts), len(contacts))
		}
		for i, want := range contacts {
			got := back.contacts[i]
			if !got.Consent.Date.Equal(want.Consent.Date) {
				t.Fatalf("contact %d consent date %v; want %v", i, got.Consent.Date, want.Consent.Date)
			}
			got.Consent.Date, want.Consent.Date = time.Time{}, time.Time{}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("contact %d read back as\n%+v\nwant\n%+v", i, got, want)
			}
		}
	})
}
