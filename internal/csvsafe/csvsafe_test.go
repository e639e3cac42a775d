package csvsafe

import (
	"strings"
	"testing"
)

func TestEscape(t *testing.T) {
	for in, want := range map[string]string{
		"":                               "",
		"Alpha Rights Network":           "Alpha Rights Network",
		`=HYPERLINK("http://x","click")`: `'=HYPERLINK("http://x","click")`,
		"+1 555":                         "'+1 555",
		"-2+3":                           "'-2+3",
		"@SUM(A1)":                       "'@SUM(A1)",
		"\t=1":                           "'\t=1",
		"\r=1":                           "'\r=1",
		"'s-Hertogenbosch Legal Aid":     "'s-Hertogenbosch Legal Aid",
		"'=1":                            "''=1",
		"'":                              "'",
		"550 5.1.1 =no such user":        "550 5.1.1 =no such user",
	} {
		if got := Escape(in); got != want {
			t.Errorf("Escape(%q) = %q; want %q", in, got, want)
		}
		if got := Unescape(Escape(in)); got != in {
			t.Errorf("Unescape(Escape(%q)) = %q", in, got)
		}
	}
}

func TestRow(t *testing.T) {
	got := Row("a", "=b", "@c")
	if strings.Join(got, "|") != "a|'=b|'@c" {
		t.Errorf("Row = %q", got)
	}
}

// FuzzEscape checks that an escaped cell never starts a formula and that
// Unescape gives back what Escape was given.
func FuzzEscape(f *testing.F) {
	for _, s := range []string{"", "=1+1", "'=1", "''@x", "'", "plain", "-", "\t", "'s-Hertogenbosch"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e := Escape(s)
		if e != "" && strings.ContainsRune(triggers, rune(e[0])) {
			t.Errorf("Escape(%q) = %q starts a formula", s, e)
		}
		if got := Unescape(e); got != s {
			t.Errorf("Unescape(Escape(%q)) = %q", s, got)
		}
	})
}
