package mailreply

import (
	"regexp"
	"strings"
	"unicode"
)

// printNameCueRe introduces the name a partner wants printed: "please list
// us as X", "sign as X", "on behalf of X", "firmar como X", "a nombre de X",
// "signer au nom de X", "inscrivez-nous sous le nom X", "assinar como X",
// "em nome de X", "the name to print is X".
var printNameCueRe = regexp.MustCompile(`(?i)(?:` +
	`\b(?:please\s+)?(?:list|add|include|name|credit|print|record|mention|show|put|sign|register)\s+(?:us|our\s+(?:organi[sz]ation|name|group|association|ngo|network|foundation|signature)|it)?\s*(?:as|under(?:\s+the\s+name)?)\s*:?\s*` +
	`|\b(?:sign(?:ing|ed)?|endors(?:e|ing)|co-?sign(?:ing)?)\s+(?:it\s+|this\s+|the\s+letter\s+)?on\s+behalf\s+of\s+` +
	`|\bour\s+name\s+(?:should|must|can|will|to)\s+(?:appear|read|be(?:\s+(?:listed|printed|shown|written))?)\s+as\s*:?\s*` +
	`|\b(?:the\s+)?name\s+(?:to\s+(?:print|use|list|appear)|for\s+the\s+(?:letter|list))\s*(?:is|:)\s*:?\s*` +
	`|\b(?:firmar|firmamos|firmen|firma|incluir(?:nos)?|incl[uú]yan(?:nos)?|agr[eé]guen(?:nos)?|agregar(?:nos)?|listar(?:nos)?|aparecer|figurar|p[oó]ngan(?:nos)?|nombrar(?:nos)?)\s+(?:a\s+nuestra\s+organizaci[oó]n\s+)?como\s*:?\s*` +
	`|\b(?:firmamos|firmar|firma|respaldamos|nos\s+sumamos|adherimos)\s+(?:en|a)\s+nombre\s+de\s+` +
	`|\bel\s+nombre\s+(?:a|para)\s+(?:incluir|poner|usar|imprimir|la\s+carta)\s*(?:es|:)\s*:?\s*` +
	`|\bsign(?:er|ons|e)\s+(?:au\s+nom\s+d[eu]|en\s+tant\s+que|comme|sous\s+le\s+nom(?:\s+de)?)\s+` +
	`|\b(?:inscri(?:re|vez)|ajout(?:er|ez)|mentionn(?:er|ez)|indiqu(?:er|ez)|faire\s+figurer)(?:[- ]nous)?\s+(?:sous\s+le\s+nom(?:\s+de)?|comme|en\s+tant\s+que)\s*:?\s*` +
	`|\ble\s+nom\s+(?:à|a)\s+(?:faire\s+figurer|indiquer|utiliser|mentionner)\s*(?:est|:)\s*:?\s*` +
	`|\bassin(?:ar|amos|a)\s+(?:como|em\s+nome\s+d[eao])\s+` +
	`|\b(?:inclu(?:ir|am)|adicion(?:ar|em)|list(?:ar|em)|coloqu(?:em|ar))(?:-nos)?\s+como\s*:?\s*` +
	`|\bo\s+nome\s+(?:a|para)\s+(?:constar|usar|incluir|a\s+carta)\s*(?:é|e|:)\s*:?\s*` +
	`)`)

// printNameEndRe ends a name: the end of a sentence or a clause that is
// plainly not part of it.
var printNameEndRe = regexp.MustCompile(`(?i)(?:\.\s|;|!|\?|\s[-–—]\s|,?\s+(?:please|thank|thanks|and\s+thank|y\s+gracias|gracias|merci|obrigad[oa]|por\s+favor|s'il\s+vous)\b|,\s+(?:in|on|for|en|dans|para|por|pour|no|na|em)\s)`)

// genericNames are role words, not names.
var genericNames = setOf(`signatory|a signatory|signatories|co-signatory|cosignatory|endorser|an endorser|endorsers|supporter|supporters|a supporter|partner|partners|an organisation|an organization|organisation|organization|
firmante|firmantes|signatario|signatarios|adherente|adherentes|organizacion firmante|signataire|signataires|cosignataire|partenaire|signatarios|signataria|signatarias|apoiador|apoiadores|well|such|follows|below|above|soon|usual|before`)

var possessives = setOf(`our my us we your nuestra nuestro nuestros mi notre nos mon ma nosso nossa meu minha`)

// PrintName returns the name a reply asks to be printed under on the
// letter, when its new text (its first 8 KiB, as for Classify) names one ("please list us as X", "sign as X",
// "firmar como X", "signer au nom de X", "assinar como X"). ok is false
// when no such request is found or what follows the request is not a name
// (a role word such as "signatory", a pronoun, an address, a link).
func PrintName(m *Message) (name string, ok bool) {
	if m == nil {
		return "", false
	}
	text := m.NewText
	if len(text) > maxAnalysed {
		text = text[:maxAnalysed]
	}
	for _, loc := range printNameCueRe.FindAllStringIndex(text, -1) {
		rest := text[loc[1]:]
		line, after, _ := strings.Cut(rest, "\n")
		if strings.TrimSpace(line) == "" {
			for _, l := range strings.Split(after, "\n") {
				if strings.TrimSpace(l) != "" {
					line = l
					break
				}
			}
		}
		if name, ok := cleanName(line); ok {
			return name, true
		}
	}
	return "", false
}

func cleanName(s string) (string, bool) {
	if loc := printNameEndRe.FindStringIndex(s); loc != nil {
		s = s[:loc[0]]
	}
	s = strings.TrimSpace(s)
	s = strings.Trim(s, "\"'“”‘’«»*_ ")
	s = strings.TrimRight(s, ".,;:!)( ")
	s = strings.Trim(s, "\"'“”‘’«»*_ ")
	if strings.Count(s, "(") > strings.Count(s, ")") {
		s += ")"
	}
	if len(s) < 2 || len(s) > 150 || strings.ContainsAny(s, "@<>") || strings.Contains(strings.ToLower(s), "http") {
		return "", false
	}
	for _, article := range []string{"the ", "la ", "el ", "los ", "las ", "le ", "les ", "l'", "l’", "a ", "o ", "as ", "os "} {
		if strings.HasPrefix(s, article) && len(s) > len(article)+1 {
			s = s[len(article):]
			break
		}
	}
	if strings.IndexFunc(s, unicode.IsLetter) < 0 || len(strings.Fields(s)) > 15 {
		return "", false
	}
	folded := strings.Join(strings.Fields(normalize(s).s), " ")
	if genericNames[folded] || genericNames[strings.TrimPrefix(strings.TrimPrefix(folded, "the "), "as ")] {
		return "", false
	}
	if first := strings.Fields(folded); possessives[first[0]] {
		return "", false
	}
	return s, true
}
