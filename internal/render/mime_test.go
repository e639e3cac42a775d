package render

import (
	"bytes"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"testing"
	"unicode/utf8"
)

// stdQP is the oracle: mime/quotedprintable as go-mail uses it, the whole
// text in one Write, then Close.
func stdQP(t testing.TB, s string) []byte {
	var b bytes.Buffer
	w := quotedprintable.NewWriter(&b)
	if _, err := w.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

var qpSeeds = []string{
	"",
	"plain",
	"caf\u00e9 = 1 + 1\r\n",
	"trailing space \nand tab\t\r\nend ",
	"lone\rCR\r\rtwo\n\nLF\r\n\r\nCRLF",
	"\r=\n", // an encoded byte after CR keeps the CR: the LF is the same break
	"\r\x00\n",
	"\r \n",
	strings.Repeat("a", 75) + " \n" + strings.Repeat("b", 74) + "\t\n" + strings.Repeat("c", 73) + " ",
	strings.Repeat("x", 200),
	strings.Repeat("=", 80) + strings.Repeat("\u00e9", 60),
	strings.Repeat("ab ", 60),
	strings.Repeat("y", 72) + "\xff" + strings.Repeat("z", 73) + "\xfe\xfd",
	strings.Repeat(" ", 160) + "\n" + strings.Repeat("\t", 77),
	"\x7f\x80\x00\x1b[31m\u2028",
}

func TestQuotedPrintable(t *testing.T) {
	for _, s := range qpSeeds {
		if got, want := appendQP(nil, s), stdQP(t, s); !bytes.Equal(got, want) {
			t.Errorf("appendQP(%q)\n got %q\nwant %q", s, got, want)
		}
	}
	if got := appendQP([]byte("head:"), "x y "); string(got) != "head:x y=20" {
		t.Errorf("appendQP appends after dst: %q", got)
	}
	for _, s := range qpSeeds {
		for _, line := range bytes.Split(appendQP(nil, s), []byte("\r\n")) {
			if len(line) > qpMaxLine {
				t.Errorf("appendQP(%q) has a line of %d characters", s, len(line))
			}
		}
	}
}

func FuzzQuotedPrintable(f *testing.F) {
	for _, s := range qpSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := appendQP(nil, string(b)), stdQP(t, string(b)); !bytes.Equal(got, want) {
			t.Fatalf("appendQP(%q)\n got %q\nwant %q", b, got, want)
		}
	})
}

// writeHeader is go-mail v0.8.1's msgWriter.writeHeader (MIT, The go-mail
// Authors), the oracle for header folding.
func writeHeader(key string, values ...string) string {
	buffer := strings.Builder{}
	charLength := 76 - 2
	buffer.WriteString(key)
	charLength -= len(key)
	if len(values) == 0 {
		buffer.WriteString(":\r\n")
		return ""
	}
	buffer.WriteString(": ")
	charLength -= 2
	words := strings.Split(strings.Join(values, ", "), " ")
	for i, val := range words {
		if charLength-len(val) <= 1 {
			buffer.WriteString(fmt.Sprintf("%s ", "\r\n"))
			charLength = 76 - 3
		}
		buffer.WriteString(val)
		if i < len(words)-1 {
			buffer.WriteString(" ")
			charLength -= 1
		}
		charLength -= len(val)
	}
	return strings.ReplaceAll(buffer.String(), " \r\n", "\r\n") + "\r\n"
}

var headerSeeds = [][2]string{
	{"Subject", "Hello"},
	{"Subject", "Appel \u00e0 l'action : rejoignez la campagne pour la ratification du PF-PIDESC"},
	{"X-Outreach-Delivery", "1"},
	{"X", ""},
	{"X", " "},
	{"X", "a  b   c " + strings.Repeat("w", 71) + "  " + strings.Repeat("v", 80)},
	{strings.Repeat("K", 80), "value after a long key"},
	{"List-Unsubscribe", "<https://outreach.example.org/u/sampletoken>, <mailto:campaign+sampletoken@example.org?subject=unsubscribe>"},
	{"X-Tab", "a\tb\t" + strings.Repeat("c", 100)},
	{"X-U", strings.Repeat("\u5f35\u5049 ", 30) + "_=?x?= \xff\xfe\xc3"},
	{"X-U", strings.Repeat("\U0001F600", 40)},
}

// TestHeader checks the header writer against go-mail's SetGenHeader
// (mime.QEncoding in UTF-8) and writeHeader.
func TestHeader(t *testing.T) {
	for _, s := range headerSeeds {
		checkHeader(t, s[0], s[1])
	}
}

func FuzzHeader(f *testing.F) {
	for _, s := range headerSeeds {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, key, value string) {
		if strings.ContainsAny(key+value, "\r\n") || strings.ContainsAny(key, " :") {
			t.Skip("Compose refuses line breaks, and keys with spaces or colons")
		}
		checkHeader(t, key, value)
	})
}

func checkHeader(t *testing.T, key, value string) {
	t.Helper()
	want := writeHeader(key, mime.QEncoding.Encode("UTF-8", value))
	if got := appendTextHeader(nil, key, value); string(got) != want {
		t.Fatalf("appendTextHeader(%q, %q)\n got %q\nwant %q", key, value, got, want)
	}
	if !needsEncoding(value) {
		if got := appendHeader(nil, key, []byte(value)); string(got) != want {
			t.Fatalf("appendHeader(%q, %q)\n got %q\nwant %q", key, value, got, want)
		}
	}
}

// oldQEncode is the subject encoder Compose had before it wrote messages
// itself: the oracle for appendQEncoded.
func oldQEncode(s string) string {
	const prefix, suffix, maxWord = "=?UTF-8?q?", "?=", 75
	var words []string
	var w strings.Builder
	w.WriteString(prefix)
	var buf [utf8.UTFMax]byte
	for _, r := range s {
		var enc strings.Builder
		n := utf8.EncodeRune(buf[:], r)
		for _, c := range buf[:n] {
			switch {
			case c == ' ':
				enc.WriteByte('_')
			case c > ' ' && c < 0x7f && c != '=' && c != '?' && c != '_':
				enc.WriteByte(c)
			default:
				fmt.Fprintf(&enc, "=%02X", c)
			}
		}
		if w.Len()+enc.Len()+len(suffix) > maxWord {
			words = append(words, w.String()+suffix)
			w.Reset()
			w.WriteString(prefix)
		}
		w.WriteString(enc.String())
	}
	words = append(words, w.String()+suffix)
	return strings.Join(words, "\r\n ")
}

func FuzzQEncoded(f *testing.F) {
	for _, s := range headerSeeds {
		f.Add(s[1])
	}
	f.Add("=?utf-8?q?=0D=0ABcc:_x@evil.test?=")
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := appendQEncoded(nil, s), oldQEncode(s); string(got) != want {
			t.Fatalf("appendQEncoded(%q)\n got %q\nwant %q", s, got, want)
		}
	})
}

func TestLongWord(t *testing.T) {
	for _, tc := range []struct {
		s    string
		want bool
	}{
		{"", false},
		{strings.Repeat("a", 997), false},
		{strings.Repeat("a", 998), true},
		{strings.Repeat("a ", 600), false},
		{"x " + strings.Repeat("\t", 998) + " y", true},
	} {
		if got := longWord(tc.s); got != tc.want {
			t.Errorf("longWord(%d characters) = %v; want %v", len(tc.s), got, tc.want)
		}
	}
}

var addressSeeds = []string{
	"campaign@example.org",
	"Coalition for the OP-ICESCR <campaign@example.org>",
	"campaign+sampletoken@example.org",
	"a.b.c@d.e", ".a@b", "a.@b", "a..b@c", "a@b..c", "a@", "@b", "a@b@c", "a@[127.0.0.1]",
	"Ana  Example <a@b>", " Ana <a@b>", "Ana <a@b> ", "A. N. Other <a@b>", "Dr. <a@b>",
	"=?utf-8?q?Caf=C3=A9?= <c@example.org>", "a=?b <c@d>", `"Quoted, Name" <a@b>`, "Jos\u00e9 <a@b>",
	"Name <a@b>>", "Name <<a@b>", "Name: <a@b>", "<a@b>", "Group: a@b;", "a@b (comment)", "x\t<a@b>",
}

// FuzzAddress checks the allocation-free address parser and writer
// against net/mail.
func FuzzAddress(f *testing.F) {
	for _, s := range addressSeeds {
		f.Add(s, "")
		f.Add(s, `Ana "The" \ Example`)
	}
	f.Fuzz(func(t *testing.T, s, name string) {
		want, wantErr := mail.ParseAddress(s)
		got, err := parseAddress(s)
		if (err == nil) != (wantErr == nil) || err == nil && got != *want {
			t.Fatalf("parseAddress(%q) = %+v, %v; net/mail %+v, %v", s, got, err, want, wantErr)
		}
		if err != nil {
			return
		}
		for _, a := range []mail.Address{got, {Name: name, Address: got.Address}} {
			if w, g := a.String(), appendAddress(nil, a); string(g) != w {
				t.Fatalf("appendAddress(%+v) = %q; net/mail %q", a, g, w)
			}
		}
	})
}
