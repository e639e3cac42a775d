package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/outreach-coalition/outreach/internal/outreach"
)

func testMint(id uint64) (string, string) {
	return fmt.Sprintf("tok%d", id), fmt.Sprintf("tok%d@example.test", id)
}

// endorsing returns an Incoming for an endorsing reply of contact c.
func endorsing(c *outreach.Contact, key, state string) *Incoming {
	return &Incoming{
		Key:   key,
		Reply: outreach.Reply{MessageID: key, From: c.Email, Class: outreach.ClassEndorse, ContactID: c.ID, CampaignID: 1, Reason: "endorse"},
		Endorse: &outreach.Endorsement{CampaignID: 1, ContactID: c.ID, Email: c.Email, Organization: c.Organization,
			PrintName: c.Organization, Country: c.Country, State: state, Evidence: "we endorse", Source: "reply"},
	}
}

func mustContact(t *testing.T, s *Store, email, country string) *outreach.Contact {
	t.Helper()
	importAll(t, s, outreach.Contact{Email: email, Organization: "Org " + email, Country: country})
	c, err := s.Contact(context.Background(), email)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func mustRecord(t *testing.T, s *Store, in *Incoming) *Recorded {
	t.Helper()
	r, err := s.RecordReply(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRecordReplyDeduplicatesAndAdvancesCheckpoint(t *testing.T) {
	s := MustOpen(t)
	ctx := context.Background()
	c := mustContact(t, s, "a@example.test", "MY")
	in := endorsing(c, "m1@x.test", outreach.EndorsementConfirmed)
	in.Mailbox, in.UIDValidity, in.UID = "bot@host/INBOX", 7, 3
	first := mustRecord(t, s, in)
	if first.Duplicate || first.Change != EndorsementCreated || first.Endorsement.State != outreach.EndorsementConfirmed {
		t.Fatalf("first record = %+v; want a new confirmed endorsement", first)
	}
	if last, _ := s.MailboxLast(ctx, "bot@host/INBOX", 7); last != 3 {
		t.Errorf("MailboxLast = %d; want 3", last)
	}
	if last, _ := s.MailboxLast(ctx, "bot@host/INBOX", 8); last != 0 {
		t.Errorf("MailboxLast under another UIDVALIDITY = %d; want 0", last)
	}

	again := endorsing(c, "m1@x.test", outreach.EndorsementConfirmed)
	again.Mailbox, again.UIDValidity, again.UID = "bot@host/INBOX", 8, 1 // the mailbox was recreated
	dup := mustRecord(t, s, again)
	if !dup.Duplicate || dup.Reply.ID != first.Reply.ID || dup.Endorsement != nil {
		t.Errorf("second record = %+v; want a duplicate of reply %d", dup, first.Reply.ID)
	}
	if last, _ := s.MailboxLast(ctx, "bot@host/INBOX", 8); last != 1 {
		t.Errorf("MailboxLast after a duplicate = %d; want the checkpoint advanced to 1", last)
	}
	list, _, _ := s.Replies(ctx, ReplyFilter{})
	es, _ := s.Endorsements(ctx, EndorsementFilter{})
	if len(list) != 1 || len(es) != 1 {
		t.Errorf("%d replies, %d endorsements; want 1 and 1", len(list), len(es))
	}
	// The checkpoint never moves back.
	old := endorsing(c, "m0@x.test", outreach.EndorsementConfirmed)
	old.Mailbox, old.UIDValidity, old.UID = "bot@host/INBOX", 8, 0
	mustRecord(t, s, old)
	if last, _ := s.MailboxLast(ctx, "bot@host/INBOX", 8); last != 1 {
		t.Errorf("MailboxLast = %d; want 1", last)
	}
}

func TestSecondEndorsingReplyIsEvidenceNotASecondEndorsement(t *testing.T) {
	s := MustOpen(t)
	ctx := context.Background()
	c := mustContact(t, s, "a@example.test", "MY")
	p := mustRecord(t, s, endorsing(c, "m1", outreach.EndorsementPending))
	if p.Endorsement.State != outreach.EndorsementPending || !p.Reply.Review {
		t.Fatalf("pending record = %+v; want a pending endorsement and the reply in review", p)
	}
	q := mustRecord(t, s, endorsing(c, "m2", outreach.EndorsementPending))
	if q.Change != EndorsementAttached || q.Endorsement.ID != p.Endorsement.ID {
		t.Fatalf("second pending record = %+v; want it attached to %d", q, p.Endorsement.ID)
	}
	// A sure reply never confirms a pending endorsement: what held the
	// first one back (another name to print, another sender, a doubt)
	// still needs a person.
	conf := mustRecord(t, s, endorsing(c, "m3", outreach.EndorsementConfirmed))
	if conf.Change != EndorsementAttached || conf.Endorsement.ID != p.Endorsement.ID || conf.Endorsement.State != outreach.EndorsementPending || !conf.Reply.Review {
		t.Fatalf("sure record after a pending one = %+v; want it attached to pending endorsement %d, in review", conf, p.Endorsement.ID)
	}
	mustRecord(t, s, endorsing(c, "m4", outreach.EndorsementConfirmed))
	es, _ := s.Endorsements(ctx, EndorsementFilter{ContactID: c.ID})
	if len(es) != 1 || es[0].State != outreach.EndorsementPending || es[0].ReplyID != p.Reply.ID {
		t.Fatalf("endorsements = %+v; want one pending, first evidence reply %d", es, p.Reply.ID)
	}
	ids, _ := s.EndorsementReplies(ctx, es[0].ID)
	if len(ids) != 4 {
		t.Errorf("evidence replies = %v; want 4", ids)
	}
	if q, _, _ := s.Replies(ctx, ReplyFilter{Review: true}); len(q) != 4 {
		t.Errorf("review queue = %d replies; want all 4", len(q))
	}
}

// A pending endorsement held back for its print name keeps the reply that
// asked for it in front of a person: a later "yes" does not confirm it.
func TestSureReplyNeverConfirmsAHeldBackName(t *testing.T) {
	s := MustOpen(t)
	ctx := context.Background()
	if _, _, err := s.SaveTemplate(ctx, "thank-you", map[string]string{"thank-you/en.txt": "thanks"}, "system"); err != nil {
		t.Fatal(err)
	}
	c := mustContact(t, s, "a@example.test", "MY")
	first := endorsing(c, "m1", outreach.EndorsementPending)
	first.Endorse.PrintName = "Somebody Else Entirely"
	p := mustRecord(t, s, first)
	yes := endorsing(c, "m2", outreach.EndorsementConfirmed)
	yes.ThankYou = testMint
	got := mustRecord(t, s, yes)
	if got.Endorsement.State != outreach.EndorsementPending || got.ThankYouSend != 0 || !got.Reply.Review {
		t.Fatalf("plain yes after a held-back name = %+v; want the endorsement still pending, no thank-you, the reply in review", got)
	}
	if e, _ := s.Endorsement(ctx, p.Endorsement.ID); e.State != outreach.EndorsementPending {
		t.Errorf("endorsement = %+v; want pending", e)
	}
}

// After a rejection or a withdrawal, endorsing replies make a pending
// endorsement, and further sure replies never confirm it.
func TestLapsedEndorsementComesBackOnlyThroughAPerson(t *testing.T) {
	for _, lapse := range []string{outreach.EndorsementRejected, outreach.EndorsementWithdrawn} {
		t.Run(lapse, func(t *testing.T) {
			s := MustOpen(t)
			ctx := context.Background()
			c := mustContact(t, s, "a@example.test", "MY")
			first := mustRecord(t, s, endorsing(c, "m1", outreach.EndorsementConfirmed))
			if _, _, err := s.SetEndorsementState(ctx, first.Endorsement.ID, lapse, "ana", "", nil); err != nil {
				t.Fatal(err)
			}
			second := mustRecord(t, s, endorsing(c, "m2", outreach.EndorsementConfirmed))
			if second.Change != EndorsementCreated || second.Endorsement.State != outreach.EndorsementPending || !second.Reply.Review {
				t.Fatalf("reply after %s = %+v; want a new pending endorsement in review", lapse, second)
			}
			third := mustRecord(t, s, endorsing(c, "m3", outreach.EndorsementConfirmed))
			if third.Endorsement.ID != second.Endorsement.ID || third.Endorsement.State != outreach.EndorsementPending || !third.Reply.Review {
				t.Fatalf("third reply = %+v; want endorsement %d still pending, the reply in review", third, second.Endorsement.ID)
			}
			es, _ := s.Endorsements(ctx, EndorsementFilter{State: outreach.EndorsementConfirmed})
			if len(es) != 0 {
				t.Errorf("confirmed endorsements = %+v; want none", es)
			}
		})
	}
}

func TestRejectedContactIsNeverConfirmedByTheInboxAgain(t *testing.T) {
	s := MustOpen(t)
	ctx := context.Background()
	c := mustContact(t, s, "a@example.test", "MY")
	first := mustRecord(t, s, endorsing(c, "m1", outreach.EndorsementConfirmed))
	if _, _, err := s.SetEndorsementState(ctx, first.Endorsement.ID, outreach.EndorsementRejected, "ana", "not a member", nil); err != nil {
		t.Fatal(err)
	}
	again := mustRecord(t, s, endorsing(c, "m2", outreach.EndorsementConfirmed))
	if again.Change != EndorsementCreated || again.Endorsement.State != outreach.EndorsementPending || !again.Reply.Review {
		t.Fatalf("record after a rejection = %+v; want a new pending endorsement in review", again)
	}
	// Confirming the rejected one now conflicts with the pending one.
	if _, _, err := s.SetEndorsementState(ctx, first.Endorsement.ID, outreach.EndorsementConfirmed, "ana", "", nil); outreach.ErrorCode(err) != outreach.ECONFLICT {
		t.Errorf("confirm a second active endorsement = %v; want ECONFLICT", err)
	}
}

func TestEndorsementTransitionsAreAudited(t *testing.T) {
	s := MustOpen(t)
	ctx := context.Background()
	c := mustContact(t, s, "a@example.test", "MY")
	rec := mustRecord(t, s, endorsing(c, "m1", outreach.EndorsementPending))
	id := rec.Endorsement.ID
	steps := []struct {
		state string
		ok    bool
	}{
		{outreach.EndorsementWithdrawn, true},
		{outreach.EndorsementConfirmed, false}, // withdrawn is final
		{outreach.EndorsementRejected, false},
		{outreach.EndorsementPending, false}, // not a target state
	}
	for _, st := range steps {
		_, _, err := s.SetEndorsementState(ctx, id, st.state, "ana", "", nil)
		if (err == nil) != st.ok {
			t.Errorf("move to %s: err = %v; want ok=%v", st.state, err, st.ok)
		}
	}
	log, _ := s.AuditLog(ctx, "ana", time.Time{}, 10)
	if len(log) != 1 || log[0].Action != "endorsement.withdraw" {
		t.Errorf("audit = %+v; want one endorsement.withdraw", log)
	}
	sys, _ := s.AuditLog(ctx, inboxUser, time.Time{}, 10)
	if len(sys) != 1 || sys[0].Action != "endorsement.create" {
		t.Errorf("inbox audit = %+v; want endorsement.create", sys)
	}
	if got, _ := s.Reply(ctx, rec.Reply.ID); !got.Review {
		t.Errorf("withdrawing took reply %d out of review; only confirm or reject decide it", got.ID)
	}
}

func TestConfirmingResolvesTheEvidenceReplies(t *testing.T) {
	s := MustOpen(t)
	ctx := context.Background()
	c := mustContact(t, s, "a@example.test", "MY")
	rec := mustRecord(t, s, endorsing(c, "m1", outreach.EndorsementPending))
	if q, _, _ := s.Replies(ctx, ReplyFilter{Review: true}); len(q) != 1 {
		t.Fatalf("review queue = %d replies; want 1", len(q))
	}
	if _, _, err := s.SetEndorsementState(ctx, rec.Endorsement.ID, outreach.EndorsementConfirmed, "ana", "phoned them", nil); err != nil {
		t.Fatal(err)
	}
	if q, _, _ := s.Replies(ctx, ReplyFilter{Review: true}); len(q) != 0 {
		t.Errorf("review queue = %+v after confirming; want empty", q)
	}
	if r, _ := s.Reply(ctx, rec.Reply.ID); r.Resolved != "ana" || r.Review {
		t.Errorf("reply = %+v; want resolved by ana", r)
	}
}

func TestSuppressionsAndDelays(t *testing.T) {
	s := MustOpen(t)
	ctx := context.Background()
	c := mustContact(t, s, "gone@example.test", "MY")
	d := mustContact(t, s, "full@example.test", "MY")
	rec := mustRecord(t, s, &Incoming{Key: "b1", Reply: outreach.Reply{Class: outreach.ClassBounce},
		Suppress: []SuppressRequest{{c.Email, outreach.StatusBounced}}})
	if !slices.Equal(rec.Suppressed, []string{c.Email}) {
		t.Errorf("Suppressed = %v; want [%s]", rec.Suppressed, c.Email)
	}
	if got, _ := s.Contact(ctx, c.Email); got.Status != outreach.StatusBounced {
		t.Errorf("contact status = %s; want bounced", got.Status)
	}
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return clock }
	delay := func(key string) *Recorded {
		return mustRecord(t, s, &Incoming{Key: key, Reply: outreach.Reply{Class: outreach.ClassBounce},
			Delayed: []string{d.Email}, SoftBounceLimit: 3, SoftBounceWindow: 48 * time.Hour})
	}
	delay("d1")
	clock = clock.Add(72 * time.Hour) // d1 falls out of the window
	delay("d2")
	clock = clock.Add(time.Hour)
	if r := delay("d3"); len(r.Suppressed) != 0 {
		t.Fatalf("suppressed after 2 delays within the window: %v", r.Suppressed)
	}
	if ok, _ := s.Suppressed(ctx, d.Email); ok {
		t.Fatal("suppressed after 2 delays within the window")
	}
	clock = clock.Add(time.Hour)
	if r := delay("d4"); !slices.Equal(r.Suppressed, []string{d.Email}) {
		t.Errorf("Suppressed = %v after 3 delays within 48h; want [%s]", r.Suppressed, d.Email)
	}
	if got, _ := s.Contact(ctx, d.Email); got.Status != outreach.StatusBounced {
		t.Errorf("contact status = %s; want bounced", got.Status)
	}
}

func TestThankYouSentOncePerConfirmation(t *testing.T) {
	s := MustOpen(t)
	ctx := context.Background()
	if _, _, err := s.SaveTemplate(ctx, "thank-you", map[string]string{"thank-you/en.txt": "thanks"}, "system"); err != nil {
		t.Fatal(err)
	}
	c := mustContact(t, s, "a@example.test", "MY")
	in := endorsing(c, "m1", outreach.EndorsementConfirmed)
	in.ThankYou = testMint
	rec := mustRecord(t, s, in)
	if rec.ThankYouSend == 0 {
		t.Fatal("no thank-you send for a confirmed endorsement")
	}
	send, _ := s.Send(ctx, rec.ThankYouSend)
	if send.Kind != outreach.SendAuto || send.Template != "thank-you" || send.TemplateVersion != 1 || send.ListHeaders || send.Counts.Queued != 1 {
		t.Errorf("thank-you send = %+v; want auto, thank-you v1, no list headers, one queued", send)
	}
	ds, _ := s.SendDeliveries(ctx, send.ID)
	if len(ds) != 1 || ds[0].Email != c.Email || ds[0].Token != fmt.Sprintf("tok%d", ds[0].ID) {
		t.Errorf("deliveries = %+v; want one to %s with a minted token", ds, c.Email)
	}
	again := endorsing(c, "m2", outreach.EndorsementConfirmed)
	again.ThankYou = testMint
	if r := mustRecord(t, s, again); r.ThankYouSend != 0 || r.Change != EndorsementAttached {
		t.Errorf("second endorsing reply = %+v; want attached, no second thank-you", r)
	}
	sends, _ := s.Sends(ctx, "")
	if len(sends) != 1 {
		t.Errorf("%d sends; want 1", len(sends))
	}
}

func TestDecideReply(t *testing.T) {
	s := MustOpen(t)
	ctx := context.Background()
	c := mustContact(t, s, "a@example.test", "MY")
	rec := mustRecord(t, s, endorsing(c, "m1", outreach.EndorsementPending))
	tmpl := &outreach.Endorsement{CampaignID: 1, ContactID: c.ID, Email: c.Email, PrintName: "Renamed Org", Country: c.Country, Source: "reply"}
	got, err := s.DecideReply(ctx, Decision{ReplyID: rec.Reply.ID, By: "ana", Action: "review.approve", Class: outreach.ClassEndorse, Confirm: tmpl})
	if err != nil {
		t.Fatal(err)
	}
	if got.Endorsement.ID != rec.Endorsement.ID || got.Endorsement.State != outreach.EndorsementConfirmed || got.Endorsement.PrintName != "Renamed Org" {
		t.Errorf("approved endorsement = %+v; want %d confirmed as Renamed Org", got.Endorsement, rec.Endorsement.ID)
	}
	if got.Reply.Review || got.Reply.Resolved != "ana" {
		t.Errorf("reply = %+v; want resolved by ana", got.Reply)
	}

	// A reply matched to no endorsement yet: approving creates a confirmed one.
	d := mustContact(t, s, "b@example.test", "PH")
	r2 := mustRecord(t, s, &Incoming{Key: "m2", Reply: outreach.Reply{Class: outreach.ClassOther, ContactID: d.ID, Review: true}})
	tmpl2 := &outreach.Endorsement{CampaignID: 1, ContactID: d.ID, Email: d.Email, PrintName: "B", Country: d.Country, Source: "reply", Evidence: "x"}
	got, err = s.DecideReply(ctx, Decision{ReplyID: r2.Reply.ID, By: "ana", Action: "review.reclassify", Class: outreach.ClassEndorse, Confirm: tmpl2})
	if err != nil {
		t.Fatal(err)
	}
	if got.Endorsement == nil || got.Endorsement.State != outreach.EndorsementConfirmed || got.Reply.Class != outreach.ClassEndorse {
		t.Fatalf("reclassified = %+v; want a confirmed endorsement and class endorse", got)
	}
	// Rejecting the reply rejects the endorsement it is the evidence of.
	got, err = s.DecideReply(ctx, Decision{ReplyID: r2.Reply.ID, By: "ana", Action: "review.reject", Class: outreach.ClassOther, RejectEndorsement: true})
	if err != nil {
		t.Fatal(err)
	}
	if got.Endorsement.State != outreach.EndorsementRejected {
		t.Errorf("endorsement after rejecting its reply = %s; want rejected", got.Endorsement.State)
	}
	log, _ := s.AuditLog(ctx, "ana", time.Time{}, 20)
	var actions []string
	for _, e := range log {
		actions = append(actions, e.Action)
	}
	for _, want := range []string{"review.approve", "endorsement.confirm", "endorsement.rename", "review.reclassify", "review.reject", "endorsement.reject"} {
		if !slices.Contains(actions, want) {
			t.Errorf("audit %v lacks %s", actions, want)
		}
	}
}

func TestAddAndImportEndorsements(t *testing.T) {
	s := MustOpen(t)
	ctx := context.Background()
	c := mustContact(t, s, "a@example.test", "MY")
	d := mustContact(t, s, "b@example.test", "PH")
	e := outreach.Endorsement{CampaignID: 1, ContactID: c.ID, Email: c.Email, PrintName: "A", Country: "MY", State: outreach.EndorsementConfirmed, Source: "manual", Evidence: "phone call"}
	if _, err := s.AddEndorsement(ctx, &e, "ana", nil); err != nil {
		t.Fatal(err)
	}
	dup := e
	if _, err := s.AddEndorsement(ctx, &dup, "ana", nil); outreach.ErrorCode(err) != outreach.ECONFLICT {
		t.Errorf("second manual endorsement = %v; want ECONFLICT", err)
	}
	list := []outreach.Endorsement{
		{CampaignID: 1, ContactID: c.ID, Email: c.Email, State: outreach.EndorsementConfirmed, Source: "import", Country: "MY"},
		{CampaignID: 1, ContactID: d.ID, Email: d.Email, State: outreach.EndorsementConfirmed, Source: "import", Country: "PH"},
	}
	for range 2 {
		created, skipped, err := s.ImportEndorsements(ctx, list, "ana")
		if err != nil {
			t.Fatal(err)
		}
		if created+skipped != 2 {
			t.Errorf("created %d, skipped %d; want 2 in all", created, skipped)
		}
	}
	all, _ := s.Endorsements(ctx, EndorsementFilter{})
	if len(all) != 2 {
		t.Errorf("%d endorsements after importing twice; want 2", len(all))
	}
	ph, _ := s.Endorsements(ctx, EndorsementFilter{Countries: []string{"PH"}})
	if len(ph) != 1 || ph[0].Email != d.Email {
		t.Errorf("scoped to PH = %+v; want only %s", ph, d.Email)
	}
	bad := []outreach.Endorsement{{CampaignID: 1, ContactID: 999, Email: "nobody@example.test"}}
	if _, _, err := s.ImportEndorsements(ctx, bad, "ana"); outreach.ErrorCode(err) != outreach.ENOTFOUND {
		t.Errorf("import for an unknown contact = %v; want ENOTFOUND", err)
	}
}

func TestRepliesFilterAndPage(t *testing.T) {
	s := MustOpen(t)
	ctx := context.Background()
	my := mustContact(t, s, "a@example.test", "MY")
	ph := mustContact(t, s, "b@example.test", "PH")
	for i, in := range []*Incoming{
		{Key: "1", Reply: outreach.Reply{Class: outreach.ClassAutoReply, ContactID: my.ID}},
		{Key: "2", Reply: outreach.Reply{Class: outreach.ClassOther, ContactID: ph.ID, Review: true}},
		{Key: "3", Reply: outreach.Reply{Class: outreach.ClassOther, Review: true}}, // unmatched
		{Key: "4", Reply: outreach.Reply{Class: outreach.ClassDecline, ContactID: my.ID}},
	} {
		if r := mustRecord(t, s, in); r.Reply.ID != uint64(i+1) {
			t.Fatalf("reply id %d; want %d", r.Reply.ID, i+1)
		}
	}
	ids := func(rs []outreach.Reply) (out []uint64) {
		for _, r := range rs {
			out = append(out, r.ID)
		}
		return out
	}
	tests := []struct {
		f    ReplyFilter
		want []uint64
	}{
		{ReplyFilter{}, []uint64{1, 2, 3, 4}},
		{ReplyFilter{Review: true}, []uint64{2, 3}},
		{ReplyFilter{Class: outreach.ClassOther}, []uint64{2, 3}},
		{ReplyFilter{Countries: []string{"MY"}}, []uint64{1, 4}},
		{ReplyFilter{Countries: []string{"PH"}, Review: true}, []uint64{2}},
		{ReplyFilter{After: 2}, []uint64{3, 4}},
	}
	for _, tt := range tests {
		got, _, err := s.Replies(ctx, tt.f)
		if err != nil || !slices.Equal(ids(got), tt.want) {
			t.Errorf("Replies(%+v) = %v, %v; want %v", tt.f, ids(got), err, tt.want)
		}
	}
	page, next, _ := s.Replies(ctx, ReplyFilter{Limit: 3})
	if len(page) != 3 || next != 3 {
		t.Errorf("page of 3 = %v, next %d; want 3 items and next 3", ids(page), next)
	}
}

// approveAsEndorsement is a person approving reply id as c's endorsement.
func approveAsEndorsement(t *testing.T, s *Store, c *outreach.Contact, id uint64, action string) *Decided {
	t.Helper()
	d, err := s.DecideReply(context.Background(), Decision{ReplyID: id, By: "ana", Action: action, Class: outreach.ClassEndorse,
		Confirm: &outreach.Endorsement{CampaignID: 1, ContactID: c.ID, Email: c.Email, Organization: c.Organization, Country: c.Country, Source: "reply", Evidence: "x"}})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func mustReply(t *testing.T, s *Store, id uint64) *outreach.Reply {
	t.Helper()
	r, err := s.Reply(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// Finding: rejecting the reply whose approval confirmed an endorsement left
// it confirmed, since only the reply that created it counted.
func TestRejectingTheReplyThatConfirmedAnEndorsement(t *testing.T) {
	ctx := context.Background()
	t.Run("approved evidence reply", func(t *testing.T) {
		s := MustOpen(t)
		c := mustContact(t, s, "a@example.test", "MY")
		first := mustRecord(t, s, endorsing(c, "m1", outreach.EndorsementPending))
		yes := mustRecord(t, s, endorsing(c, "m2", outreach.EndorsementConfirmed))
		if got := approveAsEndorsement(t, s, c, yes.Reply.ID, "review.approve"); got.Endorsement.State != outreach.EndorsementConfirmed {
			t.Fatalf("approved = %+v; want the endorsement confirmed", got.Endorsement)
		}
		got, err := s.DecideReply(ctx, Decision{ReplyID: yes.Reply.ID, By: "ana", Action: "review.reject", Class: outreach.ClassEndorse, RejectEndorsement: true})
		if err != nil {
			t.Fatal(err)
		}
		if got.Endorsement == nil || got.Endorsement.State != outreach.EndorsementPending {
			t.Fatalf("endorsement after rejecting the reply that confirmed it = %+v; want pending", got.Endorsement)
		}
		if e, _ := s.Endorsement(ctx, first.Endorsement.ID); e.State != outreach.EndorsementPending {
			t.Errorf("stored endorsement = %s; want pending", e.State)
		}
		if r := mustReply(t, s, first.Reply.ID); !r.Review || r.Resolved != "" {
			t.Errorf("first evidence reply = %+v; want it back in review", r)
		}
	})
	t.Run("reclassified reply", func(t *testing.T) {
		s := MustOpen(t)
		c := mustContact(t, s, "a@example.test", "MY")
		first := mustRecord(t, s, endorsing(c, "m1", outreach.EndorsementPending))
		q := mustRecord(t, s, &Incoming{Key: "m2", Reply: outreach.Reply{From: c.Email, Class: outreach.ClassOther, ContactID: c.ID, CampaignID: 1, Review: true}})
		if got := approveAsEndorsement(t, s, c, q.Reply.ID, "review.reclassify"); got.Endorsement.ID != first.Endorsement.ID || got.Endorsement.State != outreach.EndorsementConfirmed {
			t.Fatalf("reclassified = %+v; want endorsement %d confirmed", got.Endorsement, first.Endorsement.ID)
		}
		got, err := s.DecideReply(ctx, Decision{ReplyID: q.Reply.ID, By: "ana", Action: "review.reclassify", Class: outreach.ClassOther, RejectEndorsement: true})
		if err != nil {
			t.Fatal(err)
		}
		if got.Endorsement == nil || got.Endorsement.State != outreach.EndorsementPending {
			t.Errorf("endorsement after reclassifying away the reply that confirmed it = %+v; want pending", got.Endorsement)
		}
	})
	t.Run("further evidence only", func(t *testing.T) {
		s := MustOpen(t)
		c := mustContact(t, s, "a@example.test", "MY")
		first := mustRecord(t, s, endorsing(c, "m1", outreach.EndorsementConfirmed))
		more := mustRecord(t, s, endorsing(c, "m2", outreach.EndorsementConfirmed))
		got, err := s.DecideReply(ctx, Decision{ReplyID: more.Reply.ID, By: "ana", Action: "review.reject", Class: outreach.ClassEndorse, RejectEndorsement: true})
		if err != nil {
			t.Fatal(err)
		}
		if e, _ := s.Endorsement(ctx, first.Endorsement.ID); e.State != outreach.EndorsementConfirmed {
			t.Errorf("endorsement after rejecting a reply that changed nothing = %s (%+v); want confirmed", e.State, got)
		}
		// Rejecting the reply that made it rejects it.
		got, err = s.DecideReply(ctx, Decision{ReplyID: first.Reply.ID, By: "ana", Action: "review.reject", Class: outreach.ClassEndorse, RejectEndorsement: true})
		if err != nil {
			t.Fatal(err)
		}
		if got.Endorsement.State != outreach.EndorsementRejected {
			t.Errorf("endorsement after rejecting the reply that made it = %s; want rejected", got.Endorsement.State)
		}
	})
}

func declining(c *outreach.Contact, key string) *Incoming {
	return &Incoming{Key: key, Withdraws: true,
		Reply: outreach.Reply{MessageID: key, From: c.Email, Class: outreach.ClassDecline, ContactID: c.ID, CampaignID: 1, Reason: "decline"}}
}

// Finding: a decline after a confirmed endorsement left it confirmed, so
// letters could go out with it.
func TestDeclineHoldsTheEndorsementAtOnce(t *testing.T) {
	ctx := context.Background()
	s := MustOpen(t)
	c := mustContact(t, s, "a@example.test", "MY")
	conf := mustRecord(t, s, endorsing(c, "m1", outreach.EndorsementConfirmed))
	dec := mustRecord(t, s, declining(c, "m2"))
	if dec.Change != EndorsementHeld || dec.Endorsement == nil || dec.Endorsement.ID != conf.Endorsement.ID ||
		dec.Endorsement.State != outreach.EndorsementPending || !dec.Reply.Review {
		t.Fatalf("decline = %+v; want endorsement %d held pending, the decline in review", dec, conf.Endorsement.ID)
	}
	if es, _ := s.Endorsements(ctx, EndorsementFilter{State: outreach.EndorsementConfirmed}); len(es) != 0 {
		t.Errorf("confirmed endorsements = %+v; want none", es)
	}
	if e, _ := s.ReplyEndorsement(ctx, dec.Reply.ID); e == nil || e.ID != conf.Endorsement.ID {
		t.Errorf("the decline is linked to %+v; want endorsement %d", e, conf.Endorsement.ID)
	}
	// Nobody confirms it again while the decline waits.
	if _, _, err := s.SetEndorsementState(ctx, conf.Endorsement.ID, outreach.EndorsementConfirmed, "ana", "", nil); outreach.ErrorCode(err) != outreach.ECONFLICT {
		t.Errorf("confirm while the decline waits for review = %v; want ECONFLICT", err)
	}
	if _, err := s.DecideReply(ctx, Decision{ReplyID: conf.Reply.ID, By: "ana", Action: "review.approve", Class: outreach.ClassEndorse,
		Confirm: &outreach.Endorsement{CampaignID: 1, ContactID: c.ID, Email: c.Email}}); outreach.ErrorCode(err) != outreach.ECONFLICT {
		t.Errorf("approve the endorsing reply while the decline waits = %v; want ECONFLICT", err)
	}
	// Approving the decline withdraws it.
	got, err := s.DecideReply(ctx, Decision{ReplyID: dec.Reply.ID, By: "ana", Action: "review.approve", Class: outreach.ClassDecline, Withdraw: true, RejectEndorsement: true})
	if err != nil {
		t.Fatal(err)
	}
	if got.Endorsement == nil || got.Endorsement.State != outreach.EndorsementWithdrawn {
		t.Errorf("endorsement after approving the decline = %+v; want withdrawn", got.Endorsement)
	}
	// A decline from a contact without an endorsement holds nothing.
	d := mustContact(t, s, "b@example.test", "MY")
	if rec := mustRecord(t, s, declining(d, "m3")); rec.Endorsement != nil || rec.Reply.Review {
		t.Errorf("plain decline = %+v; want nothing held, no review", rec)
	}
}

// A decline a person rejects (not a decline after all) leaves the
// endorsement pending, its first evidence back in review for a person to
// confirm.
func TestRejectedDeclineLeavesTheEndorsementToAPerson(t *testing.T) {
	ctx := context.Background()
	s := MustOpen(t)
	c := mustContact(t, s, "a@example.test", "MY")
	conf := mustRecord(t, s, endorsing(c, "m1", outreach.EndorsementConfirmed))
	dec := mustRecord(t, s, declining(c, "m2"))
	got, err := s.DecideReply(ctx, Decision{ReplyID: dec.Reply.ID, By: "ana", Action: "review.reject", Class: outreach.ClassDecline, RejectEndorsement: true})
	if err != nil {
		t.Fatal(err)
	}
	if got.Endorsement == nil || got.Endorsement.State != outreach.EndorsementPending {
		t.Fatalf("endorsement after rejecting the decline = %+v; want pending", got.Endorsement)
	}
	if r := mustReply(t, s, conf.Reply.ID); !r.Review {
		t.Fatalf("endorsing reply = %+v; want it back in review", r)
	}
	if got := approveAsEndorsement(t, s, c, conf.Reply.ID, "review.approve"); got.Endorsement.State != outreach.EndorsementConfirmed {
		t.Errorf("approving the endorsing reply = %+v; want confirmed", got.Endorsement)
	}
}

// A person approving an unrelated reply as an endorsement does not confirm
// a pending endorsement under a name asked for in a reply they have not
// seen.
func TestApprovingAnotherReplyKeepsAHeldBackNameInSight(t *testing.T) {
	ctx := context.Background()
	s := MustOpen(t)
	c := mustContact(t, s, "a@example.test", "MY")
	first := endorsing(c, "m1", outreach.EndorsementPending)
	first.Endorse.PrintName = "Somebody Else Entirely"
	p := mustRecord(t, s, first)
	q := mustRecord(t, s, &Incoming{Key: "m2", Reply: outreach.Reply{From: c.Email, Class: outreach.ClassOther, ContactID: c.ID, CampaignID: 1, Review: true}})
	_, err := s.DecideReply(ctx, Decision{ReplyID: q.Reply.ID, By: "ana", Action: "review.reclassify", Class: outreach.ClassEndorse,
		Confirm: &outreach.Endorsement{CampaignID: 1, ContactID: c.ID, Email: c.Email, PrintName: c.Organization, Country: c.Country, Source: "reply"}})
	if outreach.ErrorCode(err) != outreach.ECONFLICT || !strings.Contains(err.Error(), "Somebody Else Entirely") {
		t.Fatalf("approve with another name = %v; want ECONFLICT naming the pending name", err)
	}
	if e, _ := s.Endorsement(ctx, p.Endorsement.ID); e.State != outreach.EndorsementPending {
		t.Errorf("endorsement = %s; want still pending", e.State)
	}
	if r := mustReply(t, s, q.Reply.ID); !r.Review {
		t.Errorf("reply = %+v; want it still in review after the refusal", r)
	}
}
