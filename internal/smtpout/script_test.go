package smtpout

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// scripted is a minimal SMTP server on loopback that offers exactly the
// extensions given and reports what a client does on the wire, which
// devmail (go-smtp) cannot: whether commands were pipelined, and the
// message bytes as sent, before any dot-unstuffing.
type scripted struct {
	ln  net.Listener
	ext []string
	// rcptReply is the reply to RCPT TO, "250 2.1.5 OK" by default.
	rcptReply atomic.Value
	events    chan string // one line per event, in order
	// hangUp makes the server close a connection, without a word, after
	// each accepted message.
	hangUp atomic.Bool
	conns  atomic.Int32 // connections accepted
}

func startScripted(t *testing.T, ext ...string) *scripted {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &scripted{ln: ln, ext: ext, events: make(chan string, 100)}
	s.rcptReply.Store("250 2.1.5 OK")
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.conns.Add(1)
			go s.serve(c)
		}
	}()
	return s
}

func (s *scripted) endpoint() *Endpoint {
	a := s.ln.Addr().(*net.TCPAddr)
	return &Endpoint{Host: "127.0.0.1", Port: a.Port, TLS: NoTLS}
}

func (s *scripted) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	reply := func(line string) { fmt.Fprintf(c, "%s\r\n", line) }
	reply("220 scripted ESMTP")
	rcptOK := false // this transaction has a recipient
	for {
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.TrimRight(line, "\r\n")
		verb := strings.ToUpper(strings.Fields(cmd + " x")[0])
		switch verb {
		case "EHLO":
			lines := append([]string{"scripted"}, s.ext...)
			for i, l := range lines {
				sep := "-"
				if i == len(lines)-1 {
					sep = " "
				}
				reply("250" + sep + l)
			}
		case "MAIL":
			// A pipelining client has already sent RCPT: it is in the
			// buffer before MAIL is answered.
			_ = c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
			_, err := r.Peek(len("RCPT"))
			s.events <- fmt.Sprintf("%s pipelined=%v", cmd, err == nil)
			reply("250 2.1.0 OK")
		case "RCPT":
			s.events <- cmd
			rr := s.rcptReply.Load().(string)
			rcptOK = strings.HasPrefix(rr, "250")
			reply(rr)
		case "DATA":
			reply("354 go ahead")
			var wire bytes.Buffer
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				wire.WriteString(l)
			}
			s.events <- "DATA " + strconv.Quote(wire.String())
			reply("250 2.0.0 queued as D1")
		case "BDAT":
			f := strings.Fields(cmd)
			n, _ := strconv.Atoi(f[1])
			chunk := make([]byte, n)
			if _, err := io.ReadFull(r, chunk); err != nil {
				return
			}
			s.events <- fmt.Sprintf("%s %q", cmd, chunk)
			if !rcptOK {
				// The chunk is read all the same (RFC 3030 §2).
				reply("554 5.5.1 no valid recipients")
				continue
			}
			rcptOK = false
			reply("250 2.0.0 queued as B1")
			if s.hangUp.Load() {
				return
			}
		case "RSET":
			s.events <- "RSET"
			rcptOK = false
			reply("250 2.0.0 OK")
		case "QUIT":
			reply("221 2.0.0 bye")
			return
		default:
			reply("502 5.5.1 unknown command")
		}
	}
}

func (s *scripted) next(t *testing.T) string {
	t.Helper()
	select {
	case e := <-s.events:
		return e
	case <-time.After(5 * time.Second):
		t.Fatal("no event from the scripted server within 5s")
		return ""
	}
}

// dotty has lines that dot-stuffing must protect, and no final line break.
const dotty = "Subject: dots\r\n\r\n.\r\n..leading dots\r\nlast line"

func TestChunkedTransaction(t *testing.T) {
	s := startScripted(t, "PIPELINING", "CHUNKING", "8BITMIME")
	p := newPool(t, Config{Endpoint: s.endpoint(), Connections: 1})

	wantSent(t, p.Send(t.Context(), "bounces+1@example.org", "ana@example.net", []byte(dotty)))
	if e := s.next(t); e != "MAIL FROM:<bounces+1@example.org> pipelined=true" {
		t.Errorf("MAIL: %s; want it pipelined with RCPT", e)
	}
	if e := s.next(t); e != "RCPT TO:<ana@example.net>" {
		t.Errorf("RCPT: %s", e)
	}
	// The message goes as it is, in the same write: BDAT needs no
	// dot-stuffing and no final line break.
	if e, want := s.next(t), fmt.Sprintf("BDAT %d LAST %q", len(dotty), dotty); e != want {
		t.Errorf("chunk: %s\nwant %s", e, want)
	}

	// A refused recipient: the server reads the chunk and refuses it too,
	// RSET ends the transaction, and the connection serves the next
	// message.
	s.rcptReply.Store("550 5.1.1 no such user")
	r := p.Send(t.Context(), "bounces+2@example.org", "ghost@example.net", []byte(dotty))
	if r.Outcome != Permanent || r.Code != 550 || r.Step != StepRcpt || !r.NoSuchUser() || r.Maybe {
		t.Errorf("refused recipient: %+v", r)
	}
	s.next(t) // MAIL
	s.next(t) // RCPT
	s.next(t) // BDAT, refused
	if e := s.next(t); e != "RSET" {
		t.Errorf("after a refused RCPT: %s; want RSET", e)
	}
	s.rcptReply.Store("250 2.1.5 OK")
	wantSent(t, p.Send(t.Context(), "bounces+3@example.org", "bea@example.net", []byte(dotty)))
	s.next(t)
	s.next(t)
	if e := s.next(t); !strings.HasPrefix(e, "BDAT ") {
		t.Errorf("third message: %s; want BDAT", e)
	}
}

// TestSilentClose: a server that closes an idle connection without a word
// (no 421) is found out before the next message is written on it, so the
// message is sent once on a new connection and not counted as maybe
// delivered.
func TestSilentClose(t *testing.T) {
	s := startScripted(t, "PIPELINING", "CHUNKING")
	s.hangUp.Store(true)
	p := newPool(t, Config{Endpoint: s.endpoint(), Connections: 1})
	for i, rcpt := range []string{"ana@example.net", "bea@example.net", "cris@example.net"} {
		waitFor(t, "the server hangs up", func() bool { return i == 0 || len(p.idle) == 1 && !p.idle[0].open() })
		r := p.Send(t.Context(), "bounces+1@example.org", rcpt, []byte(dotty))
		wantSent(t, r)
		if r.Maybe {
			t.Errorf("send %d: Maybe set", i)
		}
		s.next(t)
		s.next(t)
		if e := s.next(t); !strings.HasPrefix(e, "BDAT ") {
			t.Errorf("send %d: %s; want BDAT", i, e)
		}
	}
	if n := s.conns.Load(); n != 3 {
		t.Errorf("%d connections; want 3, one per message", n)
	}
}

func TestDataTransaction(t *testing.T) {
	for _, ext := range [][]string{{"8BITMIME"}, {"PIPELINING"}, {"CHUNKING"}, {"PIPELINING", "CHUNKING", "chunking=off"}} {
		t.Run(strings.Join(ext, ","), func(t *testing.T) {
			off := ext[len(ext)-1] == "chunking=off"
			if off {
				ext = ext[:len(ext)-1]
			}
			s := startScripted(t, ext...)
			ep := s.endpoint()
			ep.NoChunking = off
			p := newPool(t, Config{Endpoint: ep, Connections: 1})
			wantSent(t, p.Send(t.Context(), "bounces+1@example.org", "ana@example.net", []byte(dotty)))
			// go-mail adds BODY=8BITMIME when offered.
			if e := s.next(t); !strings.HasPrefix(e, "MAIL FROM:<bounces+1@example.org>") || !strings.HasSuffix(e, " pipelined=false") {
				t.Errorf("MAIL: %s; want it alone (without both extensions, one command at a time)", e)
			}
			s.next(t)
			// On the wire, lines starting with a dot get another one
			// (RFC 5321 §4.5.2), and the data ends with a line break.
			wire := "Subject: dots\r\n\r\n..\r\n...leading dots\r\nlast line\r\n"
			if e := s.next(t); e != "DATA "+strconv.Quote(wire) {
				t.Errorf("data: %s\nwant DATA %q", e, wire)
			}
		})
	}
}
