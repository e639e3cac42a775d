package smtpout

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	gomail "github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"
	"golang.org/x/time/rate"

	"github.com/outreach-coalition/outreach/internal/outreach"
)

// Config configures a Pool. Zero values get the defaults noted.
type Config struct {
	Endpoint    *Endpoint
	CAFile      string        // PEM: CAs trusted in addition to the system roots
	Connections int           // connections open at most, default 4
	Rate        float64       // messages per second over all connections, 0 = unlimited
	DomainRate  float64       // messages per second per recipient domain, 0 = unlimited
	Timeout     time.Duration // socket timeout for every read and write, default 30s
	HELO        string        // EHLO name, default the host name
	DKIM        *DKIM         // sign every message when set
}

const (
	defaultConnections = 4
	defaultTimeout     = 30 * time.Second
	// idleLimit is how long an unused connection is kept. Servers close idle
	// sessions after 10 s (Postfix under stress) to 5 min (RFC 5321
	// §4.5.3.2.7); redialling after this long costs little, and the retry in
	// Send covers servers that close sooner.
	idleLimit = 30 * time.Second
	// maxDomainLimiters bounds the per-domain limiters kept; beyond it,
	// limiters that are full again (as good as new) are dropped.
	maxDomainLimiters = 10000
)

// ErrClosed is the error of a Send on a closed Pool.
var ErrClosed = errors.New("smtpout: pool closed")

// Pool sends messages over at most Config.Connections persistent SMTP
// connections, dialled when first needed and reused. Its methods are safe
// for concurrent use; each concurrent Send gets a connection of its own.
type Pool struct {
	cfg   Config
	ep    *Endpoint
	log   *slog.Logger
	opts  []gomail.Option
	tls   *tls.Config
	slots chan struct{} // a token per connection in use
	// idleLimit is the constant idleLimit, except in tests.
	idleLimit time.Duration
	rate      *rate.Limiter // nil: unlimited

	mu       sync.Mutex
	idle     []*conn // most recently used last
	closed   bool
	inflight sync.WaitGroup

	domMu   sync.Mutex
	domains map[string]*rate.Limiter
}

// conn is one SMTP session. tcp is the socket under any TLS layer; closing
// it aborts whatever the session is doing.
type conn struct {
	sc       *smtp.Client
	tcp      net.Conn
	lastUsed time.Time
	broken   bool
	// chunked: the server offers PIPELINING and CHUNKING (see Send).
	chunked bool
}

// New checks cfg and returns a Pool. It opens no connection; see Ping.
func New(cfg Config, log *slog.Logger) (*Pool, error) {
	if cfg.Endpoint == nil {
		return nil, outreach.FieldError(urlKey, "is not set")
	}
	if cfg.Connections == 0 {
		cfg.Connections = defaultConnections
	}
	if cfg.Connections < 0 {
		return nil, outreach.FieldError("smtp.connections", "%d is negative", cfg.Connections)
	}
	if cfg.Rate < 0 || cfg.DomainRate < 0 {
		return nil, outreach.FieldError("smtp.rate", "must not be negative")
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = defaultTimeout
	}
	if cfg.Timeout < 0 {
		return nil, outreach.FieldError("smtp.timeout", "%s is negative", cfg.Timeout)
	}
	if cfg.DKIM != nil {
		if err := cfg.DKIM.validate(); err != nil {
			return nil, outreach.FieldError("smtp.dkim_key_file", "%v", err)
		}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ep := *cfg.Endpoint
	cfg.Endpoint = &ep
	if ep.TLS == NoTLS && !isLoopback(ep.Host) {
		return nil, outreach.FieldError(urlKey, "tls=none is only allowed towards a loopback address")
	}
	tc, err := tlsConfig(ep.Host, cfg.CAFile)
	if err != nil {
		return nil, err
	}
	p := &Pool{
		cfg:       cfg,
		ep:        &ep,
		log:       log.With("component", "smtpout", "server", ep.String()),
		tls:       tc,
		slots:     make(chan struct{}, cfg.Connections),
		idleLimit: idleLimit,
		domains:   make(map[string]*rate.Limiter),
	}
	if cfg.Rate > 0 {
		p.rate = rate.NewLimiter(rate.Limit(cfg.Rate), 1)
	}
	p.opts = []gomail.Option{
		gomail.WithPort(ep.Port),
		gomail.WithTimeout(cfg.Timeout),
		gomail.WithTLSConfig(tc),
		gomail.WithoutNoop(),
		gomail.WithoutRset(),
	}
	switch ep.TLS {
	case StartTLS:
		p.opts = append(p.opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case OpportunisticTLS:
		p.opts = append(p.opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	case ImplicitTLS, NoTLS:
		// Implicit TLS is done by dial, below go-mail.
		p.opts = append(p.opts, gomail.WithTLSPolicy(gomail.NoTLS))
	}
	if cfg.HELO != "" {
		p.opts = append(p.opts, gomail.WithHELO(cfg.HELO))
	}
	if ep.Username != "" {
		p.opts = append(p.opts,
			gomail.WithOpportunisticSMTPAuth(gomail.SMTPAuthPlain, gomail.SMTPAuthLogin),
			gomail.WithUsername(ep.Username), gomail.WithPassword(ep.Password))
	}
	return p, nil
}

func tlsConfig(host, caFile string) (*tls.Config, error) {
	tc := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	if caFile == "" {
		return tc, nil
	}
	pemData, err := os.ReadFile(caFile)
	if err != nil {
		return nil, outreach.FieldError("smtp.ca_file", "cannot read %s: %v", caFile, err)
	}
	roots, err := x509.SystemCertPool()
	if err != nil {
		roots = x509.NewCertPool()
	}
	if !roots.AppendCertsFromPEM(pemData) {
		return nil, outreach.FieldError("smtp.ca_file", "%s holds no PEM certificate", caFile)
	}
	tc.RootCAs = roots
	return tc, nil
}

// Send sends the message data (RFC 5322 bytes with CRLF line ends, not
// dot-stuffed) from the envelope sender from to the one envelope recipient
// rcpt, whatever the message's headers say. It waits for the rate limits
// and for a free connection (bounded by ctx), then runs the mail
// transaction on the connection (bounded by Config.Timeout per read or
// write, and by ctx, whose end aborts the connection).
//
// When the server offers PIPELINING (RFC 2920) and CHUNKING (RFC 3030), a
// transaction is one round trip: MAIL, RCPT and BDAT LAST with the whole
// message, which needs no dot-stuffing, in one write, as Postfix's client
// sends them. Otherwise, or with Endpoint.NoChunking, it is go-mail's MAIL,
// RCPT, DATA, one command at a time, and the message leaves only after the
// server accepted the recipient.
//
// A connection that turns out to be gone before the message could have
// been taken (closed by the server when idle, found so before use, reset,
// timed out, or a 421 reply, before the whole message was sent or with
// MAIL or RCPT refused) is dialled again once and the message retried on
// the fresh connection; if that fails too the result is Temporary. Once
// the whole message has been sent the server may have accepted it, so a
// connection lost before its verdict is Temporary at once, with Maybe set,
// without a retry that could deliver it twice (RFC 5321 §4.1.1.4 and §6.1
// leave that duplicate to the sender's judgement).
//
// RSET is sent only after a rejected MAIL, RCPT or DATA command; NOOP
// never. data is not modified; with DKIM configured the signed copy is
// sent.
func (p *Pool) Send(ctx context.Context, from, rcpt string, data []byte) Result {
	start := time.Now()
	r := p.send(ctx, from, rcpt, data)
	r.Server = p.ep.Addr()
	r.Duration = time.Since(start)
	if r.Err != nil {
		r.Err = fmt.Errorf("send to %s via %s (%s): %w", rcpt, r.Server, r.Step, r.Err)
	}
	if p.log.Enabled(context.Background(), slog.LevelDebug) {
		p.log.Debug("send", "rcpt", rcpt, "outcome", r.Outcome, "code", r.Code, "step", r.Step,
			"response", r.Response, "duration", r.Duration)
	}
	return r
}

// bareLineBreak returns the offset of the first CR not followed by LF or
// LF not preceded by CR in data, or -1.
func bareLineBreak(data []byte) int {
	for i := 0; ; {
		j := bytes.IndexAny(data[i:], "\r\n")
		if j < 0 {
			return -1
		}
		i += j
		if data[i] == '\n' || i+1 == len(data) || data[i+1] != '\n' {
			return i
		}
		i += 2
	}
}

// badAddress reports an envelope address that cannot go on a command line.
func badAddress(a string) bool {
	return strings.TrimSpace(a) == "" || !strings.Contains(a, "@") || strings.ContainsAny(a, "\r\n<> ")
}

func (p *Pool) send(ctx context.Context, from, rcpt string, data []byte) Result {
	if !p.enter() {
		return Result{Outcome: Temporary, Step: StepConnect, Err: ErrClosed, Response: ErrClosed.Error()}
	}
	defer p.inflight.Done()
	if err := ctx.Err(); err != nil {
		return Result{Outcome: Temporary, Step: StepConnect, Err: err, Response: err.Error()}
	}
	if badAddress(from) {
		err := fmt.Errorf("sender %q is not an address", from)
		return Result{Outcome: Permanent, Step: StepMail, Err: err, Response: err.Error()}
	}
	if badAddress(rcpt) {
		err := fmt.Errorf("recipient %q is not an address", rcpt)
		return Result{Outcome: Permanent, Step: StepRcpt, Err: err, Response: err.Error()}
	}
	if len(data) == 0 {
		err := errors.New("no message")
		return Result{Outcome: Permanent, Step: StepData, Err: err, Response: err.Error()}
	}
	if i := bareLineBreak(data); i >= 0 {
		// BDAT sends the bytes as they are, and a bare CR or LF is what
		// SMTP smuggling is made of: servers rightly refuse it.
		err := fmt.Errorf("message has a bare CR or LF at byte %d: lines must end with CRLF", i)
		return Result{Outcome: Permanent, Step: StepData, Err: err, Response: err.Error()}
	}
	if p.cfg.DKIM != nil {
		var err error
		if data, err = p.cfg.DKIM.sign(data); err != nil {
			return Result{Outcome: Permanent, Step: StepData, Err: err, Response: err.Error()}
		}
	}
	if err := p.wait(ctx, outreach.EmailDomain(rcpt)); err != nil {
		return Result{Outcome: Temporary, Step: StepConnect, Err: err, Response: err.Error()}
	}

	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		err := fmt.Errorf("wait for a connection: %w", ctx.Err())
		return Result{Outcome: Temporary, Step: StepConnect, Err: err, Response: err.Error()}
	}
	defer func() { <-p.slots }()

	c, err := p.take(ctx)
	if err != nil {
		return classify(StepConnect, err)
	}
	r, committed := p.transact(ctx, c, from, rcpt, data)
	r.Maybe = maybe(r, committed)
	if r.Outcome == Temporary && r.broken() && !committed && ctx.Err() == nil {
		p.log.Info("connection lost, redialling once", "rcpt", rcpt, "step", r.Step, "response", r.Response)
		p.discard(c)
		if c, err = p.dial(ctx); err != nil {
			return classify(StepConnect, err)
		}
		r, committed = p.transact(ctx, c, from, rcpt, data)
		r.Maybe = maybe(r, committed)
	}
	p.put(c, r)
	return r
}

// maybe reports whether the server may hold a message it did not confirm:
// the message went out whole and no reply came (RFC 5321 §4.1.1.4: a reply
// to the end of the data is the server's decision either way).
func maybe(r Result, committed bool) bool {
	return committed && r.Outcome == Temporary && r.Code == 0
}

// enter registers a send unless the pool is closed.
func (p *Pool) enter() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.inflight.Add(1)
	return true
}

// wait waits for the domain's rate limit, then for the global one.
func (p *Pool) wait(ctx context.Context, domain string) error {
	if p.cfg.DomainRate > 0 {
		if err := p.domainLimiter(domain).Wait(ctx); err != nil {
			return fmt.Errorf("wait for the rate limit of %s: %w", domain, err)
		}
	}
	if p.rate != nil {
		if err := p.rate.Wait(ctx); err != nil {
			return fmt.Errorf("wait for the rate limit: %w", err)
		}
	}
	return nil
}

func (p *Pool) domainLimiter(domain string) *rate.Limiter {
	p.domMu.Lock()
	defer p.domMu.Unlock()
	if l, ok := p.domains[domain]; ok {
		return l
	}
	if len(p.domains) >= maxDomainLimiters {
		for d, l := range p.domains {
			if l.Tokens() >= 1 {
				delete(p.domains, d)
			}
		}
	}
	l := rate.NewLimiter(rate.Limit(p.cfg.DomainRate), 1)
	p.domains[domain] = l
	return l
}

// take returns an idle connection the server has not closed, or dials
// one. The caller holds a slot.
func (p *Pool) take(ctx context.Context) (*conn, error) {
	for {
		now := time.Now()
		p.mu.Lock()
		var c *conn
		if n := len(p.idle); n > 0 {
			c = p.idle[n-1]
			p.idle = p.idle[:n-1]
		}
		p.mu.Unlock()
		if c == nil {
			return p.dial(ctx)
		}
		if now.Sub(c.lastUsed) <= p.idleLimit && c.open() {
			return c, nil
		}
		p.discard(c)
	}
}

// open reports whether the server has neither closed c nor sent anything
// unasked (such as a 421 before closing), by peeking at the socket
// without waiting. take asks before every reuse: a transaction sends the
// message with its first write (see Send), so a connection the server
// closed must be found before, or the message would count as maybe
// delivered.
func (c *conn) open() bool {
	if c.sc.Text.R.Buffered() > 0 {
		return false
	}
	rc, err := c.tcp.(syscall.Conn).SyscallConn()
	if err != nil {
		return false
	}
	open := false
	var buf [1]byte
	err = rc.Read(func(fd uintptr) bool {
		n, _, rerr := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		open = n < 0 && (rerr == syscall.EAGAIN || rerr == syscall.EWOULDBLOCK)
		return true
	})
	return err == nil && open
}

// put returns c to the idle list, or closes it if it is broken or the pool
// is closed.
func (p *Pool) put(c *conn, r Result) {
	if c.broken || r.broken() {
		p.discard(c)
		return
	}
	c.lastUsed = time.Now()
	p.mu.Lock()
	if !p.closed {
		p.idle = append(p.idle, c)
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	p.quit(c)
}

func (p *Pool) discard(c *conn) { _ = c.tcp.Close() }

// quit ends c politely, without waiting long for the server.
func (p *Pool) quit(c *conn) {
	_ = c.sc.UpdateDeadline(2 * time.Second)
	_ = c.sc.Quit()
	_ = c.tcp.Close()
}

// dial opens a session: TCP, TLS (implicit or STARTTLS), EHLO and AUTH,
// all through go-mail. ctx bounds the whole of it.
func (p *Pool) dial(ctx context.Context) (*conn, error) {
	var tcp net.Conn
	var mu sync.Mutex
	aborted := false
	stop := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		aborted = true
		if tcp != nil {
			_ = tcp.Close()
		}
	})
	defer stop()

	dialFn := func(dctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		c, err := d.DialContext(dctx, "tcp", p.ep.Addr())
		if err != nil {
			return nil, err
		}
		mu.Lock()
		tcp = c
		if aborted {
			_ = c.Close()
		}
		mu.Unlock()
		if p.ep.TLS == ImplicitTLS {
			tc := tls.Client(c, p.tls)
			if err := tc.HandshakeContext(dctx); err != nil {
				_ = c.Close()
				return nil, err
			}
			return tc, nil
		}
		return c, nil
	}
	// One go-mail Client per connection: Client keeps per-session state
	// (the AUTH mechanism found) behind a read lock.
	client, err := gomail.NewClient(p.ep.Host, append(p.opts[:len(p.opts):len(p.opts)], gomail.WithDialContextFunc(dialFn))...)
	if err != nil {
		return nil, fmt.Errorf("configure go-mail: %w", err)
	}
	sc, err := client.DialToSMTPClientWithContext(ctx)
	if err != nil {
		// go-mail v0.8.1 leaves the socket open when the session setup fails.
		mu.Lock()
		if tcp != nil {
			_ = tcp.Close()
		}
		mu.Unlock()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%w: %w", ctx.Err(), err)
		}
		return nil, err
	}
	if !stop() {
		_ = tcp.Close()
		return nil, ctx.Err()
	}
	pipelining, _ := sc.Extension("PIPELINING")
	chunking, _ := sc.Extension("CHUNKING")
	return &conn{sc: sc, tcp: tcp, chunked: pipelining && chunking && !p.ep.NoChunking}, nil
}

// transact runs one mail transaction on c. committed reports whether the
// end of the data was sent, after which the server may hold the message.
func (p *Pool) transact(ctx context.Context, c *conn, from, rcpt string, data []byte) (r Result, committed bool) {
	stop := context.AfterFunc(ctx, func() { _ = c.tcp.Close() })
	r, committed = p.exchange(c, from, rcpt, data)
	if !stop() {
		c.broken = true
		if r.Outcome != Sent {
			r.Outcome = Temporary
			r.Err = fmt.Errorf("%w: %w", ctx.Err(), r.Err)
		}
	}
	return r, committed
}

func (p *Pool) exchange(c *conn, from, rcpt string, data []byte) (Result, bool) {
	if err := c.sc.UpdateDeadline(p.cfg.Timeout); err != nil {
		c.broken = true
		return Result{Outcome: Temporary, Step: StepMail, Err: err, Response: err.Error()}, false
	}
	ascii := isASCII(from) && isASCII(rcpt)
	if c.chunked && ascii {
		return p.exchangeChunked(c, from, rcpt, data)
	}
	// SMTPUTF8 (RFC 6531) only for addresses that need it: headers are
	// RFC 2047-encoded, and hops without SMTPUTF8 bounce messages that
	// asked for it.
	c.sc.SkipSMTPUTF8(ascii)
	if err := c.sc.Mail("<" + from + ">"); err != nil {
		return p.rejected(c, StepMail, err), false
	}
	if err := c.sc.Rcpt("<" + rcpt + ">"); err != nil {
		return p.rejected(c, StepRcpt, err), false
	}
	w, err := c.sc.Data()
	if err != nil {
		return p.rejected(c, StepData, err), false
	}
	if _, err := w.Write(data); err != nil {
		c.broken = true
		return classify(StepData, err), false
	}
	if err := w.Close(); err != nil {
		// The transaction is over either way (RFC 5321 §4.1.1.4): no RSET.
		return classify(StepData, err), true
	}
	resp := ""
	if dc, ok := w.(*smtp.DataCloser); ok {
		resp = dc.ServerResponse()
	}
	return sent(resp), true
}

func sent(resp string) Result {
	return Result{Outcome: Sent, Code: 250, Enhanced: enhancedRE.FindString(resp), Response: resp, Step: StepData}
}

// exchangeChunked runs one transaction with PIPELINING (RFC 2920) and
// CHUNKING (RFC 3030) on go-mail's text connection, which go-mail exports
// for extensions: MAIL, RCPT and "BDAT n LAST" with the message in one
// write, then the three replies, as Postfix's client does. The server
// reads the chunk even when it refuses the recipient (RFC 3030 §2), and
// only a refusal of MAIL or RCPT proves the message was not taken: once
// the chunk is out, a connection lost before the replies leaves it
// committed (maybe delivered).
func (p *Pool) exchangeChunked(c *conn, from, rcpt string, data []byte) (Result, bool) {
	t := c.sc.Text
	w := t.W
	var size [20]byte
	w.WriteString("MAIL FROM:<")
	w.WriteString(from)
	w.WriteString(">\r\nRCPT TO:<")
	w.WriteString(rcpt)
	w.WriteString(">\r\nBDAT ")
	w.Write(strconv.AppendInt(size[:0], int64(len(data)), 10))
	w.WriteString(" LAST\r\n")
	w.Write(data)
	if err := w.Flush(); err != nil {
		// The server needs every byte of the chunk before it can accept.
		c.broken = true
		return classify(StepMail, err), false
	}
	var errs [3]error
	steps := [3]Step{StepMail, StepRcpt, StepData}
	codes := [3]int{250, 25, 250}
	resp := ""
	for i := range errs {
		_, msg, err := t.ReadResponse(codes[i])
		if err != nil && !isReply(err) {
			// The connection is gone. A refusal already read still
			// decides; otherwise the server may have taken the message.
			c.broken = true
			for k := range i {
				if errs[k] != nil {
					return classify(steps[k], errs[k]), false
				}
			}
			return classify(steps[i], err), true
		}
		errs[i], resp = err, msg
	}
	for i, err := range errs {
		if err != nil {
			// RSET ends what is left of the transaction (RFC 3030 §4).
			return p.rejected(c, steps[i], err), i == len(errs)-1
		}
	}
	return sent(resp), true
}

// isReply reports whether err is an SMTP reply rather than a failure of
// the connection.
func isReply(err error) bool {
	_, _, _, ok := replyOf(err)
	return ok
}

// rejected classifies the failure of a command inside a transaction and,
// when the server replied, aborts the transaction with RSET so the
// connection can be reused (RFC 5321 §4.1.1.5).
func (p *Pool) rejected(c *conn, step Step, err error) Result {
	r := classify(step, err)
	if r.broken() {
		c.broken = true
		return r
	}
	if rerr := c.sc.Reset(); rerr != nil {
		c.broken = true
	}
	return r
}

// Ping dials a session (TCP, TLS, EHLO, AUTH) and quits: it reports whether
// the server is reachable and accepts the credentials.
func (p *Pool) Ping(ctx context.Context) error {
	c, err := p.dial(ctx)
	if err != nil {
		return fmt.Errorf("smtp %s: %w", p.ep, err)
	}
	p.quit(c)
	return nil
}

// Close waits for the sends in flight, then quits the idle connections.
// Later Sends return Temporary with ErrClosed.
func (p *Pool) Close() error {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.inflight.Wait()
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	for _, c := range idle {
		p.quit(c)
	}
	return nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
