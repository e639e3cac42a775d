package render

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/mail"
	"net/url"
	"slices"
	"strings"
	"time"

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

	Boundary string // the multipart boundary; empty: 30 random bytes in hex, as go-mail
}

// reserved reports the headers only Compose sets (case-insensitively).
// Auto-Submitted is among them: a campaign message is sent on a person's
// behalf and must not look automatic (RFC 3834), or replies are suppressed.
func reserved(k string) bool {
	for _, r := range [...]string{"from", "sender", "to", "cc", "bcc", "reply-to", "subject", "date", "message-id",
		"mime-version", "content-type", "content-transfer-encoding", "return-path",
		"list-unsubscribe", "list-unsubscribe-post", "auto-submitted"} {
		if strings.EqualFold(k, r) {
			return true
		}
	}
	return false
}

// Message is a composed message: what an SMTP transaction needs.
type Message struct {
	Sender string // envelope sender (return path): the address of Envelope.ReplyTo
	Data   []byte // the RFC 5322 message: CRLF line ends, 7-bit ASCII, not dot-stuffed
}

// WriteTo writes m.Data (previews, exports).
func (m Message) WriteTo(w io.Writer) (int64, error) {
	n, err := w.Write(m.Data)
	return int64(n), err
}

// Compose builds the message to send: multipart/alternative with
// the text and HTML bodies in UTF-8 quoted-printable (RFC 2045, RFC 2046),
// the Message-ID and Date given, no User-Agent, and the subject and
// display names RFC 2047-encoded so the header is ASCII on the wire (RFC
// 6532 needs SMTPUTF8, which Dovecot 2.3 lacks). The envelope sender
// (return path) is ReplyTo, so bounces come back with the delivery's
// token. It never sets Auto-Submitted. A line break or other control
// character in any header value is refused.
//
// It appends the message to dst[:0] (dst may be nil; pass a reused buffer
// to avoid allocating) and returns it in Message.Data. The bytes are those
// go-mail v0.8.1 wrote for the same message, header fields in the same
// order and folded the same way, except that no header line is ever
// longer than the 998 characters RFC 5322 section 2.1.1 allows: a subject
// that would give one is Q-encoded, a display name is dropped, and any
// other such value is refused.
func Compose(dst []byte, r *Rendered, e *Envelope) (Message, error) {
	if r == nil || e == nil {
		return Message{}, fmt.Errorf("compose: nil message or envelope")
	}
	var buf [8]string
	keys := buf[:0]
	for k := range e.Headers {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var h fields
	if err := h.check(r, e, keys); err != nil {
		return Message{}, err
	}
	dst = slices.Grow(dst[:0], 1024+len(r.Text)+len(r.HTML)+(len(r.Text)+len(r.HTML))/4)
	dst, err := h.appendHeader(dst, r, e, keys)
	if err != nil {
		return Message{}, err
	}
	dst = appendBody(dst, r, e.Boundary)
	return Message{Sender: h.replyTo.Address, Data: dst}, nil
}

// fields are the header fields of a message, checked.
type fields struct {
	from, to, replyTo mail.Address
	post              bool // List-Unsubscribe-Post
	preformatted      bool // the subject Q-encoded by appendQEncoded
}

// check checks r and e, keys being e's header names, sorted, and sets h.
func (h *fields) check(r *Rendered, e *Envelope, keys []string) error {
	var err error
	if h.from, err = address("from", e.From, ""); err != nil {
		return err
	}
	if h.to, err = address("to", e.To, e.ToName); err != nil {
		return err
	}
	if h.replyTo, err = address("reply_to", e.ReplyTo, ""); err != nil {
		return err
	}
	if err := messageID(e.MessageID); err != nil {
		return err
	}
	if e.Date.IsZero() {
		return outreach.FieldError("date", "is required")
	}
	if r.Subject == "" || strings.ContainsFunc(r.Subject, isControl) {
		return outreach.FieldError("subject", "%q is empty or has a line break or control character", r.Subject)
	}
	if h.post, err = listHeaders(e.ListUnsubscribeURL, e.ListUnsubscribeMailto); err != nil {
		return err
	}
	for _, k := range keys {
		if err := extraHeader(k, e.Headers[k]); err != nil {
			return err
		}
	}
	if err := boundary(e.Boundary); err != nil {
		return err
	}
	if err := lineLimits(e, keys); err != nil {
		return err
	}
	h.preformatted = needsQ(r.Subject) || !needsEncoding(r.Subject) && longWord(r.Subject)
	return nil
}

// appendHeader appends the header as go-mail wrote it: the generic
// fields sorted by name (extra headers among them), the subject when
// preformatted, From, To, Reply-To, and the multipart Content-Type
// without its boundary.
func (h *fields) appendHeader(dst []byte, r *Rendered, e *Envelope, keys []string) ([]byte, error) {
	dst, keys = appendExtras(dst, e, keys, "Date")
	var date [64]byte
	dst = appendHeader(dst, "Date", e.Date.AppendFormat(date[:0], time.RFC1123Z))
	if e.ListUnsubscribeURL != "" || e.ListUnsubscribeMailto != "" {
		dst, keys = appendExtras(dst, e, keys, "List-Unsubscribe")
		dst = appendListUnsubscribe(dst, e.ListUnsubscribeURL, e.ListUnsubscribeMailto)
	}
	if h.post {
		dst, keys = appendExtras(dst, e, keys, "List-Unsubscribe-Post")
		dst = appendHeader(dst, "List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
	}
	dst, keys = appendExtras(dst, e, keys, "MIME-Version")
	dst = appendHeader(dst, "MIME-Version", "1.0")
	dst, keys = appendExtras(dst, e, keys, "Message-ID")
	dst, f := startHeader(dst, "Message-ID")
	dst = append(append(append(f.next(dst, len(e.MessageID)+2), '<'), e.MessageID...), '>', '\r', '\n')
	if !h.preformatted {
		dst, keys = appendExtras(dst, e, keys, "Subject")
		dst = appendTextHeader(dst, "Subject", r.Subject)
	}
	dst, keys = appendExtras(dst, e, keys, "")
	if h.preformatted {
		dst = append(dst, "Subject: "...)
		dst = append(appendQEncoded(dst, r.Subject), '\r', '\n')
	}
	var scratch [256]byte
	for _, a := range [...]struct {
		key, field string
		addr       mail.Address
	}{{"From", "from", h.from}, {"To", "to", h.to}, {"Reply-To", "reply_to", h.replyTo}} {
		v := appendAddress(scratch[:0], a.addr)
		if longWord(v) && a.addr.Name != "" {
			v = appendAddress(scratch[:0], mail.Address{Address: a.addr.Address})
		}
		if longWord(v) {
			return nil, outreach.FieldError(a.field, "%q is too long for a header line (RFC 5322 section 2.1.1)", a.addr.Address)
		}
		dst = appendHeader(dst, a.key, v)
	}
	return dst, nil
}

// appendExtras appends the extra headers of e named by sorted keys that
// sort before the name given, or all of them for "", and returns the
// keys left.
func appendExtras(dst []byte, e *Envelope, keys []string, before string) ([]byte, []string) {
	for ; len(keys) > 0 && (before == "" || keys[0] < before); keys = keys[1:] {
		dst = appendTextHeader(dst, keys[0], e.Headers[keys[0]])
	}
	return dst, keys
}

// appendListUnsubscribe appends List-Unsubscribe (RFC 2369) with the URIs
// given.
func appendListUnsubscribe(dst []byte, httpURL, mailto string) []byte {
	dst, f := startHeader(dst, "List-Unsubscribe")
	if httpURL != "" {
		n := len(httpURL) + 2
		if mailto != "" {
			n++ // the word is "<URL>,"
		}
		dst = append(append(append(f.next(dst, n), '<'), httpURL...), '>')
		if mailto != "" {
			dst = append(dst, ',')
		}
	}
	if mailto != "" {
		dst = append(append(append(f.next(dst, len(mailto)+2), '<'), mailto...), '>')
	}
	return append(dst, '\r', '\n')
}

// appendBody appends the multipart/alternative Content-Type with its
// boundary (a random one when boundary is empty), the end of the header,
// and the text and HTML parts in quoted-printable, as go-mail and
// mime/multipart wrote them (RFC 2046 section 5.1.1).
func appendBody(dst []byte, r *Rendered, boundary string) []byte {
	dst = append(dst, "Content-Type: multipart/alternative;\r\n boundary="...)
	b := len(dst)
	if boundary != "" {
		dst = append(dst, boundary...)
	} else {
		var random [30]byte
		_, _ = rand.Read(random[:]) // never fails (crypto/rand)
		dst = hex.AppendEncode(dst, random[:])
	}
	n := len(dst) - b
	dst = append(dst, "\r\n\r\n--"...)
	dst = append(dst, dst[b:b+n]...)
	dst = append(dst, "\r\nContent-Transfer-Encoding: quoted-printable\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n"...)
	dst = appendQP(dst, r.Text)
	dst = append(dst, "\r\n--"...)
	dst = append(dst, dst[b:b+n]...)
	dst = append(dst, "\r\nContent-Transfer-Encoding: quoted-printable\r\nContent-Type: text/html; charset=UTF-8\r\n\r\n"...)
	dst = appendQP(dst, r.HTML)
	dst = append(dst, "\r\n--"...)
	dst = append(dst, dst[b:b+n]...)
	return append(dst, "--\r\n"...)
}

// lineLimits refuses the values that would make a header line longer
// than RFC 5322 section 2.1.1 allows: header fields are folded only at
// spaces, and Message-IDs, URIs and printable ASCII header values are
// written as they are.
func lineLimits(e *Envelope, keys []string) error {
	if len(e.MessageID)+2 >= maxLine {
		return outreach.FieldError("message_id", "is %d characters long, too long for a header line (RFC 5322 section 2.1.1)", len(e.MessageID))
	}
	comma := 0 // the URL's word is "<URL>," when the mailto follows
	if e.ListUnsubscribeMailto != "" {
		comma = 1
	}
	if n := len(e.ListUnsubscribeURL); n+2+comma >= maxLine {
		return outreach.FieldError("list_unsubscribe_url", "is %d characters long, too long for a header line (RFC 5322 section 2.1.1)", n)
	}
	if n := len(e.ListUnsubscribeMailto); n+2 >= maxLine {
		return outreach.FieldError("list_unsubscribe_mailto", "is %d characters long, too long for a header line (RFC 5322 section 2.1.1)", n)
	}
	for _, k := range keys {
		if v := e.Headers[k]; len(k) >= maxLine || !needsEncoding(v) && longWord(v) {
			return outreach.FieldError("headers", "%.40s: a name or word too long for a header line (RFC 5322 section 2.1.1)", k)
		}
	}
	return nil
}

// boundary checks a caller's multipart boundary (RFC 2046 section 5.1.1):
// 1 to 70 characters that need no quoting in the Content-Type parameter.
// Empty means a random one.
func boundary(b string) error {
	if len(b) > 70 || strings.ContainsFunc(b, func(r rune) bool {
		return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || strings.ContainsRune("'+_-.", r))
	}) {
		return outreach.FieldError("boundary", "%q is not 1 to 70 letters, digits or '+_-.", b)
	}
	return nil
}

// address parses one address and, when name is given, sets it as the
// display name. The address must be ASCII (no SMTPUTF8 on the way).
func address(field, s, name string) (mail.Address, error) {
	if strings.TrimSpace(s) == "" {
		return mail.Address{}, outreach.FieldError(field, "is required")
	}
	if strings.ContainsFunc(s, isControl) {
		return mail.Address{}, outreach.FieldError(field, "%q has a line break or control character", s)
	}
	a, err := parseAddress(s)
	if err != nil {
		return mail.Address{}, outreach.FieldError(field, "%q is not an email address", s)
	}
	for _, c := range a.Address {
		if c > 0x7e {
			return mail.Address{}, outreach.FieldError(field, "%q is not ASCII; the relay path has no SMTPUTF8", a.Address)
		}
	}
	if name != "" {
		if strings.ContainsFunc(name, isControl) {
			return mail.Address{}, outreach.FieldError(field+"_name", "%q has a line break or control character", name)
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

// parseAddress is mail.ParseAddress without its allocations for the
// usual forms, "local@domain" and "Display Name <local@domain>" in ASCII
// atoms.
func parseAddress(s string) (mail.Address, error) {
	name, spec := "", s
	if i := strings.LastIndex(s, " <"); i > 0 && s[len(s)-1] == '>' {
		name, spec = s[:i], s[i+2:len(s)-1]
	}
	if phrase(name) && addrSpec(spec) {
		return mail.Address{Name: name, Address: spec}, nil
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return mail.Address{}, err
	}
	return *a, nil
}

// atext reports the characters of an RFC 5322 atom in ASCII (section
// 3.2.3).
func atext(b byte) bool { return atextTable[b] }

var atextTable = func() (t [256]bool) {
	for b := '!'; b <= '~'; b++ {
		t[b] = !strings.ContainsRune(`()<>[]:;@\,".`, b)
	}
	return t
}()

// dotAtom reports an RFC 5322 dot-atom-text in ASCII: atoms joined by
// single dots.
func dotAtom(s string) bool {
	for i := 0; i < len(s); i++ {
		if !atext(s[i]) && (s[i] != '.' || i == 0 || i == len(s)-1 || s[i-1] == '.') {
			return false
		}
	}
	return s != ""
}

// addrSpec reports a dot-atom "@" dot-atom in ASCII, which net/mail
// parses as it is and writes as it is within <>.
func addrSpec(s string) bool {
	at := strings.IndexByte(s, '@')
	return at >= 0 && dotAtom(s[:at]) && dotAtom(s[at+1:])
}

// phrase reports a display name net/mail parses as it is: empty, or
// ASCII atoms (dots allowed) joined by single spaces, without "=?".
func phrase(s string) bool {
	if strings.Contains(s, "=?") {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !atext(s[i]) && s[i] != '.' && (s[i] != ' ' || i == 0 || i == len(s)-1 || s[i-1] == ' ') {
			return false
		}
	}
	return true
}

// appendAddress appends a as mail.Address.String writes it, without
// allocating when the local part is a dot-atom and the display name is
// printable ASCII.
func appendAddress(dst []byte, a mail.Address) []byte {
	at := strings.LastIndexByte(a.Address, '@')
	if at < 0 || !dotAtom(a.Address[:at]) || needsEncoding(a.Name) {
		return append(dst, addressString(a)...)
	}
	if a.Name != "" {
		dst = append(dst, '"')
		for i := 0; i < len(a.Name); i++ {
			if b := a.Name[i]; b == '"' || b == '\\' {
				dst = append(dst, '\\', b)
			} else {
				dst = append(dst, b)
			}
		}
		dst = append(dst, '"', ' ')
	}
	return append(append(append(dst, '<'), a.Address...), '>')
}

// addressString is a.String, its copy of a allocated only when called.
func addressString(a mail.Address) string { return a.String() }

func messageID(id string) error {
	at := strings.LastIndexByte(id, '@')
	if at <= 0 || at == len(id)-1 || strings.ContainsFunc(id, func(r rune) bool {
		return r <= ' ' || r > '~' || r == '<' || r == '>' || r == '"' || r == '(' || r == ')' || r == ',' || r == ';' || r == '\\'
	}) {
		return outreach.FieldError("message_id", "%q is not left@right without <>, spaces or specials", id)
	}
	return nil
}

// listHeaders checks the List-Unsubscribe URIs (RFC 2369) and reports
// whether List-Unsubscribe-Post: List-Unsubscribe=One-Click (RFC 8058) is
// due: for an https URL. Both empty means no list headers.
func listHeaders(httpURL, mailto string) (post bool, err error) {
	if httpURL != "" {
		u, err := url.Parse(httpURL)
		if err != nil || !uriSafe(httpURL) || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return false, outreach.FieldError("list_unsubscribe_url", "%q is not an http(s) URL without spaces, commas or <>", httpURL)
		}
		post = u.Scheme == "https"
	}
	if mailto != "" {
		if !strings.HasPrefix(mailto, "mailto:") || !uriSafe(mailto) || !strings.Contains(mailto, "@") {
			return false, outreach.FieldError("list_unsubscribe_mailto", "%q is not a mailto: URI without spaces, commas or <>", mailto)
		}
	}
	return post, nil
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
