package imapwatch

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
)

const (
	testUser = "bot"
	testPass = "s3cret"
)

// serverOptions shapes a test IMAP server.
type serverOptions struct {
	caps     imap.CapSet // nil: IMAP4rev1 + IMAP4rev2 (MOVE, UIDPLUS, IDLE)
	tls      *tls.Config // STARTTLS, or implicit TLS with implicitTLS
	implicit bool
	insecure bool // allow LOGIN without TLS; default true when tls is nil
	mailbox  string
}

// testServer is an imapmemserver with one user, served on 127.0.0.1.
type testServer struct {
	t    testing.TB
	opts serverOptions
	user *imapmemserver.User
	mem  *imapmemserver.Server
	addr string

	mu  sync.Mutex
	srv *imapserver.Server
}

func startServer(t testing.TB, opts serverOptions) *testServer {
	t.Helper()
	if opts.caps == nil {
		opts.caps = imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}}
	}
	if opts.tls == nil {
		opts.insecure = true
	}
	if opts.mailbox == "" {
		opts.mailbox = "INBOX"
	}
	s := &testServer{t: t, opts: opts, mem: imapmemserver.New(), user: imapmemserver.NewUser(testUser, testPass)}
	if err := s.user.Create(opts.mailbox, nil); err != nil {
		t.Fatal(err)
	}
	s.mem.AddUser(s.user)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	s.serve(ln)
	t.Cleanup(s.stop)
	return s
}

func (s *testServer) serve(ln net.Listener) {
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return s.mem.NewSession(), nil, nil
		},
		Caps:         s.opts.caps,
		InsecureAuth: s.opts.insecure,
		Logger:       log.New(io.Discard, "", 0),
	})
	if s.opts.tls != nil {
		if s.opts.implicit {
			ln = tls.NewListener(ln, s.opts.tls)
		} else {
			srv = imapserver.New(&imapserver.Options{
				NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
					return s.mem.NewSession(), nil, nil
				},
				Caps:         s.opts.caps,
				InsecureAuth: s.opts.insecure,
				TLSConfig:    s.opts.tls,
				Logger:       log.New(io.Discard, "", 0),
			})
		}
	}
	s.mu.Lock()
	s.srv = srv
	s.mu.Unlock()
	go srv.Serve(ln)
}

func (s *testServer) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		s.srv.Close()
		s.srv = nil
	}
}

// restart closes the server and every connection, then serves the same
// mail again on the same port.
func (s *testServer) restart() {
	s.t.Helper()
	s.stop()
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		s.t.Fatalf("listen again on %s: %v", s.addr, err)
	}
	s.serve(ln)
}

func (s *testServer) port() int {
	_, p, _ := net.SplitHostPort(s.addr)
	n, _ := strconv.Atoi(p)
	return n
}

func (s *testServer) endpoint(sec Security) *Endpoint {
	return &Endpoint{Security: sec, Host: "127.0.0.1", Port: s.port(), Username: testUser, Password: testPass, Mailbox: s.opts.mailbox}
}

func testMessage(n int) []byte {
	return fmt.Appendf(nil, "From: partner%d@example.org\r\nTo: campaign@example.org\r\n"+
		"Subject: reply %d\r\nMessage-ID: <r%d@example.org>\r\n\r\nWe endorse (%d).\r\n", n, n, n, n)
}

// add appends message n to mailbox without the network, as another client would.
func (s *testServer) add(mailbox string, n int, flags ...imap.Flag) uint32 {
	s.t.Helper()
	d, err := s.user.Append(mailbox, bytes.NewReader(testMessage(n)), &imap.AppendOptions{Flags: flags})
	if err != nil {
		s.t.Fatalf("append to %s: %v", mailbox, err)
	}
	return uint32(d.UID)
}

func (s *testServer) count(mailbox string) int {
	s.t.Helper()
	st, err := s.user.Status(mailbox, &imap.StatusOptions{NumMessages: true})
	if err != nil {
		return -1
	}
	return int(*st.NumMessages)
}

// list reads mailbox over a separate plain connection, bypassing proxies.
func (s *testServer) list(mailbox string) []*imapclient.FetchMessageBuffer {
	s.t.Helper()
	var c *imapclient.Client
	var err error
	// The test's own inspection connection; the watcher verifies certificates.
	opts := &imapclient.Options{TLSConfig: &tls.Config{InsecureSkipVerify: true}}
	switch {
	case s.opts.tls != nil && s.opts.implicit:
		c, err = imapclient.DialTLS(s.addr, opts)
	case s.opts.tls != nil:
		c, err = imapclient.DialStartTLS(s.addr, opts)
	default:
		c, err = imapclient.DialInsecure(s.addr, nil)
	}
	if err != nil {
		s.t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(testUser, testPass).Wait(); err != nil {
		s.t.Fatal(err)
	}
	sel, err := c.Select(mailbox, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		s.t.Fatalf("select %s: %v", mailbox, err)
	}
	if sel.NumMessages == 0 {
		return nil
	}
	var all imap.SeqSet
	all.AddRange(1, 0) // 1:*
	msgs, err := c.Fetch(all, &imap.FetchOptions{UID: true, Flags: true,
		BodySection: []*imap.FetchItemBodySection{{Peek: true}}}).Collect()
	if err != nil {
		s.t.Fatalf("fetch %s: %v", mailbox, err)
	}
	return msgs
}

var subjectRe = regexp.MustCompile(`Subject: reply (\d+)`)

// msgNum returns n of testMessage(n) found in raw, or -1.
func msgNum(raw []byte) int {
	m := subjectRe.FindSubmatch(raw)
	if m == nil {
		return -1
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

func nums(msgs []*imapclient.FetchMessageBuffer) []int {
	var out []int
	for _, m := range msgs {
		out = append(out, msgNum(m.BodySection[0].Bytes))
	}
	slices.Sort(out)
	return out
}

// recorder is the caller's side: a Checkpoint backed by a map, updated by
// its Handler in the same critical section as the record, as the inbox does
// in one bbolt transaction.
type recorder struct {
	mailbox string

	mu        sync.Mutex
	last      map[uint32]uint32 // uidvalidity -> last uid
	records   []Message
	attempts  map[int]int // message number -> handler calls, failed or not
	lastCalls int
	fail      func(m Message) error // under mu; nil: succeed
	after     func(m Message)       // after recording, outside mu
}

func newRecorder(mailbox string) *recorder {
	return &recorder{mailbox: mailbox, last: map[uint32]uint32{}, attempts: map[int]int{}}
}

func (r *recorder) Last(ctx context.Context, mailbox string, uidValidity uint32) (uint32, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if mailbox != r.mailbox {
		return 0, fmt.Errorf("unexpected mailbox %q", mailbox)
	}
	r.lastCalls++
	return r.last[uidValidity], nil
}

func (r *recorder) handle(ctx context.Context, m Message) error {
	r.mu.Lock()
	r.attempts[msgNum(m.Raw)]++
	if r.fail != nil {
		if err := r.fail(m); err != nil {
			r.mu.Unlock()
			return err
		}
	}
	if m.UID <= r.last[m.UIDValidity] {
		r.mu.Unlock()
		return fmt.Errorf("uid %d handed over again (checkpoint %d)", m.UID, r.last[m.UIDValidity])
	}
	r.records = append(r.records, m)
	r.last[m.UIDValidity] = m.UID
	after := r.after
	r.mu.Unlock()
	if after != nil {
		after(m)
	}
	return nil
}

func (r *recorder) setFail(f func(Message) error) {
	r.mu.Lock()
	r.fail = f
	r.mu.Unlock()
}

func (r *recorder) recorded() []Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.records)
}

func (r *recorder) attemptsOf(n int) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.attempts[n]
}

func (r *recorder) passes() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lastCalls
}

// recordedNums returns the message numbers recorded, in handling order.
func (r *recorder) recordedNums() []int {
	var out []int
	for _, m := range r.recorded() {
		out = append(out, msgNum(m.Raw))
	}
	return out
}

// fastConfig returns a Config for tests: short timeouts and backoff.
func fastConfig(e *Endpoint) Config {
	return Config{
		Endpoint:     e,
		PollInterval: time.Hour,
		Timeout:      2 * time.Second,
		Backoff:      func(int) time.Duration { return 10 * time.Millisecond },
	}
}

// running starts w.Run and returns a stop function that cancels it and
// checks it returned nil; stop also runs at cleanup.
func running(t *testing.T, w *Watcher) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run = %v; want nil after cancel", err)
				}
			case <-time.After(5 * time.Second):
				t.Errorf("Run did not return within 5s of cancel")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// proxy forwards TCP connections to a server. It can drop capabilities
// from the server's CAPABILITY lists, freeze the open connections (stop
// forwarding in both directions, like a dead network path) and kill them.
type proxy struct {
	t      testing.TB
	ln     net.Listener
	target string
	drop   *regexp.Regexp

	mu       sync.Mutex
	links    []*link
	accepted int
}

type link struct {
	client, server net.Conn
	frozen         atomic.Bool
	clientGone     atomic.Bool // the client closed its side
}

func startProxy(t testing.TB, target string, dropCaps ...string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{t: t, ln: ln, target: target}
	if len(dropCaps) > 0 {
		alt := ""
		for i, c := range dropCaps {
			if i > 0 {
				alt += "|"
			}
			alt += regexp.QuoteMeta(c)
		}
		p.drop = regexp.MustCompile(` (?:` + alt + `)([ \]\r])`)
	}
	go p.accept()
	t.Cleanup(func() {
		ln.Close()
		p.kill()
	})
	return p
}

func (p *proxy) port() int { return p.ln.Addr().(*net.TCPAddr).Port }

func (p *proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		l := &link{client: c, server: s}
		p.mu.Lock()
		p.links = append(p.links, l)
		p.accepted++
		p.mu.Unlock()
		go p.up(l)
		go p.down(l)
	}
}

// up copies client -> server.
func (p *proxy) up(l *link) {
	buf := make([]byte, 32<<10)
	for {
		n, err := l.client.Read(buf)
		if n > 0 && !l.frozen.Load() {
			if _, werr := l.server.Write(buf[:n]); werr != nil {
				break
			}
		}
		if err != nil {
			if !l.frozen.Load() || errors.Is(err, io.EOF) {
				l.clientGone.Store(true)
			}
			break
		}
	}
	l.client.Close()
	l.server.Close()
}

// down copies server -> client line by line, rewriting CAPABILITY lists.
func (p *proxy) down(l *link) {
	br := bufio.NewReaderSize(l.server, 64<<10)
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 && !l.frozen.Load() {
			if p.drop != nil && (bytes.HasPrefix(line, []byte("* CAPABILITY ")) || bytes.Contains(line, []byte("[CAPABILITY "))) {
				line = p.drop.ReplaceAll(line, []byte("$1"))
			}
			if _, werr := l.client.Write(line); werr != nil {
				break
			}
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			break
		}
	}
	l.server.Close()
	if !l.frozen.Load() {
		l.client.Close()
	}
}

func (p *proxy) connections() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.accepted
}

// freeze black-holes every open connection; new ones still work.
func (p *proxy) freeze() []*link {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, l := range p.links {
		l.frozen.Store(true)
	}
	return slices.Clone(p.links)
}

func (p *proxy) kill() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, l := range p.links {
		l.client.Close()
		l.server.Close()
	}
	p.links = nil
}

// testCert returns a server TLS config with a self-signed certificate for
// 127.0.0.1 and the path of that certificate as a PEM CA file.
func testCert(t testing.TB) (*tls.Config, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "imapwatch test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, path
}
