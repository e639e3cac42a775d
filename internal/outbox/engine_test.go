package outbox

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/mail"
	"strings"
	"testing"
	"time"

	smtp "github.com/emersion/go-smtp"
	"github.com/outreach-coalition/outreach/internal/devmail"
	"github.com/outreach-coalition/outreach/internal/outreach"
	"github.com/outreach-coalition/outreach/internal/render"
	"github.com/outreach-coalition/outreach/internal/smtpout"
	"github.com/outreach-coalition/outreach/internal/store"
	"github.com/outreach-coalition/outreach/templates"
)

// rig is a store, a scripted SMTP server, a pool and an engine.
type rig struct {
	t      *testing.T
	st     *store.Store
	dm     *devmail.Server
	eng    *Engine
	tokens *Tokens
	camp   *outreach.Campaign
	cancel context.CancelFunc
	done   chan struct{}
}

func newRig(t *testing.T, hook func(stage devmail.Stage, from, rcpt string, attempt int) error) *rig {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(t.TempDir(), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sub, _ := fs.Sub(templates.Mail, "mail")
	set, err := render.Load(sub)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range set.Names() {
		if _, _, err := st.SaveTemplate(ctx, name, set.Files(name), "test"); err != nil {
			t.Fatal(err)
		}
	}
	camp, err := st.EnsureDefaultCampaign(ctx, &outreach.Campaign{Name: "C", From: "Coalition <c@example.org>", ReplyTo: "c@example.org", DefaultLanguage: "en", PostalAddress: "1 Example St"})
	if err != nil {
		t.Fatal(err)
	}
	dm, err := devmail.Start(ctx, devmail.Options{Hook: hook})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dm.Close() })
	ep, _ := smtpout.ParseURL("smtp://" + dm.Addr() + "?tls=none")
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	pool, err := smtpout.New(smtpout.Config{Endpoint: ep, Connections: 2, Timeout: 5 * time.Second}, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close() })
	tokens := NewTokens([]byte("test secret, long enough for hmac"))
	eng := New(Config{Connections: 2, RetryBase: 5 * time.Millisecond, PauseAfter: 3, ProbeInterval: 20 * time.Millisecond,
		Resend: true, PublicURL: "https://outreach.example.test"}, st, pool, tokens, log, nil)
	return &rig{t: t, st: st, dm: dm, eng: eng, tokens: tokens, camp: camp}
}

func (r *rig) start() {
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel, r.done = cancel, make(chan struct{})
	go func() { defer close(r.done); r.eng.Run(ctx) }()
	r.t.Cleanup(r.stop)
}

func (r *rig) stop() {
	if r.cancel != nil {
		r.cancel()
		<-r.done
		r.cancel = nil
	}
}

// contacts imports n partners p0..p(n-1)@example.test.
func (r *rig) contacts(n int) []store.Recipient {
	var rcpts []store.Recipient
	err := r.st.ImportContacts(context.Background(), func(put store.PutFunc) error {
		for i := 0; i < n; i++ {
			c := outreach.Contact{Email: fmt.Sprintf("p%d@example.test", i), Name: fmt.Sprintf("Partner %d", i), Organization: "Org", Country: "MY"}
			if _, err := put(&c); err != nil {
				return err
			}
			rcpts = append(rcpts, store.Recipient{ContactID: c.ID, Email: c.Email})
		}
		return nil
	})
	if err != nil {
		r.t.Fatal(err)
	}
	return rcpts
}

func (r *rig) send(template string, listHeaders bool, rcpts []store.Recipient) *outreach.Send {
	s := &outreach.Send{Kind: outreach.SendWave, Name: "w", CampaignID: r.camp.ID, WaveID: 1, Template: template, TemplateVersion: 1, ListHeaders: listHeaders}
	if err := r.st.CreateSend(context.Background(), s, rcpts, r.eng.Mint(r.camp)); err != nil {
		r.t.Fatal(err)
	}
	r.eng.Kick()
	return s
}

// await polls cond until it holds or 10 seconds pass.
func (r *rig) await(what string, cond func() bool) {
	r.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			r.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (r *rig) sendState(id uint64) *outreach.Send {
	s, err := r.st.Send(context.Background(), id)
	if err != nil {
		r.t.Fatal(err)
	}
	return s
}

func (r *rig) awaitDone(id uint64) *outreach.Send {
	r.t.Helper()
	r.await("the send to finish", func() bool { return r.sendState(id).State == outreach.SendDone })
	return r.sendState(id)
}

func TestMessagesCarryTheHeaders(t *testing.T) {
	r := newRig(t, nil)
	rcpts := r.contacts(3)
	r.start()
	wave := r.send("call-to-action", true, rcpts[:2])
	letter := r.send("letter", false, rcpts[2:])
	r.awaitDone(wave.ID)
	r.awaitDone(letter.ID)
	msgs := r.dm.Messages()
	if len(msgs) != 3 {
		t.Fatalf("%d messages arrived; want 3", len(msgs))
	}
	seenIDs := map[string]bool{}
	for _, m := range msgs {
		msg, err := mail.ReadMessage(bytes.NewReader(m.Raw))
		if err != nil {
			t.Fatal(err)
		}
		h := msg.Header
		to, _ := mail.ParseAddress(h.Get("To"))
		isLetter := to.Address == "p2@example.test"
		replyTo, _ := mail.ParseAddress(h.Get("Reply-To"))
		id, ok := r.tokens.FromAddress(replyTo.Address)
		if !ok {
			t.Errorf("Reply-To %q carries no valid token", h.Get("Reply-To"))
			continue
		}
		d, _ := r.st.Delivery(context.Background(), id)
		if !strings.EqualFold(d.Email, to.Address) {
			t.Errorf("token of %s maps to delivery for %s", to.Address, d.Email)
		}
		if got := strings.Trim(h.Get("Message-ID"), "<>"); got != d.MessageID || seenIDs[got] {
			t.Errorf("Message-ID %q; stored %q (or not unique)", got, d.MessageID)
		}
		seenIDs[d.MessageID] = true
		if !strings.EqualFold(m.From, replyTo.Address) {
			t.Errorf("envelope sender %q; want the reply address %q", m.From, replyTo.Address)
		}
		if h.Get("Date") == "" || h.Get("Auto-Submitted") != "" {
			t.Errorf("Date %q, Auto-Submitted %q", h.Get("Date"), h.Get("Auto-Submitted"))
		}
		lu, lup := h.Get("List-Unsubscribe"), h.Get("List-Unsubscribe-Post")
		if isLetter {
			if lu != "" || lup != "" {
				t.Errorf("letter carries list headers: %q %q", lu, lup)
			}
			continue
		}
		if !strings.Contains(lu, "<https://outreach.example.test/u/"+d.Token+">") || !strings.Contains(lu, "<mailto:"+replyTo.Address+"?subject=unsubscribe>") {
			t.Errorf("List-Unsubscribe = %q", lu)
		}
		if lup != "List-Unsubscribe=One-Click" {
			t.Errorf("List-Unsubscribe-Post = %q", lup)
		}
	}
}

func smtpErr(code int, enh smtp.EnhancedCode, msg string) error {
	return &smtp.SMTPError{Code: code, EnhancedCode: enh, Message: msg}
}

func TestTemporaryFailuresAreRetried(t *testing.T) {
	r := newRig(t, func(stage devmail.Stage, from, rcpt string, attempt int) error {
		switch {
		case rcpt == "p0@example.test" && stage == devmail.StageRcpt && attempt <= 2:
			return smtpErr(451, smtp.EnhancedCode{4, 7, 1}, "greylisted")
		case rcpt == "p1@example.test" && stage == devmail.StageRcpt && attempt == 1:
			return smtpErr(421, smtp.EnhancedCode{4, 3, 2}, "try later")
		case rcpt == "p2@example.test" && stage == devmail.StageData && attempt == 1:
			return devmail.ErrDrop
		}
		return nil
	})
	rcpts := r.contacts(4)
	r.start()
	s := r.awaitDone(r.send("call-to-action", true, rcpts).ID)
	if s.Counts.Sent != 4 {
		t.Fatalf("counts %+v; want 4 sent", s.Counts)
	}
	for _, rc := range rcpts {
		if n := r.dm.CountFor(rc.Email); n != 1 {
			t.Errorf("%s received %d messages; want 1", rc.Email, n)
		}
	}
	// The drop after the end of the data may have left the message with the
	// server: the retry is marked uncertain.
	p2, _ := r.st.Delivery(context.Background(), rcptDelivery(t, r, "p2@example.test"))
	if !p2.Uncertain {
		t.Error("a message retried after a lost end-of-data reply is not marked uncertain")
	}
	log, _, _ := r.st.Log(context.Background(), store.LogFilter{Email: "p0@example.test"})
	if len(log) != 3 || log[0].Outcome != outreach.DeliveryRetrying || log[0].Code != 451 || log[2].Outcome != outreach.DeliverySent {
		t.Errorf("log for p0 = %+v; want retrying(451), retrying, sent", log)
	}
}

func TestNoSuchUserFailsAndSuppresses(t *testing.T) {
	r := newRig(t, func(stage devmail.Stage, from, rcpt string, attempt int) error {
		if rcpt == "p1@example.test" && stage == devmail.StageRcpt {
			return smtpErr(550, smtp.EnhancedCode{5, 1, 1}, "no such user")
		}
		return nil
	})
	rcpts := r.contacts(2)
	r.start()
	s := r.awaitDone(r.send("call-to-action", true, rcpts).ID)
	if s.Counts.Sent != 1 || s.Counts.Failed != 1 {
		t.Fatalf("counts %+v; want 1 sent, 1 failed", s.Counts)
	}
	if ok, _ := r.st.Suppressed(context.Background(), "p1@example.test"); !ok {
		t.Error("550 5.1.1 did not suppress the address")
	}
	c, _ := r.st.Contact(context.Background(), "p1@example.test")
	if c.Status != outreach.StatusBounced {
		t.Errorf("contact status %s; want bounced", c.Status)
	}
	// A later send skips it.
	s2 := r.awaitDone(r.send("reminder", true, rcpts).ID)
	if s2.Counts.Suppressed != 1 || r.dm.CountFor("p1@example.test") != 0 {
		t.Errorf("second send counts %+v; the bounced address must be suppressed", s2.Counts)
	}
}

func TestSuppressedNeverSent(t *testing.T) {
	r := newRig(t, nil)
	rcpts := r.contacts(3)
	ctx := context.Background()
	r.st.Suppress(ctx, "p0@example.test", outreach.StatusUnsubscribed, "test")
	s := r.send("call-to-action", true, rcpts)
	// Suppressed after queueing, before sending: skipped at claim.
	r.st.Suppress(ctx, "p1@example.test", "manual", "test")
	r.start()
	s = r.awaitDone(s.ID)
	if s.Counts.Sent != 1 || s.Counts.Suppressed != 2 {
		t.Errorf("counts %+v; want 1 sent, 2 suppressed", s.Counts)
	}
	if r.dm.CountFor("p0@example.test")+r.dm.CountFor("p1@example.test") != 0 {
		t.Error("a suppressed address received mail")
	}
}

func TestIdleConnectionsClosedByServerAreRedialled(t *testing.T) {
	r := newRig(t, nil)
	rcpts := r.contacts(2)
	r.start()
	r.awaitDone(r.send("call-to-action", true, rcpts[:1]).ID)
	// The server drops the idle connection; the next send must redial.
	r.dm.Stop()
	if err := r.dm.Restart(context.Background()); err != nil {
		t.Fatal(err)
	}
	s := r.awaitDone(r.send("call-to-action", true, rcpts[1:]).ID)
	if s.Counts.Sent != 1 || s.Counts.Failed != 0 {
		t.Errorf("counts after an idle drop %+v; want sent", s.Counts)
	}
}

func TestServerDownPausesThenResumes(t *testing.T) {
	r := newRig(t, nil)
	rcpts := r.contacts(20)
	r.dm.Stop()
	r.start()
	s := r.send("call-to-action", true, rcpts)
	r.await("the system pause", func() bool {
		st := r.sendState(s.ID)
		return st.State == outreach.SendPaused && st.Pause != nil && st.Pause.By == outreach.PausedBySystem
	})
	if reason := r.sendState(s.ID).Pause.Reason; !strings.Contains(reason, "unreachable") {
		t.Errorf("pause reason %q", reason)
	}
	if err := r.dm.Restart(context.Background()); err != nil {
		t.Fatal(err)
	}
	s = r.awaitDone(s.ID)
	if s.Counts.Sent != 20 {
		t.Errorf("counts %+v; want all 20 sent after the server returned", s.Counts)
	}
	for _, rc := range rcpts {
		if n := r.dm.CountFor(rc.Email); n != 1 {
			t.Errorf("%s got %d", rc.Email, n)
		}
	}
}

func TestPersonsPauseIsNotLiftedByServerReturn(t *testing.T) {
	r := newRig(t, nil)
	rcpts := r.contacts(20)
	r.dm.Stop()
	r.start()
	s := r.send("call-to-action", true, rcpts)
	r.await("the system pause", func() bool { return r.sendState(s.ID).State == outreach.SendPaused })
	// A person resumes and pauses again while the server is still down:
	// now it is a person's pause.
	ctx := context.Background()
	if _, err := r.st.SetSendState(ctx, s.ID, outreach.SendRunning, &outreach.Pause{By: "ana"}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.st.SetSendState(ctx, s.ID, outreach.SendPaused, &outreach.Pause{By: "ana", Reason: "checking the list"}); err != nil {
		t.Fatal(err)
	}
	r.dm.Restart(ctx)
	// Give the probe many chances to (wrongly) resume it.
	probes := 0
	r.await("several probe intervals", func() bool { probes++; return probes > 40 })
	if st := r.sendState(s.ID); st.State != outreach.SendPaused || st.Pause.By != "ana" {
		t.Fatalf("send %s paused by %+v; a person's pause must hold", st.State, st.Pause)
	}
	if _, err := r.st.SetSendState(ctx, s.ID, outreach.SendRunning, &outreach.Pause{By: outreach.PausedBySystem}); err == nil {
		t.Error("the system lifted a person's pause")
	}
	r.st.SetSendState(ctx, s.ID, outreach.SendRunning, &outreach.Pause{By: "ana"})
	r.eng.Kick()
	if got := r.awaitDone(s.ID); got.Counts.Sent != 20 {
		t.Errorf("counts %+v", got.Counts)
	}
}

func TestCrashRecoveryResendsAndMarksUncertain(t *testing.T) {
	r := newRig(t, nil)
	rcpts := r.contacts(5)
	s := r.send("call-to-action", true, rcpts)
	ctx := context.Background()
	// Simulate a crash after claiming: deliveries left in sending.
	claimed, err := r.st.Claim(ctx, s.ID, time.Now(), 2)
	if err != nil || len(claimed) != 2 {
		t.Fatalf("claim: %v %d", err, len(claimed))
	}
	r.start()
	s = r.awaitDone(s.ID)
	if s.Counts.Sent != 5 || s.Counts.Uncertain != 2 {
		t.Errorf("counts %+v; want 5 sent, 2 uncertain", s.Counts)
	}
	log, _, _ := r.st.Log(ctx, store.LogFilter{Status: outreach.DeliveryUncertain})
	if len(log) != 2 {
		t.Errorf("log has %d uncertain entries; want 2", len(log))
	}
	for _, c := range claimed {
		d, _ := r.st.Delivery(ctx, c.Delivery.ID)
		if !d.Uncertain || d.State != outreach.DeliverySent {
			t.Errorf("delivery %d: uncertain=%v state=%s", d.ID, d.Uncertain, d.State)
		}
	}
}

func TestCancelWithdrawsQueued(t *testing.T) {
	r := newRig(t, nil)
	rcpts := r.contacts(10)
	s := r.send("call-to-action", true, rcpts)
	ctx := context.Background()
	if _, err := r.st.SetSendState(ctx, s.ID, outreach.SendCancelled, nil); err != nil {
		t.Fatal(err)
	}
	r.start()
	got := r.sendState(s.ID)
	if got.State != outreach.SendCancelled || got.Counts.Cancelled != 10 || got.Counts.Pending() != 0 {
		t.Errorf("after cancel: %s %+v", got.State, got.Counts)
	}
	if r.dm.Count() != 0 {
		t.Errorf("%d messages sent after cancel", r.dm.Count())
	}
}

// rcptDelivery returns the id of the (only) delivery to addr.
func rcptDelivery(t *testing.T, r *rig, addr string) uint64 {
	t.Helper()
	log, _, _ := r.st.Log(context.Background(), store.LogFilter{Email: addr})
	if len(log) == 0 {
		t.Fatalf("no delivery to %s", addr)
	}
	return log[0].DeliveryID
}

func TestHeldAfterCrashFinishesTheSend(t *testing.T) {
	r := newRig(t, nil)
	rcpts := r.contacts(2)
	s := r.send("call-to-action", true, rcpts)
	ctx := context.Background()
	if claimed, _ := r.st.Claim(ctx, s.ID, time.Now(), 2); len(claimed) != 2 {
		t.Fatal("claim")
	}
	if n, err := r.st.RecoverInflight(ctx, false); err != nil || n != 2 {
		t.Fatalf("RecoverInflight = %d, %v", n, err)
	}
	got := r.sendState(s.ID)
	if got.State != outreach.SendDone || got.Counts.Uncertain != 2 {
		t.Errorf("after hold recovery: %s %+v; want done with 2 uncertain", got.State, got.Counts)
	}
}
