// Package devmail is an SMTP server for development and tests: it accepts
// mail on a loopback address and keeps it in memory instead of delivering it.
//
// It serves three uses: `outreach devmail` (standalone), `outreach serve`
// without smtp.url (mail is captured, not delivered), and every test that
// sends mail. For fault tests a Hook can reject any stage with a chosen SMTP
// reply (RFC 5321 §4.2) or drop the connection abruptly, and the server can
// be stopped and restarted on the same address.
//
// It is built on github.com/emersion/go-smtp. It refuses to listen on
// anything but a loopback address, so it can never become an open relay.
package devmail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	smtp "github.com/emersion/go-smtp"
)

// DefaultKeep is the number of messages kept when Options.Keep is zero.
const DefaultKeep = 10000

// KeepNone, as Options.Keep, keeps no message: the server only counts them.
// It is the setting for throughput benchmarks.
const KeepNone = -1

// Options configures a Server. The zero value listens on 127.0.0.1 on a
// free port, without TLS or authentication, and keeps DefaultKeep messages.
type Options struct {
	// Addr is the listening address, "127.0.0.1:0" by default. Only loopback
	// addresses (127.0.0.0/8, ::1, localhost) are accepted.
	Addr string
	// Domain is the name in the greeting, "localhost" by default.
	Domain string
	// Username and Password, if set, make AUTH PLAIN (RFC 4954, RFC 4616)
	// mandatory before MAIL. AUTH is allowed without TLS (loopback only).
	Username, Password string
	// TLSConfig, if not nil, makes the server offer STARTTLS (RFC 3207), or
	// speak TLS from the first byte when ImplicitTLS is set (RFC 8314).
	TLSConfig   *tls.Config
	ImplicitTLS bool
	// Keep is the number of messages kept in memory, oldest dropped first:
	// 0 means DefaultKeep, KeepNone (or any negative number) keeps none and
	// does not retain message bodies. Count and CountFor count all messages.
	Keep int
	// ReadTimeout, if positive, makes the server close a connection idle
	// for that long with "421 4.4.2 Idle timeout", as real servers do.
	ReadTimeout time.Duration
	// Hook, if set, is consulted at each stage of every transaction.
	// Returning a *smtp.SMTPError (go-smtp's type) rejects the command with
	// that reply; returning ErrDrop closes the connection without a reply
	// (at StageData: after the body was read, a mid-DATA drop); any other
	// error is a "451 4.0.0" at StageMail and StageRcpt and a "554 5.0.0" at
	// StageData (go-smtp's defaults). At StageMail rcpt is empty. attempt is
	// how many times this recipient (at StageMail: this sender) has reached
	// this stage, counting from 1 and including this time. At StageData the
	// hook is called once per recipient; the first error wins. Hook may be
	// called from several goroutines at once.
	Hook func(stage Stage, from, rcpt string, attempt int) error
	// Logger receives one Info line per accepted message and go-smtp's
	// internal errors. Nil discards them.
	Logger *slog.Logger
}

// Stage is a step of an SMTP transaction at which Options.Hook is consulted.
type Stage int

const (
	StageMail Stage = iota + 1 // MAIL FROM received
	StageRcpt                  // RCPT TO received
	StageData                  // message body read, not yet accepted
)

func (s Stage) String() string {
	switch s {
	case StageMail:
		return "mail"
	case StageRcpt:
		return "rcpt"
	case StageData:
		return "data"
	}
	return fmt.Sprintf("Stage(%d)", int(s))
}

// ErrDrop, returned by a Hook, makes the server close the connection at once
// without replying.
var ErrDrop = errors.New("devmail: drop the connection")

// Message is an accepted message. Raw is nil when the server keeps no
// messages; it must not be modified.
type Message struct {
	ID       int // 1 for the first message accepted, then 2, 3, ...
	From     string
	To       []string
	Received time.Time
	Raw      []byte
	Subject  string // decoded (RFC 2047)
}

// Server is a running devmail server. Its methods are safe for concurrent use.
type Server struct {
	o    Options
	log  *slog.Logger
	keep int

	life    sync.Mutex // serialises Start, Stop, Restart and Close
	addr    string
	srv     *smtp.Server
	ln      net.Listener
	served  chan struct{} // closed when the current Serve returns
	closed  bool
	running bool

	mu       sync.Mutex
	ring     []Message
	next     int // ring index of the next message to write
	count    int
	conns    int
	open     int
	perRcpt  map[string]int
	attempts map[attemptKey]int
	waiters  int
	changed  chan struct{} // closed and replaced when count grows and waiters > 0
}

type attemptKey struct {
	stage Stage
	addr  string
}

// Start listens on o.Addr and serves until Close. ctx bounds only the
// listen call.
func Start(ctx context.Context, o Options) (*Server, error) {
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	if err := checkLoopback(o.Addr); err != nil {
		return nil, err
	}
	if o.Domain == "" {
		o.Domain = "localhost"
	}
	if o.ImplicitTLS && o.TLSConfig == nil {
		return nil, errors.New("devmail: ImplicitTLS needs a TLSConfig")
	}
	if (o.Username == "") != (o.Password == "") {
		return nil, errors.New("devmail: Username and Password go together")
	}
	s := &Server{
		o:        o,
		log:      o.Logger,
		keep:     o.Keep,
		perRcpt:  make(map[string]int),
		attempts: make(map[attemptKey]int),
		changed:  make(chan struct{}),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.keep == 0 {
		s.keep = DefaultKeep
	}
	if s.keep < 0 {
		s.keep = 0
	}
	s.ring = make([]Message, 0, min(s.keep, 1024))
	if err := s.listen(ctx, o.Addr); err != nil {
		return nil, err
	}
	return s, nil
}

func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("devmail: address %q: %w", addr, err)
	}
	if strings.EqualFold(host, "localhost") {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("devmail: address %q is not a loopback address", addr)
}

// listen binds addr and starts serving on it. The caller holds s.life or
// owns s exclusively.
func (s *Server) listen(ctx context.Context, addr string) error {
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("devmail: listen on %s: %w", addr, err)
	}
	if s.o.ImplicitTLS {
		l = tls.NewListener(l, s.o.TLSConfig)
	}
	srv := smtp.NewServer(backend{s})
	srv.Domain = s.o.Domain
	srv.ReadTimeout = s.o.ReadTimeout
	srv.MaxMessageBytes = 64 << 20
	srv.MaxRecipients = 1000
	srv.AllowInsecureAuth = true
	srv.ErrorLog = errorLog{s.log}
	if !s.o.ImplicitTLS {
		srv.TLSConfig = s.o.TLSConfig
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		if err := srv.Serve(l); err != nil {
			s.log.Error("devmail serve", "addr", addr, "err", err)
		}
	}()
	s.addr = l.Addr().String()
	s.srv = srv
	s.ln = l
	s.served = served
	s.running = true
	return nil
}

// Addr returns the address the server listens on, as host:port; it stays
// the same across Stop and Restart.
func (s *Server) Addr() string {
	s.life.Lock()
	defer s.life.Unlock()
	return s.addr
}

// Stop closes the listener and every open connection, as a server going
// down would; clients then get "connection refused". Messages and counters
// are kept. Stop on a stopped server does nothing.
func (s *Server) Stop() {
	s.life.Lock()
	defer s.life.Unlock()
	s.stop()
}

func (s *Server) stop() {
	if !s.running {
		return
	}
	_ = s.srv.Close()
	// go-smtp registers the listener inside Serve: a Close that comes first
	// misses it.
	_ = s.ln.Close()
	<-s.served
	s.running = false
}

// Restart listens again on the address of the stopped server. It does
// nothing if the server is running and fails after Close.
func (s *Server) Restart(ctx context.Context) error {
	s.life.Lock()
	defer s.life.Unlock()
	if s.closed {
		return errors.New("devmail: restart after close")
	}
	if s.running {
		return nil
	}
	return s.listen(ctx, s.addr)
}

// Close stops the server for good.
func (s *Server) Close() error {
	s.life.Lock()
	defer s.life.Unlock()
	s.stop()
	s.closed = true
	return nil
}

// Messages returns the kept messages, oldest first.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, 0, len(s.ring))
	if len(s.ring) == s.keep {
		out = append(out, s.ring[s.next:]...)
		out = append(out, s.ring[:s.next]...)
	} else {
		out = append(out, s.ring...)
	}
	for i := range out {
		out[i].To = append([]string(nil), out[i].To...)
	}
	return out
}

// Count returns the number of messages accepted since Start, kept or not.
func (s *Server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count
}

// CountFor returns how many accepted messages had rcpt (compared without
// regard to case) among their envelope recipients.
func (s *Server) CountFor(rcpt string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.perRcpt[strings.ToLower(rcpt)]
}

// Connections returns the number of SMTP connections greeted (EHLO/HELO)
// since Start: a client that reuses its connections keeps it low.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns
}

// Open returns the number of SMTP sessions open now (connections that
// greeted and have not closed).
func (s *Server) Open() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.open
}

// Wait blocks until Count() >= n or ctx is done, returning ctx's error then.
func (s *Server) Wait(ctx context.Context, n int) error {
	for {
		s.mu.Lock()
		if s.count >= n {
			s.mu.Unlock()
			return nil
		}
		s.waiters++
		ch := s.changed
		s.mu.Unlock()

		select {
		case <-ch:
		case <-ctx.Done():
		}
		s.mu.Lock()
		s.waiters--
		s.mu.Unlock()
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("devmail: wait for %d messages: %w", n, err)
		}
	}
}

// attempt records that addr reached stage and returns how many times it has.
func (s *Server) attempt(stage Stage, addr string) int {
	k := attemptKey{stage, strings.ToLower(addr)}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.attempts[k]++
	return s.attempts[k]
}

// accept records a message; raw is nil when messages are not kept.
func (s *Server) accept(from string, to []string, raw []byte, subject string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.count++
	id := s.count
	for _, r := range to {
		s.perRcpt[strings.ToLower(r)]++
	}
	if s.keep > 0 {
		m := Message{ID: id, From: from, To: to, Received: time.Now(), Raw: raw, Subject: subject}
		if len(s.ring) < s.keep {
			s.ring = append(s.ring, m)
		} else {
			s.ring[s.next] = m
		}
		s.next = (s.next + 1) % s.keep
	}
	if s.waiters > 0 {
		close(s.changed)
		s.changed = make(chan struct{})
	}
	return id
}

func (s *Server) newConn() {
	s.mu.Lock()
	s.conns++
	s.mu.Unlock()
}

func (s *Server) sessionOpened(delta int) {
	s.mu.Lock()
	s.open += delta
	s.mu.Unlock()
}

// errorLog adapts slog to go-smtp's Logger.
type errorLog struct{ log *slog.Logger }

func (l errorLog) Printf(format string, v ...any) {
	l.log.Warn("devmail: " + fmt.Sprintf(format, v...))
}

func (l errorLog) Println(v ...any) {
	l.log.Warn("devmail: " + strings.TrimSuffix(fmt.Sprintln(v...), "\n"))
}
