package devmail

import (
	"bufio"
	"bytes"
	"crypto/subtle"
	"errors"
	"io"
	"mime"
	"net/textproto"
	"strings"

	"github.com/emersion/go-sasl"
	smtp "github.com/emersion/go-smtp"
)

type backend struct{ s *Server }

func (b backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	// After STARTTLS go-smtp opens a second session on the same connection;
	// count the connection once.
	if _, isTLS := c.TLSConnectionState(); !isTLS || b.s.o.ImplicitTLS {
		b.s.newConn()
	}
	b.s.sessionOpened(1)
	sess := &session{s: b.s, conn: c}
	if b.s.o.Username != "" {
		return &authSession{sess}, nil
	}
	return sess, nil
}

// session is one SMTP session; go-smtp calls its methods from the
// connection's goroutine only.
type session struct {
	s      *Server
	conn   *smtp.Conn
	authed bool
	from   string
	to     []string
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if ss.s.o.Username != "" && !ss.authed {
		return smtp.ErrAuthRequired
	}
	if err := ss.hook(StageMail, from, ""); err != nil {
		return err
	}
	ss.from = from
	ss.to = nil
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if err := ss.hook(StageRcpt, ss.from, to); err != nil {
		return err
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	var raw []byte
	var err error
	if ss.s.keep > 0 {
		raw, err = io.ReadAll(r)
	} else {
		_, err = io.Copy(io.Discard, r)
	}
	if err != nil {
		return err
	}
	for _, rcpt := range ss.to {
		if err := ss.hook(StageData, ss.from, rcpt); err != nil {
			return err
		}
	}
	var subject string
	if raw != nil {
		subject = subjectOf(raw)
	}
	to := ss.to
	ss.to = nil
	id := ss.s.accept(ss.from, to, raw, subject)
	ss.s.log.Info("devmail: message accepted", "id", id, "from", ss.from, "to", to, "subject", subject)
	return nil
}

// hook consults Options.Hook and carries out an ErrDrop.
func (ss *session) hook(stage Stage, from, rcpt string) error {
	h := ss.s.o.Hook
	if h == nil {
		return nil
	}
	addr := rcpt
	if stage == StageMail {
		addr = from
	}
	err := h(stage, from, rcpt, ss.s.attempt(stage, addr))
	if errors.Is(err, ErrDrop) {
		_ = ss.conn.Conn().Close()
	}
	return err
}

func (ss *session) Reset() {
	ss.from = ""
	ss.to = nil
}

func (ss *session) Logout() error {
	ss.s.sessionOpened(-1)
	return nil
}

// authSession is a session that requires AUTH PLAIN before MAIL.
type authSession struct{ *session }

func (as *authSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (as *authSession) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(identity, username, password string) error {
		o := as.s.o
		userOK := subtle.ConstantTimeCompare([]byte(username), []byte(o.Username)) == 1
		passOK := subtle.ConstantTimeCompare([]byte(password), []byte(o.Password)) == 1
		if !userOK || !passOK || (identity != "" && identity != username) {
			return smtp.ErrAuthFailed
		}
		as.authed = true
		return nil
	}), nil
}

// subjectOf returns the decoded Subject of a raw message, or "" if it has
// none. A malformed header yields what could be read before the fault.
// Line breaks decoded from encoded words become spaces, so the subject is
// safe to log on one line.
func subjectOf(raw []byte) string {
	h, _ := textproto.NewReader(bufio.NewReader(bytes.NewReader(raw))).ReadMIMEHeader()
	subject := h.Get("Subject")
	var d mime.WordDecoder
	if out, err := d.DecodeHeader(subject); err == nil {
		subject = out
	}
	return strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return ' '
		}
		return r
	}, subject)
}
