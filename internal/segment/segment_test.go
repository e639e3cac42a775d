package segment

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/outreach-coalition/outreach/internal/outreach"
)

// people are the fixed contacts the tests match against.
var people = []*outreach.Contact{
	{Email: "ana@Amnesty.org", Name: "Ana Gómez", Organization: "Amnistía Internacional", Kind: "partner",
		Country: "CO", Regions: []string{"OAS"}, Language: "es-CO", TimeZone: "America/Bogota",
		Tags: []string{"board", "legal"}, Attrs: map[string]string{"sector": "housing"}, Status: "active"},
	{Email: "budi@lbh.or.id", Name: "Budi", Organization: "LBH Jakarta", Kind: "partner",
		Country: "ID", Regions: []string{"ASEAN"}, Language: "id", TimeZone: "Asia/Jakarta",
		Attrs: map[string]string{"sector": "land"}, Status: "unsubscribed"},
	{Email: "maria@example.ph", Name: "Maria Santos", Organization: "Kilos", Kind: "partner",
		Country: "PH", Regions: []string{"ASEAN"}, Language: "tl", TimeZone: "Asia/Manila",
		Tags: []string{"youth"}, Status: "active"},
	{Email: "minister@kln.gov.my", Name: "Minister of Foreign Affairs", Kind: "ministry",
		Country: "MY", Regions: []string{"ASEAN"}, Language: "ms", TimeZone: "Asia/Kuala_Lumpur", Status: "active"},
	{Email: "pierre@cncdh.fr", Name: "Pierre", Organization: "CNCDH", Kind: "nhri",
		Country: "FR", Regions: []string{"CoE", "EU"}, Language: "fr", TimeZone: "Europe/Paris",
		Tags: []string{"legal"}, Status: "bounced"},
	{Email: "lucia@redtdt.org.mx", Name: "Lucía", Organization: "Red TDT", Kind: "partner",
		Country: "MX", Regions: []string{"OAS"}, Language: "es-MX", TimeZone: "America/Mexico_City",
		Tags: []string{"Board"}, Attrs: map[string]string{"Sector": "Housing", "city": "Oaxaca"}, Status: "active"},
	{Email: "nobody", Kind: "other", Status: "active"},
}

// matching returns the local parts of the addresses of people f matches.
func matching(f *Filter) string {
	var names []string
	for _, c := range people {
		if f.Match(c) {
			local, _, _ := strings.Cut(c.Email, "@")
			names = append(names, local)
		}
	}
	return strings.Join(names, " ")
}

func TestMatch(t *testing.T) {
	tests := []struct{ expr, want string }{
		{"", "ana budi maria minister pierre lucia nobody"},
		{"   \t\n", "ana budi maria minister pierre lucia nobody"},
		{"country in (MY, PH) and kind = partner and not tag = board", "maria"},
		{"language = es or region = OAS", "ana lucia"},
		{"attr.sector = housing", "ana lucia"},
		{"attr.sector != housing", "budi maria minister pierre nobody"},
		{"attr.sector = ''", "maria minister pierre nobody"},
		{"attr.SECTOR = LAND", "budi"},
		{"attr.city = oaxaca", "lucia"},

		{"email = ANA@amnesty.ORG", "ana"},
		{"email != ana@amnesty.org", "budi maria minister pierre lucia nobody"},
		{"domain = amnesty.org", "ana"},
		{"domain in (KLN.GOV.MY, cncdh.fr)", "minister pierre"},
		{"domain = ''", "nobody"},
		{"name = 'ana gómez'", "ana"},
		{`name = "ANA GÓMEZ"`, "ana"},
		{"name = lucía", "lucia"},
		{"organization = 'amnistía internacional'", "ana"},
		{"organisation = cncdh", "pierre"},
		{"kind = partner", "ana budi maria lucia"},
		{"kind != partner", "minister pierre nobody"},
		{"kind in (ministry, nhri)", "minister pierre"},
		{"country = co", "ana"},
		{"country != CO", "budi maria minister pierre lucia nobody"},
		{`country = ""`, "nobody"},
		{"region = asean", "budi maria minister"},
		{"region = eu", "pierre"},
		{"region != ASEAN", "ana pierre lucia nobody"},
		{"region in (EU, OAS)", "ana pierre lucia"},
		{"language = es", "ana lucia"},
		{"language = ES-mx", "lucia"},
		{"language = es_MX", "lucia"},
		{"language = es-AR", ""},
		{"language != es", "budi maria minister pierre nobody"},
		{"language in (fr, tl)", "maria pierre"},
		{"language = ''", "nobody"},
		{"timezone = asia/manila", "maria"},
		{"timezone = America/Bogota", "ana"},
		{"tag = board", "ana lucia"},
		{"tag = BOARD", "ana lucia"},
		{"tag != board", "budi maria minister pierre nobody"},
		{"tag in (youth, legal)", "ana maria pierre"},
		{"tag = none", ""},
		{"status = active", "ana maria minister lucia nobody"},
		{"status in (Bounced, unsubscribed)", "budi pierre"},
		{"status != active", "budi pierre"},

		// Precedence: not > and > or.
		{"kind = nhri or kind = partner and country = MX", "pierre lucia"},
		{"(kind = nhri or kind = partner) and country = MX", "lucia"},
		{"not tag = board and kind = partner", "budi maria"},
		{"not (tag = board and kind = partner)", "budi maria minister pierre nobody"},
		{"not not tag = board", "ana lucia"},
		{"tag = legal or tag = youth and country = PH or country = MY", "ana maria minister pierre"},
		{"((country = PH))", "maria"},

		// Keywords and fields ignore case.
		{"COUNTRY IN (my, ph) AND Kind = PARTNER AND NOT Tag = BOARD", "maria"},
		{"Language = ES Or REGION = oas", "ana lucia"},
		{"ATTR.Sector = HOUSING", "ana lucia"},
		// Spacing is free.
		{"country in(MY,PH)and(kind=partner)", "maria"},
		{"country=IN or country in (IN)", ""},
	}
	for _, tt := range tests {
		f, err := Parse(tt.expr)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.expr, err)
			continue
		}
		if got := matching(f); got != tt.want {
			t.Errorf("Parse(%q) matches [%s]; want [%s]", tt.expr, got, tt.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ expr, want string }{
		{"kind = partner)", `column 15: unmatched ")"`},
		{"country in (MY)) ", `column 16: unmatched ")"`},
		{"kind = partner and (", `column 21: expected a field name after "(", found end of input`},
		{"(kind = ) and tag = x", `column 9: expected a value after "=", found ")"`},
		{"country = MY and (", `column 19: expected a field name after "(", found end of input`},
		{"country = MY and", `column 17: expected a field name after "and", found end of input`},
		{"country = MY or not", `column 20: expected a field name after "not", found end of input`},
		{"and kind = x", `column 1: expected a field name, found "and"`},
		{`"kind" = x`, `column 1: expected a field name, found "kind"`},
		{"contry = MY", `column 1: unknown field "contry" (fields: email, domain, name, organization, kind, country, region, language, timezone, tag, status, attr.NAME); did you mean "country"?`},
		{"kind = x and lang = es", `column 14: unknown field "lang" (fields: email, domain, name, organization, kind, country, region, language, timezone, tag, status, attr.NAME)`},
		{"attr. = x", `column 1: "attr." is not an attribute: write attr.NAME, where NAME has no dots`},
		{"attr.a.b = x", `column 1: "attr.a.b" is not an attribute: write attr.NAME, where NAME has no dots`},
		{"kind partner", `column 6: expected "=", "!=" or "in" after "kind", found "partner"`},
		{"kind", `column 5: expected "=", "!=" or "in" after "kind", found end of input`},
		{"kind == partner", `column 7: expected a value after "=", found "="`},
		{"kind ! partner", `column 6: unexpected "!" (did you mean "!="?)`},
		{"kind = part#ner", `column 12: unexpected character "#"`},
		{"tag = and", `column 7: expected a value after "=", found "and" (quote it to use it as a value)`},
		{"tag != or", `column 8: expected a value after "!=", found "or" (quote it to use it as a value)`},
		{"country in MY", `column 12: expected "(" after "in", found "MY"`},
		{"country in ()", `column 13: expected a value after "(", found ")"`},
		{"country in (MY,)", `column 16: expected a value after ",", found ")"`},
		{"country in (MY PH)", `column 16: expected "," or ")", found "PH" (quote a value that contains spaces)`},
		{"country in (MY, PH", `column 12: unclosed "("`},
		{"(kind = x or (tag = y)", `column 1: unclosed "("`},
		{"(kind = x tag = y)", `column 11: expected "and", "or" or ")", found "tag" (quote a value that contains spaces)`},
		{"(kind = x (", `column 11: expected "and", "or" or ")", found "("`},
		{"name = 'Ana", `column 8: unclosed quote (')`},
		{`tag = x and name = "Ana \"G`, `column 20: unclosed quote (")`},
		{`name = "x\`, `column 8: unclosed quote (")`},
		{"organization = Amnesty International", `column 24: expected "and", "or" or end of input, found "International" (quote a value that contains spaces)`},
		{"kind = x y", `column 10: expected "and", "or" or end of input, found "y" (quote a value that contains spaces)`},
		{"name = é x", `column 10: expected "and", "or" or end of input, found "x" (quote a value that contains spaces)`},
		{"country = Malaysia", `column 11: "Malaysia" is not an ISO 3166-1 alpha-2 country code (e.g. MY, PH, CO)`},
		{"country in (MY, XX)", `column 17: "XX" is not an ISO 3166-1 alpha-2 country code (e.g. MY, PH, CO)`},
		{"status = open", `column 10: "open" is not a status (active, unsubscribed, bounced, complained)`},
		{"language = spanish", `column 12: "spanish" is not a BCP 47 language tag (e.g. es, pt-BR)`},
		{"name = \"\xff\"", `column 9: invalid UTF-8`},
		{strings.Repeat("(", 101) + "tag = x" + strings.Repeat(")", 101), `column 101: nested deeper than 100 levels`},
		{strings.Repeat("not ", 101) + "tag = x", `column 401: nested deeper than 100 levels`},
	}
	for _, tt := range tests {
		f, err := Parse(tt.expr)
		if err == nil {
			t.Errorf("Parse(%q) = %q; want error %q", tt.expr, f, tt.want)
			continue
		}
		var e *outreach.Error
		if !errors.As(err, &e) || e.Code != outreach.EINVALID || e.Field != "filter" {
			t.Errorf("Parse(%q) error = %#v; want an EINVALID *outreach.Error on field filter", tt.expr, err)
			continue
		}
		if e.Message != tt.want {
			t.Errorf("Parse(%q) error = %q; want %q", tt.expr, e.Message, tt.want)
		}
	}
	if _, err := Parse(strings.Repeat("(", 100) + "tag = x" + strings.Repeat(")", 100)); err != nil {
		t.Errorf("100 nested parentheses: %v", err)
	}
}

func TestString(t *testing.T) {
	tests := []struct{ expr, want string }{
		{"", ""},
		{"COUNTRY IN (my,ph) AND Kind=Partner AND NOT Tag=board", "country in (MY, PH) and kind = partner and not tag = board"},
		{"organisation = 'Amnesty International'", `organization = "Amnesty International"`},
		{`name = 'O\'Brien "Jr"'`, `name = "O'Brien \"Jr\""`},
		{`name = "a\\b\tc\nd"`, `name = "a\\b\tc\nd"`},
		{"tag = 'not' or tag = \"AND\" or tag = 'in'", `tag = "not" or tag = "AND" or tag = in`},
		{"name = ''", `name = ""`},
		{"name = 'Lucía'", "name = Lucía"},
		{"language = PT_br and status = ACTIVE and domain = Example.ORG", "language = pt-BR and status = active and domain = example.org"},
		{"ATTR.Sector = Housing", "attr.sector = Housing"},
		{"(tag = a and tag = b) and (tag = c and tag = d)", "tag = a and tag = b and tag = c and tag = d"},
		{"(tag = a or tag = b) or tag = c", "tag = a or tag = b or tag = c"},
		{"(tag = a or tag = b) and tag = c", "(tag = a or tag = b) and tag = c"},
		{"tag = a or (tag = b and tag = c)", "tag = a or tag = b and tag = c"},
		{"not (tag = a and tag = b)", "not (tag = a and tag = b)"},
		{"not (tag = a)", "not tag = a"},
		{"not (not tag = a)", "not not tag = a"},
		{"(not tag = a) and tag = b", "not tag = a and tag = b"},
		{"email in (A@B.org)", "email in (a@b.org)"},
	}
	for _, tt := range tests {
		f, err := Parse(tt.expr)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.expr, err)
			continue
		}
		got := f.String()
		if got != tt.want {
			t.Errorf("Parse(%q).String() = %q; want %q", tt.expr, got, tt.want)
		}
		g, err := Parse(got)
		if err != nil {
			t.Errorf("Parse(%q) (a String result): %v", got, err)
			continue
		}
		if again := g.String(); again != got {
			t.Errorf("String round trip: %q became %q", got, again)
		}
		if a, b := matching(f), matching(g); a != b {
			t.Errorf("Parse(%q) matches [%s], its String %q matches [%s]", tt.expr, a, got, b)
		}
	}
}

func TestCountries(t *testing.T) {
	tests := []struct {
		expr string
		want []string
		ok   bool
	}{
		{"", nil, false},
		{"country = MY", []string{"MY"}, true},
		{"country in (PH, MY, PH) and kind = partner", []string{"MY", "PH"}, true},
		{"kind = partner and country in (MY, PH)", []string{"MY", "PH"}, true},
		{"country in (MY, PH) and country in (PH, CO)", []string{"PH"}, true},
		{"country = MY and country = PH", []string{}, true},
		{"country = MY or country = PH", []string{"MY", "PH"}, true},
		{"country = MY or kind = partner", nil, false},
		{"country != MY", nil, false},
		{"not country = MY", nil, false},
		{"not country != MY", []string{"MY"}, true},
		{"not (country != MY or country != PH)", []string{}, true},
		{"not (country != MY and country != PH)", []string{"MY", "PH"}, true},
		{"(country = MY or country = CO) and (tag = a or country = PH)", []string{"CO", "MY"}, true},
		{"country in (MY, '')", nil, false},
		{"region = ASEAN", nil, false},
		{"tag = x and (country = co or country = mx)", []string{"CO", "MX"}, true},
	}
	for _, tt := range tests {
		f, err := Parse(tt.expr)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.expr, err)
		}
		got, ok := f.Countries()
		if ok != tt.ok || !slices.Equal(got, tt.want) || ok && got == nil {
			t.Errorf("Parse(%q).Countries() = %v, %v; want %v, %v", tt.expr, got, ok, tt.want, tt.ok)
		}
		if !ok {
			continue
		}
		// Every matching contact is in the set.
		for _, c := range people {
			if f.Match(c) && !slices.Contains(got, c.Country) {
				t.Errorf("Parse(%q) matches %s of %q, outside Countries() %v", tt.expr, c.Email, c.Country, got)
			}
		}
	}
	var nilFilter *Filter
	if codes, ok := nilFilter.Countries(); ok || codes != nil {
		t.Errorf("nil Countries() = %v, %v; want nil, false", codes, ok)
	}
}

func TestAnd(t *testing.T) {
	a := mustParse(t, "country in (MY, PH) or tag = board")
	b := mustParse(t, "kind = partner and not tag = youth")
	before := a.String()
	tests := []struct {
		name       string
		f          *Filter
		str, match string
	}{
		{"nil nil", And(nil, nil), "", "ana budi maria minister pierre lucia nobody"},
		{"nil b", And(nil, b), "kind = partner and not tag = youth", "ana budi lucia"},
		{"a nil", And(a, nil), "country in (MY, PH) or tag = board", "ana maria minister lucia"},
		{"empty a", And(&Filter{}, a), "country in (MY, PH) or tag = board", "ana maria minister lucia"},
		{"a b", And(a, b), "(country in (MY, PH) or tag = board) and kind = partner and not tag = youth", "ana lucia"},
		{"b b", And(b, b), "kind = partner and not tag = youth and kind = partner and not tag = youth", "ana budi lucia"},
	}
	for _, tt := range tests {
		if tt.f == nil {
			t.Errorf("%s: And returned nil", tt.name)
			continue
		}
		if got := tt.f.String(); got != tt.str {
			t.Errorf("%s: String() = %q; want %q", tt.name, got, tt.str)
		}
		if got := matching(tt.f); got != tt.match {
			t.Errorf("%s: matches [%s]; want [%s]", tt.name, got, tt.match)
		}
	}
	if a.String() != before {
		t.Errorf("And modified its operand: %q became %q", before, a.String())
	}
	scoped := And(mustParse(t, "kind = partner"), mustParse(t, "country in (CO, MX)"))
	if codes, ok := scoped.Countries(); !ok || !slices.Equal(codes, []string{"CO", "MX"}) {
		t.Errorf("scoped Countries() = %v, %v; want [CO MX], true", codes, ok)
	}
}

func TestNilFilter(t *testing.T) {
	var f *Filter
	if !f.Match(people[0]) || f.String() != "" {
		t.Errorf("nil filter: Match = %v, String = %q; want true, \"\"", f.Match(people[0]), f.String())
	}
}

func TestMatchDoesNotAllocate(t *testing.T) {
	f := mustParse(t, "country in (MY, PH, CO) and kind = partner and not tag = board or language = es and domain != x.org or attr.SECTOR = housing or region = EU")
	allocs := testing.AllocsPerRun(100, func() {
		for _, c := range people {
			f.Match(c)
		}
	})
	if allocs != 0 {
		t.Errorf("Match allocates %v times per run; want 0", allocs)
	}
}

func mustParse(t testing.TB, expr string) *Filter {
	t.Helper()
	f, err := Parse(expr)
	if err != nil {
		t.Fatalf("Parse(%q): %v", expr, err)
	}
	return f
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"",
		"country in (MY, PH) and kind = partner and not tag = board",
		"language = es or region = OAS",
		"attr.sector = housing",
		`name = "O'Brien \"Jr\"\n" or organisation = 'a\'b'`,
		"not (tag = a or tag = b) and not not status != active",
		"email in (a@b.org, 'c d') or domain = ''",
		"timezone = Asia/Kuala_Lumpur and language = pt_br",
		"country = MY)", "(tag = x", "tag = 'x", "kind ! x",
		"name = é ü", "tag = \"\\",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		flt, err := Parse(expr)
		if err != nil {
			var e *outreach.Error
			if !errors.As(err, &e) || e.Code != outreach.EINVALID || !strings.HasPrefix(e.Message, "column ") {
				t.Fatalf("Parse(%q) error %#v is not an EINVALID column error", expr, err)
			}
			return
		}
		s := flt.String()
		again, err := Parse(s)
		if err != nil {
			t.Fatalf("Parse(%q).String() = %q, which does not parse: %v", expr, s, err)
		}
		if s2 := again.String(); s2 != s {
			t.Fatalf("String not canonical: %q -> %q -> %q", expr, s, s2)
		}
		for _, c := range people {
			if flt.Match(c) != again.Match(c) {
				t.Fatalf("Parse(%q) and Parse(%q) differ on %s", expr, s, c.Email)
			}
		}
	})
}
