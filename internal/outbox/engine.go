// Package outbox sends a send's deliveries through SMTP as fast as the
// server allows, without losing or doubling a message.
//
// The pipeline: a dispatcher claims due deliveries in batches (one bbolt
// transaction durably marks them sending), workers render and compose each
// message from the template version the send pinned and hand it to the
// SMTP pool, and a recorder commits the server's answers with group
// commit: while one commit is being written the next answers queue, and
// the next commit takes them all (CommitWindow can add a wait to group
// more). A crash can therefore leave deliveries in state sending; at the
// next start they are sent again and marked uncertain (or held, with
// outbox.after_crash = hold). Of those, the ones that may reach a
// recipient twice are only the ones the server accepted whose answer was
// not yet committed: never more than InFlight (default 4 per connection),
// because a worker waits before handing a message to SMTP while InFlight
// answers are uncommitted. Claimed messages not yet handed to SMTP are
// only marked uncertain, never doubled.
//
// Retries: a temporary failure (4xx, network error, timeout) is retried
// after RetryBase·2^(attempt-1), times a random factor in [0.5, 1.5),
// capped at 6 h, until MaxAttempts or MaxAge; then it fails. A permanent
// failure (5xx) fails at once; 5.1.x (no such user) also suppresses the
// address. When PauseAfter consecutive attempts find the server
// unreachable, every running send is paused by the system; a probe then
// checks the server every ProbeInterval and resumes those sends, and only
// those, when it answers. A pause set by a person is never lifted here.
package outbox

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/outreach-coalition/outreach/internal/outreach"
	"github.com/outreach-coalition/outreach/internal/render"
	"github.com/outreach-coalition/outreach/internal/smtpout"
	"github.com/outreach-coalition/outreach/internal/store"
)

// Sender hands one message to an SMTP server.
type Sender interface {
	// Send sends data (RFC 5322, CRLF, not dot-stuffed) from the envelope
	// sender from to rcpt.
	Send(ctx context.Context, from, rcpt string, data []byte) smtpout.Result
	Ping(ctx context.Context) error
}

// Config tunes the engine; zero values get the defaults in New.
type Config struct {
	Connections   int           // workers, one per SMTP connection (default 4)
	InFlight      int           // messages handed to SMTP whose answer is not yet committed, at most (default 4 per connection, at least 8): the bound on duplicates after a crash
	ClaimAhead    int           // deliveries claimed but not yet recorded, at most (default 32 per connection, 128 to 1024)
	Batch         int           // deliveries claimed per transaction (default ClaimAhead/2)
	CommitWindow  time.Duration // extra wait to group answers into one commit (default 0: group commit only)
	MaxAttempts   int           // default 8
	MaxAge        time.Duration // default 72h
	RetryBase     time.Duration // default 1m
	PauseAfter    int           // consecutive unreachable attempts before a system pause (default 10)
	ProbeInterval time.Duration // how often a paused engine checks the server (default 10s)
	Resend        bool          // after a crash, send deliveries found in sending again (at-least-once)
	PublicURL     string        // base of unsubscribe links
}

// Engine runs the outbox.
type Engine struct {
	cfg    Config
	st     *store.Store
	sender Sender
	tokens *Tokens
	log    *slog.Logger
	now    func() time.Time

	kick       chan struct{}
	mu         sync.Mutex
	sets       map[templateKey]*render.Set
	campaigns  map[uint64]*outreach.Campaign
	gate       map[uint64]gateEntry // send id -> recently seen state
	failStreak int
	unrecorded chan struct{}
	// active counts workers holding a job that are not waiting for an
	// unrecorded slot: answers the recorder can expect soon.
	active atomic.Int64
	quiet  chan struct{} // signalled when active drops to zero
	paused bool          // the engine paused sends because the server is unreachable

	// feedMu orders the recorder's claims against closing jobs at
	// shutdown: the recorder hands out claims only while fed is true.
	feedMu sync.Mutex
	fed    bool

	// OnFinished is called after a send finishes (all deliveries final).
	OnFinished func(ctx context.Context, sendID uint64)
	// OnSent is called after each recorded batch with the sent count, for metrics.
	OnResult func(outcome string, d time.Duration)
}

// New returns an engine.
func New(cfg Config, st *store.Store, sender Sender, tokens *Tokens, log *slog.Logger, now func() time.Time) *Engine {
	if cfg.Connections <= 0 {
		cfg.Connections = 4
	}
	if cfg.InFlight <= 0 {
		cfg.InFlight = max(4*cfg.Connections, 8)
	}
	if cfg.ClaimAhead <= 0 {
		cfg.ClaimAhead = min(max(32*cfg.Connections, 128), 1024)
	}
	cfg.ClaimAhead = max(cfg.ClaimAhead, cfg.InFlight)
	if cfg.Batch <= 0 || cfg.Batch > cfg.ClaimAhead {
		cfg.Batch = max(cfg.ClaimAhead/2, 1)
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 8
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = 72 * time.Hour
	}
	if cfg.RetryBase <= 0 {
		cfg.RetryBase = time.Minute
	}
	if cfg.PauseAfter <= 0 {
		cfg.PauseAfter = 10
	}
	if cfg.ProbeInterval <= 0 {
		cfg.ProbeInterval = 10 * time.Second
	}
	if now == nil {
		now = time.Now
	}
	e := &Engine{cfg: cfg, st: st, sender: sender, tokens: tokens, log: log, now: now,
		kick: make(chan struct{}, 1), quiet: make(chan struct{}, 1), sets: map[templateKey]*render.Set{}, campaigns: map[uint64]*outreach.Campaign{}}
	return e
}

// idle marks a worker as not about to produce an answer, and wakes the
// recorder when none is.
func (e *Engine) idle() {
	if e.active.Add(-1) == 0 {
		select {
		case e.quiet <- struct{}{}:
		default:
		}
	}
}

// Kick tells the engine there may be new work (a new or resumed send).
func (e *Engine) Kick() {
	select {
	case e.kick <- struct{}{}:
	default:
	}
}

// Mint returns the token and Message-ID for a new delivery of campaign c.
func (e *Engine) Mint(c *outreach.Campaign) store.Mint {
	reply := replyAddr(c)
	return func(id uint64) (string, string) {
		tok := e.tokens.Token(id)
		return tok, MessageID(tok, reply)
	}
}

func replyAddr(c *outreach.Campaign) string {
	if a, err := outreach.ParseEmail(c.ReplyTo); err == nil {
		return a
	}
	return c.ReplyTo
}

type job struct {
	claimed store.Claimed
	send    *outreach.Send
}

// Run sends until ctx is done. On return every claimed delivery has been
// recorded: in-flight messages finish first.
func (e *Engine) Run(ctx context.Context) error {
	n, err := e.st.RecoverInflight(ctx, e.cfg.Resend)
	if err != nil {
		return fmt.Errorf("recover in-flight deliveries: %w", err)
	}
	if n > 0 {
		e.log.Warn("deliveries were in flight when the daemon stopped: marked uncertain", "count", n, "resend", e.cfg.Resend)
	}
	// Buffered so the dispatcher claims the next batch while workers send.
	jobs := make(chan job, e.cfg.ClaimAhead)
	results := make(chan store.Result, e.cfg.ClaimAhead)
	// slots bounds the deliveries claimed but not yet recorded.
	slots := make(chan struct{}, e.cfg.ClaimAhead)
	// unrecorded bounds the messages handed to SMTP whose answer is not yet
	// committed: the most a crash can send twice.
	e.unrecorded = make(chan struct{}, e.cfg.InFlight)
	e.feedMu.Lock()
	e.fed = true
	e.feedMu.Unlock()
	var workers sync.WaitGroup
	for i := 0; i < e.cfg.Connections; i++ {
		workers.Add(1)
		go func() {
			defer workers.Done()
			var buf []byte // the message being sent
			for j := range jobs {
				if !e.stillRunning(ctx, j.send.ID) {
					// Paused or cancelled since it was claimed ahead.
					e.unclaim(ctx, j.claimed.Delivery.ID)
					<-slots
					continue
				}
				e.active.Add(1)
				var r store.Result
				r, buf = e.deliver(ctx, j, buf)
				results <- r
				e.idle()
			}
		}()
	}
	recorded := make(chan struct{})
	go func() {
		defer close(recorded)
		e.record(ctx, results, jobs, slots)
	}()
	probeCtx, stopProbe := context.WithCancel(context.Background())
	defer stopProbe()
	go e.probe(probeCtx)

	e.dispatch(ctx, jobs, slots)
	e.feedMu.Lock()
	e.fed = false
	close(jobs)
	e.feedMu.Unlock()
	workers.Wait()
	close(results)
	<-recorded
	return nil
}

// dispatch claims due deliveries and hands them to workers. It looks
// before it writes: a send whose next delivery is not due costs a read
// transaction, not a commit.
func (e *Engine) dispatch(ctx context.Context, jobs chan<- job, slots chan struct{}) {
	for ctx.Err() == nil {
		// While the workers have work queued and no whole batch is free,
		// the recorder claims: do not even list the sends.
		var sends []outreach.Send
		var err error
		if free := cap(slots) - len(slots); free >= e.cfg.Batch || (free > 0 && len(jobs) < e.cfg.Connections) {
			if sends, err = e.st.Sends(ctx, outreach.SendRunning); err != nil {
				e.log.Error("list running sends", "err", err)
			}
		}
		claimed := 0
		now := e.now()
		next := time.Time{}
		for i := range sends {
			send := &sends[i]
			// Claim in batches: each claim is a commit. While the workers
			// have work queued, wait until a whole batch is free.
			free := cap(slots) - len(slots)
			if free == 0 || (free < e.cfg.Batch && len(jobs) >= e.cfg.Connections) {
				break
			}
			due, err := e.st.NextDue(ctx, send.ID)
			if err != nil || due.IsZero() {
				continue
			}
			if due.After(now) {
				if next.IsZero() || due.Before(next) {
					next = due
				}
				continue
			}
			// Take the slots first, without waiting: the recorder claims
			// into free slots too.
			reserved := 0
		reserve:
			for reserved < min(free, e.cfg.Batch) {
				select {
				case slots <- struct{}{}:
					reserved++
				default:
					break reserve
				}
			}
			var list []store.Claimed
			if reserved > 0 {
				list, err = e.st.Claim(ctx, send.ID, now, reserved)
				if err != nil {
					e.log.Error("claim deliveries", "send", send.ID, "err", err)
				}
			}
			for range reserved - len(list) {
				<-slots
			}
			for _, c := range list {
				select {
				case jobs <- job{claimed: c, send: send}:
				case <-ctx.Done():
					// Shutting down: record it as not attempted.
					<-slots
					e.requeue(c)
				}
			}
			claimed += len(list)
		}
		if claimed > 0 {
			continue
		}
		// Nothing claimed: wait for a commit to free slots, new work, or
		// the next due delivery.
		wait := time.Second
		if !next.IsZero() {
			wait = min(max(next.Sub(e.now()), time.Millisecond), wait)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-e.kick:
		case <-t.C:
		}
		t.Stop()
	}
}

// requeue records a claimed delivery that was never attempted.
func (e *Engine) requeue(c store.Claimed) {
	e.st.Record(context.Background(), []store.Result{{DeliveryID: c.Delivery.ID, RetryAt: e.now(),
		Attempt: outreach.Attempt{Time: e.now(), Outcome: outreach.DeliveryRetrying, Response: "not attempted: the daemon was stopping"}}})
}

// deliver renders, composes and sends one message and classifies the
// answer. The message is built in buf's array, which is returned, grown
// if need be, for the next message.
func (e *Engine) deliver(ctx context.Context, j job, buf []byte) (store.Result, []byte) {
	d := &j.claimed.Delivery
	now := e.now()
	res := store.Result{DeliveryID: d.ID, Attempt: outreach.Attempt{Time: now, SendID: d.SendID}}
	m, err := e.compose(ctx, j, buf)
	if m.Data != nil {
		buf = m.Data
	}
	if err != nil {
		res.Attempt.Outcome = outreach.DeliveryFailed
		res.Attempt.Response = "render: " + err.Error()
		e.log.Error("render failed", "delivery", d.ID, "err", err)
		return res, buf
	}
	// Shutdown lets in-flight messages finish: the SMTP exchange gets its
	// own deadline-bound context, not ctx. The token taken here is given
	// back by the recorder once this answer is committed.
	select {
	case e.unrecorded <- struct{}{}:
	default:
		e.idle()
		e.unrecorded <- struct{}{}
		e.active.Add(1)
	}
	res.Sent = true
	r := e.sender.Send(context.WithoutCancel(ctx), m.Sender, d.Email, m.Data)
	res.Attempt.Time = e.now()
	res.Attempt.Server, res.Attempt.Code, res.Attempt.Enhanced, res.Attempt.Response, res.Attempt.Duration = r.Server, r.Code, r.Enhanced, r.Response, r.Duration
	switch {
	case r.Outcome == smtpout.Sent:
		res.Attempt.Outcome = outreach.DeliverySent
	case r.Outcome == smtpout.Permanent && !r.RelayFault():
		res.Attempt.Outcome = outreach.DeliveryFailed
		if r.NoSuchUser() {
			res.Suppress = outreach.StatusBounced
		}
	default:
		// Age counts from when the delivery was first due, so throttled,
		// local-hour or paused deliveries keep their retries.
		first := d.Created
		if d.NotBefore.After(first) {
			first = d.NotBefore
		}
		age := now.Sub(first)
		if d.Attempts >= e.cfg.MaxAttempts || age > e.cfg.MaxAge {
			res.Attempt.Outcome = outreach.DeliveryFailed
			res.Attempt.Response = fmt.Sprintf("gave up after %d attempts over %s: %s", d.Attempts, age.Round(time.Second), r.Response)
		} else {
			res.Attempt.Outcome = outreach.DeliveryRetrying
			res.RetryAt = now.Add(e.backoff(d.Attempts))
		}
	}
	if r.Maybe {
		// The server may already hold this message: say so in the log,
		// and with after_crash = hold do not send it again.
		res.Uncertain = true
		if !e.cfg.Resend && res.Attempt.Outcome == outreach.DeliveryRetrying {
			res.Attempt.Outcome = outreach.DeliveryUncertain
		}
	}
	if res.Attempt.Response == "" && r.Err != nil {
		res.Attempt.Response = r.Err.Error()
	}
	e.health(r)
	if e.OnResult != nil {
		e.OnResult(res.Attempt.Outcome, r.Duration)
	}
	return res, buf
}

func (e *Engine) backoff(attempt int) time.Duration {
	d := e.cfg.RetryBase << min(max(attempt-1, 0), 20)
	d = min(d, 6*time.Hour)
	return time.Duration(float64(d) * (0.5 + rand.Float64()))
}

// unreachable reports whether a result says the server, not the message,
// is the problem.
func unreachable(r smtpout.Result) bool {
	return r.Outcome != smtpout.Sent && (r.Code == 0 || r.Code == 421 || r.RelayFault())
}

func (e *Engine) health(r smtpout.Result) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !unreachable(r) {
		e.failStreak = 0
		return
	}
	e.failStreak++
	if e.failStreak < e.cfg.PauseAfter || e.paused {
		return
	}
	e.paused = true
	reason := fmt.Sprintf("SMTP server unreachable (%d attempts in a row): %s", e.failStreak, r.Response)
	go e.pauseAll(reason)
}

func (e *Engine) pauseAll(reason string) {
	ctx := context.Background()
	sends, _ := e.st.Sends(ctx, outreach.SendRunning)
	for _, s := range sends {
		if _, err := e.st.SetSendState(ctx, s.ID, outreach.SendPaused, &outreach.Pause{By: outreach.PausedBySystem, Reason: reason, Time: e.now().UTC()}); err == nil {
			e.log.Warn("send paused", "send", s.ID, "reason", reason)
		}
	}
}

// probe resumes the sends the engine paused once the server answers.
func (e *Engine) probe(ctx context.Context) {
	t := time.NewTicker(e.cfg.ProbeInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		e.mu.Lock()
		paused := e.paused
		e.mu.Unlock()
		if !paused {
			continue
		}
		pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := e.sender.Ping(pctx)
		cancel()
		if err != nil {
			e.log.Info("SMTP server still unreachable", "err", err)
			continue
		}
		e.mu.Lock()
		e.paused, e.failStreak = false, 0
		e.mu.Unlock()
		sends, _ := e.st.Sends(ctx, outreach.SendPaused)
		for _, s := range sends {
			if s.Pause.ByPerson() {
				continue
			}
			if _, err := e.st.SetSendState(ctx, s.ID, outreach.SendRunning, &outreach.Pause{By: outreach.PausedBySystem}); err == nil {
				e.log.Info("SMTP server answers again: send resumed", "send", s.ID)
			}
		}
		e.Kick()
	}
}

const (
	// maxCommit bounds the answers recorded in one transaction.
	maxCommit = 512
	// maxGather bounds how long the recorder waits for the answers of
	// messages still with the SMTP server before it commits.
	maxGather = 5 * time.Millisecond
)

// record commits results with group commit: it blocks for one answer,
// then gathers the answers of every message a worker is still sending
// (waiting at most maxGather, or CommitWindow if longer), commits them in
// one transaction, and repeats. Gathering matters with fast servers: the
// commit (two fsyncs) costs more than sending InFlight messages, and a
// commit that waited for them records InFlight answers, not half as many.
// The same commit claims the next deliveries of the send just recorded,
// as many as there are free slots (the recorded ones' included), and
// hands them to the workers once it is durable: the dispatcher's own
// claims are then needed only when no answers flow.
func (e *Engine) record(ctx context.Context, results <-chan store.Result, jobs chan<- job, slots chan struct{}) {
	batch := make([]store.Result, 0, maxCommit)
	gather := time.NewTimer(time.Hour)
	gather.Stop()
	for {
		r, ok := <-results
		if !ok {
			return
		}
		batch = append(batch[:0], r)
		gather.Reset(max(maxGather, e.cfg.CommitWindow))
	drain:
		for len(batch) < maxCommit {
			select {
			case r, ok := <-results:
				if !ok {
					break drain
				}
				batch = append(batch, r)
				continue
			default:
			}
			if e.active.Load() == 0 && e.cfg.CommitWindow == 0 {
				break
			}
			select {
			case r, ok := <-results:
				if !ok {
					break drain
				}
				batch = append(batch, r)
			case <-gather.C:
				break drain
			case <-e.quiet:
			}
		}
		gather.Stop()
		e.commit(ctx, batch, jobs, slots)
		e.Kick()
	}
}

// commit records a batch of answers and claims what the freed slots allow
// in the same transaction (see record).
func (e *Engine) commit(ctx context.Context, batch []store.Result, jobs chan<- job, slots chan struct{}) {
	e.feedMu.Lock()
	defer e.feedMu.Unlock()
	// The recorded deliveries' slots pass to the new claims; take the free
	// ones too, without waiting (the dispatcher may hold them).
	reserved := 0
	if e.fed && ctx.Err() == nil {
	reserve:
		for reserved < e.cfg.Batch {
			select {
			case slots <- struct{}{}:
				reserved++
			default:
				break reserve
			}
		}
	}
	limit := 0
	if e.fed && ctx.Err() == nil {
		limit = len(batch) + reserved
	}
	sendID := batch[len(batch)-1].Attempt.SendID
	finished, claimed, send, err := e.st.RecordClaim(context.Background(), batch, sendID, e.now(), limit)
	for err != nil {
		// A failed commit must not lose the answers: keep trying.
		e.log.Error("record results (retrying)", "count", len(batch), "err", err)
		time.Sleep(100 * time.Millisecond)
		finished, claimed, send, err = e.st.RecordClaim(context.Background(), batch, sendID, e.now(), limit)
	}
	for _, r := range batch {
		if r.Sent {
			<-e.unrecorded
		}
	}
	for _, c := range claimed {
		// Each claim holds a slot, so jobs (as large as the slots) has room.
		jobs <- job{claimed: c, send: send}
	}
	for range len(batch) + reserved - len(claimed) {
		<-slots
	}
	for _, id := range finished {
		e.log.Info("send finished", "send", id)
		if e.OnFinished != nil {
			e.OnFinished(context.Background(), id)
		}
	}
}

// compose builds the message of one delivery into buf's array.
func (e *Engine) compose(ctx context.Context, j job, buf []byte) (render.Message, error) {
	d, c := &j.claimed.Delivery, &j.claimed.Contact
	set, err := e.templateSet(ctx, j.send.Template, j.send.TemplateVersion)
	if err != nil {
		return render.Message{}, err
	}
	camp, err := e.campaign(ctx, j.send.CampaignID)
	if err != nil {
		return render.Message{}, err
	}
	reply := ReplyAddress(replyAddr(camp), d.Token)
	unsub := ""
	if j.send.ListHeaders {
		unsub = e.UnsubscribeURL(d.Token)
	}
	data := &render.Data{Contact: *c, Campaign: *camp, Wave: render.WaveInfo{Name: j.send.Name},
		Delivery: render.DeliveryInfo{ReplyTo: reply, UnsubscribeURL: unsub, MessageID: d.MessageID}, Now: e.now()}
	for _, name := range d.Roster {
		data.Endorsers = append(data.Endorsers, render.Endorser{Name: name, Country: c.Country})
	}
	r, err := set.Render(j.send.Template, data)
	if err != nil {
		return render.Message{}, err
	}
	env := &render.Envelope{From: camp.From, To: c.Email, ToName: c.Name, ReplyTo: reply, MessageID: d.MessageID, Date: e.now()}
	if j.send.ListHeaders {
		env.ListUnsubscribeURL = unsub
		env.ListUnsubscribeMailto = "mailto:" + reply + "?subject=unsubscribe"
	}
	return render.Compose(buf, r, env)
}

// UnsubscribeURL is the one-click unsubscribe link of a delivery.
func (e *Engine) UnsubscribeURL(token string) string { return e.cfg.PublicURL + "/u/" + token }

// templateKey names one stored template version.
type templateKey struct {
	name    string
	version uint64
}

func (e *Engine) templateSet(ctx context.Context, name string, version uint64) (*render.Set, error) {
	k := templateKey{name, version}
	e.mu.Lock()
	set := e.sets[k]
	e.mu.Unlock()
	if set != nil {
		return set, nil
	}
	tv, err := e.st.Template(ctx, name, version)
	if err != nil {
		return nil, err
	}
	set, err = render.LoadFiles(tv.Files)
	if err != nil {
		return nil, fmt.Errorf("template %s version %d: %w", name, version, err)
	}
	e.mu.Lock()
	e.sets[k] = set
	e.mu.Unlock()
	return set, nil
}

func (e *Engine) campaign(ctx context.Context, id uint64) (*outreach.Campaign, error) {
	e.mu.Lock()
	c := e.campaigns[id]
	e.mu.Unlock()
	if c != nil {
		return c, nil
	}
	c, err := e.st.Campaign(ctx, id)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	e.campaigns[id] = c
	e.mu.Unlock()
	return c, nil
}

// ForgetCampaign drops a cached campaign after it changed.
func (e *Engine) ForgetCampaign(id uint64) {
	e.mu.Lock()
	delete(e.campaigns, id)
	e.mu.Unlock()
}
