package mailreply

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/outreach-coalition/outreach/internal/outreach"
)

// Result is what Classify decided about a reply.
type Result struct {
	Class    string // outreach.ClassEndorse, ClassDecline, ClassUnsubscribe, ClassAutoReply, ClassBounce, ClassOther
	Sure     bool   // the classifier is confident
	Review   bool   // a person must look; always set when Sure is not
	Reason   string // short human explanation
	Language string // language of the new text (en, es, fr, pt), "" if unknown
}

// Sure endorsements and declines are short: a longer text has more room for
// a reservation the lexicon does not know.
const maxSureWords = 80

// Classify decides what a reply says. The order is:
//
//  1. bounce: a delivery status notification (RFC 3464), or mail from the
//     null sender or a mail daemon whose text says delivery failed; bounces
//     carry Auto-Submitted too, so this comes first;
//  2. auto-reply: Message.Automated is set (RFC 3834 and vendor headers);
//     when the only signs are ones people's mail can carry too (Precedence
//     bulk/list, X-Auto-Response-Suppress) and the text reads like a
//     person's answer, the result goes to review;
//  3. unsubscribe by rule: the Subject, without Re:/AW:/Fwd: prefixes, is
//     "unsubscribe" (what the List-Unsubscribe mailto: link sends),
//     whatever the body;
//  4. an out-of-office subject or body without automation headers;
//  5. the reply's new text (Message.NewText; quoted text never counts).
//
// In the new text an unsubscribe request wins over everything; a negation
// before an endorsement verb in the same clause ("we cannot endorse", "no
// podemos respaldar", "nous ne pouvons pas soutenir", "não podemos
// endossar") is a decline; a condition ("if", "sous réserve", "siempre
// que", "desde que"), a hedge ("maybe", "we will discuss"), a question
// about endorsing, or an endorsement next to a refusal make the result
// ClassOther with Review. So do, anywhere in a short answer, a negation or
// "instead" ("not this one", "no esta", "pas vraiment", "em vez"), a time
// condition ("after", "once", "when", "until", "cuando", "après", "depois")
// and a modal ("would", "could", "might", "hope", "podríamos", "pourrions";
// the polite "would like to", "would be happy to" excepted); in a longer
// answer they keep an endorsement from being Sure. A bare "yes" (sí, oui,
// sim) answering the request is an endorsement, Sure only when nothing but a
// signature follows and the message is a reply. Automated mail and bounces are never endorsements.
func Classify(m *Message) Result {
	if m == nil {
		return Result{Class: outreach.ClassOther, Review: true, Reason: "no message"}
	}
	if r, ok := classifyBounce(m); ok {
		return r
	}
	if m.Automated != "" {
		r := Result{Class: outreach.ClassAutoReply, Sure: true, Reason: "automated mail: " + m.Automated}
		if weakOnly(m.Automated) {
			a := analyze(m.NewText)
			r.Language = a.lang
			if a.human() {
				r.Sure, r.Review = false, true
				r.Reason += "; but the text reads like a person's answer: " + a.summary()
			}
		}
		return r
	}
	a := analyze(m.NewText)
	if isUnsubscribeSubject(m.Subject) {
		return Result{Class: outreach.ClassUnsubscribe, Sure: true, Reason: `subject is "unsubscribe"`, Language: a.lang}
	}
	autoSubject := autoSubjectRe.MatchString(normalize(strings.TrimSpace(m.Subject)).s)
	if autoSubject || len(a.ooo) > 0 {
		if a.human() {
			return Result{Class: outreach.ClassOther, Review: true, Language: a.lang,
				Reason: "out-of-office wording next to an answer: " + a.summary()}
		}
		sure := autoSubject && len(a.ooo) > 0
		why := "out-of-office subject"
		if len(a.ooo) > 0 {
			why = fmt.Sprintf("out-of-office text %q", a.ooo[0].text)
		}
		return Result{Class: outreach.ClassAutoReply, Sure: sure, Review: !sure, Reason: why + " without automation headers", Language: a.lang}
	}
	r := a.decide(m)
	r.Language = a.lang
	r.Review = r.Review || !r.Sure
	return r
}

func classifyBounce(m *Message) (Result, bool) {
	dsn := strings.Contains(m.Automated, "report-type=delivery-status") || strings.Contains(m.Automated, "report-type=global-delivery-status")
	if len(m.Bounces) == 0 && !dsn && !bounceLike(m) {
		return Result{}, false
	}
	if len(m.Bounces) == 0 {
		return Result{Class: outreach.ClassBounce, Review: true, Reason: "bounce without a recipient that could be read"}, true
	}
	var parts []string
	for i, b := range m.Bounces {
		if i == 3 {
			parts = append(parts, fmt.Sprintf("and %d more", len(m.Bounces)-3))
			break
		}
		parts = append(parts, strings.TrimSpace(fmt.Sprintf("%s %s %s", b.Recipient, b.Action, b.Status)))
	}
	kind := "delivery status notification"
	if !dsn {
		kind = "non-standard bounce"
	}
	return Result{Class: outreach.ClassBounce, Sure: true, Reason: kind + ": " + strings.Join(parts, ", ")}, true
}

// isUnsubscribeSubject reports whether subject, without reply and forward
// prefixes, is "unsubscribe".
func isUnsubscribeSubject(subject string) bool {
	s := replyPrefixRe.ReplaceAllString(subject, "")
	return strings.EqualFold(strings.TrimSpace(s), "unsubscribe")
}

func isReply(m *Message) bool {
	return len(m.InReplyTo) > 0 || len(m.References) > 0 || replyPrefixRe.MatchString(m.Subject)
}

func (a *analysis) decide(m *Message) Result {
	other := func(why string) Result {
		return Result{Class: outreach.ClassOther, Review: true, Reason: why}
	}
	switch {
	case a.empty:
		if strings.TrimSpace(m.Text) != "" {
			return other("no new text: the reply only quotes or forwards")
		}
		if m.Attachments > 0 {
			return other("no text, only attachments")
		}
		return other("empty reply")
	case len(a.unsub) > 0:
		sure := len(a.pos) == 0 && len(a.cond) == 0 && len(a.question) == 0 && len(a.withdraw) == 0 && len(a.hedge) == 0 && len(a.reserve) == 0
		r := Result{Class: outreach.ClassUnsubscribe, Sure: sure, Reason: fmt.Sprintf("unsubscribe request %q", a.unsub[0].text)}
		if !sure {
			r.Reason += "; also " + a.summary()
		}
		return r
	case len(a.withdraw) > 0:
		return Result{Class: outreach.ClassDecline, Review: true, Reason: fmt.Sprintf("withdraws an endorsement: %q", a.withdraw[0].text)}
	case (len(a.pos) > 0 || a.bareYes) && (len(a.neg) > 0 || a.bareNo):
		return other("mixed signals: " + a.summary())
	case len(a.neg) > 0 || a.bareNo:
		if len(a.cond)+len(a.hedge)+len(a.question)+len(a.qAbout) > 0 {
			return other("refusal with reservations: " + a.summary())
		}
		why := fmt.Sprintf("answer %q", a.first)
		if len(a.neg) > 0 {
			why = a.neg[0].String()
		}
		sure := a.words <= maxSureWords && !m.Truncated && (len(a.neg) > 0 || (a.tailClean && isReply(m)))
		return Result{Class: outreach.ClassDecline, Sure: sure, Reason: why}
	case len(a.pos) > 0 || a.bareYes:
		switch {
		case len(a.cond) > 0:
			return other("conditional: " + a.summary())
		case len(a.qAbout) > 0:
			return other("question about endorsing: " + a.summary())
		case len(a.hedge) > 0:
			return other("not yet decided: " + a.summary())
		case len(a.reserve) > 0:
			return other("endorsement with a reservation: " + a.summary())
		case len(a.unclear) > 0:
			return other("endorsement wording about something else: " + a.summary())
		case a.doubtful() != nil && a.words <= maxSureWords:
			return other("endorsement next to " + a.doubtful().String() + ": " + a.summary())
		}
		if len(a.pos) > 0 {
			doubt := a.doubtful()
			sure := a.words <= maxSureWords && len(a.question) == 0 && !m.Truncated && a.firstPerson > 0 && doubt == nil
			r := Result{Class: outreach.ClassEndorse, Sure: sure, Reason: a.pos[0].String()}
			if len(a.question) > 0 {
				r.Reason += "; the reply also asks a question"
			}
			if a.firstPerson == 0 {
				r.Reason += "; in the third person"
			}
			if doubt != nil {
				r.Reason += "; also " + doubt.String()
			}
			return r
		}
		if !a.tailClean {
			return other(fmt.Sprintf("%q followed by more text", a.first))
		}
		sure := a.strongYes && isReply(m) && a.tailLines <= 8 && !m.Truncated
		why := fmt.Sprintf("answer %q", a.first)
		if !isReply(m) {
			why += " to no request this message replies to"
		}
		return Result{Class: outreach.ClassEndorse, Sure: sure, Reason: why}
	case len(a.qAbout) > 0 || len(a.question) > 0:
		return other("question: " + a.summary())
	case len(a.cond) > 0 || len(a.hedge) > 0 || len(a.unclear) > 0 || len(a.reserve) > 0:
		return other("no decision: " + a.summary())
	}
	return other("no endorsement, refusal or unsubscribe wording found")
}

// hit is one phrase found in the new text.
type hit struct {
	kind string // label used in reasons
	lang string
	text string // as the partner wrote it
}

func (h hit) String() string {
	if h.lang != "" {
		return fmt.Sprintf("%s %q (%s)", h.kind, h.text, h.lang)
	}
	return fmt.Sprintf("%s %q", h.kind, h.text)
}

// analysis holds what the new text says.
type analysis struct {
	pos, neg, withdraw, cond, hedge, question, qAbout, unsub, ooo, unclear, reserve []hit
	// doubt holds words anywhere in the answer that make an endorsement
	// something for a person to read (see doubts).
	doubt []hit

	firstPerson int // positive hits that are first-person commitments

	empty     bool
	first     string // first line, as written
	bareYes   bool   // the first line is only a yes
	strongYes bool   // ... one that may be Sure
	bareNo    bool   // the first line is only a no
	tailClean bool   // everything after the first line looks like a signature
	tailLines int
	words     int
	lang      string
}

// human reports whether the text holds an answer a person would write.
func (a *analysis) human() bool {
	return len(a.pos) > 0 || len(a.neg) > 0 || len(a.unsub) > 0 || len(a.withdraw) > 0 || a.bareYes || a.bareNo
}

// summary lists the first hit of each kind.
func (a *analysis) summary() string {
	var parts []string
	for _, hs := range [][]hit{a.pos, a.neg, a.withdraw, a.unsub, a.cond, a.hedge, a.reserve, a.qAbout, a.question, a.unclear, a.ooo} {
		if len(hs) > 0 {
			parts = append(parts, hs[0].String())
		}
	}
	if len(parts) == 0 && a.bareYes {
		parts = append(parts, fmt.Sprintf("answer %q", a.first))
	}
	if len(parts) == 0 && a.bareNo {
		parts = append(parts, fmt.Sprintf("answer %q", a.first))
	}
	return strings.Join(parts, "; ")
}

// maxAnalysed bounds the text the lexicon reads.
const maxAnalysed = 8 << 10

var nonWordRe = regexp.MustCompile(`[^\p{L}\p{N}' ]+`)

// postscriptRe starts a postscript, which is part of the answer even
// below the signature.
var postscriptRe = regexp.MustCompile(`(?i)^(?:p\.\s?s\.?|ps\b|n\.\s?b\.?|nb\b|obs\.?:|post-?scriptum)`)

// answerSepRe separates a one-word answer from a name on the same line:
// "YES - Kenya Human Rights Commission", "Sí: Fundación Derechos Ya".
var answerSepRe = regexp.MustCompile(`\s+[-–—]\s+|\s*:\s+`)

func analyze(text string) *analysis {
	a := &analysis{}
	if len(text) > maxAnalysed {
		text = text[:maxAnalysed]
		a.words = maxSureWords + 1
	}
	var lines []string
	for _, l := range strings.Split(text, "\n") {
		lines = append(lines, strings.TrimSpace(l))
	}
	firstIdx := -1
	for i, l := range lines {
		if l != "" {
			firstIdx = i
			break
		}
	}
	if firstIdx < 0 {
		a.empty = true
		return a
	}
	sigStart := len(lines)
	for i := firstIdx + 1; i < len(lines); i++ {
		if lines[i] != "" && valedictionRe.MatchString(normalize(lines[i]).s) {
			sigStart = i
			break
		}
	}
	content, sig := lines[:sigStart], lines[sigStart:]

	a.first = lines[firstIdx]
	if !strings.ContainsAny(a.first, "?¿") {
		answer, rest := a.first, ""
		if loc := answerSepRe.FindStringIndex(a.first); loc != nil {
			answer, rest = a.first[:loc[0]], a.first[loc[1]:]
		}
		key := strings.Join(strings.Fields(nonWordRe.ReplaceAllString(normalize(answer).s, " ")), " ")
		if rest != "" && !(yesWords[key] || noWords[key]) || rest != "" && !signatureLike(rest) {
			key = strings.Join(strings.Fields(nonWordRe.ReplaceAllString(normalize(a.first).s, " ")), " ")
		}
		a.bareYes = yesWords[key]
		a.strongYes = strongYes[key]
		a.bareNo = noWords[key]
	}
	a.tailClean = true
	for _, para := range paragraphs(content[firstIdx+1:]) {
		if disclaimerRe.MatchString(normalize(strings.Join(para, " ")).s) {
			continue
		}
		for _, l := range para {
			a.tailLines++
			if !signatureLike(l) {
				a.tailClean = false
			}
		}
	}
	for _, l := range sig {
		if l != "" {
			a.tailLines++
		}
	}

	counts := map[string]int{}
	for _, para := range paragraphs(content) {
		if text := strings.Join(para, " "); &para[0] == &content[firstIdx] || !disclaimerRe.MatchString(normalize(text).s) {
			a.paragraph(text, false, counts)
		}
	}
	for _, para := range paragraphs(sig) {
		if text := strings.Join(para, " "); !disclaimerRe.MatchString(normalize(text).s) {
			a.paragraph(text, !postscriptRe.MatchString(text), counts)
		}
	}
	best := 0
	for _, l := range []string{"en", "es", "fr", "pt"} {
		if counts[l] > best {
			a.lang, best = l, counts[l]
		}
	}
	return a
}

// paragraphs groups runs of non-empty lines.
func paragraphs(lines []string) [][]string {
	var out [][]string
	start := -1
	for i := 0; i <= len(lines); i++ {
		if i < len(lines) && lines[i] != "" {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 {
			out = append(out, lines[start:i])
			start = -1
		}
	}
	return out
}

var firstPerson = setOf(`we i our us my nous je notre nosotros nosotras nuestra nuestro nuestros eu`)

// signatureLike reports whether a line after the answer looks like part of
// a signature (a name, a title, an organisation, a phone number) rather
// than a sentence.
func signatureLike(line string) bool {
	n := normalize(line)
	toks := tokenize(n.s, 0)
	words := 0
	for _, t := range toks {
		if t.w == "," {
			continue
		}
		words++
		if firstPerson[t.w] || nonSignature[t.w] {
			return false
		}
	}
	if words > 8 || strings.ContainsAny(line, "?!") {
		return false
	}
	if strings.HasSuffix(line, ".") && len(toks) > 0 && len(toks[len(toks)-1].w) > 3 {
		return false // a sentence, not "Centro de Derechos A.C."
	}
	return words <= 6 || !strings.Contains(line, ". ")
}

// sentenceEndRe ends a sentence: terminal punctuation followed by a space or
// the end of the paragraph.
var sentenceEndRe = regexp.MustCompile(`[.!?;]+(?:\s|$)|[¿¡]`)

func (a *analysis) paragraph(para string, inSig bool, counts map[string]int) {
	n := normalize(para)
	start := 0
	locs := append(sentenceEndRe.FindAllStringIndex(n.s, -1), []int{len(n.s), len(n.s)})
	for _, loc := range locs {
		end := loc[1]
		if opener := n.s[loc[0]:]; strings.HasPrefix(opener, "¿") || strings.HasPrefix(opener, "¡") {
			end = loc[0]
		}
		if end > start {
			a.sentence(n, start, end, inSig, counts)
			start = end
		}
	}
}

func (a *analysis) sentence(n normText, start, end int, inSig bool, counts map[string]int) {
	raw := n.s[start:end]
	trimmed := strings.TrimSpace(raw)
	if trimmed == "" {
		return
	}
	isQ := strings.HasSuffix(trimmed, "?") || strings.HasPrefix(trimmed, "¿") || questionAboutRe.MatchString(raw)
	body := strings.TrimRight(trimmed, ".!?;¿¡ ")
	lead := strings.Index(raw, trimmed)
	base := start + lead
	s := body
	orig := func(i, j int) string { return n.original(base+i, base+j) }

	if !inSig {
		for _, t := range tokenize(s, 0) {
			if t.w == "," {
				continue
			}
			a.words++
			for l, set := range langWords {
				if set[t.w] {
					counts[l]++
				}
			}
		}
	}
	cand := lexIndex.candidates(s)
	for _, loc := range neutralRe.find(s, cand, -1) {
		s = blank(s, loc[0], loc[1])
	}
	if isQ {
		a.question = append(a.question, hit{kind: "question", text: clip(orig(0, len(body)))})
	}
	for _, loc := range withdrawRe.find(s, cand, -1) {
		a.withdraw = append(a.withdraw, hit{kind: "withdrawal", text: orig(loc[0], loc[1])})
		s = blank(s, loc[0], loc[1])
	}
	for _, loc := range unsubRe.find(s, cand, -1) {
		a.unsub = append(a.unsub, hit{kind: "unsubscribe", text: orig(loc[0], loc[1])})
	}
	for _, loc := range oooRe.find(s, cand, -1) {
		a.ooo = append(a.ooo, hit{kind: "out of office", text: orig(loc[0], loc[1])})
	}
	for _, loc := range condRe.find(s, cand, -1) {
		if isYesSi(s, loc) || (loc[0] > 0 && s[loc[0]-1] == '-') {
			continue // "sí", or Portuguese "junta-se a" (not "se", if)
		}
		a.cond = append(a.cond, hit{kind: "condition", text: orig(loc[0], min(len(s), loc[1]+30))})
	}
	if verbRe.match(s, cand) {
		for _, loc := range temporalRe.find(s, cand, -1) {
			a.cond = append(a.cond, hit{kind: "condition", text: orig(loc[0], min(len(s), loc[1]+30))})
		}
	}
	for _, loc := range hedgeRe.find(s, cand, -1) {
		if toks := tokenize(s[:loc[0]], 0); len(toks) > 0 && isNegator(toks[len(toks)-1].w) {
			continue // "no creemos que": part of a refusal, not a hedge
		}
		a.hedge = append(a.hedge, hit{kind: "hedge", text: orig(loc[0], loc[1])})
	}
	if inSig {
		return
	}
	a.doubts(s, cand, orig)
	for _, loc := range reservationRe.find(s, cand, -1) {
		text := orig(loc[0], loc[1])
		if w := s[loc[0]:loc[1]]; w == "mas" && strings.ContainsRune(strings.ToLower(text), 'á') {
			continue // Spanish "más" (more), not Portuguese "mas" (but)
		} else if (w == "mas" || w == "mais") && !clauseOpening(s[:loc[0]]) {
			continue // Portuguese "mais" (more), not French "mais" (but)
		}
		a.reserve = append(a.reserve, hit{kind: "reservation", text: text})
	}
	negSpans := map[int]bool{}
	for _, loc := range declineRe.find(s, cand, -1) {
		a.neg = append(a.neg, hit{kind: "refusal", text: orig(loc[0], loc[1])})
		negSpans[loc[0]] = true
	}
	for _, ph := range positives {
		for _, loc := range ph.re.find(s, cand, -1) {
			if ph.object && !objectFollows(s[loc[1]:], strings.Contains(s[loc[0]:loc[1]], "sign")) {
				continue
			}
			ns := negation(s, loc[0])
			if ns < 0 && postNegated(s[loc[1]:]) {
				ns = loc[0]
			}
			if ns >= 0 {
				if !negSpans[ns] {
					a.neg = append(a.neg, hit{kind: "negated:", text: orig(ns, loc[1])})
					negSpans[ns] = true
				}
				continue
			}
			if offTopicRe.MatchString(s[loc[1]:min(len(s), loc[1]+60)]) {
				a.unclear = append(a.unclear, hit{kind: "about something else", text: clip(orig(loc[0], min(len(s), loc[1]+60)))})
				continue
			}
			if isQ {
				a.qAbout = append(a.qAbout, hit{kind: "asks", text: orig(loc[0], loc[1]), lang: ph.lang})
				continue
			}
			a.pos = append(a.pos, hit{kind: "endorsement phrase", text: orig(loc[0], loc[1]), lang: ph.lang})
			if !ph.third || ownSubject(s[:loc[0]]) {
				a.firstPerson++
			}
		}
	}
	for _, loc := range verbRe.find(s, cand, -1) {
		if ns := negation(s, loc[0]); ns >= 0 {
			if !negSpans[ns] {
				a.neg = append(a.neg, hit{kind: "negated:", text: orig(ns, loc[1])})
				negSpans[ns] = true
			}
			continue
		}
		if isQ && len(a.qAbout) == 0 {
			a.qAbout = append(a.qAbout, hit{kind: "asks about", text: orig(loc[0], loc[1])})
		}
	}
}

// clip shortens a quoted phrase for a reason.
func clip(s string) string {
	if len(s) <= 80 {
		return s
	}
	cut := 80
	for cut > 0 && !isRuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// isYesSi reports whether a "si" matched as a condition is really a yes:
// it opens the sentence and a comma or nothing follows.
func isYesSi(s string, loc []int) bool {
	if s[loc[0]:loc[1]] != "si" || strings.TrimSpace(s[:loc[0]]) != "" {
		return false
	}
	rest := strings.TrimLeft(s[loc[1]:], " ")
	return rest == "" || rest[0] == ',' || rest[0] == '-' || rest[0] == '!'
}

// negationReach is how many words before a verb a negator still counts.
const negationReach = 16

// negation returns the offset of a negator governing the word at i in s, or
// -1. The search runs backwards through the clause: it stops at a contrast
// ("but", "pero", "mais", "mas") or at a comma that opens a new clause with a
// first-person subject.
func negation(s string, i int) int {
	toks := tokenize(s[:i], 0)
	words := 0
	for k := len(toks) - 1; k >= 0; k-- {
		t := toks[k]
		if t.w == "," {
			if k+1 < len(toks) && clauseStarts[toks[k+1].w] {
				return -1
			}
			continue
		}
		if contrasts[t.w] {
			return -1
		}
		if isNegator(t.w) {
			return t.start
		}
		words++
		if words >= negationReach {
			return -1
		}
	}
	return -1
}

func isNegator(w string) bool {
	return negators[w] || strings.HasSuffix(w, "n't") || (strings.HasPrefix(w, "n'") && len(w) > 2)
}

// objectFollows reports whether the rest of a sentence after a generic verb
// is empty or names the letter, the campaign or "this" within five words
// (articles and adverbs such as "fully" do not count as words). After a
// form of "sign", "on", "up", "as" and "behalf" count too.
func objectFollows(rest string, sign bool) bool {
	words := 0
	for _, t := range tokenize(rest, 0) {
		switch {
		case t.w == ",":
			continue
		case objectWords[t.w] || (sign && signExtras[t.w]):
			return true
		case adverbs[t.w]:
			continue
		}
		words++
		if words >= 5 {
			return false
		}
	}
	return words == 0
}

// ownSubject reports whether a possessive ("our", "nuestra", "notre",
// "nossa") stands within the three words before a third-person verb.
func ownSubject(before string) bool {
	toks := tokenize(before, 0)
	for k := len(toks) - 1; k >= 0 && k >= len(toks)-3; k-- {
		if ownWords[toks[k].w] {
			return true
		}
	}
	return false
}

// clauseOpening reports whether a word after before starts a clause: it
// opens the sentence or follows a comma.
func clauseOpening(before string) bool {
	b := strings.TrimSpace(before)
	return b == "" || strings.HasSuffix(b, ",") || strings.HasSuffix(b, "oui") || strings.HasSuffix(b, "sim")
}

// postNegated reports whether a French negation follows the verb at once
// ("nous signons pas").
func postNegated(rest string) bool {
	for i, t := range tokenize(rest, 0) {
		if i >= 2 {
			break
		}
		if postNegators[t.w] {
			return true
		}
	}
	return false
}

// doubts records the words of sentence s (neutral phrases blanked) that
// make a short endorsement ClassOther, and a long one not Sure, wherever
// they stand in the answer, postscripts included (a signature's motto, "No
// aceptamos fondos públicos", is not the answer):
// a negation or "instead" ("We endorse the other letter, not this one"; "We
// are happy to endorse. Not."), a time condition ("We will endorse after
// the elections") and a modal ("We would endorse it"; "podríamos firmar").
// The polite "would like to", "would be happy to" and their translations
// are not modals.
func (a *analysis) doubts(s string, cand []bool, orig func(i, j int) string) {
	toks := tokenize(s, 0)
	for k, t := range toks {
		var kind string
		switch {
		case t.w == ",":
			continue
		case isNegator(t.w):
			kind = "negation"
		case temporalWords[t.w]:
			kind = "time condition"
		case isModal(t.w) && !politeModal(toks[k+1:]):
			kind = "modal"
		default:
			continue
		}
		a.doubt = append(a.doubt, hit{kind: kind, text: orig(t.start, t.end)})
	}
	for _, loc := range insteadRe.find(s, cand, -1) {
		a.doubt = append(a.doubt, hit{kind: "alternative", text: orig(loc[0], loc[1])})
	}
}

// doubtful returns the first doubt that counts, or nil. In Portuguese "no"
// is "in the", not a negation.
func (a *analysis) doubtful() *hit {
	for i := range a.doubt {
		if h := &a.doubt[i]; !(a.lang == "pt" && strings.EqualFold(h.text, "no")) {
			return h
		}
	}
	return nil
}

// isModal reports whether w makes what follows hypothetical: "would",
// "could", "might", "hope", "we'd", and the conditional of the first person
// plural in Spanish and Portuguese ("-ríamos") and French ("-rions").
func isModal(w string) bool {
	switch {
	case modalWords[w], strings.HasSuffix(w, "'d"):
		return true
	case politeConditionals[w]:
		return false
	}
	return len(w) > 7 && strings.HasSuffix(w, "riamos") || len(w) > 6 && strings.HasSuffix(w, "rions")
}

// politeModal reports whether a modal is the polite form of a yes: one of
// the three words after it is "like", "love", "happy", "honoured", ...
func politeModal(next []token) bool {
	for i, t := range next {
		if i == 3 {
			break
		}
		if politeWords[t.w] {
			return true
		}
	}
	return false
}
