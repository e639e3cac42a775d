package imapwatch

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
)

func hasFlag(flags []imap.Flag, f imap.Flag) bool { return slices.Contains(flags, f) }

func TestExistingMailHandledOnceInUIDOrder(t *testing.T) {
	srv := startServer(t, serverOptions{})
	for n := range 5 {
		srv.add("INBOX", n)
	}
	rec := newRecorder("INBOX")
	w := New(fastConfig(srv.endpoint(SecurityNone)), rec, rec.handle, nil)
	running(t, w)

	waitFor(t, "5 messages in Processed", func() bool { return srv.count("Processed") == 5 })
	if got, want := rec.recordedNums(), []int{0, 1, 2, 3, 4}; !slices.Equal(got, want) {
		t.Errorf("handled %v; want %v", got, want)
	}
	var uids []uint32
	for _, m := range rec.recorded() {
		uids = append(uids, m.UID)
		if m.Truncated {
			t.Errorf("uid %d: Truncated = true for a small message", m.UID)
		}
	}
	if !slices.IsSorted(uids) {
		t.Errorf("uids %v not in ascending order", uids)
	}
	if n := srv.count("INBOX"); n != 0 {
		t.Errorf("INBOX holds %d messages; want 0", n)
	}
	for _, m := range srv.list("Processed") {
		if hasFlag(m.Flags, imap.FlagSeen) {
			t.Errorf("processed uid %d is \\Seen; the fetch must use BODY.PEEK", m.UID)
		}
	}
	waitFor(t, "status idle", func() bool { return w.Status().Idle })
	st := w.Status()
	if !st.Connected || st.Processed != 5 || st.LastError != "" || st.LastSeen.IsZero() {
		t.Errorf("Status = %+v; want connected, 5 processed, no error, LastSeen set", st)
	}
}

func TestIdleDeliversNewMail(t *testing.T) {
	srv := startServer(t, serverOptions{})
	rec := newRecorder("INBOX")
	cfg := fastConfig(srv.endpoint(SecurityNone))
	cfg.PollInterval = time.Hour // only IDLE can bring the mail in time
	w := New(cfg, rec, rec.handle, nil)
	running(t, w)

	waitFor(t, "IDLE", func() bool { return w.Status().Idle })
	srv.add("INBOX", 7)
	waitFor(t, "message handled through IDLE", func() bool { return len(rec.recorded()) == 1 })
	waitFor(t, "message moved", func() bool { return srv.count("Processed") == 1 })
	if got := rec.recordedNums(); !slices.Equal(got, []int{7}) {
		t.Errorf("handled %v; want [7]", got)
	}
}

// An IMAP4rev1 server without MOVE, UIDPLUS and IDLE: imapserver always
// offers IDLE, so a proxy removes it from the CAPABILITY lists.
func TestIMAP4rev1OnlyNeverExpunges(t *testing.T) {
	srv := startServer(t, serverOptions{caps: imap.CapSet{imap.CapIMAP4rev1: {}}})
	px := startProxy(t, srv.addr, "IDLE")
	ours := srv.add("INBOX", 1)
	deletedByOther := srv.add("INBOX", 2, imap.FlagDeleted)
	unrelated := srv.add("INBOX", 3)

	rec := newRecorder("INBOX")
	rec.setFail(func(m Message) error {
		if m.UID == unrelated {
			return errors.New("not ours yet")
		}
		return nil
	})
	e := srv.endpoint(SecurityNone)
	e.Port = px.port()
	cfg := fastConfig(e)
	cfg.PollInterval = 20 * time.Millisecond
	w := New(cfg, rec, rec.handle, nil)
	running(t, w)

	waitFor(t, "two copies in Processed", func() bool { return srv.count("Processed") == 2 })
	waitFor(t, "the failing message retried", func() bool { return rec.attemptsOf(3) >= 2 })
	if w.Status().Idle {
		t.Error("Status.Idle = true; the server offers no IDLE")
	}
	inbox := srv.list("INBOX")
	if len(inbox) != 3 {
		t.Fatalf("INBOX holds %d messages; want all 3 (never EXPUNGE without UIDPLUS)", len(inbox))
	}
	for _, m := range inbox {
		deleted := hasFlag(m.Flags, imap.FlagDeleted)
		switch uint32(m.UID) {
		case ours, deletedByOther:
			if !deleted {
				t.Errorf("uid %d: flags %v; want \\Deleted", m.UID, m.Flags)
			}
		case unrelated:
			if deleted {
				t.Errorf("unrelated uid %d flagged \\Deleted; want untouched", m.UID)
			}
		}
	}
	if got := nums(srv.list("Processed")); !slices.Equal(got, []int{1, 2}) {
		t.Errorf("Processed holds %v; want [1 2]", got)
	}

	rec.setFail(nil)
	waitFor(t, "third copy", func() bool { return srv.count("Processed") == 3 })
	p := rec.passes()
	waitFor(t, "three more passes", func() bool { return rec.passes() >= p+3 })
	if got := nums(srv.list("Processed")); !slices.Equal(got, []int{1, 2, 3}) {
		t.Errorf("Processed holds %v; want [1 2 3]: recorded mail flagged \\Deleted is not copied again", got)
	}
	if n := srv.count("INBOX"); n != 3 {
		t.Errorf("INBOX holds %d messages; want 3", n)
	}
	if got := rec.recordedNums(); !slices.Equal(got, []int{1, 2, 3}) {
		t.Errorf("recorded %v; want [1 2 3]", got)
	}
}

// With UIDPLUS but no MOVE, only our UIDs are expunged.
func TestUIDPlusExpungesOnlyOurMail(t *testing.T) {
	srv := startServer(t, serverOptions{caps: imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapUIDPlus: {}}})
	srv.add("INBOX", 1)
	srv.add("INBOX", 2)
	other := srv.add("INBOX", 3, imap.FlagDeleted)
	rec := newRecorder("INBOX")
	rec.setFail(func(m Message) error {
		if m.UID == other {
			return errors.New("refused")
		}
		return nil
	})
	w := New(fastConfig(srv.endpoint(SecurityNone)), rec, rec.handle, nil)
	running(t, w)

	waitFor(t, "two messages processed", func() bool { return srv.count("Processed") == 2 })
	waitFor(t, "INBOX down to one", func() bool { return srv.count("INBOX") == 1 })
	inbox := srv.list("INBOX")
	if len(inbox) != 1 || uint32(inbox[0].UID) != other || !hasFlag(inbox[0].Flags, imap.FlagDeleted) {
		t.Errorf("INBOX = %d messages; want only uid %d, still \\Deleted", len(inbox), other)
	}
}

func TestHandlerErrorRetriesWithoutMoving(t *testing.T) {
	srv := startServer(t, serverOptions{})
	srv.add("INBOX", 1)
	srv.add("INBOX", 2)
	rec := newRecorder("INBOX")
	var failing atomic.Bool
	failing.Store(true)
	rec.setFail(func(m Message) error {
		if failing.Load() {
			return errors.New("database is locked")
		}
		return nil
	})
	w := New(fastConfig(srv.endpoint(SecurityNone)), rec, rec.handle, nil)
	running(t, w)

	waitFor(t, "message 1 retried", func() bool { return rec.attemptsOf(1) >= 3 })
	if n := srv.count("Processed"); n != 0 {
		t.Errorf("Processed holds %d messages while the handler fails; want 0", n)
	}
	if n := rec.attemptsOf(2); n != 0 {
		t.Errorf("message 2 handed over %d times before message 1 was recorded; want 0", n)
	}
	if st := w.Status(); !strings.Contains(st.LastError, "database is locked") || !st.Connected {
		t.Errorf("Status = %+v; want connected with the handler error", st)
	}

	failing.Store(false)
	waitFor(t, "both moved", func() bool { return srv.count("Processed") == 2 })
	if got := rec.recordedNums(); !slices.Equal(got, []int{1, 2}) {
		t.Errorf("recorded %v; want [1 2]", got)
	}
	waitFor(t, "error cleared", func() bool { return w.Status().LastError == "" })
}

func TestServerRestartMissesNothing(t *testing.T) {
	srv := startServer(t, serverOptions{})
	for n := range 3 {
		srv.add("INBOX", n)
	}
	rec := newRecorder("INBOX")
	w := New(fastConfig(srv.endpoint(SecurityNone)), rec, rec.handle, nil)
	running(t, w)
	waitFor(t, "first 3 moved", func() bool { return srv.count("Processed") == 3 })
	waitFor(t, "IDLE", func() bool { return w.Status().Idle })

	srv.stop()
	waitFor(t, "disconnected", func() bool { return !w.Status().Connected })
	for n := 3; n < 6; n++ {
		srv.add("INBOX", n) // arrives while the server is down
	}
	srv.restart()
	waitFor(t, "6 moved", func() bool { return srv.count("Processed") == 6 })
	waitFor(t, "IDLE again", func() bool { return w.Status().Idle })
	srv.add("INBOX", 6)
	waitFor(t, "7 moved", func() bool { return srv.count("Processed") == 7 })
	if got := rec.recordedNums(); !slices.Equal(got, []int{0, 1, 2, 3, 4, 5, 6}) {
		t.Errorf("recorded %v; want each of 0..6 once, in order", got)
	}
}

// The connection drops right after the handler recorded a message, before
// the move: the message is moved after reconnecting, not handed over again.
func TestConnectionDropBetweenHandlerAndMove(t *testing.T) {
	srv := startServer(t, serverOptions{})
	px := startProxy(t, srv.addr)
	for n := range 4 {
		srv.add("INBOX", n)
	}
	rec := newRecorder("INBOX")
	var dropped atomic.Bool
	rec.after = func(m Message) {
		if msgNum(m.Raw) == 1 && !dropped.Swap(true) {
			px.kill()
		}
	}
	e := srv.endpoint(SecurityNone)
	e.Port = px.port()
	w := New(fastConfig(e), rec, rec.handle, nil)
	running(t, w)

	waitFor(t, "4 moved", func() bool { return srv.count("Processed") == 4 })
	if px.connections() < 2 {
		t.Errorf("%d connections; want a reconnect", px.connections())
	}
	if got := rec.recordedNums(); !slices.Equal(got, []int{0, 1, 2, 3}) {
		t.Errorf("recorded %v; want [0 1 2 3]", got)
	}
	if n := srv.count("INBOX"); n != 0 {
		t.Errorf("INBOX holds %d; want 0", n)
	}
}

// The daemon stops after the handler recorded a message and before the
// move; the next watcher moves it without handing it over again.
func TestCrashBetweenHandlerAndMove(t *testing.T) {
	srv := startServer(t, serverOptions{})
	srv.add("INBOX", 1)
	rec := newRecorder("INBOX")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rec.after = func(Message) { cancel() }
	w := New(fastConfig(srv.endpoint(SecurityNone)), rec, rec.handle, nil)
	if err := w.Run(ctx); err != nil {
		t.Fatalf("Run = %v; want nil after cancel", err)
	}
	if len(rec.recorded()) != 1 {
		t.Fatalf("recorded %d messages; want 1", len(rec.recorded()))
	}
	if srv.count("INBOX") != 1 || srv.count("Processed") != 0 {
		t.Fatalf("INBOX %d, Processed %d; want the message still in INBOX", srv.count("INBOX"), srv.count("Processed"))
	}

	rec.after = nil
	w2 := New(fastConfig(srv.endpoint(SecurityNone)), rec, rec.handle, nil)
	running(t, w2)
	waitFor(t, "moved by the second watcher", func() bool { return srv.count("Processed") == 1 })
	if n := rec.attemptsOf(1); n != 1 {
		t.Errorf("handler called %d times for the message; want 1", n)
	}
	if st := w2.Status(); st.Processed != 0 {
		t.Errorf("second watcher Status.Processed = %d; want 0", st.Processed)
	}
}

func TestUIDValidityChangeHandsMailOverAgain(t *testing.T) {
	srv := startServer(t, serverOptions{mailbox: "Campaign"})
	first := srv.add("Campaign", 1)
	rec := newRecorder("Campaign")
	w := New(fastConfig(srv.endpoint(SecurityNone)), rec, rec.handle, nil)
	stop := running(t, w)
	waitFor(t, "first moved", func() bool { return srv.count("Processed") == 1 })
	stop()

	if err := srv.user.Delete("Campaign"); err != nil {
		t.Fatal(err)
	}
	if err := srv.user.Create("Campaign", nil); err != nil {
		t.Fatal(err)
	}
	second := srv.add("Campaign", 2) // same UID as before, new UIDVALIDITY
	if second != first {
		t.Fatalf("recreated mailbox gave uid %d; the test needs %d", second, first)
	}
	w2 := New(fastConfig(srv.endpoint(SecurityNone)), rec, rec.handle, nil)
	running(t, w2)
	waitFor(t, "second moved", func() bool { return srv.count("Processed") == 2 })
	got := rec.recorded()
	if len(got) != 2 || got[0].UID != got[1].UID || got[0].UIDValidity == got[1].UIDValidity {
		t.Fatalf("recorded %+v; want the same UID under two UIDVALIDITYs", got)
	}
	if msgNum(got[1].Raw) != 2 {
		t.Errorf("second record is message %d; want 2", msgNum(got[1].Raw))
	}
}

// IDLE is re-issued every IdleRestart with a NOOP: a connection that stops
// answering is closed and replaced.
func TestDeadConnectionReplaced(t *testing.T) {
	srv := startServer(t, serverOptions{})
	px := startProxy(t, srv.addr)
	rec := newRecorder("INBOX")
	e := srv.endpoint(SecurityNone)
	e.Port = px.port()
	cfg := fastConfig(e)
	cfg.IdleRestart = 50 * time.Millisecond
	cfg.Timeout = 200 * time.Millisecond
	w := New(cfg, rec, rec.handle, nil)
	running(t, w)

	waitFor(t, "IDLE", func() bool { return w.Status().Idle })
	frozen := px.freeze()
	srv.add("INBOX", 1) // its EXISTS is lost on the frozen connection
	waitFor(t, "handled after reconnecting", func() bool { return srv.count("Processed") == 1 })
	if px.connections() < 2 {
		t.Errorf("%d connections; want a new one", px.connections())
	}
	waitFor(t, "frozen connection closed by the watcher", func() bool {
		return slices.ContainsFunc(frozen, func(l *link) bool { return l.clientGone.Load() })
	})
}

func TestPokeWithoutIdle(t *testing.T) {
	srv := startServer(t, serverOptions{caps: imap.CapSet{imap.CapIMAP4rev1: {}}})
	px := startProxy(t, srv.addr, "IDLE")
	rec := newRecorder("INBOX")
	e := srv.endpoint(SecurityNone)
	e.Port = px.port()
	w := New(fastConfig(e), rec, rec.handle, nil) // polls hourly
	running(t, w)
	waitFor(t, "connected", func() bool { return w.Status().Connected && rec.passes() >= 1 })
	srv.add("INBOX", 1)
	w.Poke()
	waitFor(t, "handled after Poke", func() bool { return len(rec.recorded()) == 1 })
}

func TestLargeMessageTruncated(t *testing.T) {
	srv := startServer(t, serverOptions{})
	big := append(testMessage(1), strings.Repeat("x", 5000)...)
	if _, err := srv.user.Append("INBOX", strings.NewReader(string(big)), &imap.AppendOptions{}); err != nil {
		t.Fatal(err)
	}
	srv.add("INBOX", 2)
	rec := newRecorder("INBOX")
	cfg := fastConfig(srv.endpoint(SecurityNone))
	cfg.MaxMessageBytes = 1000
	w := New(cfg, rec, rec.handle, nil)
	running(t, w)
	waitFor(t, "both handled", func() bool { return len(rec.recorded()) == 2 })
	got := rec.recorded()
	if len(got[0].Raw) != 1000 || !got[0].Truncated || string(got[0].Raw) != string(big[:1000]) {
		t.Errorf("large message: %d bytes, Truncated %v; want its first 1000 bytes, Truncated", len(got[0].Raw), got[0].Truncated)
	}
	if string(got[1].Raw) != string(testMessage(2)) || got[1].Truncated {
		t.Errorf("small message: %q, Truncated %v; want it whole", got[1].Raw, got[1].Truncated)
	}
}

func TestLoginFailureRetried(t *testing.T) {
	srv := startServer(t, serverOptions{})
	px := startProxy(t, srv.addr)
	e := srv.endpoint(SecurityNone)
	e.Port = px.port()
	e.Password = "wrong"
	rec := newRecorder("INBOX")
	w := New(fastConfig(e), rec, rec.handle, nil)
	running(t, w)
	waitFor(t, "several attempts", func() bool { return px.connections() >= 3 })
	st := w.Status()
	if st.Connected || !strings.Contains(st.LastError, "login") {
		t.Errorf("Status = %+v; want disconnected with a login error", st)
	}
	if strings.Contains(st.LastError, "wrong") {
		t.Errorf("LastError %q shows the password", st.LastError)
	}
}

func TestImplicitTLS(t *testing.T) {
	cfg, caFile := testCert(t)
	srv := startServer(t, serverOptions{tls: cfg, implicit: true})
	srv.add("INBOX", 1)
	rec := newRecorder("INBOX")
	wcfg := fastConfig(srv.endpoint(SecurityTLS))
	wcfg.CAFile = caFile
	w := New(wcfg, rec, rec.handle, nil)
	running(t, w)
	waitFor(t, "moved over TLS", func() bool { return srv.count("Processed") == 1 })
}

func TestStartTLS(t *testing.T) {
	cfg, caFile := testCert(t)
	srv := startServer(t, serverOptions{tls: cfg}) // LOGIN refused before STARTTLS
	srv.add("INBOX", 1)
	rec := newRecorder("INBOX")
	wcfg := fastConfig(srv.endpoint(SecurityStartTLS))
	wcfg.CAFile = caFile
	w := New(wcfg, rec, rec.handle, nil)
	running(t, w)
	waitFor(t, "moved after STARTTLS", func() bool { return srv.count("Processed") == 1 })
}

func TestTLSFailures(t *testing.T) {
	cfg, _ := testCert(t)
	tests := []struct {
		name string
		opts serverOptions
		sec  Security
		want string
	}{
		{"untrusted certificate", serverOptions{tls: cfg, implicit: true}, SecurityTLS, "certificate"},
		{"untrusted certificate after STARTTLS", serverOptions{tls: cfg}, SecurityStartTLS, "certificate"},
		{"server without STARTTLS", serverOptions{}, SecurityStartTLS, "starttls"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startServer(t, tt.opts)
			srv.add("INBOX", 1)
			rec := newRecorder("INBOX")
			w := New(fastConfig(srv.endpoint(tt.sec)), rec, rec.handle, nil)
			running(t, w)
			waitFor(t, "an error", func() bool { return w.Status().LastError != "" })
			st := w.Status()
			if st.Connected || !strings.Contains(st.LastError, tt.want) {
				t.Errorf("Status = %+v; want disconnected with an error about %q", st, tt.want)
			}
			if srv.count("INBOX") != 1 || len(rec.recorded()) != 0 {
				t.Errorf("mail was read over an unverified connection")
			}
		})
	}
}

func TestRunRejectsBadConfig(t *testing.T) {
	rec := newRecorder("INBOX")
	e := &Endpoint{Security: SecurityNone, Host: "127.0.0.1", Port: 1, Username: "u", Password: "p", Mailbox: "INBOX"}
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no endpoint", Config{}, "no endpoint"},
		{"processed is the mailbox", Config{Endpoint: e, ProcessedFolder: "inbox"}, "is the watched mailbox"},
		{"missing CA file", Config{Endpoint: e, CAFile: t.TempDir() + "/none.pem"}, "CA file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := New(tt.cfg, rec, rec.handle, nil).Run(context.Background())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Run = %v; want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestDefaultBackoff(t *testing.T) {
	for attempt := 0; attempt <= 12; attempt++ {
		want := time.Minute
		switch {
		case attempt < 1:
			want = time.Second
		case attempt <= 6:
			want = time.Second << (attempt - 1)
		}
		for range 20 {
			if d := DefaultBackoff(attempt); d < want/2 || d > want {
				t.Fatalf("DefaultBackoff(%d) = %v; want within [%v, %v]", attempt, d, want/2, want)
			}
		}
	}
}
