package service

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/outreach-coalition/outreach/internal/outreach"
	"github.com/outreach-coalition/outreach/internal/store"
)

type kickCounter struct{ kicks int }

func (o *kickCounter) Mint(c *outreach.Campaign) store.Mint {
	return func(id uint64) (string, string) { return fmt.Sprintf("t%d", id), fmt.Sprintf("t%d@example.test", id) }
}

func (o *kickCounter) Kick() { o.kicks++ }

var (
	replyAdmin   = &outreach.Principal{Name: "root", Role: outreach.RoleAdmin}
	replyCoordMY = &outreach.Principal{Name: "ana", Role: outreach.RoleCoordinator, Countries: []string{"MY"}}
	replyViewer  = &outreach.Principal{Name: "val", Role: outreach.RoleViewer}
)

// replyFixture is a service over a store with two partners (MY, PH), a
// campaign that thanks endorsers, and a thank-you template.
func replyFixture(t testing.TB) (*Service, *kickCounter) {
	t.Helper()
	st, err := store.Open(t.TempDir(), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ctx := context.Background()
	if _, err := st.EnsureDefaultCampaign(ctx, &outreach.Campaign{Name: "C", From: "c@example.test", ReplyTo: "c@example.test", DefaultLanguage: "en", ThankYou: true}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.SaveTemplate(ctx, "thank-you", map[string]string{"thank-you/en.txt": "thanks"}, "system"); err != nil {
		t.Fatal(err)
	}
	err = st.ImportContacts(ctx, func(put store.PutFunc) error {
		for _, c := range []outreach.Contact{
			{Email: "my@org.test", Organization: "MY Org", Country: "MY"},
			{Email: "ph@org.test", Organization: "PH Org", Country: "PH"},
			{Email: "anon@org.test", Country: "MY"},
		} {
			if _, err := put(&c); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	s := New(st, slog.New(slog.DiscardHandler), nil)
	ob := &kickCounter{}
	s.Outbox = ob
	return s, ob
}

func replyContactID(t testing.TB, s *Service, email string) uint64 {
	t.Helper()
	c, err := s.Store.Contact(context.Background(), email)
	if err != nil {
		t.Fatal(err)
	}
	return c.ID
}

// record stores a reply as the inbox would.
func recordReply(t testing.TB, s *Service, key, from string, contact uint64, class string, review bool) uint64 {
	t.Helper()
	rec, err := s.Store.RecordReply(context.Background(), &store.Incoming{Key: key, Reply: outreach.Reply{
		MessageID: key, From: from, ContactID: contact, CampaignID: 1, Class: class, Review: review, Text: "We endorse the letter.", Reason: "test"}})
	if err != nil {
		t.Fatal(err)
	}
	return rec.Reply.ID
}

func TestRepliesAreScoped(t *testing.T) {
	s, _ := replyFixture(t)
	ctx := context.Background()
	my := recordReply(t, s, "1", "my@org.test", replyContactID(t, s, "my@org.test"), outreach.ClassOther, true)
	ph := recordReply(t, s, "2", "ph@org.test", replyContactID(t, s, "ph@org.test"), outreach.ClassOther, true)
	none := recordReply(t, s, "3", "x@nowhere.test", 0, outreach.ClassOther, true)
	ids := func(p *outreach.Principal) []uint64 {
		rs, _, err := s.Replies(ctx, p, ReplyQuery{Review: true})
		if err != nil {
			t.Fatal(err)
		}
		var out []uint64
		for _, r := range rs {
			out = append(out, r.ID)
		}
		return out
	}
	if got := ids(replyAdmin); !slices.Equal(got, []uint64{my, ph, none}) {
		t.Errorf("admin sees %v; want all three", got)
	}
	if got := ids(replyCoordMY); !slices.Equal(got, []uint64{my}) {
		t.Errorf("MY coordinator sees %v; want only [%d]", got, my)
	}
	for _, id := range []uint64{ph, none} {
		if _, err := s.Reply(ctx, replyCoordMY, id); outreach.ErrorCode(err) != outreach.ENOTFOUND {
			t.Errorf("MY coordinator reading reply %d: %v; want ENOTFOUND", id, err)
		}
		if _, err := s.Review(ctx, replyCoordMY, id, ReviewApprove, ReviewInput{}); outreach.ErrorCode(err) != outreach.ENOTFOUND {
			t.Errorf("MY coordinator approving reply %d: %v; want ENOTFOUND", id, err)
		}
	}
	if _, err := s.Review(ctx, replyViewer, my, ReviewApprove, ReviewInput{}); outreach.ErrorCode(err) != outreach.EFORBIDDEN {
		t.Errorf("viewer approving: %v; want EFORBIDDEN", err)
	}
	if _, _, err := s.Replies(ctx, replyViewer, ReplyQuery{Class: "spam"}); outreach.ErrorCode(err) != outreach.EINVALID {
		t.Errorf("unknown class: %v; want EINVALID", err)
	}
}

func TestReviewDecisions(t *testing.T) {
	s, ob := replyFixture(t)
	ctx := context.Background()
	myID := replyContactID(t, s, "my@org.test")

	// Reclassify an unclear reply as an endorsement, with a name to print.
	id := recordReply(t, s, "1", "my@org.test", myID, outreach.ClassOther, true)
	res, err := s.Review(ctx, replyCoordMY, id, ReviewReclassify, ReviewInput{Class: outreach.ClassEndorse, Name: "MY Org (Penang)"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Endorsement == nil || res.Endorsement.State != outreach.EndorsementConfirmed || res.Endorsement.PrintName != "MY Org (Penang)" {
		t.Fatalf("endorsement = %+v; want confirmed as MY Org (Penang)", res.Endorsement)
	}
	if res.Reply.Class != outreach.ClassEndorse || res.Reply.Review || res.Reply.Resolved != "ana" {
		t.Errorf("reply = %+v; want class endorse, resolved by ana", res.Reply)
	}
	if res.ThankYouSend == 0 || ob.kicks != 1 {
		t.Errorf("thank-you send %d, kicks %d; want one thank-you", res.ThankYouSend, ob.kicks)
	}
	if q, _, _ := s.Replies(ctx, replyAdmin, ReplyQuery{Review: true}); len(q) != 0 {
		t.Errorf("review queue = %+v; want empty", q)
	}

	// Rejecting that reply rejects its endorsement.
	res, err = s.Review(ctx, replyCoordMY, id, ReviewReject, ReviewInput{Note: "it was a question"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Endorsement == nil || res.Endorsement.State != outreach.EndorsementRejected {
		t.Errorf("endorsement after reject = %+v; want rejected", res.Endorsement)
	}

	// An unmatched endorsing reply needs --email to be approved.
	un := recordReply(t, s, "2", "anon-personal@gmail.test", 0, outreach.ClassEndorse, true)
	if _, err := s.Review(ctx, replyAdmin, un, ReviewApprove, ReviewInput{}); outreach.ErrorCode(err) != outreach.EINVALID {
		t.Errorf("approve unmatched without email: %v; want EINVALID", err)
	}
	if _, err := s.Review(ctx, replyAdmin, un, ReviewApprove, ReviewInput{Email: "anon@org.test"}); err == nil || !strings.Contains(err.Error(), "--name") {
		t.Errorf("approve for a contact without organisation or name: %v; want an error asking for --name", err)
	}
	res, err = s.Review(ctx, replyAdmin, un, ReviewApprove, ReviewInput{Email: "anon@org.test", Name: "Anon Collective"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Reply.ContactID != replyContactID(t, s, "anon@org.test") || res.Endorsement.PrintName != "Anon Collective" {
		t.Errorf("approved = %+v; want the reply linked and the endorsement named", res)
	}

	// Reclassifying as unsubscribe suppresses the address.
	ph := recordReply(t, s, "3", "ph@org.test", replyContactID(t, s, "ph@org.test"), outreach.ClassOther, true)
	if _, err := s.Review(ctx, replyAdmin, ph, ReviewReclassify, ReviewInput{Class: outreach.ClassUnsubscribe}); err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.Store.Suppressed(ctx, "ph@org.test"); !ok {
		t.Error("ph@org.test not suppressed after reclassify unsubscribe")
	}
	if _, err := s.Review(ctx, replyAdmin, ph, ReviewReclassify, ReviewInput{Class: "yes"}); outreach.ErrorCode(err) != outreach.EINVALID {
		t.Errorf("reclassify to an unknown class: %v; want EINVALID", err)
	}

	// Approving a hard bounce the inbox held back suppresses its recipient.
	rec, err := s.Store.RecordReply(ctx, &store.Incoming{Key: "4", Reply: outreach.Reply{MessageID: "4", From: "mailer-daemon@mx.test",
		Class: outreach.ClassBounce, Review: true, Reason: "test", Bounce: &outreach.Bounce{Recipient: "my@org.test", Action: "failed", Status: "5.1.1", Hard: true}}})
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.Store.Suppressed(ctx, "my@org.test"); ok {
		t.Fatal("my@org.test suppressed before the bounce was approved")
	}
	if _, err := s.Review(ctx, replyAdmin, rec.Reply.ID, ReviewApprove, ReviewInput{}); err != nil {
		t.Fatal(err)
	}
	if c, _ := s.Store.Contact(ctx, "my@org.test"); c.Status != outreach.StatusBounced {
		t.Errorf("status after approving a hard bounce = %s; want bounced", c.Status)
	}

	log, _ := s.Store.AuditLog(ctx, "", time.Time{}, 100)
	var actions []string
	for _, e := range log {
		actions = append(actions, e.User+":"+e.Action)
	}
	for _, want := range []string{"ana:review.reclassify", "ana:review.reject", "ana:endorsement.reject", "root:review.approve", "root:endorsement.create"} {
		if !slices.Contains(actions, want) {
			t.Errorf("audit %v lacks %s", actions, want)
		}
	}
}

func TestEndorsementsByHand(t *testing.T) {
	s, ob := replyFixture(t)
	ctx := context.Background()
	if _, err := s.AddEndorsement(ctx, replyCoordMY, EndorsementInput{Email: "my@org.test"}); outreach.ErrorCode(err) != outreach.EINVALID {
		t.Errorf("add without evidence: %v; want EINVALID", err)
	}
	if _, err := s.AddEndorsement(ctx, replyCoordMY, EndorsementInput{Email: "ph@org.test", Evidence: "phone"}); outreach.ErrorCode(err) != outreach.EINVALID {
		t.Errorf("add out of scope: %v; want EINVALID naming the contact", err)
	}
	e, err := s.AddEndorsement(ctx, replyCoordMY, EndorsementInput{Email: "MY@org.test", Evidence: "signed form, 3 March"})
	if err != nil {
		t.Fatal(err)
	}
	if e.State != outreach.EndorsementConfirmed || e.Source != "manual" || e.PrintName != "MY Org" || e.By != "ana" || ob.kicks != 1 {
		t.Errorf("manual endorsement = %+v (kicks %d); want confirmed, manual, MY Org, by ana, thanked", e, ob.kicks)
	}
	if _, err := s.AddEndorsement(ctx, replyCoordMY, EndorsementInput{Email: "my@org.test", Evidence: "again"}); outreach.ErrorCode(err) != outreach.ECONFLICT {
		t.Errorf("second endorsement: %v; want ECONFLICT", err)
	}
	if _, err := s.SetEndorsement(ctx, replyCoordMY, e.ID, "withdraw", "asked by phone"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetEndorsement(ctx, replyCoordMY, e.ID, "confirm", ""); outreach.ErrorCode(err) != outreach.ECONFLICT {
		t.Errorf("confirm a withdrawn endorsement: %v; want ECONFLICT", err)
	}
	if _, err := s.SetEndorsement(ctx, replyCoordMY, e.ID, "approve", ""); outreach.ErrorCode(err) != outreach.ENOTFOUND {
		t.Errorf("unknown action: %v; want ENOTFOUND", err)
	}
	v, err := s.Endorsement(ctx, replyViewer, e.ID)
	if err != nil || v.State != outreach.EndorsementWithdrawn {
		t.Errorf("Endorsement = %+v, %v; want withdrawn", v, err)
	}
}

func TestEndorsementCSVRoundTrip(t *testing.T) {
	s, ob := replyFixture(t)
	ctx := context.Background()
	in := "email,name,time,evidence\nmy@org.test,MY Org,2025-03-01,letter of 1 March\nph@org.test,,2025-03-02T10:00:00Z,\n"
	rep, err := s.ImportEndorsements(ctx, replyAdmin, strings.NewReader(in), false)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Created != 2 || rep.Unchanged != 0 || ob.kicks != 0 {
		t.Errorf("report = %+v, kicks %d; want 2 created, no thank-yous", rep, ob.kicks)
	}
	var out bytes.Buffer
	if err := s.ExportEndorsements(ctx, replyAdmin, EndorsementQuery{}, &out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 || lines[0] != strings.Join(endorsementColumns, ",") ||
		!strings.Contains(lines[1], "my@org.test,MY Org,MY Org,MY,confirmed,import,2025-03-01T00:00:00Z") {
		t.Errorf("export =\n%s", out.String())
	}
	rep, err = s.ImportEndorsements(ctx, replyAdmin, bytes.NewReader(out.Bytes()), false)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Created != 0 || rep.Unchanged != 2 {
		t.Errorf("re-import = %+v; want nothing new", rep)
	}
	var scoped bytes.Buffer
	s.ExportEndorsements(ctx, replyCoordMY, EndorsementQuery{}, &scoped)
	if strings.Contains(scoped.String(), "ph@org.test") {
		t.Errorf("MY coordinator's export shows PH:\n%s", scoped.String())
	}
}

func TestEndorsementCSVErrorsNameTheLine(t *testing.T) {
	s, _ := replyFixture(t)
	ctx := context.Background()
	in := "email,state,time\nmy@org.test,confirmed,yesterday\nnobody@org.test,,\nph@org.test,maybe,\nmy@org.test,withdrawn,\n"
	_, err := s.ImportEndorsements(ctx, replyAdmin, strings.NewReader(in), false)
	var ie *ImportError
	if !errors.As(err, &ie) {
		t.Fatalf("import = %v; want an *ImportError", err)
	}
	var got []string
	for _, e := range ie.Report.Errors {
		got = append(got, e.String())
	}
	want := []string{
		`2: time: "yesterday" is not a date (2025-03-01) or an RFC 3339 time`,
		"3: email: no contact nobody@org.test in your scope (outreach contacts import adds contacts)",
		`4: state: "maybe" is not confirmed or pending`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("errors =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if es, _ := s.Endorsements(ctx, replyAdmin, EndorsementQuery{}); len(es) != 0 {
		t.Errorf("%d endorsements after a rejected file; want 0", len(es))
	}
	for _, bad := range []string{"", "name\nx\n", "email,colour\n"} {
		if _, err := s.ImportEndorsements(ctx, replyAdmin, strings.NewReader(bad), false); outreach.ErrorCode(err) != outreach.EINVALID {
			t.Errorf("import %q = %v; want EINVALID", bad, err)
		}
	}
}

func FuzzEndorsementCSV(f *testing.F) {
	f.Add("email,name,time,evidence\nmy@org.test,MY Org,2025-03-01,x\n")
	f.Add("email\n\"unterminated\n")
	f.Add("\ufeffEMAIL,state\nph@org.test,pending\n")
	s, _ := replyFixture(f)
	f.Fuzz(func(t *testing.T, in string) {
		rows, rep, err := s.readEndorsementCSV(context.Background(), replyAdmin, strings.NewReader(in))
		if err != nil {
			if outreach.ErrorCode(err) != outreach.EINVALID {
				t.Fatalf("error %v is not EINVALID", err)
			}
			return
		}
		for _, r := range rows {
			if r.ContactID == 0 || r.PrintName == "" || (r.State != outreach.EndorsementConfirmed && r.State != outreach.EndorsementPending) {
				t.Fatalf("row %+v accepted", r)
			}
		}
		for _, e := range rep.Errors {
			if e.Line < 1 {
				t.Fatalf("error without a line: %+v", e)
			}
		}
	})
}

// endorseReply records an endorsing reply of contact as the inbox would.
func endorseReply(t testing.TB, s *Service, key, email, state string) *store.Recorded {
	t.Helper()
	c, err := s.Store.Contact(context.Background(), email)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := s.Store.RecordReply(context.Background(), &store.Incoming{Key: key,
		Reply: outreach.Reply{MessageID: key, From: c.Email, Class: outreach.ClassEndorse, ContactID: c.ID, CampaignID: 1, Reason: "endorse",
			Review: state == outreach.EndorsementPending, Received: time.Now().UTC()},
		Endorse: &outreach.Endorsement{CampaignID: 1, ContactID: c.ID, Email: c.Email, Organization: c.Organization,
			PrintName: c.Organization, Country: c.Country, State: state, Evidence: "we endorse", Source: "reply"}})
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// declineReply records a decline of contact as the inbox would.
func declineReply(t testing.TB, s *Service, key, email string) *store.Recorded {
	t.Helper()
	c, err := s.Store.Contact(context.Background(), email)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := s.Store.RecordReply(context.Background(), &store.Incoming{Key: key, Withdraws: true,
		Reply: outreach.Reply{MessageID: key, From: c.Email, Class: outreach.ClassDecline, ContactID: c.ID, CampaignID: 1, Reason: "decline", Received: time.Now().UTC()}})
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

func endorsementState(t testing.TB, s *Service, id uint64) string {
	t.Helper()
	e, err := s.Store.Endorsement(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return e.State
}

// Findings 2 and 5 through the review actions a coordinator has.
func TestReviewSettlesDeclinesAndConfirmations(t *testing.T) {
	ctx := context.Background()
	t.Run("approving a decline withdraws the endorsement it held", func(t *testing.T) {
		s, _ := replyFixture(t)
		e := endorseReply(t, s, "m1", "my@org.test", outreach.EndorsementConfirmed).Endorsement
		dec := declineReply(t, s, "m2", "my@org.test")
		if dec.Endorsement == nil || endorsementState(t, s, e.ID) != outreach.EndorsementPending {
			t.Fatalf("decline = %+v; want endorsement %d held pending", dec, e.ID)
		}
		v, err := s.Reply(ctx, replyAdmin, dec.Reply.ID)
		if err != nil || v.Endorsement == nil || v.Endorsement.ID != e.ID {
			t.Errorf("reply view = %+v, %v; want it to show endorsement %d", v, err, e.ID)
		}
		res, err := s.Review(ctx, replyCoordMY, dec.Reply.ID, ReviewApprove, ReviewInput{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Endorsement == nil || res.Endorsement.State != outreach.EndorsementWithdrawn {
			t.Errorf("after approving the decline: %+v; want the endorsement withdrawn", res.Endorsement)
		}
	})
	t.Run("rejecting a decline leaves the endorsement for a person", func(t *testing.T) {
		s, _ := replyFixture(t)
		first := endorseReply(t, s, "m1", "my@org.test", outreach.EndorsementConfirmed)
		dec := declineReply(t, s, "m2", "my@org.test")
		if _, err := s.SetEndorsement(ctx, replyCoordMY, first.Endorsement.ID, "confirm", ""); outreach.ErrorCode(err) != outreach.ECONFLICT {
			t.Errorf("confirm while the decline waits = %v; want ECONFLICT", err)
		}
		if _, err := s.Review(ctx, replyCoordMY, dec.Reply.ID, ReviewReclassify, ReviewInput{Class: outreach.ClassOther}); err != nil {
			t.Fatal(err)
		}
		if st := endorsementState(t, s, first.Endorsement.ID); st != outreach.EndorsementPending {
			t.Fatalf("endorsement = %s; want pending", st)
		}
		if r, _ := s.Store.Reply(ctx, first.Reply.ID); !r.Review {
			t.Fatalf("endorsing reply = %+v; want it back in review", r)
		}
		if _, err := s.Review(ctx, replyCoordMY, first.Reply.ID, ReviewApprove, ReviewInput{}); err != nil {
			t.Fatal(err)
		}
		if st := endorsementState(t, s, first.Endorsement.ID); st != outreach.EndorsementConfirmed {
			t.Errorf("endorsement after approving its reply again = %s; want confirmed", st)
		}
	})
	t.Run("rejecting the reply that confirmed an endorsement", func(t *testing.T) {
		s, _ := replyFixture(t)
		first := endorseReply(t, s, "m1", "my@org.test", outreach.EndorsementPending)
		yes := endorseReply(t, s, "m2", "my@org.test", outreach.EndorsementConfirmed)
		if _, err := s.Review(ctx, replyCoordMY, yes.Reply.ID, ReviewApprove, ReviewInput{}); err != nil {
			t.Fatal(err)
		}
		if st := endorsementState(t, s, first.Endorsement.ID); st != outreach.EndorsementConfirmed {
			t.Fatalf("endorsement = %s; want confirmed", st)
		}
		res, err := s.Review(ctx, replyCoordMY, yes.Reply.ID, ReviewReject, ReviewInput{Note: "that yes was about the webinar"})
		if err != nil {
			t.Fatal(err)
		}
		if res.Endorsement == nil || res.Endorsement.State != outreach.EndorsementPending {
			t.Errorf("after rejecting the confirming reply: %+v; want the endorsement pending", res.Endorsement)
		}
	})
	t.Run("a decline found in an unclear reply", func(t *testing.T) {
		s, _ := replyFixture(t)
		e := endorseReply(t, s, "m1", "my@org.test", outreach.EndorsementConfirmed).Endorsement
		id := recordReply(t, s, "m2", "my@org.test", replyContactID(t, s, "my@org.test"), outreach.ClassOther, true)
		if _, err := s.Review(ctx, replyCoordMY, id, ReviewReclassify, ReviewInput{Class: outreach.ClassDecline}); err != nil {
			t.Fatal(err)
		}
		if st := endorsementState(t, s, e.ID); st != outreach.EndorsementWithdrawn {
			t.Errorf("endorsement after reclassifying a later reply as a decline = %s; want withdrawn", st)
		}
	})
}
