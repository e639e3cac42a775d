// Package devimap is a small IMAP server for development and the demo: one
// user with an in-memory mailbox, served on loopback by go-imap v2's
// imapserver and imapmemserver. Mail is lost when it stops.
package devimap

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
)

// Server is a running in-memory IMAP server.
type Server struct {
	user *imapmemserver.User
	srv  *imapserver.Server
	ln   net.Listener
}

// Start serves an IMAP server with one user on a loopback address ("" for
// 127.0.0.1:0). The user's INBOX exists from the start.
func Start(ctx context.Context, addr, username, password string) (*Server, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("devimap: %w", err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("devimap: %s is not a loopback address", addr)
	}
	mem := imapmemserver.New()
	user := imapmemserver.NewUser(username, password)
	if err := user.Create("INBOX", nil); err != nil {
		return nil, err
	}
	mem.AddUser(user)
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("devimap: %w", err)
	}
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return mem.NewSession(), nil, nil
		},
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}},
		InsecureAuth: true, // loopback only
		Logger:       log.New(io.Discard, "", 0),
	})
	go srv.Serve(ln)
	return &Server{user: user, srv: srv, ln: ln}, nil
}

// Addr returns the listening address.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Append delivers raw to a mailbox of the user.
func (s *Server) Append(mailbox string, raw []byte) error {
	_, err := s.user.Append(mailbox, literal{bytes.NewReader(raw), int64(len(raw))}, &imap.AppendOptions{Time: time.Now()})
	return err
}

// Count returns the number of messages in a mailbox (0 if it does not exist).
func (s *Server) Count(mailbox string) int {
	st, err := s.user.Status(mailbox, &imap.StatusOptions{NumMessages: true})
	if err != nil || st.NumMessages == nil {
		return 0
	}
	return int(*st.NumMessages)
}

// Close stops the server.
func (s *Server) Close() error { return s.srv.Close() }

type literal struct {
	*bytes.Reader
	n int64
}

func (l literal) Size() int64 { return l.n }
