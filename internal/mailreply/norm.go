package mailreply

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// normText is a lower-cased, accent-folded copy of a text with a map back to
// the original, so that phrases found in the folded copy can be quoted as
// the partner wrote them.
type normText struct {
	s    string
	off  []int // off[i] is the byte offset in orig of the rune that produced s[i]; len(off) == len(s)+1
	orig string
}

// fold maps accented Latin letters and typographic punctuation to ASCII.
var fold = map[rune]string{
	'à': "a", 'á': "a", 'â': "a", 'ã': "a", 'ä': "a", 'å': "a", 'ª': "a",
	'ç': "c", 'è': "e", 'é': "e", 'ê': "e", 'ë': "e",
	'ì': "i", 'í': "i", 'î': "i", 'ï': "i", 'ñ': "n",
	'ò': "o", 'ó': "o", 'ô': "o", 'õ': "o", 'ö': "o", 'º': "o",
	'ù': "u", 'ú': "u", 'û': "u", 'ü': "u", 'ý': "y", 'ÿ': "y",
	'œ': "oe", 'æ': "ae", 'ß': "ss",
	'’': "'", '‘': "'", '`': "'", '´': "'", 'ʼ': "'", '′': "'",
	'“': `"`, '”': `"`, '«': `"`, '»': `"`, '„': `"`,
	'–': "-", '—': "-", '‐': "-", '‑': "-",
	'\u00a0': " ", '\t': " ", '\u200b': "", '\ufeff': "",
}

// normalize lower-cases and folds s. The Spanish "sí" (yes) becomes "sy" so
// that it stays distinct from "si" (if).
func normalize(s string) normText {
	b := make([]byte, 0, len(s))
	off := make([]int, 0, len(s)+1)
	for i, r := range s {
		r = unicode.ToLower(r)
		out, ok := fold[r]
		if !ok {
			out = string(r)
		}
		if r == 'í' && isSpanishYes(b, s[i+len("í"):]) {
			out = "y"
		}
		for range len(out) {
			off = append(off, i)
		}
		b = append(b, out...)
	}
	off = append(off, len(s))
	return normText{s: string(b), off: off, orig: s}
}

// isSpanishYes reports whether an "í" completes the word "sí": the folded
// text so far ends in a lone "s" and no letter follows.
func isSpanishYes(done []byte, rest string) bool {
	n := len(done)
	if n == 0 || done[n-1] != 's' {
		return false
	}
	if n >= 2 {
		r, _ := utf8.DecodeLastRune(done[:n-1])
		if unicode.IsLetter(r) {
			return false
		}
	}
	r, _ := utf8.DecodeRuneInString(rest)
	return !unicode.IsLetter(r)
}

// original returns the original text behind s[i:j].
func (n normText) original(i, j int) string {
	if i < 0 || j > len(n.s) || i >= j {
		return ""
	}
	end := len(n.orig)
	if j < len(n.off) {
		end = n.off[j]
	}
	return strings.TrimSpace(n.orig[n.off[i]:end])
}

// token is a word (letters, digits, inner apostrophes and hyphens) or a
// comma, with its byte span in the normalised text.
type token struct {
	w          string
	start, end int
}

func tokenize(s string, base int) []token {
	var out []token
	i := 0
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == ',':
			out = append(out, token{",", base + i, base + i + 1})
			i += size
		case isWordRune(r):
			j := i
			for j < len(s) {
				r2, sz := utf8.DecodeRuneInString(s[j:])
				if !isWordRune(r2) && !((r2 == '\'' || r2 == '-') && j+sz < len(s) && isWordRune(firstRune(s[j+sz:]))) {
					break
				}
				j += sz
			}
			out = append(out, token{s[i:j], base + i, base + j})
			i = j
		default:
			i += size
		}
	}
	return out
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

func firstRune(s string) rune {
	r, _ := utf8.DecodeRuneInString(s)
	return r
}

// blank replaces s[i:j] with spaces, keeping offsets.
func blank(s string, i, j int) string {
	return s[:i] + strings.Repeat(" ", j-i) + s[j:]
}
