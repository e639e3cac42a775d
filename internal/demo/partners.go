package demo

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"
	"time"
)

// Captured is one message the demo's SMTP server accepted.
type Captured struct {
	ID   int
	From string // envelope sender: the delivery's reply address
	To   []string
	Raw  []byte
}

// Source lists captured mail (the development SMTP server).
type Source interface{ Captured() []Captured }

// Mailbox receives the simulated answers (the campaign's IMAP mailbox).
type Mailbox interface {
	Append(mailbox string, raw []byte) error
}

// Simulator plays the demo partners: it watches the mail outreach sends
// and, after Delay, drops each partner's answer into the campaign mailbox
// as a real MIME message replying to the one it received.
type Simulator struct {
	Source  Source
	Mailbox Mailbox
	Delay   func(p Partner) time.Duration
	Log     *slog.Logger
	Now     func() time.Time

	seen     map[int]bool
	answered map[string]bool // partner+template: answer once per kind of message
}

// Run answers until ctx is done.
func (s *Simulator) Run(ctx context.Context) {
	if s.seen == nil {
		s.seen, s.answered = map[int]bool{}, map[string]bool{}
	}
	if s.Now == nil {
		s.Now = time.Now
	}
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, m := range s.Source.Captured() {
			if s.seen[m.ID] {
				continue
			}
			s.seen[m.ID] = true
			for _, rcpt := range m.To {
				p, ok := PartnerByEmail(rcpt)
				if !ok || p.Persona == Silent {
					continue
				}
				raw, err := s.answer(p, m)
				if err != nil || raw == nil {
					continue
				}
				delay := time.Second
				if s.Delay != nil {
					delay = s.Delay(p)
				}
				go func() {
					select {
					case <-ctx.Done():
					case <-time.After(delay):
						if err := s.Mailbox.Append("INBOX", raw); err != nil {
							s.Log.Error("demo partner could not answer", "partner", p.Email, "err", err)
							return
						}
						s.Log.Info("demo partner answered", "partner", p.Email, "persona", p.Persona)
					}
				}()
			}
		}
	}
}

// answer builds a partner's reply to m, or nil when it would not answer.
func (s *Simulator) answer(p Partner, m Captured) ([]byte, error) {
	orig, err := mail.ReadMessage(bytes.NewReader(m.Raw))
	if err != nil {
		return nil, err
	}
	subject := decode(orig.Header.Get("Subject"))
	isThanks := strings.Contains(strings.ToLower(subject), "thank") || strings.Contains(strings.ToLower(subject), "gracias") || strings.Contains(strings.ToLower(subject), "merci") || strings.Contains(strings.ToLower(subject), "obrigad")
	kind := "request"
	if isThanks {
		kind = "thanks"
	}
	// People answer a request once; a thank-you only draws an out-of-office.
	if s.answered[p.Email+kind] || (isThanks && p.Persona != OutOfOffice) {
		return nil, nil
	}
	s.answered[p.Email+kind] = true
	replyTo := m.From
	if a, err := mail.ParseAddress(orig.Header.Get("Reply-To")); err == nil {
		replyTo = a.Address
	}
	msgID := orig.Header.Get("Message-ID")
	body := quotedText(orig)
	switch p.Persona {
	case Bounce:
		return s.bounce(p, m, orig)
	case OutOfOffice:
		return s.message(p, replyTo, "Automatic reply: "+subject, msgID, map[string]string{"Auto-Submitted": "auto-replied", "X-Autoreply": "yes", "Precedence": "auto_reply"},
			"Thank you for your email. I am out of the office until next month with limited access to email. For urgent matters, please contact our office.", "", "")
	}
	text, html := replyText(p.Persona), ""
	if p.Persona == EndorseHTML {
		html = "<html><body><p>" + strings.ReplaceAll(text, "\n\n", "</p><p>") + "</p><blockquote>" + strings.ReplaceAll(body, "\n", "<br>") + "</blockquote></body></html>"
		text = ""
	}
	return s.message(p, replyTo, "Re: "+subject, msgID, nil, text, html, body)
}

func replyText(p Persona) string {
	switch p {
	case EndorseEN:
		return "Dear colleagues,\n\nYes, we endorse the joint letter. Please add our organisation to the list of endorsers.\n\nBest regards"
	case EndorseHTML:
		return "Hello,\n\nWe are happy to endorse the letter to our government. Count us in!\n\nKind regards"
	case EndorseES:
		return "Estimados colegas:\n\nSí, respaldamos la carta conjunta. Pueden incluir a nuestra organización en la lista de firmantes.\n\nSaludos cordiales"
	case EndorseFR:
		return "Chers collègues,\n\nOui, nous soutenons la lettre commune et acceptons d'y figurer parmi les signataires.\n\nBien cordialement"
	case EndorsePT:
		return "Caros colegas,\n\nSim, apoiamos a carta conjunta. Por favor incluam a nossa organização na lista de signatários.\n\nAtenciosamente"
	case Decline:
		return "Dear colleagues,\n\nThank you for the invitation. After discussing it with our board, we cannot endorse the letter at this time.\n\nBest wishes"
	case Question:
		return "Hello,\n\nBefore we decide: will the letter be published with our name, and who will deliver it to the President?\n\nThanks"
	case Unsubscribe:
		return "Please remove us from your mailing list. We do not wish to receive these emails.\n\nObrigada"
	case Conditional:
		return "Hola:\n\nRespaldaríamos la carta siempre que se mencione explícitamente el derecho a la vivienda. ¿Es posible?\n\nSaludos"
	}
	return "Thank you."
}

func decode(s string) string {
	if d, err := new(mime.WordDecoder).DecodeHeader(s); err == nil {
		return d
	}
	return s
}

// quotedText returns the first lines of the original's text part as a
// quote block.
func quotedText(orig *mail.Message) string {
	mt, params, _ := mime.ParseMediaType(orig.Header.Get("Content-Type"))
	var text string
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(orig.Body, params["boundary"])
		for {
			part, err := mr.NextPart()
			if err != nil {
				break
			}
			if strings.HasPrefix(part.Header.Get("Content-Type"), "text/plain") {
				var b bytes.Buffer
				b.ReadFrom(part) // multipart.Reader decodes quoted-printable
				text = b.String()
				break
			}
		}
	}
	lines := strings.Split(strings.TrimSpace(text), "\n")
	if len(lines) > 12 {
		lines = lines[:12]
	}
	for i, l := range lines {
		lines[i] = "> " + strings.TrimRight(l, "\r")
	}
	return "On " + orig.Header.Get("Date") + ", the campaign wrote:\n" + strings.Join(lines, "\n")
}

func newID(domain string) string {
	b := make([]byte, 8)
	rand.Read(b)
	return "<" + hex.EncodeToString(b) + "@" + domain + ">"
}

func domainOf(addr string) string { return addr[strings.LastIndexByte(addr, '@')+1:] }

// message writes a reply: text/plain (with the quote), or HTML only.
func (s *Simulator) message(p Partner, to, subject, inReplyTo string, extra map[string]string, text, html, quote string) ([]byte, error) {
	var b bytes.Buffer
	h := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	h("From", (&mail.Address{Name: p.Name, Address: p.Email}).String())
	h("To", "<"+to+">")
	h("Subject", mime.QEncoding.Encode("utf-8", subject))
	h("Date", s.Now().Format(time.RFC1123Z))
	h("Message-ID", newID(domainOf(p.Email)))
	if inReplyTo != "" {
		h("In-Reply-To", inReplyTo)
		h("References", inReplyTo)
	}
	for k, v := range extra {
		h(k, v)
	}
	h("MIME-Version", "1.0")
	body, ctype := text, "text/plain; charset=utf-8"
	if html != "" {
		body, ctype = html, "text/html; charset=utf-8"
	} else if quote != "" {
		body += "\n\n" + quote
	}
	h("Content-Type", ctype)
	h("Content-Transfer-Encoding", "quoted-printable")
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	qp.Write([]byte(strings.ReplaceAll(body, "\n", "\r\n")))
	qp.Close()
	return b.Bytes(), nil
}

// bounce writes an RFC 3464 delivery status notification as a mail server
// would for an address that no longer exists.
func (s *Simulator) bounce(p Partner, m Captured, orig *mail.Message) ([]byte, error) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	host := "mx." + domainOf(p.Email)
	fmt.Fprintf(&b, "From: Mail Delivery System <MAILER-DAEMON@%s>\r\nTo: <%s>\r\nSubject: Undelivered Mail Returned to Sender\r\nDate: %s\r\nMessage-ID: %s\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=%q\r\n\r\n",
		host, m.From, s.Now().Format(time.RFC1123Z), newID(host), mw.Boundary())
	w, _ := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {"text/plain; charset=us-ascii"}})
	fmt.Fprintf(w, "This is the mail system at host %s.\r\n\r\nI'm sorry to have to inform you that your message could not\r\nbe delivered to one or more recipients.\r\n\r\n<%s>: host %s said: 550 5.1.1 <%s>: Recipient address rejected: User unknown\r\n", host, p.Email, host, p.Email)
	w, _ = mw.CreatePart(textproto.MIMEHeader{"Content-Type": {"message/delivery-status"}})
	fmt.Fprintf(w, "Reporting-MTA: dns; %s\r\nArrival-Date: %s\r\n\r\nFinal-Recipient: rfc822; %s\r\nOriginal-Recipient: rfc822;%s\r\nAction: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 <%s>: Recipient address rejected: User unknown\r\n",
		host, s.Now().Format(time.RFC1123Z), p.Email, p.Email, p.Email)
	w, _ = mw.CreatePart(textproto.MIMEHeader{"Content-Type": {"text/rfc822-headers"}})
	for _, k := range []string{"Date", "From", "To", "Subject", "Message-ID", "Reply-To"} {
		if v := orig.Header.Get(k); v != "" {
			fmt.Fprintf(w, "%s: %s\r\n", k, v)
		}
	}
	mw.Close()
	return b.Bytes(), nil
}
