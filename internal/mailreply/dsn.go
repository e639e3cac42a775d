package mailreply

import (
	"bufio"
	"bytes"
	"regexp"
	"strings"

	"github.com/emersion/go-message/textproto"

	"github.com/outreach-coalition/outreach/internal/outreach"
)

// automated returns why the header or MIME structure marks a message as
// machine-generated, or "". Strong signs come first.
func automated(h textproto.Header, report string) string {
	var why []string
	if report != "" {
		why = append(why, "multipart/report; report-type="+report)
	}
	if rp := h.Values("Return-Path"); len(rp) > 0 && strings.Trim(rp[0], "<> \t") == "" {
		why = append(why, "Return-Path: <>")
	}
	if v := strings.TrimSpace(h.Get("Auto-Submitted")); v != "" && !strings.EqualFold(firstWord(v), "no") {
		why = append(why, "Auto-Submitted: "+v)
	}
	for _, k := range []string{"X-Autoreply", "X-Autorespond", "X-Autoresponse"} {
		if h.Has(k) {
			why = append(why, k+": "+strings.TrimSpace(h.Get(k)))
		}
	}
	if v := strings.ToLower(strings.TrimSpace(h.Get("Precedence"))); v == "auto_reply" {
		why = append(why, "Precedence: "+v)
	} else if v == "bulk" || v == "junk" || v == "list" {
		why = append(why, "Precedence: "+v+weakSuffix)
	}
	if h.Has("X-Auto-Response-Suppress") {
		why = append(why, "X-Auto-Response-Suppress: "+strings.TrimSpace(h.Get("X-Auto-Response-Suppress"))+weakSuffix)
	}
	return strings.Join(why, "; ")
}

// weakSuffix marks automation signs that people's own mail can carry too
// (a reply sent through a mailing list, an Exchange server that suppresses
// auto-responses on everything).
const weakSuffix = " (weak sign)"

// weakOnly reports whether every reason in an Automated string is weak.
func weakOnly(reason string) bool {
	if reason == "" {
		return false
	}
	for _, r := range strings.Split(reason, "; ") {
		if !strings.HasSuffix(r, weakSuffix) {
			return false
		}
	}
	return true
}

func firstWord(s string) string {
	if i := strings.IndexAny(s, " \t;("); i >= 0 {
		return s[:i]
	}
	return s
}

// findBounces fills m.Bounces from the delivery-status parts (RFC 3464
// section 2.3: per-recipient field blocks) or, for a non-standard bounce,
// from its text.
func (w *walker) findBounces() {
	m := w.m
	for _, b := range w.statusBody {
		m.Bounces = append(m.Bounces, parseDeliveryStatus(b)...)
	}
	if w.report != "" || len(m.Bounces) > 0 || !bounceLike(m) {
		return
	}
	m.Bounces = textBounces(m)
	if w.embeddedID == "" {
		w.embeddedID = copiedMessageID(m.Text)
	}
}

// parseDeliveryStatus reads the per-recipient blocks of a
// message/delivery-status body. Final-Recipient is preferred over
// Original-Recipient; the address type ("rfc822;", "utf-8;") is stripped.
func parseDeliveryStatus(b []byte) []outreach.Bounce {
	b = bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))
	var out []outreach.Bounce
	for _, block := range blankLineRe.Split(string(b), -1) {
		block = strings.TrimLeft(block, "\n")
		if strings.TrimSpace(block) == "" {
			continue
		}
		h, _ := textproto.ReadHeader(bufio.NewReader(strings.NewReader(string(cleanHeader([]byte(block))))))
		rcpt := h.Get("Final-Recipient")
		if rcpt == "" {
			rcpt = h.Get("Original-Recipient")
		}
		action := strings.ToLower(strings.TrimSpace(firstWord(h.Get("Action"))))
		if rcpt == "" && action == "" {
			continue
		}
		if _, addr, ok := strings.Cut(rcpt, ";"); ok {
			rcpt = addr
		}
		rcpt = strings.Trim(strings.TrimSpace(rcpt), "<>")
		diag := strings.Join(strings.Fields(h.Get("Diagnostic-Code")), " ")
		status := statusCodeRe.FindString(h.Get("Status"))
		if status == "" {
			status = statusCodeRe.FindString(diag)
		}
		out = append(out, outreach.Bounce{
			Recipient:  rcpt,
			Action:     action,
			Status:     status,
			Diagnostic: diag,
			Hard:       action == "failed",
		})
	}
	return out
}

var (
	statusCodeRe  = regexp.MustCompile(`\b[245]\.\d{1,3}\.\d{1,3}\b`)
	blankLineRe   = regexp.MustCompile(`\n[ \t]*\n`)
	diagLineRe    = regexp.MustCompile(`(?i)remote server returned[^\n]*|diagnostic[^\n]*|\b[45]\d\d[ -][245]\.\d{1,3}\.\d{1,3}[^\n]*`)
	replyPrefixRe = regexp.MustCompile(`(?i)^\s*(?:(?:re|aw|sv|fw|fwd|tr|rv|enc|wg)\s*(?:\[\d+\])?\s*:\s*)+`)
)

var (
	daemonRe        = regexp.MustCompile(`(?i)^(?:mailer-daemon|postmaster|mail-daemon|maildaemon|mailerdaemon|bounce|bounces)@`)
	daemonNameRe    = regexp.MustCompile(`(?i)mail delivery (?:subsystem|system)|mailer-daemon|postmaster|microsoft outlook|mail administrator`)
	bounceSubjectRe = regexp.MustCompile(`(?i)undeliver|undelivered mail|delivery status notification|delivery (?:has )?failed|failure notice|returned mail|mail delivery failed|non remis|non distribuable|no se puede entregar|no se pudo entregar|não foi possível entregar|nao foi possivel entregar|não entregue|unzustellbar|delivery delayed|delivery status|could not be delivered`)
	bounceTextRe    = regexp.MustCompile(`(?i)i'm afraid i wasn't able to deliver|wasn't able to deliver|could not be delivered|couldn't be delivered|delivery has failed|delivery to the following recipients? failed|permanent(?:ly)? (?:error|failed|failure)|this is a permanent error|user unknown|unknown user|no such user|mailbox (?:unavailable|not found|is full|full)|recipient address rejected|address not found|no mailbox here|undeliverable|message was not delivered|returned to sender|remote server returned|\b5\.\d{1,3}\.\d{1,3}\b|\b55\d\b|delivery (?:has been )?delayed|has not (?:yet )?been delivered|will (?:keep|continue) (?:trying|to try)|temporary (?:failure|error)`)
	delayTextRe     = regexp.MustCompile(`(?i)delivery (?:has been )?delayed|has not (?:yet )?been delivered|will (?:keep|continue) (?:trying|to try)|delivery status notification \(delay\)|still trying|warning: message .* delayed`)
)

// bounceLike reports whether a message without a delivery-status part looks
// like a bounce: it comes from the null sender or a mail daemon, or carries a
// bounce subject, and its text says delivery failed.
func bounceLike(m *Message) bool {
	fromDaemon := m.ReturnPath == "<>" || daemonRe.MatchString(m.From) || daemonNameRe.MatchString(m.FromName)
	if !fromDaemon && (replyPrefixRe.MatchString(m.Subject) || !bounceSubjectRe.MatchString(m.Subject)) {
		return false
	}
	head := m.Text
	if len(head) > 8000 {
		head = head[:8000]
	}
	return bounceTextRe.MatchString(head) || (fromDaemon && bounceSubjectRe.MatchString(m.Subject))
}

var (
	qmailRcptRe    = regexp.MustCompile(`(?m)^<([^<>\s]+@[^<>\s]+)>:\s*$`)
	exchangeListRe = regexp.MustCompile(`(?i)(?:delivery has failed to these recipients or groups|your message (?:to|wasn't delivered to|couldn't be delivered to)|the following (?:recipient|address)(?:\(s\)|es)? (?:failed|could not be reached|cannot be reached)|the following addresses had permanent fatal errors|delivery to the following recipients? failed(?: permanently)?|could not be delivered to the following)`)
	codeAddrRe     = regexp.MustCompile(`(?i)\b(?:5\d\d|4\d\d)[ -](?:[245]\.\d{1,3}\.\d{1,3}\s+)?<?([^\s<>()@]+@[^\s<>()]+?)>?[\s:.,]`)
	copyMarkerRe   = regexp.MustCompile(`(?i)below this line is a copy of the message|original message headers|original message follows|------ this is a copy of the message|\n\s*message-id:`)
	messageIDLine  = regexp.MustCompile(`(?im)^\s*message-id:\s*(<[^<>\s]+>)`)
)

// textBounces reads recipients from a non-standard bounce: qmail's
// "<addr>:" paragraphs, Exchange's "Delivery has failed to these
// recipients" list, or an SMTP reply that names an address ("550 5.1.1
// <addr>"). Addresses the bounce was sent to are skipped.
func textBounces(m *Message) []outreach.Bounce {
	text := m.Text
	if i := copyMarkerRe.FindStringIndex(text); i != nil && i[0] > 0 {
		text = text[:i[0]]
	}
	ours := map[string]bool{}
	for _, a := range append(append(append([]string{}, m.To...), m.DeliveredTo...), m.Cc...) {
		ours[strings.ToLower(a)] = true
	}
	action := "failed"
	if delayTextRe.MatchString(text) || delayTextRe.MatchString(m.Subject) {
		action = "delayed"
	}
	seen := map[string]bool{}
	var out []outreach.Bounce
	add := func(addr, context string) {
		addr = strings.TrimRight(strings.Trim(addr, "<>"), ".,;:")
		key := strings.ToLower(addr)
		if addr == "" || ours[key] || seen[key] || !strings.Contains(addr, "@") {
			return
		}
		seen[key] = true
		diag := strings.Join(strings.Fields(context), " ")
		if len(diag) > 300 {
			diag = diag[:300]
		}
		status := statusCodeRe.FindString(context)
		a := action
		if strings.HasPrefix(status, "5.") {
			a = "failed"
		}
		out = append(out, outreach.Bounce{Recipient: addr, Action: a, Status: status, Diagnostic: diag, Hard: a == "failed"})
	}
	// qmail: "<addr>:" on its own line, then the reason until a blank line.
	for _, loc := range qmailRcptRe.FindAllStringSubmatchIndex(text, -1) {
		rest := text[loc[1]:]
		if i := strings.Index(rest, "\n\n"); i >= 0 {
			rest = rest[:i]
		}
		add(text[loc[2]:loc[3]], rest)
	}
	// Exchange and friends: a heading followed by a list of addresses.
	if loc := exchangeListRe.FindStringIndex(text); loc != nil && len(out) == 0 {
		rest := text[loc[0]:]
		if len(rest) > 2000 {
			rest = rest[:2000]
		}
		diag := rest
		if i := diagLineRe.FindString(text); i != "" {
			diag = i
		}
		for _, a := range bareAddr.FindAllString(rest, 5) {
			add(a, diag)
		}
	}
	// An SMTP reply naming the address: "550 5.1.1 <addr>: ...".
	if len(out) == 0 {
		for _, sm := range codeAddrRe.FindAllStringSubmatchIndex(text, -1) {
			line := text[sm[0]:]
			if i := strings.IndexByte(line, '\n'); i >= 0 {
				line = line[:i]
			}
			add(text[sm[2]:sm[3]], line)
		}
	}
	return out
}

// copiedMessageID finds the Message-ID in the copy of the original headers
// that non-standard bounces append to their text.
func copiedMessageID(text string) string {
	i := copyMarkerRe.FindStringIndex(text)
	if i == nil {
		return ""
	}
	if m := messageIDLine.FindStringSubmatch(text[i[0]:]); m != nil {
		return strings.Trim(m[1], "<>")
	}
	return ""
}
