package inbox

import (
	"context"
	"fmt"
	"testing"

	"github.com/outreach-coalition/outreach/internal/outreach"
)

// requests sends an endorsement request to n partners and returns one
// endorsing reply from each.
func requests(f *fixture, prefix string, n int) [][]byte {
	var cs []outreach.Contact
	var emails []string
	for i := range n {
		e := fmt.Sprintf("%s%d@org%d.test", prefix, i, i)
		cs = append(cs, outreach.Contact{Email: e, Organization: fmt.Sprintf("Org %s%d", prefix, i), Country: "KE"})
		emails = append(emails, e)
	}
	f.contacts(cs...)
	ds := f.send("endorsement-request", emails...)
	var out [][]byte
	for i, e := range emails {
		out = append(out, answer(ds[e], endorse).withID(fmt.Sprintf("%s-reply%d@org%d.test", prefix, i, i)).raw())
	}
	return out
}

func (m msg) withID(id string) msg { m.id = id; return m }

func (f *fixture) confirmed() int {
	n := 0
	for _, e := range f.endorsements() {
		if e.State == outreach.EndorsementConfirmed {
			n++
		}
	}
	return n
}

func TestWatchedRepliesRecordedOnceAndMoved(t *testing.T) {
	f := newFixture(t, outreach.Campaign{})
	srv := startIMAP(t)
	msgs := requests(f, "p", 5)
	for _, raw := range msgs[:3] {
		srv.add(raw)
	}
	w := f.inbox.Watcher(watchConfig(srv.endpoint()))
	running(t, w)
	waitFor(t, "3 messages moved", func() bool { return srv.count("Processed") == 3 })
	if n := len(f.replies()); n != 3 {
		t.Errorf("%d replies recorded; want 3", n)
	}
	if n := f.confirmed(); n != 3 {
		t.Errorf("%d confirmed endorsements; want 3", n)
	}

	waitFor(t, "IDLE", func() bool { return w.Status().Idle })
	srv.add(msgs[3])
	srv.add(msgs[4])
	waitFor(t, "new mail through IDLE", func() bool { return srv.count("Processed") == 5 })
	if n := srv.count("INBOX"); n != 0 {
		t.Errorf("INBOX holds %d; want 0", n)
	}
	if n, c := len(f.replies()), f.confirmed(); n != 5 || c != 5 {
		t.Errorf("%d replies, %d confirmed; want 5 and 5", n, c)
	}
	last, err := f.st.MailboxLast(context.Background(), MailboxKey(srv.endpoint(), "INBOX"), srv.uidValidity())
	if err != nil || last != 5 {
		t.Errorf("checkpoint = %d, %v; want 5", last, err)
	}
}

// The daemon stopped after recording messages and before moving them: the
// next watcher moves them without recording them again.
func TestRestartAfterRecordingBeforeMoving(t *testing.T) {
	f := newFixture(t, outreach.Campaign{})
	srv := startIMAP(t)
	msgs := requests(f, "p", 4)
	for _, raw := range msgs {
		srv.add(raw)
	}
	ctx := context.Background()
	key := MailboxKey(srv.endpoint(), "INBOX")
	for uid, raw := range msgs[:2] {
		if _, err := f.inbox.Process(ctx, raw, Source{Mailbox: key, UIDValidity: srv.uidValidity(), UID: uint32(uid + 1)}); err != nil {
			t.Fatal(err)
		}
	}
	w := f.inbox.Watcher(watchConfig(srv.endpoint()))
	running(t, w)
	waitFor(t, "all moved", func() bool { return srv.count("Processed") == 4 })
	if n, c := len(f.replies()), f.confirmed(); n != 4 || c != 4 {
		t.Errorf("%d replies, %d confirmed; want 4 and 4", n, c)
	}
	waitFor(t, "watcher status", func() bool { return w.Status().Processed == 2 })
}

// The daemon stops right after recording the fifth message (the thank-you
// kick comes after the commit and before the move): a new watcher records
// every other message once.
func TestStopInTheMiddleRecordsNothingTwice(t *testing.T) {
	f := newFixture(t, outreach.Campaign{ThankYou: true})
	srv := startIMAP(t)
	msgs := requests(f, "p", 20)
	for _, raw := range msgs {
		srv.add(raw)
	}
	ctx, cancel := context.WithCancel(context.Background())
	f.outbox.onKick = func(n int32) {
		if n == 5 {
			cancel()
		}
	}
	w := f.inbox.Watcher(watchConfig(srv.endpoint()))
	if err := w.Run(ctx); err != nil {
		t.Fatalf("Run = %v; want nil after cancel", err)
	}
	if n := len(f.replies()); n != 5 {
		t.Fatalf("%d replies recorded before the stop; want 5", n)
	}
	if n := srv.count("INBOX"); n < 16 {
		t.Fatalf("INBOX holds %d; want the fifth message at least still there", n)
	}
	f.outbox.onKick = nil
	running(t, f.inbox.Watcher(watchConfig(srv.endpoint())))
	waitFor(t, "all moved", func() bool { return srv.count("Processed") == 20 })
	if n, c := len(f.replies()), f.confirmed(); n != 20 || c != 20 {
		t.Errorf("%d replies, %d confirmed; want 20 and 20", n, c)
	}
	if n := f.outbox.kicks.Load(); n != 20 {
		t.Errorf("%d thank-yous; want 20", n)
	}
}

// The mailbox is recreated (new UIDVALIDITY) with the same mail in it:
// every message is handed over again and nothing is recorded twice.
func TestUIDValidityChangeRecordsNothingTwice(t *testing.T) {
	f := newFixture(t, outreach.Campaign{ThankYou: true})
	srv := startIMAP(t)
	msgs := requests(f, "p", 3)
	for _, raw := range msgs {
		srv.add(raw)
	}
	stop := running(t, f.inbox.Watcher(watchConfig(srv.endpoint())))
	waitFor(t, "first pass", func() bool { return srv.count("Processed") == 3 })
	stop()
	before := srv.uidValidity()
	if err := srv.user.Delete("INBOX"); err != nil {
		t.Fatal(err)
	}
	if err := srv.user.Create("INBOX", nil); err != nil {
		t.Fatal(err)
	}
	if srv.uidValidity() == before {
		t.Fatal("recreating INBOX kept its UIDVALIDITY; the test needs a new one")
	}
	for _, raw := range msgs { // restored from a backup
		srv.add(raw)
	}
	extra := requests(f, "q", 1)[0]
	srv.add(extra)
	running(t, f.inbox.Watcher(watchConfig(srv.endpoint())))
	waitFor(t, "second pass", func() bool { return srv.count("Processed") == 7 })
	if n := len(f.replies()); n != 4 {
		t.Errorf("%d replies; want 4 (3 once, and the new one)", n)
	}
	if n := len(f.endorsements()); n != 4 {
		t.Errorf("%d endorsements; want 4", n)
	}
	if n := f.outbox.kicks.Load(); n != 4 {
		t.Errorf("%d thank-you kicks; want 4, one per endorsement", n)
	}
}
