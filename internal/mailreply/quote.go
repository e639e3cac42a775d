package mailreply

import (
	"regexp"
	"strings"
)

// Attribution lines that introduce a quoted original, in en/es/fr/pt/de and
// the date-first form some clients write ("2025-03-03 10:00 GMT, X <a@b>:").
// They are matched on up to three joined lines because clients wrap them.
var attributionRe = regexp.MustCompile(`(?i)^\s*(?:` +
	`on\s.{1,250}\swrote\s*:?` +
	`|el\s.{1,250}\sescribi[oó]\s*:?` +
	`|le\s.{1,250}\sa\s+[ée]crit\s*:?` +
	`|(?:em|no dia)\s.{1,250}\sescreveu\s*:?` +
	`|am\s.{1,250}\sschrieb\s.{0,120}:` +
	`|.{0,200}\s(?:wrote|escribi[oó]|a\s+[ée]crit|escreveu|schrieb|ha scritto|schreef)\s*:` +
	`|.{0,120}\swrote on\s.{1,80}` +
	`|\d{1,4}[-./]\d{1,2}[-./]\d{1,4}.{0,120}<[^<>\s]+@[^<>\s]+>\s*:` +
	`)\s*$`)

// Lines that start an unquoted copy of another message: Outlook's and
// Thunderbird's "Original Message" rules, Gmail's and Apple Mail's forward
// banners, in en/es/fr/pt/de.
var separatorRe = regexp.MustCompile(`(?i)^\s*(?:` +
	`-{2,}\s*(?:original message|mensaje original|message d'origine|message original|mensagem original|ursprüngliche nachricht|forwarded message|mensaje reenviado|message transféré|message transfere|mensagem encaminhada|mensagem reencaminhada|weitergeleitete nachricht)\s*-*` +
	`|begin forwarded message\s*:` +
	`|inicio del mensaje reenviado\s*:` +
	`|début du message (?:réexpédié|transféré)\s*:` +
	`|início da mensagem (?:reencaminhada|encaminhada)\s*:` +
	`|anfang der weitergeleiteten nachricht\s*:` +
	`)\s*$`)

// The first field of an Outlook-style header block ("From: ...") and the
// fields that follow it ("Sent:", "To:", "Subject:", ...), localised.
var (
	fromFields  = setOf(`from de von da van från`)
	otherFields = setOf(`sent|date|to|cc|subject|enviado|enviado el|enviada|enviada em|fecha|para|asunto|envoyé|à|a|objet|data|assunto|gesendet|an|betreff|datum|inviato|oggetto`)
	ruleRe      = regexp.MustCompile(`^\s*(?:_{5,}|-{5,}|={5,})\s*$`)
	mobileSigRe = regexp.MustCompile(`(?i)^\s*(?:sent from my |sent from mail for |get outlook for |enviado desde mi |enviado desde |envoyé de mon |envoyé depuis |enviado do meu |enviado a partir do |von meinem .* gesendet|obtener outlook para |télécharger outlook pour |baixe o outlook para )`)
)

// newText returns the reply's own text: text without quoted lines and
// quoted originals, forwarded messages and the signature (RFC 3676 section
// 4.3 "-- " line, also accepted without its trailing space).
func newText(text string) string {
	lines := strings.Split(text, "\n")
	keep := make([]string, 0, len(lines))
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, ">") {
			continue
		}
		if strings.TrimRight(line, " \t") == "--" {
			break
		}
		if len(line) <= maxMarkerLine && separatorRe.MatchString(line) {
			break
		}
		if key, val := headerField(line); fromFields[key] && val != "" && headerBlock(lines[i+1:]) {
			if n := len(keep); n > 0 && ruleRe.MatchString(keep[n-1]) {
				keep = keep[:n-1]
			}
			break
		}
		if n := attribution(lines[i:]); n > 0 {
			if nextQuoted(lines[i+n:]) {
				i += n - 1
				continue
			}
			break
		}
		if len(line) <= maxMarkerLine && mobileSigRe.MatchString(line) {
			continue
		}
		keep = append(keep, line)
	}
	for len(keep) > 0 && ruleRe.MatchString(keep[len(keep)-1]) {
		keep = keep[:len(keep)-1]
	}
	return tidy(strings.Join(keep, "\n"))
}

// maxMarkerLine is the longest line tested as a separator or a mobile
// signature; those are short.
const maxMarkerLine = 120

// headerField splits a quoted header line such as "From: X", "*De :* X" or
// "Envoyé : lundi" into its lower-cased key and its value. key is "" when
// the line is not one.
func headerField(line string) (key, value string) {
	i := strings.IndexByte(line, ':')
	if i <= 0 || i > 24 {
		return "", ""
	}
	key = strings.ToLower(strings.Trim(line[:i], " \t*\u00a0"))
	if strings.ContainsAny(key, "*:") {
		return "", ""
	}
	return key, strings.Trim(line[i+1:], " \t*")
}

// headerBlock reports whether the lines after a "From:" line hold at least
// two more header fields within the next five lines.
func headerBlock(next []string) bool {
	n := 0
	for i, l := range next {
		if i >= 5 {
			break
		}
		if key, _ := headerField(l); otherFields[key] {
			n++
		}
	}
	return n >= 2
}

// attribution returns how many lines (1-3) at the start of lines form an
// attribution line, or 0.
func attribution(lines []string) int {
	if strings.TrimSpace(lines[0]) == "" {
		return 0
	}
	joined := ""
	for n := 1; n <= 3 && n <= len(lines); n++ {
		l := strings.TrimSpace(lines[n-1])
		if l == "" || strings.HasPrefix(l, ">") {
			return 0
		}
		if joined != "" {
			joined += " "
		}
		joined += l
		if len(joined) > 400 {
			return 0
		}
		if attributionCue(joined) && attributionRe.MatchString(joined) {
			return n
		}
	}
	return 0
}

// attributionCue is a cheap test that s may be an attribution line.
func attributionCue(s string) bool {
	l := strings.ToLower(s)
	for _, w := range []string{"wrote", "escribi", "crit", "escreveu", "schrieb", "scritto", "schreef", ">:", "> :"} {
		if strings.Contains(l, w) {
			return true
		}
	}
	return false
}

// nextQuoted reports whether the first non-blank line is quoted.
func nextQuoted(lines []string) bool {
	for _, l := range lines {
		if t := strings.TrimSpace(l); t != "" {
			return strings.HasPrefix(t, ">")
		}
	}
	return false
}
