package contactcsv

import (
	"errors"
	"io"
	"os"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/outreach-coalition/outreach/internal/outreach"
)

// result is everything a Reader yields for one input.
type result struct {
	contacts []outreach.Contact
	lines    []int // line of each contact
	rowErrs  []*RowError
}

// readAll reads input to the end and fails the test on a fatal error.
func readAll(t *testing.T, input string) result {
	t.Helper()
	res, err := tryReadAll(input)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return res
}

// tryReadAll reads input to the end; it returns the first fatal error.
func tryReadAll(input string) (result, error) {
	var res result
	r, err := NewReader(strings.NewReader(input))
	if err != nil {
		return res, err
	}
	for {
		c, line, err := r.Next()
		var re *RowError
		switch {
		case err == nil:
			res.contacts = append(res.contacts, c)
			res.lines = append(res.lines, line)
		case errors.Is(err, io.EOF):
			return res, nil
		case errors.As(err, &re):
			res.rowErrs = append(res.rowErrs, re)
		default:
			return res, err
		}
	}
}

func TestSample10(t *testing.T) {
	data, err := os.ReadFile("testdata/sample10.csv")
	if err != nil {
		t.Fatal(err)
	}
	res := readAll(t, string(data))
	if len(res.rowErrs) > 0 {
		t.Fatalf("row errors: %v", res.rowErrs)
	}
	if len(res.contacts) != 10 {
		t.Fatalf("read %d contacts; want 10", len(res.contacts))
	}
	byCountry := map[string]int{}
	partners, withSector := 0, 0
	for _, c := range res.contacts {
		byCountry[c.Country]++
		if c.Kind == outreach.KindPartner {
			partners++
		}
		if c.Attrs["sector"] != "" {
			withSector++
		}
		for _, d := range []string{".example", ".test"} {
			if strings.HasSuffix(c.Domain(), d) {
				goto ok
			}
		}
		t.Errorf("%s: domain is neither .example nor .test", c.Email)
	ok:
	}
	want := map[string]int{"MY": 4, "PH": 2, "KE": 1, "CO": 2, "FR": 1}
	for k, v := range want {
		if byCountry[k] != v {
			t.Errorf("contacts in %s = %d; want %d", k, byCountry[k], v)
		}
	}
	if partners == 0 || partners == 10 {
		t.Errorf("partners = %d; want both partners and targets", partners)
	}
	if withSector == 0 {
		t.Error("no contact has the sector attribute")
	}
	if got := res.contacts[1].Tags; !slices.Equal(got, []string{"legal", "founding"}) {
		t.Errorf("tags of row 2 = %q; want [legal founding]", got)
	}
}

func TestBOMAndCRLF(t *testing.T) {
	input := "\ufeffEmail,Name\r\na@x.example,Ana\r\nb@x.example,\"Bo\r\nline two\"\r\nc@x.example,Cy\r\n"
	res := readAll(t, input)
	if len(res.contacts) != 3 {
		t.Fatalf("read %d contacts (errors %v); want 3", len(res.contacts), res.rowErrs)
	}
	if res.contacts[0].Email != "a@x.example" {
		t.Errorf("first email = %q; want a@x.example (BOM stripped)", res.contacts[0].Email)
	}
	if got := res.contacts[1].Name; got != "Bo\nline two" {
		t.Errorf("name = %q; want %q", got, "Bo\nline two")
	}
	if want := []int{2, 3, 5}; !slices.Equal(res.lines, want) {
		t.Errorf("lines = %v; want %v", res.lines, want)
	}
}

func TestQuotesAndEmbeddedNewlines(t *testing.T) {
	input := `email,name,organization,notes
a@x.example,"Smith, Jane","The ""Free"" Press",plain
b@x.example,Bob,"Line one
line two
line three","note, with ""quotes""
and a break"
bad@,Carl,Org,x
d@x.example,Dee,Org,x
`
	res := readAll(t, input)
	if len(res.contacts) != 3 {
		t.Fatalf("read %d contacts; want 3", len(res.contacts))
	}
	a, b := res.contacts[0], res.contacts[1]
	if a.Name != "Smith, Jane" || a.Organization != `The "Free" Press` {
		t.Errorf("row 1 = %q, %q; want %q, %q", a.Name, a.Organization, "Smith, Jane", `The "Free" Press`)
	}
	if b.Organization != "Line one\nline two\nline three" {
		t.Errorf("organization = %q", b.Organization)
	}
	if got, want := b.Attrs["notes"], "note, with \"quotes\"\nand a break"; got != want {
		t.Errorf("notes = %q; want %q", got, want)
	}
	if want := []int{2, 3, 8}; !slices.Equal(res.lines, want) {
		t.Errorf("lines = %v; want %v", res.lines, want)
	}
	if len(res.rowErrs) != 1 || res.rowErrs[0].Line != 7 || res.rowErrs[0].Field != "email" {
		t.Errorf("row errors = %v; want one on line 7, field email", res.rowErrs)
	}
}

func TestNonLatinScripts(t *testing.T) {
	names := []string{"عائشة المنصوري", "Анна Кузнецова", "王小明", "김민준", "Nguyễn Thị Hoa", "Ελένη"}
	var b strings.Builder
	b.WriteString("email,name,organization\n")
	for i, n := range names {
		b.WriteString(string(rune('a'+i)) + "@x.example," + n + ",منظمة حقوق / Правозащита / 人权\n")
	}
	res := readAll(t, b.String())
	if len(res.contacts) != len(names) {
		t.Fatalf("read %d contacts (errors %v); want %d", len(res.contacts), res.rowErrs, len(names))
	}
	for i, c := range res.contacts {
		if c.Name != names[i] {
			t.Errorf("name %d = %q; want %q", i, c.Name, names[i])
		}
		if c.Organization != "منظمة حقوق / Правозащита / 人权" {
			t.Errorf("organization %d = %q", i, c.Organization)
		}
	}
}

func TestDuplicatesDifferingInCase(t *testing.T) {
	res := readAll(t, "email\nAna.Silva@X.example\nana.silva@x.EXAMPLE\n")
	if len(res.contacts) != 2 {
		t.Fatalf("read %d contacts; want 2", len(res.contacts))
	}
	if k0, k1 := res.contacts[0].Key(), res.contacts[1].Key(); k0 != k1 || k0 != "ana.silva@x.example" {
		t.Errorf("keys = %q, %q; want both ana.silva@x.example", k0, k1)
	}
	if res.contacts[0].Email != "Ana.Silva@X.example" {
		t.Errorf("email = %q; want the address as given", res.contacts[0].Email)
	}
}

func TestListSeparators(t *testing.T) {
	input := "email,tags,regions\n" +
		"a@x.example,board;media,AU|ASEAN\n" +
		"b@x.example, human rights | legal aid ;Media; media ,\n"
	res := readAll(t, input)
	if len(res.contacts) != 2 {
		t.Fatalf("read %d contacts; want 2", len(res.contacts))
	}
	tests := []struct{ got, want []string }{
		{res.contacts[0].Tags, []string{"board", "media"}},
		{res.contacts[0].Regions, []string{"AU", "ASEAN"}},
		{res.contacts[1].Tags, []string{"human rights", "legal aid", "Media"}},
		{res.contacts[1].Regions, nil},
	}
	for i, tt := range tests {
		if !slices.Equal(tt.got, tt.want) {
			t.Errorf("list %d = %q; want %q", i, tt.got, tt.want)
		}
	}
}

func TestHeaderNamesAndAttributes(t *testing.T) {
	input := " EMAIL , Organisation ,Sector,Phone_Number,Kind,Country\n" +
		"a@x.example,Haki,legal aid,+254 700,legislator,KE\n" +
		"b@x.example,Haki,,  ,,\n"
	r, err := NewReader(strings.NewReader(input))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := r.Columns(), []string{"email", "organization", "sector", "phone_number", "kind", "country"}; !slices.Equal(got, want) {
		t.Errorf("Columns() = %q; want %q", got, want)
	}
	a, _, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	if a.Organization != "Haki" || a.Kind != "legislator" || a.Country != "KE" {
		t.Errorf("contact = %+v", a)
	}
	if want := map[string]string{"sector": "legal aid", "phone_number": "+254 700"}; !mapsEqual(a.Attrs, want) {
		t.Errorf("attrs = %v; want %v", a.Attrs, want)
	}
	b, _, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	if b.Attrs != nil {
		t.Errorf("attrs of a row with empty cells = %v; want none", b.Attrs)
	}
	if b.Kind != outreach.KindPartner || b.Status != outreach.StatusActive {
		t.Errorf("defaults: kind %q status %q; want partner, active", b.Kind, b.Status)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestBadRowsReportTheirLines(t *testing.T) {
	input := "email,name,kind,country,status\n" + // 1
		"a@x.example,A,partner,MY,\n" + // 2
		"b@x.example,\"B\nsecond line\",partner,PH,\n" + // 3-4
		"bob@,Bob,partner,KE,\n" + // 5
		"c@x.example,C,ministry,CO,\n" + // 6
		"\n" + // 7 (blank, skipped)
		"d@x.example,D,partner,FR,active\n" + // 8
		"e@x.example,E,partner,FR,gone\n" + // 9
		"f@x.example,F,legislator,,\n" + // 10
		"g@x.example,G,partner,ZZ,\n" // 11
	res := readAll(t, input)
	if want := []int{2, 3, 6, 8}; !slices.Equal(res.lines, want) {
		t.Errorf("good lines = %v; want %v", res.lines, want)
	}
	want := []struct {
		line         int
		field, error string
	}{
		{5, "email", `5: email: "bob@" is not an email address`},
		{9, "status", `9: status: "gone" is not one of active, unsubscribed, bounced, complained`},
		{10, "country", `10: country: is required for a legislator`},
		{11, "country", `11: country: "ZZ" is not an ISO 3166-1 alpha-2 country code`},
	}
	if len(res.rowErrs) != len(want) {
		t.Fatalf("row errors = %v; want %d", res.rowErrs, len(want))
	}
	for i, w := range want {
		e := res.rowErrs[i]
		if e.Line != w.line || e.Field != w.field || e.Error() != w.error {
			t.Errorf("row error %d = {%d %q} %q; want {%d %q} %q", i, e.Line, e.Field, e.Error(), w.line, w.field, w.error)
		}
	}
}

func TestRowErrorFields(t *testing.T) {
	tests := []struct {
		row, field, reason string
	}{
		{"a@x.example,Ana,01/03/2025,,", "consent_date", `"01/03/2025" is not a date (YYYY-MM-DD or RFC 3339)`},
		{"a@x.example,Ana,,Mars/Olympus,", "timezone", `"Mars/Olympus" is not an IANA time zone`},
		{"a@x.example,Ana,,Local,", "timezone", `"Local" is not an IANA time zone`},
		{"a@x.example,Ana,,,en_", "language", `"en-" is not a BCP 47 language tag`},
		{"a@x.example,Ana\x00,,,", "name", "contains a NUL byte"},
		{"a@x.example,An\xffa,,,", "name", "is not valid UTF-8"},
		{"a@x.example,Ana,,,,extra", "", "has 6 fields; the header has 5"},
		{"a@x.example,Ana", "", "has 2 fields; the header has 5"},
		{`a@x.example,An"a,,,`, "", `bare " in non-quoted-field`},
		{`a@x.example,"Ana"x,,,`, "", `extraneous or missing " in quoted-field`},
	}
	for _, tt := range tests {
		res := readAll(t, "email,name,consent_date,timezone,language\n"+tt.row+"\nz@x.example,Zed,,,\n")
		if len(res.rowErrs) != 1 {
			t.Errorf("%q: row errors = %v; want 1", tt.row, res.rowErrs)
			continue
		}
		if e := res.rowErrs[0]; e.Line != 2 || e.Field != tt.field || e.Reason != tt.reason {
			t.Errorf("%q: got {%d %q %q}; want {2 %q %q}", tt.row, e.Line, e.Field, e.Reason, tt.field, tt.reason)
		}
		if len(res.contacts) != 1 || res.lines[0] != 3 {
			t.Errorf("%q: reading did not continue to line 3: %v %v", tt.row, res.contacts, res.lines)
		}
	}
}

func TestInvalidUTF8InAttribute(t *testing.T) {
	res := readAll(t, "email,sector\na@x.example,l\xe9gal\n")
	if len(res.rowErrs) != 1 || res.rowErrs[0].Field != "sector" || res.rowErrs[0].Reason != "is not valid UTF-8" {
		t.Errorf("row errors = %v; want sector: is not valid UTF-8", res.rowErrs)
	}
}

func TestConsentAndDates(t *testing.T) {
	input := "email,consent,consent_date\n" +
		"a@x.example, signup form ,2025-03-01\n" +
		"b@x.example,call,2025-03-01T09:30:00+08:00\n" +
		"c@x.example,,\n"
	res := readAll(t, input)
	if len(res.contacts) != 3 {
		t.Fatalf("read %d contacts (errors %v); want 3", len(res.contacts), res.rowErrs)
	}
	want := []outreach.Consent{
		{Source: "signup form", Date: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)},
		{Source: "call", Date: time.Date(2025, 3, 1, 1, 30, 0, 0, time.UTC)},
		{},
	}
	for i, w := range want {
		got := res.contacts[i].Consent
		if got.Source != w.Source || !got.Date.Equal(w.Date) || got.Date.Location() != time.UTC {
			t.Errorf("consent %d = %+v; want %+v in UTC", i, got, w)
		}
	}
}

func TestDerivedFields(t *testing.T) {
	res := readAll(t, "email,country,language,timezone\na@x.example,my,MS-my,\nb@x.example,ph,,Asia/Kuala_Lumpur\n")
	if len(res.contacts) != 2 {
		t.Fatalf("read %d contacts (errors %v); want 2", len(res.contacts), res.rowErrs)
	}
	a, b := res.contacts[0], res.contacts[1]
	if a.Country != "MY" || a.Language != "ms-MY" || a.TimeZone != "Asia/Kuala_Lumpur" || !slices.Equal(a.Regions, []string{"ASEAN"}) {
		t.Errorf("a = %+v; want normalised MY contact", a)
	}
	if b.TimeZone != "Asia/Kuala_Lumpur" {
		t.Errorf("b.TimeZone = %q; want the given zone kept", b.TimeZone)
	}
}

func TestBlankRowsSkipped(t *testing.T) {
	res := readAll(t, "email,name,tags\n\n,,\n  , ,\na@x.example,A,\n,,\n")
	if len(res.rowErrs) != 0 || !slices.Equal(res.lines, []int{5}) {
		t.Errorf("lines %v, errors %v; want one contact on line 5 and no errors", res.lines, res.rowErrs)
	}
}

func TestUnnamedColumn(t *testing.T) {
	res := readAll(t, "email,name,\na@x.example,A,\nb@x.example,B,oops\n")
	if len(res.contacts) != 1 || res.contacts[0].Attrs != nil {
		t.Errorf("contacts = %+v; want a@ without attributes", res.contacts)
	}
	if len(res.rowErrs) != 1 || res.rowErrs[0].Line != 3 || res.rowErrs[0].Field != "column 3" {
		t.Errorf("row errors = %v; want line 3, column 3", res.rowErrs)
	}
}

func TestSeparatorSniffing(t *testing.T) {
	tests := []struct{ name, input string }{
		{"semicolon", "email;name;tags\r\na@x.example;\"Dupont; Jean\";board|media\r\n"},
		{"tab", "email\tname\ttags\na@x.example\tDupont; Jean\tboard;media\n"},
	}
	for _, tt := range tests {
		res := readAll(t, tt.input)
		if len(res.contacts) != 1 {
			t.Errorf("%s: read %d contacts (errors %v); want 1", tt.name, len(res.contacts), res.rowErrs)
			continue
		}
		c := res.contacts[0]
		if c.Name != "Dupont; Jean" || !slices.Equal(c.Tags, []string{"board", "media"}) {
			t.Errorf("%s: contact = %q %q", tt.name, c.Name, c.Tags)
		}
	}
}

func TestHeaderOnly(t *testing.T) {
	for _, input := range []string{"email,name", "email,name\n", "email,name\r\n\r\n"} {
		res, err := tryReadAll(input)
		if err != nil || len(res.contacts) != 0 || len(res.rowErrs) != 0 {
			t.Errorf("%q: %v %v %v; want no contacts, no errors", input, res.contacts, res.rowErrs, err)
		}
	}
}

func TestFatalHeaderErrors(t *testing.T) {
	tests := []struct{ name, input, want string }{
		{"empty", "", "line 1: the file is empty"},
		{"blank lines", "\n\n", "line 1: the file is empty"},
		{"only a BOM", "\ufeff", "line 1: the file is empty"},
		{"no email column", "name,organization\nAna,X\n", "line 1: the header has no email column (columns: name, organization)"},
		{"header after blank lines", "\n\nname,mail\n", "line 3: the header has no email column"},
		{"duplicate", "email,Organization,organisation\n", `line 1: columns 2 and 3 are both "organization"`},
		{"attribute with space", "email,Phone number\n", `line 1: column 2: attribute name "phone number" must not contain spaces or dots`},
		{"attribute with dot", "email,a.b\n", `attribute name "a.b"`},
		{"invalid UTF-8", "email,n\xffame\n", "line 1: column 2 is not valid UTF-8"},
		{"UTF-16", "\xff\xfee\x00m\x00", "line 1: the file is UTF-16"},
		{"bad quote", "email,\"name\n", "line 1: extraneous or missing"},
	}
	for _, tt := range tests {
		r, err := NewReader(strings.NewReader(tt.input))
		if err == nil {
			t.Errorf("%s: NewReader = %v, nil; want error", tt.name, r)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %q; want it to contain %q", tt.name, err, tt.want)
		}
		if outreach.ErrorCode(err) != outreach.EINVALID {
			t.Errorf("%s: code %q; want %q", tt.name, outreach.ErrorCode(err), outreach.EINVALID)
		}
	}
}

func TestFatalReadError(t *testing.T) {
	boom := errors.New("disk on fire")
	src := io.MultiReader(strings.NewReader("email\na@x.example\n"), iotest.ErrReader(boom))
	r, err := NewReader(src)
	if err != nil {
		t.Fatal(err)
	}
	if _, line, err := r.Next(); err != nil || line != 2 {
		t.Fatalf("first Next = line %d, %v; want line 2, nil", line, err)
	}
	for range 2 {
		_, _, err := r.Next()
		var re *RowError
		if !errors.Is(err, boom) || errors.As(err, &re) {
			t.Fatalf("Next = %v; want the fatal read error, again on the next call", err)
		}
	}
}

func TestReadErrorDuringHeader(t *testing.T) {
	boom := errors.New("disk on fire")
	if _, err := NewReader(iotest.ErrReader(boom)); !errors.Is(err, boom) {
		t.Errorf("NewReader = %v; want %v", err, boom)
	}
}

func TestEOFIsSticky(t *testing.T) {
	r, err := NewReader(strings.NewReader("email\n"))
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, _, err := r.Next(); !errors.Is(err, io.EOF) {
			t.Fatalf("Next = %v; want io.EOF", err)
		}
	}
}

func TestColumnsIsACopy(t *testing.T) {
	r, err := NewReader(strings.NewReader("email,name\n"))
	if err != nil {
		t.Fatal(err)
	}
	r.Columns()[0] = "changed"
	if got := r.Columns()[0]; got != "email" {
		t.Errorf("Columns()[0] = %q after changing a returned slice; want email", got)
	}
}
