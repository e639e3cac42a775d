// Package csvsafe keeps a spreadsheet from reading an exported CSV cell as
// a formula ("CSV injection", see the OWASP page of that name). Text from
// outside (a partner's reply, an organisation's name, an SMTP server's
// answer) can start with =, +, - or @, which Excel, LibreOffice and Google
// Sheets evaluate; a leading single quote makes such a cell plain text.
//
// Escape and Unescape are inverses, so a file exported with Escape
// imports back unchanged with Unescape.
package csvsafe

import "strings"

// triggers are the first characters that make a spreadsheet read a cell
// as a formula (tab and carriage return included, as OWASP advises).
const triggers = "=+-@\t\r"

// quoted reports whether s is a run of single quotes (possibly empty)
// followed by a trigger character.
func quoted(s string) bool {
	rest := strings.TrimLeft(s, "'")
	return rest != "" && strings.ContainsRune(triggers, rune(rest[0]))
}

// Escape returns s as a cell no spreadsheet reads as a formula: s with a
// single quote in front when it starts with = + - @, a tab or a carriage
// return. A cell of single quotes before such a character gets one more,
// so that Unescape gives s back exactly. Any other s is returned as it is.
func Escape(s string) string {
	if quoted(s) {
		return "'" + s
	}
	return s
}

// Unescape undoes Escape: it drops the single quote Escape put in front
// of s, and returns any other s as it is.
func Unescape(s string) string {
	if strings.HasPrefix(s, "'") && quoted(s) {
		return s[1:]
	}
	return s
}

// Row returns the cells of a row, each escaped.
func Row(cells ...string) []string {
	out := make([]string, len(cells))
	for i, c := range cells {
		out[i] = Escape(c)
	}
	return out
}
