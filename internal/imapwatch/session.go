package imapwatch

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"slices"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// Limits of one FETCH of message bodies and of one UID set sent to the
// server, to bound memory and command length.
const (
	batchMessages = 256
	batchBytes    = 8 << 20
	moveChunk     = 512
)

// moveMode is how handled mail leaves the watched mailbox.
type moveMode int

const (
	modeMove     moveMode = iota // UID MOVE
	modeExpunge                  // UID COPY, STORE \Deleted, UID EXPUNGE
	modeFlagOnly                 // UID COPY, STORE \Deleted; never EXPUNGE
)

func (m moveMode) String() string {
	return [...]string{"move", "copy+uid expunge", "copy+flag"}[m]
}

// session is one logged-in connection with the mailbox selected.
type session struct {
	w           *Watcher
	raw         net.Conn // the TCP connection under any TLS, closed to abort a command
	c           *imapclient.Client
	notify      chan struct{} // new mail announced by the server (EXISTS)
	idle        bool
	mode        moveMode
	uidValidity uint32
}

// session runs one connection until it fails or ctx ends. It resets
// *attempt once a first pass completed, so the backoff restarts after a
// working connection.
func (w *Watcher) session(ctx context.Context, tlsCfg *tls.Config, attempt *int) error {
	s, err := w.connect(ctx, tlsCfg)
	if err != nil {
		return err
	}
	defer s.close()
	stop := context.AfterFunc(ctx, func() { s.raw.Close() })
	defer stop()

	w.update(func(st *Status) { st.Connected = true })
	w.log.Info("connected", "uidvalidity", s.uidValidity, "idle", s.idle, "move", s.mode.String())

	failures := 0
	for {
		herr, err := s.pass(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			return err
		}
		*attempt = 0
		var retry time.Duration
		if herr != nil {
			failures++
			retry = w.cfg.Backoff(failures)
			w.fail(herr)
			w.log.Warn("pass stopped; retrying", "err", herr, "retry_in", retry)
		} else {
			failures = 0
			w.update(func(st *Status) { st.LastError = "" })
		}
		if err := s.wait(ctx, retry); err != nil {
			return err
		}
	}
}

func (w *Watcher) connect(ctx context.Context, tlsCfg *tls.Config) (*session, error) {
	e := w.cfg.Endpoint
	d := net.Dialer{Timeout: w.cfg.Timeout}
	raw, err := d.DialContext(ctx, "tcp", e.Addr())
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", e.Addr(), err)
	}
	s := &session{w: w, raw: raw, notify: make(chan struct{}, 1)}
	stop := context.AfterFunc(ctx, func() { raw.Close() })
	defer stop()
	opts := &imapclient.Options{
		TLSConfig: tlsCfg,
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			// Runs on the client's reader goroutine: it must not block.
			Mailbox: func(d *imapclient.UnilateralDataMailbox) {
				if d.NumMessages != nil {
					s.signal()
				}
			},
		},
	}
	switch e.Security {
	case SecurityTLS:
		cfg := tlsCfg.Clone()
		cfg.NextProtos = []string{"imap"}
		tc := tls.Client(raw, cfg)
		hctx, cancel := context.WithTimeout(ctx, w.cfg.Timeout)
		err := tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			raw.Close()
			return nil, fmt.Errorf("tls handshake with %s: %w", e.Addr(), err)
		}
		s.c = imapclient.New(tc, opts)
	case SecurityStartTLS:
		if err := s.do("starttls", func() (err error) {
			s.c, err = imapclient.NewStartTLS(raw, opts)
			return err
		}); err != nil {
			raw.Close()
			return nil, err
		}
	default:
		s.c = imapclient.New(raw, opts)
	}
	if err := s.setup(); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

func (s *session) setup() error {
	cfg := &s.w.cfg
	if err := s.do("greeting", s.c.WaitGreeting); err != nil {
		return err
	}
	if err := s.do("login", func() error { return s.c.Login(cfg.Endpoint.Username, cfg.Endpoint.Password).Wait() }); err != nil {
		return err
	}
	var caps imap.CapSet
	if err := s.do("capability", func() error {
		if caps = s.c.Caps(); caps == nil {
			return errors.New("no answer")
		}
		return nil
	}); err != nil {
		return err
	}
	s.idle = caps.Has(imap.CapIdle)
	switch {
	case caps.Has(imap.CapMove):
		s.mode = modeMove
	case caps.Has(imap.CapUIDPlus):
		s.mode = modeExpunge
	default:
		s.mode = modeFlagOnly
	}
	if err := s.ensureFolder(cfg.ProcessedFolder); err != nil {
		return err
	}
	var sel *imap.SelectData
	if err := s.do("select "+cfg.Endpoint.Mailbox, func() (err error) {
		sel, err = s.c.Select(cfg.Endpoint.Mailbox, nil).Wait()
		return err
	}); err != nil {
		return err
	}
	if sel.UIDValidity == 0 {
		return fmt.Errorf("select %s: server sent no UIDVALIDITY", cfg.Endpoint.Mailbox)
	}
	s.uidValidity = sel.UIDValidity
	return nil
}

// ensureFolder creates the processed folder unless LIST finds it.
func (s *session) ensureFolder(name string) error {
	var found []*imap.ListData
	if err := s.do("list "+name, func() (err error) {
		found, err = s.c.List("", name, nil).Collect()
		return err
	}); err != nil {
		return err
	}
	if len(found) > 0 {
		return nil
	}
	err := s.do("create "+name, func() error { return s.c.Create(name, nil).Wait() })
	var ierr *imap.Error
	if errors.As(err, &ierr) && ierr.Code == imap.ResponseCodeAlreadyExists {
		return nil
	}
	if err == nil {
		s.w.log.Info("created processed folder", "folder", name)
	}
	return err
}

func (s *session) close() {
	s.raw.Close()
	if s.c != nil {
		s.c.Close()
	}
}

func (s *session) signal() {
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// do runs one IMAP exchange under the Config.Timeout watchdog: if f has not
// returned by then, the connection is closed, which makes f return.
func (s *session) do(what string, f func() error) error {
	var expired atomic.Bool
	t := time.AfterFunc(s.w.cfg.Timeout, func() {
		expired.Store(true)
		s.raw.Close()
	})
	err := f()
	t.Stop()
	if expired.Load() {
		return fmt.Errorf("%s: no answer within %s; connection closed", what, s.w.cfg.Timeout)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	s.w.seen()
	return nil
}

// wait returns when a pass is due: new mail, a Poke, the handler retry
// delay (if retry > 0), the poll interval, or an IDLE restart. It returns
// an error if the connection failed or ctx ended.
func (s *session) wait(ctx context.Context, retry time.Duration) error {
	var retryC <-chan time.Time
	if retry > 0 {
		t := time.NewTimer(retry)
		defer t.Stop()
		retryC = t.C
	}
	if !s.idle {
		t := time.NewTimer(s.w.cfg.PollInterval)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.c.Closed():
			return errors.New("connection closed by the server")
		case <-t.C:
		case <-retryC:
		case <-s.notify:
		case <-s.w.pokeCh:
		}
		return nil
	}

	var cmd *imapclient.IdleCommand
	if err := s.do("idle", func() (err error) {
		cmd, err = s.c.Idle()
		return err
	}); err != nil {
		return err
	}
	s.w.update(func(st *Status) { st.Idle = true })
	restart := time.NewTimer(s.w.cfg.IdleRestart)
	defer restart.Stop()
	check := false
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-s.c.Closed():
		return errors.New("connection closed by the server during IDLE")
	case <-restart.C:
		check = true
	case <-retryC:
	case <-s.notify:
	case <-s.w.pokeCh:
	}
	s.w.update(func(st *Status) { st.Idle = false })
	if err := s.do("idle done", func() error {
		if err := cmd.Close(); err != nil {
			return err
		}
		return cmd.Wait()
	}); err != nil {
		return err
	}
	if check {
		return s.do("noop", func() error { return s.c.Noop().Wait() })
	}
	return nil
}

// pass handles what is new in the mailbox and moves what was handled. herr
// reports a Handler or Checkpoint failure (the connection is fine, the pass
// is to be retried later); err reports a failed IMAP exchange (the session
// is over).
func (s *session) pass(ctx context.Context) (herr, err error) {
	select {
	case <-s.notify:
	default:
	}
	mailbox := s.w.cfg.Endpoint.Mailbox
	last, err := s.w.cp.Last(ctx, mailbox, s.uidValidity)
	if err != nil {
		return fmt.Errorf("checkpoint of %s: %w", mailbox, err), nil
	}
	done, todo, err := s.search(last)
	if err != nil {
		return nil, err
	}
	if len(done) > 0 {
		s.w.log.Info("moving mail recorded before", "count", len(done))
		if err := s.move(done); err != nil {
			return nil, err
		}
	}
	if len(todo) == 0 {
		return nil, nil
	}
	sizes, err := s.sizes(todo)
	if err != nil {
		return nil, err
	}
	for len(todo) > 0 {
		n, bytes := 0, int64(0)
		for n < len(todo) && n < batchMessages && (n == 0 || bytes < batchBytes) {
			bytes += min(sizes[todo[n]], s.w.cfg.MaxMessageBytes)
			n++
		}
		batch := todo[:n]
		todo = todo[n:]
		herr, err := s.handleBatch(ctx, batch)
		if herr != nil || err != nil {
			return herr, err
		}
	}
	return nil, nil
}

// search lists the mailbox: done are UIDs at or below last (recorded, still
// to move), todo the UIDs above it (to handle), both ascending. In flag-only
// mode, recorded messages already flagged \Deleted have been copied and are
// left out.
func (s *session) search(last uint32) (done, todo []imap.UID, err error) {
	criteria := &imap.SearchCriteria{}
	if s.mode == modeFlagOnly && last > 0 && last < math.MaxUint32 {
		var above imap.UIDSet
		above.AddRange(imap.UID(last+1), imap.UID(math.MaxUint32))
		criteria.Or = [][2]imap.SearchCriteria{{
			{NotFlag: []imap.Flag{imap.FlagDeleted}},
			{UID: []imap.UIDSet{above}},
		}}
	}
	var data *imap.SearchData
	if err := s.do("search", func() (err error) {
		data, err = s.c.UIDSearch(criteria, nil).Wait()
		return err
	}); err != nil {
		return nil, nil, err
	}
	uids := data.AllUIDs()
	slices.Sort(uids)
	uids = slices.Compact(uids)
	for _, uid := range uids {
		if uint32(uid) <= last {
			done = append(done, uid)
		} else {
			todo = append(todo, uid)
		}
	}
	return done, todo, nil
}

// sizes fetches RFC822.SIZE of uids, to cut body fetches into batches.
func (s *session) sizes(uids []imap.UID) (map[imap.UID]int64, error) {
	sizes := make(map[imap.UID]int64, len(uids))
	for chunk := range slices.Chunk(uids, moveChunk*4) {
		err := s.do("fetch sizes", func() error {
			cmd := s.c.Fetch(imap.UIDSetNum(chunk...), &imap.FetchOptions{UID: true, RFC822Size: true})
			for m := cmd.Next(); m != nil; m = cmd.Next() {
				buf, err := m.Collect()
				if err != nil {
					cmd.Close()
					return err
				}
				sizes[buf.UID] = buf.RFC822Size
			}
			return cmd.Close()
		})
		if err != nil {
			return nil, err
		}
	}
	return sizes, nil
}

// handleBatch fetches the bodies of uids, hands them to the Handler in UID
// order and moves those it recorded. It stops at the first Handler error and
// at the first UID the server did not return, since handling a later one
// would move the checkpoint past it.
func (s *session) handleBatch(ctx context.Context, uids []imap.UID) (herr, err error) {
	msgs, err := s.fetch(uids)
	if err != nil {
		return nil, err
	}
	var handled []imap.UID
	for _, uid := range uids {
		m, ok := msgs[uid]
		if !ok {
			herr = fmt.Errorf("uid %d: not returned by FETCH; will retry", uid)
			break
		}
		if err := s.w.handle(ctx, m); err != nil {
			herr = fmt.Errorf("handle uid %d: %w", uid, err)
			break
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		handled = append(handled, uid)
		s.w.update(func(st *Status) { st.Processed++ })
	}
	if len(handled) > 0 {
		if err := s.move(handled); err != nil {
			return nil, err
		}
		s.w.log.Debug("handled", "count", len(handled))
	}
	return herr, nil
}

// fetch returns the messages among uids that the server still has, each
// read with BODY.PEEK[]<0.MaxMessageBytes> so that \Seen is not set.
func (s *session) fetch(uids []imap.UID) (map[imap.UID]Message, error) {
	limit := s.w.cfg.MaxMessageBytes
	opts := &imap.FetchOptions{
		UID:         true,
		RFC822Size:  true,
		BodySection: []*imap.FetchItemBodySection{{Peek: true, Partial: &imap.SectionPartial{Size: limit}}},
	}
	msgs := make(map[imap.UID]Message, len(uids))
	err := s.do("fetch", func() error {
		cmd := s.c.Fetch(imap.UIDSetNum(uids...), opts)
		for fm := cmd.Next(); fm != nil; fm = cmd.Next() {
			var (
				uid    imap.UID
				size   int64
				raw    []byte
				gotRaw bool
			)
			for item := fm.Next(); item != nil; item = fm.Next() {
				switch it := item.(type) {
				case imapclient.FetchItemDataUID:
					uid = it.UID
				case imapclient.FetchItemDataRFC822Size:
					size = it.Size
				case imapclient.FetchItemDataBodySection:
					if it.Literal == nil {
						continue
					}
					// A server that ignores the partial range still sends
					// everything; read at most limit, the client discards the rest.
					b, err := io.ReadAll(io.LimitReader(it.Literal, limit))
					if err != nil {
						cmd.Close()
						return err
					}
					raw, gotRaw = b, true
				}
			}
			if uid == 0 || !gotRaw {
				continue
			}
			msgs[uid] = Message{
				UIDValidity: s.uidValidity,
				UID:         uint32(uid),
				Raw:         raw,
				Truncated:   int64(len(raw)) >= limit && size > limit,
			}
		}
		return cmd.Close()
	})
	return msgs, err
}

// move takes uids (ascending) out of the watched mailbox into the processed
// folder, as the server allows; see the package comment.
func (s *session) move(uids []imap.UID) error {
	folder := s.w.cfg.ProcessedFolder
	for chunk := range slices.Chunk(uids, moveChunk) {
		set := imap.UIDSetNum(chunk...)
		var err error
		switch s.mode {
		case modeMove:
			err = s.do("move", func() error {
				_, err := s.c.Move(set, folder).Wait()
				return err
			})
		default:
			err = s.do("copy", func() error {
				_, err := s.c.Copy(set, folder).Wait()
				return err
			})
			if err == nil {
				err = s.do("store \\Deleted", func() error {
					return s.c.Store(set, &imap.StoreFlags{
						Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted},
					}, nil).Close()
				})
			}
			if err == nil && s.mode == modeExpunge {
				err = s.do("uid expunge", func() error { return s.c.UIDExpunge(set).Close() })
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}
