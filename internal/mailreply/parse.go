package mailreply

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"mime"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/charset"
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"
	"golang.org/x/text/encoding/charmap"

	"github.com/outreach-coalition/outreach/internal/outreach"
)

// MaxMessageBytes caps how much of a message Parse reads. Parse reads at most
// this many bytes and parses them as if they were the whole message: headers
// and every part that fits are decoded, the part cut at the limit yields the
// text read up to the cut, and Message.Truncated is set. The rest of the
// reader is left unread.
const MaxMessageBytes = 10 << 20

// maxDepth bounds MIME nesting; deeper parts are skipped.
const maxDepth = 16

// Message is a parsed email, reduced to what the reply pipeline needs.
type Message struct {
	MessageID   string   // without <>
	From        string   // bare address, as given
	FromName    string   // display name, RFC 2047 decoded
	To, Cc      []string // bare addresses
	DeliveredTo []string // bare addresses from Delivered-To and X-Original-To
	ReturnPath  string   // bare address; "" when absent; "<>" means the null sender
	Subject     string   // RFC 2047 decoded
	Date        time.Time
	InReplyTo   []string // message ids without <>
	References  []string // message ids without <>

	// Text is the whole human-readable body decoded to UTF-8: the inline
	// text/plain parts, or for HTML-only mail the HTML converted to text
	// (script and style dropped, block elements on their own lines,
	// blockquote content prefixed with "> "). Embedded messages, delivery
	// status fields and attachments are not part of it.
	Text string
	// NewText is the reply's own new text: Text without quoted lines, the
	// quoted original under an attribution line ("On ... wrote:" and its
	// es/fr/pt/de forms), Outlook "-----Original Message-----" and
	// "From:/Sent:" blocks, forwarded messages, mobile "Sent from my ..."
	// lines and the signature after a "-- " line.
	NewText string

	// Automated is non-empty, and says why, when the headers or the MIME
	// structure mark the message as machine-generated: Auto-Submitted other
	// than "no" (RFC 3834), X-Autoreply, X-Autorespond, a null Return-Path,
	// a multipart/report body (RFC 6522), Precedence auto_reply, bulk, junk
	// or list, X-Auto-Response-Suppress. Several reasons are joined by "; ".
	Automated string
	// Bounces lists the recipients a delivery status notification reports
	// on: from RFC 3464 message/delivery-status (and RFC 6533
	// message/global-delivery-status) parts, or read from the text of the
	// common non-standard bounces (qmail, Exchange, "Mail Delivery
	// Subsystem"). Hard is set when the Action is "failed", whatever the
	// status class.
	Bounces []outreach.Bounce
	// OriginalMessageID is the Message-ID (without <>) of the message a
	// bounce or an automated reply returns, read from its
	// text/rfc822-headers or message/rfc822 part or from the copy of the
	// headers in a non-standard bounce's text.
	OriginalMessageID string
	// Attachments counts the parts that are not body text: files, images,
	// attached messages.
	Attachments int
	// Truncated is set when the input was longer than MaxMessageBytes.
	Truncated bool
}

// Parse reads one message. It never panics and tolerates broken input: an
// unparseable header line is skipped, an unknown charset falls back to
// UTF-8 or Windows-1252, and a damaged MIME part stops only that part, so
// the rest still yields what it can. It returns an error only when r fails
// or holds nothing that looks like a message.
func Parse(r io.Reader) (*Message, error) {
	buf, err := io.ReadAll(io.LimitReader(r, MaxMessageBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read message: %w", err)
	}
	m := &Message{}
	if len(buf) > MaxMessageBytes {
		buf = buf[:MaxMessageBytes]
		m.Truncated = true
	}
	headBytes, body := splitHeader(buf)
	h, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(cleanHeader(headBytes))))
	if err != nil && h.Len() == 0 {
		return nil, fmt.Errorf("read message header: %w", err)
	}
	if h.Len() == 0 && len(bytes.TrimSpace(body)) == 0 {
		return nil, fmt.Errorf("read message: %w", outreach.Errorf(outreach.EINVALID, "no header and no body"))
	}
	m.readHeader(mail.Header{Header: message.Header{Header: h}})

	w := &walker{m: m}
	part := w.entity(h, bytes.NewReader(body), 0)
	if part.text == "" && w.failed && w.parts == 0 {
		part.text = decodeText(body, "")
	}
	m.Text = tidy(part.text)
	m.NewText = newText(m.Text)
	m.Automated = automated(h, w.report)
	w.findBounces()
	if w.embeddedID != "" && (w.report != "" || m.Automated != "" || len(m.Bounces) > 0) {
		m.OriginalMessageID = w.embeddedID
	}
	return m, nil
}

// splitHeader splits a raw message at the first empty line. A message
// without one is all header.
func splitHeader(b []byte) (head, body []byte) {
	for i := 0; i < len(b); {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			break
		}
		line := b[i : i+j]
		if len(line) == 0 || (len(line) == 1 && line[0] == '\r') {
			return b[:i], b[i+j+1:]
		}
		i += j + 1
	}
	return b, nil
}

// cleanHeader drops what a strict header reader would stop at: an mbox
// "From " line, lines without a colon, keys with invalid characters and
// continuation lines without a field to continue.
func cleanHeader(b []byte) []byte {
	var out bytes.Buffer
	out.Grow(len(b) + 2)
	kept := false
	for len(b) > 0 {
		var line []byte
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			line, b = b, nil
		}
		line = bytes.TrimRight(line, "\r")
		if len(line) == 0 {
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			if kept {
				out.Write(line)
				out.WriteString("\r\n")
			}
			continue
		}
		kept = validField(line)
		if kept {
			out.Write(line)
			out.WriteString("\r\n")
		}
	}
	out.WriteString("\r\n")
	return out.Bytes()
}

func validField(line []byte) bool {
	i := bytes.IndexByte(line, ':')
	if i <= 0 {
		return false
	}
	for _, c := range bytes.TrimRight(line[:i], " \t") {
		if c < 33 || c > 126 || c == ':' {
			return false
		}
	}
	return true
}

func (m *Message) readHeader(h mail.Header) {
	if id, err := h.MessageID(); err == nil && id != "" {
		m.MessageID = id
	} else {
		m.MessageID = firstID(h.Get("Message-Id"))
	}
	m.From, m.FromName = firstAddress(h, "From")
	m.To = addresses(h, "To")
	m.Cc = addresses(h, "Cc")
	for _, key := range []string{"Delivered-To", "X-Original-To"} {
		for _, v := range h.Values(key) {
			if a := bareAddress(v); a != "" {
				m.DeliveredTo = append(m.DeliveredTo, a)
			}
		}
	}
	if rp := h.Values("Return-Path"); len(rp) > 0 {
		v := strings.TrimSpace(rp[0])
		if a := bareAddress(v); a != "" {
			m.ReturnPath = a
		} else if strings.Trim(v, "<> \t") == "" {
			m.ReturnPath = "<>"
		}
	}
	m.Subject = headerText(h, "Subject")
	if d, err := h.Date(); err == nil {
		m.Date = d
	}
	m.InReplyTo = idList(h, "In-Reply-To")
	m.References = idList(h, "References")
}

var (
	angleAddr = regexp.MustCompile(`<\s*([^<>\s@]+@[^<>\s]+?)\s*>`)
	bareAddr  = regexp.MustCompile(`[^\s<>"'(),;:\[\]]+@[^\s<>"'(),;:\[\]]+\.[^\s<>"'(),;:\[\]]+`)
	msgIDRe   = regexp.MustCompile(`<([^<>\s]+)>`)
)

// bareAddress extracts one address from a header value or a line of text.
func bareAddress(s string) string {
	if m := angleAddr.FindStringSubmatch(s); m != nil {
		return m[1]
	}
	return strings.TrimRight(bareAddr.FindString(s), ".")
}

func firstAddress(h mail.Header, key string) (addr, name string) {
	v := h.Get(key)
	if v == "" {
		return "", ""
	}
	if l, err := h.AddressList(key); err == nil && len(l) > 0 {
		return l[0].Address, fixText(l[0].Name)
	}
	addr = bareAddress(v)
	if i := strings.IndexByte(v, '<'); i > 0 {
		name = strings.Trim(strings.TrimSpace(v[:i]), `"`)
		if dec, err := (&mime.WordDecoder{CharsetReader: charset.Reader}).DecodeHeader(name); err == nil {
			name = dec
		}
	}
	return addr, fixText(name)
}

func addresses(h mail.Header, key string) []string {
	v := h.Get(key)
	if v == "" {
		return nil
	}
	var out []string
	if l, err := h.AddressList(key); err == nil {
		for _, a := range l {
			out = append(out, a.Address)
		}
		return out
	}
	for _, part := range strings.Split(v, ",") {
		if a := bareAddress(part); a != "" {
			out = append(out, a)
		}
	}
	return out
}

func headerText(h mail.Header, key string) string {
	v, err := h.Text(key)
	if err != nil {
		v = h.Get(key)
	}
	return strings.TrimSpace(fixText(v))
}

func idList(h mail.Header, key string) []string {
	if l, err := h.MsgIDList(key); err == nil {
		return l
	}
	var out []string
	for _, m := range msgIDRe.FindAllStringSubmatch(h.Get(key), -1) {
		out = append(out, m[1])
	}
	return out
}

func firstID(v string) string {
	if m := msgIDRe.FindStringSubmatch(v); m != nil {
		return m[1]
	}
	return strings.Trim(strings.TrimSpace(v), "<>")
}

// fixText makes s valid UTF-8, reading raw 8-bit bytes as Windows-1252.
func fixText(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return decodeText([]byte(s), "windows-1252")
}

// decodeText decodes a body in the declared charset. Undeclared, unknown or
// wrongly declared UTF-8/ASCII bodies are read as UTF-8 when valid and as
// Windows-1252 (a superset of ISO-8859-1's printable range) otherwise.
func decodeText(b []byte, cs string) string {
	cs = strings.ToLower(strings.TrimSpace(cs))
	switch cs {
	case "", "utf-8", "utf8", "us-ascii", "ascii", "iso-646-us":
	default:
		if r, err := charset.Reader(cs, bytes.NewReader(b)); err == nil {
			if out, err := io.ReadAll(r); err == nil {
				return strings.ToValidUTF8(string(out), "\uFFFD")
			}
		}
	}
	if utf8.Valid(b) {
		return string(b)
	}
	out, err := charmap.Windows1252.NewDecoder().Bytes(b)
	if err != nil {
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	return string(out)
}

// tidy normalises line ends, drops trailing spaces and NULs, collapses runs
// of blank lines and trims the text.
func tidy(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	s = strings.ReplaceAll(s, "\x00", "")
	lines := strings.Split(s, "\n")
	out := lines[:0]
	blank := 0
	for _, l := range lines {
		l = strings.TrimRight(l, " \t\u00a0")
		if l == "" {
			blank++
			if blank > 1 {
				continue
			}
		} else {
			blank = 0
		}
		out = append(out, l)
	}
	return strings.Trim(strings.Join(out, "\n"), "\n")
}
