// Package imapwatch watches the campaign mailbox over IMAP and hands every
// message to a Handler exactly once, then moves it to a processed folder.
// Mail is never deleted.
//
// # Passes
//
// A pass lists the mailbox (UID SEARCH) and splits it at the Checkpoint: a
// UID at or below Checkpoint.Last was recorded before (the watcher stopped
// between recording and moving it), so it is only moved; a UID above it is
// fetched with BODY.PEEK[] (RFC 9051 section 6.4.5; the message stays
// unseen), handed to the Handler in UID order, and moved once the Handler has
// returned nil. The Handler records the message and the new checkpoint in one
// transaction, so a crash at any point either repeats the move or nothing.
//
// A Handler error ends the pass at that message: later messages wait too,
// because the checkpoint is a high-water mark and must not pass a message
// that was not recorded. The pass is retried after Config.Backoff, and on
// any new-mail notification or Poke. A Handler should therefore return an
// error only for failures worth retrying (storage); a message it cannot make
// sense of should be recorded as such.
//
// If the mailbox's UIDVALIDITY changes (RFC 9051 section 2.3.1.1; the mailbox
// was recreated or restored), Checkpoint.Last returns 0 and every message in
// it is handed to the Handler again. De-duplicating those, by Message-ID,
// is the caller's job.
//
// # Moving
//
// With MOVE (RFC 6851, or IMAP4rev2) a message is moved with UID MOVE.
// Without it, it is copied with UID COPY and flagged \Deleted; with UIDPLUS
// (RFC 4315) that UID alone is then removed with UID EXPUNGE. Without
// UIDPLUS the copy is left flagged \Deleted in the mailbox and never
// expunged, since a plain EXPUNGE removes every \Deleted message, other
// clients' included; later passes skip messages at or below the checkpoint
// that carry \Deleted. A message above the checkpoint is handled whatever
// its flags. A watcher stopped between COPY and the \Deleted flag copies
// that message again on restart: the processed folder may hold a duplicate,
// the Handler is not called twice.
//
// # Waiting and failures
//
// Between passes the watcher waits in IDLE (RFC 2177) when the server offers
// it and polls every Config.PollInterval otherwise. IDLE is re-issued every
// Config.IdleRestart, followed by a NOOP: a server that does not answer
// within Config.Timeout is taken for dead. go-imap has no contexts, so every
// command runs under a timer that closes the connection after
// Config.Timeout. Any failed command, lost connection or timeout ends the
// session; Run reconnects after Config.Backoff and resumes from the
// checkpoint, so nothing is missed or handled twice.
package imapwatch

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"time"
)

// Defaults applied by New to zero Config fields.
const (
	DefaultProcessedFolder = "Processed"
	DefaultPollInterval    = 30 * time.Second
	DefaultIdleRestart     = 10 * time.Minute
	DefaultTimeout         = 30 * time.Second
	DefaultMaxMessageBytes = 10 << 20

	// maxIdleRestart keeps IDLE below the 29 minutes after which RFC 2177
	// allows a server to drop an idle client.
	maxIdleRestart = 28 * time.Minute
)

// Config configures a Watcher. Zero fields take the defaults above.
type Config struct {
	Endpoint *Endpoint
	// CAFile is a PEM file of CA certificates trusted in addition to the
	// system roots.
	CAFile string
	// ProcessedFolder receives handled mail; it is created if missing.
	ProcessedFolder string
	// PollInterval is the time between passes when the server has no IDLE.
	PollInterval time.Duration
	// IdleRestart is how often IDLE is re-issued and the connection checked
	// with a NOOP; values above 28 minutes are lowered to 28 minutes.
	IdleRestart time.Duration
	// Timeout bounds every command, including dial, TLS handshake and login.
	Timeout time.Duration
	// MaxMessageBytes caps the bytes fetched per message; a larger message is
	// handed over truncated, with Message.Truncated set.
	MaxMessageBytes int64
	// Backoff returns the wait before reconnect attempt n (n >= 1) and
	// before retrying a failed Handler. The default grows exponentially from
	// 1s to 60s, with jitter.
	Backoff func(attempt int) time.Duration
}

// Message is one message of the watched mailbox. UIDValidity and UID
// identify it (RFC 9051 section 2.3.1.1); Raw is the message as stored by
// the server, cut at Config.MaxMessageBytes when Truncated.
type Message struct {
	UIDValidity, UID uint32
	Raw              []byte
	Truncated        bool
}

// Checkpoint is provided by the caller (the inbox, backed by bbolt).
type Checkpoint interface {
	// Last returns the last UID processed for the mailbox with that
	// UIDVALIDITY (0 if unknown / validity changed).
	Last(ctx context.Context, mailbox string, uidValidity uint32) (uint32, error)
}

// Handler must durably record the message (and the new checkpoint, in the
// same transaction) before returning nil; only then is the message moved to
// the processed folder. A Handler error stops processing that message (it is
// retried on the next pass, never moved). Handlers are called one at a time,
// in UID order.
type Handler func(ctx context.Context, m Message) error

// Status is the watcher's state, for /readyz and the UI.
type Status struct {
	Connected bool      // logged in with the mailbox selected
	LastError string    // the latest failure; cleared by the next complete pass
	LastSeen  time.Time // the last answer from the server
	Idle      bool      // waiting in IDLE
	Processed int64     // messages handed to the Handler successfully since New
}

// Watcher watches one mailbox. Create it with New; call Run once.
type Watcher struct {
	cfg    Config
	cp     Checkpoint
	handle Handler
	log    *slog.Logger
	pokeCh chan struct{}

	mu     sync.Mutex
	status Status
}

// New returns a Watcher for cfg, applying defaults. Configuration errors
// (no endpoint, an unreadable CAFile) are reported by Run. A nil log
// discards logs.
func New(cfg Config, cp Checkpoint, h Handler, log *slog.Logger) *Watcher {
	if cfg.ProcessedFolder == "" {
		cfg.ProcessedFolder = DefaultProcessedFolder
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	if cfg.IdleRestart <= 0 {
		cfg.IdleRestart = DefaultIdleRestart
	}
	cfg.IdleRestart = min(cfg.IdleRestart, maxIdleRestart)
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxMessageBytes <= 0 {
		cfg.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if cfg.Backoff == nil {
		cfg.Backoff = DefaultBackoff
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Watcher{
		cfg:    cfg,
		cp:     cp,
		handle: h,
		log:    log.With("component", "imapwatch"),
		pokeCh: make(chan struct{}, 1),
	}
}

// DefaultBackoff waits 2^(attempt-1) seconds, at most 60s, with "equal
// jitter": a random duration between half and all of it.
func DefaultBackoff(attempt int) time.Duration {
	attempt = max(attempt, 1)
	d := time.Minute
	if attempt <= 6 {
		d = time.Second << (attempt - 1)
	}
	return d/2 + rand.N(d/2+1)
}

// Status returns a snapshot of the watcher's state. It is safe to call from
// any goroutine.
func (w *Watcher) Status() Status {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.status
}

// Poke asks for a pass now: it ends an IDLE or poll wait, a handler retry
// wait, or a reconnect backoff. It never blocks.
func (w *Watcher) Poke() {
	select {
	case w.pokeCh <- struct{}{}:
	default:
	}
}

// Run connects, processes what is in the mailbox, then waits for new mail
// with IDLE (or polls), reconnecting with backoff after any failure, until
// ctx is done. Returns nil on ctx cancel, and an error only for a
// configuration that cannot work (no endpoint, an unreadable CAFile, the
// processed folder being the watched mailbox).
func (w *Watcher) Run(ctx context.Context) error {
	tlsCfg, err := w.prepare()
	if err != nil {
		return err
	}
	w.log.Info("watching mailbox", "endpoint", w.cfg.Endpoint, "processed", w.cfg.ProcessedFolder)
	attempt := 0
	for {
		err := w.session(ctx, tlsCfg, &attempt)
		w.update(func(s *Status) { s.Connected, s.Idle = false, false })
		if ctx.Err() != nil {
			return nil
		}
		attempt++
		delay := w.cfg.Backoff(attempt)
		w.fail(err)
		w.log.Warn("imap session ended; reconnecting", "err", err, "attempt", attempt, "retry_in", delay)
		if !w.sleep(ctx, delay) {
			return nil
		}
	}
}

func (w *Watcher) prepare() (*tls.Config, error) {
	e := w.cfg.Endpoint
	if e == nil {
		return nil, errors.New("imapwatch: no endpoint configured")
	}
	if sameMailbox(w.cfg.ProcessedFolder, e.Mailbox) {
		return nil, fmt.Errorf("imapwatch: processed folder %q is the watched mailbox", w.cfg.ProcessedFolder)
	}
	cfg := &tls.Config{ServerName: e.Host, MinVersion: tls.VersionTLS12}
	if w.cfg.CAFile != "" {
		pem, err := os.ReadFile(w.cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("imapwatch: read CA file: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("imapwatch: CA file %s: no PEM certificate found", w.cfg.CAFile)
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

// sameMailbox compares mailbox names; INBOX is case-insensitive (RFC 9051
// section 5.1).
func sameMailbox(a, b string) bool {
	if strings.EqualFold(a, "INBOX") || strings.EqualFold(b, "INBOX") {
		return strings.EqualFold(a, b)
	}
	return a == b
}

// sleep waits d, or less if poked; it reports false if ctx ended.
func (w *Watcher) sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
	case <-w.pokeCh:
	}
	return true
}

func (w *Watcher) update(f func(*Status)) {
	w.mu.Lock()
	f(&w.status)
	w.mu.Unlock()
}

func (w *Watcher) fail(err error) {
	if err == nil {
		return
	}
	w.update(func(s *Status) { s.LastError = err.Error() })
}

func (w *Watcher) seen() {
	now := time.Now()
	w.update(func(s *Status) { s.LastSeen = now })
}
