package render

import (
	"fmt"
	"net/mail"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	gomail "github.com/wneessen/go-mail"

	"github.com/outreach-coalition/outreach/internal/outreach"
)

// Envelope is what a message needs besides its rendered content.
type Envelope struct {
	From      string // the campaign's From: "Name <addr>" or addr
	To        string
	ToName    string
	ReplyTo   string    // the delivery's reply address, LOCAL+TOKEN@domain
	MessageID string    // without <>, e.g. "TOKEN.ID@domain"
	Date      time.Time // from the caller's clock

	// ListUnsubscribeURL and ListUnsubscribeMailto give the List-Unsubscribe
	// header (RFC 2369); both empty means no list headers (letters,
	// thank-yous). An https URL also gives List-Unsubscribe-Post (RFC 8058
	// one-click); an http URL, allowed for local demos, does not.
	ListUnsubscribeURL    string
	ListUnsubscribeMailto string

	Headers map[string]string // extra headers, e.g. X-Outreach-Delivery
}

// reserved reports the headers only Compose sets (case-insensitively).
// Auto-Submitted is among them: a campaign message is sent on a person's
// behalf and must not look automatic (RFC 3834), or replies are suppressed.
func reserved(k string) bool {
	switch strings.ToLower(k) {
	case "from", "sender", "to", "cc", "bcc", "reply-to", "subject", "date", "message-id",
		"mime-version", "content-type", "content-transfer-encoding", "return-path",
		"list-unsubscribe", "list-unsubscribe-post", "auto-submitted":
		return true
	}
	return false
}

// Compose builds the message to send: multipart/alternative with the text
// and HTML bodies in UTF-8 quoted-printable, the Message-ID and Date given,
// no User-Agent, and the subject and display names RFC 2047-encoded so the
// header is ASCII on the wire (RFC 6532 needs SMTPUTF8, which Dovecot 2.3
// lacks). The envelope sender (return path) is ReplyTo, so bounces come
// back with the delivery's token. It never sets Auto-Submitted. A line
// break or other control character in any header value is refused.
func Compose(r *Rendered, e *Envelope) (*gomail.Msg, error) {
	if r == nil || e == nil {
		return nil, fmt.Errorf("compose: nil message or envelope")
	}
	from, err := address("from", e.From, "")
	if err != nil {
		return nil, err
	}
	to, err := address("to", e.To, e.ToName)
	if err != nil {
		return nil, err
	}
	replyTo, err := address("reply_to", e.ReplyTo, "")
	if err != nil {
		return nil, err
	}
	if err := messageID(e.MessageID); err != nil {
		return nil, err
	}
	if e.Date.IsZero() {
		return nil, outreach.FieldError("date", "is required")
	}
	if r.Subject == "" || strings.ContainsFunc(r.Subject, isControl) {
		return nil, outreach.FieldError("subject", "%q is empty or has a line break or control character", r.Subject)
	}

	m := gomail.NewMsg(gomail.WithNoDefaultUserAgent(), gomail.WithCharset(gomail.CharsetUTF8),
		gomail.WithEncoding(gomail.EncodingQP))
	m.SetAddrHeaderFromMailAddress(gomail.HeaderFrom, from)
	m.SetAddrHeaderFromMailAddress(gomail.HeaderTo, to)
	m.SetAddrHeaderFromMailAddress(gomail.HeaderReplyTo, replyTo)
	m.EnvelopeFromMailAddress(&mail.Address{Address: replyTo.Address})
	m.SetMessageIDWithValue(e.MessageID)
	m.SetDateWithValue(e.Date)
	if needsQ(r.Subject) {
		m.SetGenHeaderPreformatted(gomail.HeaderSubject, qEncode(r.Subject))
	} else {
		m.Subject(r.Subject)
	}
	if err := listHeaders(m, e.ListUnsubscribeURL, e.ListUnsubscribeMailto); err != nil {
		return nil, err
	}
	for k, v := range e.Headers {
		if err := extraHeader(k, v); err != nil {
			return nil, err
		}
		m.SetGenHeader(gomail.Header(k), v)
	}
	m.SetBodyString(gomail.TypeTextPlain, r.Text)
	m.AddAlternativeString(gomail.TypeTextHTML, r.HTML)
	return m, nil
}

// address parses one address and, when name is given, sets it as the
// display name. The address must be ASCII (no SMTPUTF8 on the way).
func address(field, s, name string) (*mail.Address, error) {
	if strings.TrimSpace(s) == "" {
		return nil, outreach.FieldError(field, "is required")
	}
	if strings.ContainsFunc(s, isControl) {
		return nil, outreach.FieldError(field, "%q has a line break or control character", s)
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return nil, outreach.FieldError(field, "%q is not an email address", s)
	}
	for _, c := range a.Address {
		if c > 0x7e {
			return nil, outreach.FieldError(field, "%q is not ASCII; the relay path has no SMTPUTF8", a.Address)
		}
	}
	if name != "" {
		if strings.ContainsFunc(name, isControl) {
			return nil, outreach.FieldError(field+"_name", "%q has a line break or control character", name)
		}
		a.Name = strings.ToValidUTF8(name, "\uFFFD")
	}
	if needsQ(a.Name) && isASCII(a.Name) {
		// net/mail would quote it as is: drop the display name rather
		// than write a line too long or an encoded-word from the data.
		a.Name = ""
	}
	return a, nil
}

func messageID(id string) error {
	at := strings.LastIndexByte(id, '@')
	if at <= 0 || at == len(id)-1 || strings.ContainsFunc(id, func(r rune) bool {
		return r <= ' ' || r > '~' || r == '<' || r == '>' || r == '"' || r == '(' || r == ')' || r == ',' || r == ';' || r == '\\'
	}) {
		return outreach.FieldError("message_id", "%q is not left@right without <>, spaces or specials", id)
	}
	return nil
}

// listHeaders sets List-Unsubscribe (RFC 2369) and, for an https URL,
// List-Unsubscribe-Post: List-Unsubscribe=One-Click (RFC 8058). They are
// set as generic headers, which go-mail writes in sorted order, rather than
// with SetListUnsubscribeOneClick, whose preformatted headers come out in
// map order.
func listHeaders(m *gomail.Msg, httpURL, mailto string) error {
	var uris []string
	post := false
	if httpURL != "" {
		u, err := url.Parse(httpURL)
		if err != nil || !uriSafe(httpURL) || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return outreach.FieldError("list_unsubscribe_url", "%q is not an http(s) URL without spaces, commas or <>", httpURL)
		}
		uris = append(uris, "<"+httpURL+">")
		post = u.Scheme == "https"
	}
	if mailto != "" {
		if !strings.HasPrefix(mailto, "mailto:") || !uriSafe(mailto) || !strings.Contains(mailto, "@") {
			return outreach.FieldError("list_unsubscribe_mailto", "%q is not a mailto: URI without spaces, commas or <>", mailto)
		}
		uris = append(uris, "<"+mailto+">")
	}
	if len(uris) > 0 {
		m.SetGenHeader(gomail.HeaderListUnsubscribe, strings.Join(uris, ", "))
	}
	if post {
		m.SetGenHeader(gomail.HeaderListUnsubscribePost, "List-Unsubscribe=One-Click")
	}
	return nil
}

func uriSafe(s string) bool {
	return !strings.ContainsFunc(s, func(r rune) bool {
		return r <= ' ' || r > '~' || r == '<' || r == '>' || r == ','
	})
}

// extraHeader checks a caller's header: an RFC 5322 field name (printable
// ASCII but colon) that Compose does not set itself, and a value without
// line breaks or control characters.
func extraHeader(k, v string) error {
	if k == "" || strings.ContainsFunc(k, func(r rune) bool { return r <= ' ' || r > '~' || r == ':' }) {
		return outreach.FieldError("headers", "%q is not a header name", k)
	}
	if reserved(k) {
		return outreach.FieldError("headers", "%s is set by outreach itself", k)
	}
	if strings.ContainsFunc(v, isControl) {
		return outreach.FieldError("headers", "%s: %q has a line break or control character", k, v)
	}
	return nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] > 0x7e {
			return false
		}
	}
	return true
}

// needsQ reports an ASCII subject that go-mail would write as is but that
// must be encoded: one with "=?", which a client would decode as an
// encoded-word that came from the data, or with a word too long to fold
// within the line limits of RFC 5322 section 2.1.1.
func needsQ(s string) bool {
	if strings.Contains(s, "=?") {
		return true
	}
	for w := range strings.FieldsSeq(s) {
		if len(w) > 60 {
			return true
		}
	}
	return false
}

// qEncode encodes all of s as RFC 2047 Q encoded-words in UTF-8, each at
// most 75 characters long (section 2), folded onto continuation lines.
func qEncode(s string) string {
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
