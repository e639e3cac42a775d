package render

import "unicode/utf8"

// This file writes the MIME encodings of a composed message straight into
// the message's byte slice. Each encoder writes exactly the bytes of the
// library code the message used to be built with (go-mail v0.8.1 over
// mime/quotedprintable and mime.QEncoding), which the differential fuzz
// tests check, so that messages keep their shape byte for byte.

const upperhex = "0123456789ABCDEF"

// Quoted-printable byte classes (RFC 2045 section 6.7).
const (
	qpLiteral = iota // printable ASCII but '=', and space and tab
	qpEncoded        // written as =XX
	qpBreak          // CR or LF
)

// qpClass classifies every byte for appendQP.
var qpClass = func() (t [256]uint8) {
	for b := range t {
		switch {
		case b >= '!' && b <= '~' && b != '=', b == ' ', b == '\t':
			t[b] = qpLiteral
		case b == '\r', b == '\n':
			t[b] = qpBreak
		default:
			t[b] = qpEncoded
		}
	}
	return t
}()

// qpMaxLine is the longest encoded line, soft line break "=" included
// (RFC 2045 section 6.7, rule 5).
const qpMaxLine = 76

// appendQP appends s in quoted-printable (RFC 2045 section 6.7) as text:
// the output is what mime/quotedprintable.Writer (Binary false) writes for
// s followed by Close. CR, LF and CRLF all become a CRLF line break; a
// space or tab before a line break or at the end is encoded; lines are cut
// with soft line breaks at 76 characters. It does not end the output with
// a line break that s lacks.
//
// Like that Writer, it only forgets a CR when a byte written as is
// follows: an LF after CR and any run of encoded bytes is part of the
// same line break.
func appendQP(dst []byte, s string) []byte {
	n := 0 // characters on the current output line
	cr := false
	for i := 0; i < len(s); {
		b := s[i]
		switch qpClass[b] {
		case qpLiteral:
			if n == qpMaxLine-1 {
				dst = append(dst, "=\r\n"...)
				n = 0
			}
			j := i + 1
			for end := min(len(s), i+qpMaxLine-1-n); j < end && qpClass[s[j]] == qpLiteral; j++ {
			}
			dst = append(dst, s[i:j]...)
			n += j - i
			i = j
			cr = false
			continue
		case qpEncoded:
			dst, n = qpEncode(dst, n, b)
		case qpBreak:
			if cr && b == '\n' {
				cr = false
				break
			}
			cr = b == '\r'
			dst, n = qpEndLine(dst, n)
			dst = append(dst, '\r', '\n')
			n = 0
		}
		i++
	}
	dst, _ = qpEndLine(dst, n)
	return dst
}

// qpEncode appends b as =XX to a line holding n characters, after a soft
// line break when it would not fit, and returns the new line length.
func qpEncode(dst []byte, n int, b byte) ([]byte, int) {
	if qpMaxLine-1-n < 3 {
		dst = append(dst, "=\r\n"...)
		n = 0
	}
	return append(dst, '=', upperhex[b>>4], upperhex[b&0x0f]), n + 3
}

// qpEndLine encodes the space or tab that ends a line of n characters,
// which a transport may strip (RFC 2045 section 6.7, rule 3).
func qpEndLine(dst []byte, n int) ([]byte, int) {
	if n == 0 {
		return dst, n
	}
	if b := dst[len(dst)-1]; b == ' ' || b == '\t' {
		return qpEncode(dst[:len(dst)-1], n-1, b)
	}
	return dst, n
}

// Header folding, as go-mail's msgWriter.writeHeader does it: values are
// split on single spaces into words, and a word that would bring the line
// to 76 characters or more goes on a continuation line (RFC 5322 section
// 2.2.3) instead, the space before it dropped. A word is never cut, so a
// word of 998 characters or more makes a line longer than RFC 5322
// section 2.1.1 allows: Compose refuses or encodes such values first (see
// longWord).
const (
	maxHeaderLine = 76
	maxLine       = 998 // RFC 5322 section 2.1.1, without CRLF
)

// folder appends the words of one header field value, folding the line
// before a word that does not fit.
type folder struct {
	left  int // characters left on the line, as go-mail counts them
	first bool
}

// startHeader appends "key: " and returns the folder for its value.
func startHeader(dst []byte, key string) ([]byte, folder) {
	dst = append(dst, key...)
	dst = append(dst, ':', ' ')
	return dst, folder{left: maxHeaderLine - 2 - len(key) - 2, first: true}
}

// next prepares for a word of n characters: it appends the space before
// it or, when the word does not fit, a line break in place of the space.
// The caller then appends the word.
func (f *folder) next(dst []byte, n int) []byte {
	if !f.first {
		dst = append(dst, ' ')
		f.left--
	}
	f.first = false
	if f.left-n <= 1 {
		dst = append(dst[:len(dst)-1], "\r\n "...)
		f.left = maxHeaderLine - 3
	}
	f.left -= n
	return dst
}

// appendHeader appends the field "key: value" CRLF, value folded at its
// spaces, as go-mail writes a generic header whose value needs no
// encoding.
func appendHeader[T string | []byte](dst []byte, key string, value T) []byte {
	dst, f := startHeader(dst, key)
	for i := 0; ; {
		j := i
		for j < len(value) && value[j] != ' ' {
			j++
		}
		dst = f.next(dst, j-i)
		dst = append(dst, value[i:j]...)
		if j == len(value) {
			break
		}
		i = j + 1
	}
	return append(dst, '\r', '\n')
}

// appendTextHeader appends a generic header field whose value is text,
// RFC 2047 Q-encoded in UTF-8 unless it is printable ASCII (tabs
// allowed), as go-mail's SetGenHeader encodes it with mime.QEncoding.
func appendTextHeader(dst []byte, key, value string) []byte {
	if !needsEncoding(value) {
		return appendHeader(dst, key, value)
	}
	dst, f := startHeader(dst, key)
	var buf [maxEncodedWord]byte
	w := append(buf[:0], qWordOpen...)
	for i := 0; i < len(value); {
		b := value[i]
		size, encLen := 1, 1
		if b != ' ' && !qWordLiteral(b) {
			_, size = utf8.DecodeRuneInString(value[i:])
			encLen = 3 * size
		}
		if len(w)-len(qWordOpen)+encLen > maxEncodedWord-len(qWordOpen)-len(qWordClose) {
			w = append(w, qWordClose...)
			dst = append(f.next(dst, len(w)), w...)
			w = append(buf[:0], qWordOpen...)
		}
		w = appendQWord(w, value[i:i+size])
		i += size
	}
	w = append(w, qWordClose...)
	dst = append(f.next(dst, len(w)), w...)
	return append(dst, '\r', '\n')
}

// RFC 2047 encoded-words in UTF-8 with the Q encoding (section 4.2).
const (
	qWordOpen      = "=?UTF-8?q?"
	qWordClose     = "?="
	maxEncodedWord = 75 // RFC 2047 section 2
)

// qWordLiteral reports a byte an encoded-word carries as is.
func qWordLiteral(b byte) bool {
	return b > ' ' && b <= '~' && b != '=' && b != '?' && b != '_'
}

// appendQWord appends s in the Q encoding: space as "_", other specials
// as =XX.
func appendQWord[T string | []byte](dst []byte, s T) []byte {
	for i := 0; i < len(s); i++ {
		switch b := s[i]; {
		case b == ' ':
			dst = append(dst, '_')
		case qWordLiteral(b):
			dst = append(dst, b)
		default:
			dst = append(dst, '=', upperhex[b>>4], upperhex[b&0x0f])
		}
	}
	return dst
}

// needsEncoding reports text that is not printable ASCII, tab allowed,
// as mime.WordEncoder decides it.
func needsEncoding(s string) bool {
	for i := 0; i < len(s); i++ {
		if b := s[i]; (b < ' ' || b > '~') && b != '\t' {
			return true
		}
	}
	return false
}

// longWord reports a value with a run of 998 or more characters between
// spaces: folded at its spaces, it gives a line longer than RFC 5322
// section 2.1.1 allows.
func longWord[T string | []byte](s T) bool {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' {
			n = 0
			continue
		}
		if n++; n >= maxLine {
			return true
		}
	}
	return false
}

// appendQEncoded appends all of s as RFC 2047 Q encoded-words in UTF-8,
// each at most 75 characters long (section 2) and on its own line, the
// lines after the first folded with a space. Invalid UTF-8 is encoded as
// U+FFFD.
func appendQEncoded(dst []byte, s string) []byte {
	start := len(dst)
	dst = append(dst, qWordOpen...)
	var enc [3 * utf8.UTFMax]byte
	for _, r := range s {
		var u [utf8.UTFMax]byte
		e := appendQWord(enc[:0], u[:utf8.EncodeRune(u[:], r)])
		if len(dst)-start+len(e)+len(qWordClose) > maxEncodedWord {
			dst = append(dst, qWordClose+"\r\n "...)
			start = len(dst)
			dst = append(dst, qWordOpen...)
		}
		dst = append(dst, e...)
	}
	return append(dst, qWordClose...)
}
