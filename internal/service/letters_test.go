package service

import (
	"cmp"
	"context"
	"encoding/csv"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/outreach-coalition/outreach/internal/outreach"
	"github.com/outreach-coalition/outreach/internal/store"
	"github.com/outreach-coalition/outreach/templates"
)

type letterOutbox struct {
	mu    sync.Mutex
	kicks int
}

func (o *letterOutbox) Mint(*outreach.Campaign) store.Mint {
	return func(id uint64) (string, string) { return fmt.Sprintf("t%d", id), fmt.Sprintf("t%d@example.test", id) }
}

func (o *letterOutbox) Kick() { o.mu.Lock(); o.kicks++; o.mu.Unlock() }

var (
	letterCoord   = &outreach.Principal{Name: "ana", Role: outreach.RoleCoordinator}
	letterCoordPH = &outreach.Principal{Name: "pia", Role: outreach.RoleCoordinator, Countries: []string{"PH"}}
	letterViewer  = &outreach.Principal{Name: "vic", Role: outreach.RoleViewer}
)

type letterFix struct {
	s   *Service
	now time.Time
	ob  *letterOutbox
}

// letterFixture is a service with the shipped templates, targets in MY
// and PH (and a partner who is not a target), and partners in MY, PH and
// none (international).
func letterFixture(t *testing.T) *letterFix {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(t.TempDir(), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.EnsureDefaultCampaign(ctx, &outreach.Campaign{Name: "OP-ICESCR", From: "c@example.test", ReplyTo: "c@example.test", DefaultLanguage: "en"}); err != nil {
		t.Fatal(err)
	}
	f := &letterFix{now: time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC), ob: &letterOutbox{}}
	f.s = New(st, slog.New(slog.DiscardHandler), func() time.Time { return f.now })
	f.s.Outbox = f.ob
	sub, _ := fs.Sub(templates.Mail, "mail")
	f.s.TemplateSource = TemplateSource{FS: sub, Name: "embedded"}
	if _, err := f.s.LoadTemplates(ctx); err != nil {
		t.Fatal(err)
	}
	err = st.ImportContacts(ctx, func(put store.PutFunc) error {
		for _, c := range []outreach.Contact{
			{Email: "pm@gov.my.test", Name: "Prime Minister", Kind: outreach.KindHeadOfState, Country: "MY"},
			{Email: "fm@gov.my.test", Organization: "Ministry of Foreign Affairs", Kind: outreach.KindMinistry, Country: "MY"},
			{Email: "suhakam@my.test", Organization: "SUHAKAM", Kind: outreach.KindNHRI, Country: "MY"},
			{Email: "party@my.test", Organization: "A party", Kind: outreach.KindParty, Country: "MY"},
			{Email: "president@gov.ph.test", Kind: outreach.KindHeadOfState, Country: "PH"},
			{Email: "a1@alpha.test", Organization: "Alpha Rights Network", Kind: outreach.KindPartner, Country: "MY"},
			{Email: "a2@alpha.test", Organization: "alpha  rights NETWORK", Kind: outreach.KindPartner, Country: "MY"},
			{Email: "b@beta.test", Organization: "Beta Legal Aid", Kind: outreach.KindPartner, Country: "MY"},
			{Email: "c@gamma.test", Organization: "Gamma Union", Kind: outreach.KindPartner, Country: "MY"},
			{Email: "d@delta.test", Organization: "Delta Housing", Kind: outreach.KindPartner, Country: "MY"},
			{Email: "p@ph.test", Organization: "PH Alliance", Kind: outreach.KindPartner, Country: "PH"},
			{Email: "w@world.test", Organization: "World Network", Kind: outreach.KindPartner},
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
	return f
}

// endorse records an endorsing reply from email: a new endorsement, or
// further evidence of the contact's active one.
func (f *letterFix) endorse(t *testing.T, key, email, state, printName string) *outreach.Endorsement {
	t.Helper()
	ctx := context.Background()
	c, err := f.s.Store.Contact(ctx, email)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := f.s.Store.RecordReply(ctx, &store.Incoming{Key: key,
		Reply: outreach.Reply{MessageID: key, From: c.Email, Class: outreach.ClassEndorse, ContactID: c.ID, CampaignID: 1, Reason: "endorse", Review: state == outreach.EndorsementPending},
		Endorse: &outreach.Endorsement{CampaignID: 1, ContactID: c.ID, Email: c.Email, Organization: c.Organization,
			PrintName: cmp.Or(printName, c.Organization), Country: c.Country, State: state, Evidence: "we endorse", Source: "reply"}})
	if err != nil {
		t.Fatal(err)
	}
	return rec.Endorsement
}

func (f *letterFix) setState(t *testing.T, id uint64, state string) {
	t.Helper()
	if _, _, err := f.s.Store.SetEndorsementState(context.Background(), id, state, "ana", "", nil); err != nil {
		t.Fatal(err)
	}
}

func (f *letterFix) add(t *testing.T, in LetterInput) *LetterView {
	t.Helper()
	v, err := f.s.CreateLetter(context.Background(), letterCoord, in)
	if err != nil {
		t.Fatalf("CreateLetter(%+v) = %v", in, err)
	}
	return v
}

func countryView(t *testing.T, v *LetterView, country string) LetterCountryView {
	t.Helper()
	for _, c := range v.Countries {
		if c.Country == country {
			return c
		}
	}
	t.Fatalf("letter %d has no country %s: %+v", v.ID, country, v.Countries)
	return LetterCountryView{}
}

// deliveredTo returns the deliveries of a send by address.
func (f *letterFix) deliveredTo(t *testing.T, sendID uint64) map[string]outreach.Delivery {
	t.Helper()
	ds, err := f.s.Store.SendDeliveries(context.Background(), sendID)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]outreach.Delivery{}
	for _, d := range ds {
		out[d.Email] = d
	}
	return out
}

func TestBuildRoster(t *testing.T) {
	es := []outreach.Endorsement{
		{ID: 5, Organization: "Zeta Centre", PrintName: "Zeta Centre", Country: "MY"},
		{ID: 2, Organization: "Alpha  Rights Network", PrintName: "Alpha  Rights Network", Country: "MY"},
		{ID: 3, Organization: "ALPHA RIGHTS NETWORK", PrintName: "Alpha Rights Network (ARN)", Country: "MY"},
		{ID: 4, Organization: "alpha rights network", PrintName: "Alpha Network, formerly", Country: "MY"},
		{ID: 6, Organization: "Beta Foundation", PrintName: "Omega Coalition", Country: "MY"},
		{ID: 7, Organization: "Omega  coalition", PrintName: "", Country: "MY"},
		{ID: 8, Organization: "Alpha Rights Network", PrintName: "Alpha Rights Network", Country: "PH"},
		{ID: 9, Organization: "", PrintName: "", Country: "MY"},
		{ID: 10, Organization: "World Network", PrintName: "World Network", Country: ""},
		{ID: 1, Organization: "émile Trust", PrintName: "Émile Trust", Country: "MY"},
	}
	got := BuildRoster(es)
	var lines []string
	for _, r := range got {
		lines = append(lines, fmt.Sprintf("%s|%s|%v", r.Country, r.Name, r.Endorsements))
	}
	want := []string{
		"|World Network|[10]",
		"MY|Alpha Network, formerly|[4]", // the print name names another organisation
		"MY|Alpha Rights Network (ARN)|[2 3]",
		"MY|Émile Trust|[1]",
		"MY|Omega Coalition|[6 7]", // on behalf of Omega, and Omega itself
		"MY|Zeta Centre|[5]",
		"PH|Alpha Rights Network|[8]",
	}
	slices.SortStableFunc(lines, func(a, b string) int {
		return strings.Compare(strings.SplitN(a, "|", 2)[0], strings.SplitN(b, "|", 2)[0])
	})
	if !slices.Equal(lines, want) {
		t.Errorf("BuildRoster =\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	// Stable whatever the input order.
	rev := slices.Clone(es)
	slices.Reverse(rev)
	if again := BuildRoster(rev); !slices.EqualFunc(again, got, func(a, b RosterEntry) bool { return a.Name == b.Name && slices.Equal(a.Endorsements, b.Endorsements) }) {
		t.Errorf("BuildRoster of reversed input = %+v; want %+v", again, got)
	}
}

// Acceptance 1, 3 and 4 at the service level: the MY letter lists the
// confirmed organisations once each, goes to MY's targets only, is not
// sent twice unless resent, and keeps its roster when an endorsement is
// withdrawn later, which shows against it.
func TestLetterRosterSendResendWithdraw(t *testing.T) {
	ctx := context.Background()
	f := letterFixture(t)
	f.endorse(t, "m1@x", "a1@alpha.test", outreach.EndorsementConfirmed, "")
	f.endorse(t, "m2@x", "a1@alpha.test", outreach.EndorsementConfirmed, "")
	f.endorse(t, "m3@x", "a2@alpha.test", outreach.EndorsementConfirmed, "")
	f.endorse(t, "m4@x", "b@beta.test", outreach.EndorsementPending, "")
	gamma := f.endorse(t, "m5@x", "c@gamma.test", outreach.EndorsementPending, "")
	f.setState(t, gamma.ID, outreach.EndorsementRejected)
	delta := f.endorse(t, "m6@x", "d@delta.test", outreach.EndorsementConfirmed, "Delta Housing Trust")
	f.endorse(t, "m7@x", "p@ph.test", outreach.EndorsementConfirmed, "")
	f.endorse(t, "m8@x", "w@world.test", outreach.EndorsementConfirmed, "")

	if _, err := f.s.CreateLetter(ctx, letterCoord, LetterInput{Template: "letter", Targets: "kind = partner"}); outreach.ErrorCode(err) != outreach.EINVALID {
		t.Errorf("CreateLetter with partners as targets = %v; want invalid", err)
	}
	if _, err := f.s.CreateLetter(ctx, letterCoordPH, LetterInput{Template: "letter", Targets: "country = PH"}); outreach.ErrorCode(err) != outreach.EFORBIDDEN {
		t.Errorf("CreateLetter by a scoped coordinator = %v; want forbidden", err)
	}
	v := f.add(t, LetterInput{Template: "letter", Targets: "not kind = legislator"})
	my := countryView(t, v, "MY")
	if names := rosterNames(my.Roster); !slices.Equal(names, []string{"Alpha Rights Network", "Delta Housing Trust"}) {
		t.Errorf("MY roster = %q; want Alpha once and Delta by its print name", names)
	}
	if my.Targets != 3 || my.State != LetterStateCollecting || my.Endorsers != 2 {
		t.Errorf("MY = %+v; want 3 targets (the party is not one), collecting, 2 endorsers", my)
	}

	pv, err := f.s.PreviewLetter(ctx, letterViewer, 0, "my", "")
	if err != nil {
		t.Fatal(err)
	}
	if pv.To != "pm@gov.my.test" || !strings.Contains(pv.Text, "  - Alpha Rights Network\n  - Delta Housing Trust\n") ||
		strings.Contains(pv.Text, "Beta") || strings.Contains(pv.Text, "Gamma") || strings.Contains(pv.Text, "World") || len(pv.Problems) != 0 {
		t.Errorf("preview to %s, problems %q:\n%s", pv.To, pv.Problems, pv.Text)
	}
	if sends, _ := f.s.Store.Sends(ctx, ""); len(sends) != 0 {
		t.Fatalf("preview created %d sends", len(sends))
	}

	rep, err := f.s.SendLetter(ctx, letterCoord, v.ID, LetterSendInput{Country: "MY"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Sent) != 1 || rep.Sent[0].Targets != 3 {
		t.Fatalf("send report = %+v; want MY sent to 3 targets", rep)
	}
	sendID := rep.Sent[0].SendID
	to := f.deliveredTo(t, sendID)
	if got := slices.Sorted(maps.Keys(to)); !slices.Equal(got, []string{"fm@gov.my.test", "pm@gov.my.test", "suhakam@my.test"}) {
		t.Errorf("MY letter went to %q; want MY's three targets only", got)
	}
	for e, d := range to {
		if !slices.Equal(d.Roster, []string{"Alpha Rights Network", "Delta Housing Trust"}) {
			t.Errorf("delivery to %s has roster %q", e, d.Roster)
		}
	}
	if send, _ := f.s.Store.Send(ctx, sendID); send.ListHeaders || send.Kind != outreach.SendLetter || send.LetterID != v.ID {
		t.Errorf("send = %+v; want a letter send without list headers", send)
	}

	_, err = f.s.SendLetter(ctx, letterCoord, v.ID, LetterSendInput{Country: "MY"})
	if outreach.ErrorCode(err) != outreach.ECONFLICT || !strings.Contains(err.Error(), "already sent") || !strings.Contains(err.Error(), "--resend") {
		t.Errorf("second send = %v; want a conflict saying it was sent and how to resend", err)
	}
	if sends, _ := f.s.Store.Sends(ctx, ""); len(sends) != 1 {
		t.Errorf("%d sends after the refused second send; want 1", len(sends))
	}

	f.now = f.now.Add(time.Hour)
	f.setState(t, delta.ID, outreach.EndorsementWithdrawn)
	v, _ = f.s.Letter(ctx, letterViewer, v.ID)
	my = countryView(t, v, "MY")
	if my.State != LetterStateSent || !slices.Equal(my.Sends[0].Roster, []string{"Alpha Rights Network", "Delta Housing Trust"}) {
		t.Errorf("after a withdrawal MY = %+v; want the sent roster unchanged", my)
	}
	if !slices.Equal(my.WithdrawnAfterSending, []string{"Delta Housing Trust"}) {
		t.Errorf("withdrawn after sending = %q; want Delta Housing Trust", my.WithdrawnAfterSending)
	}
	for e, d := range f.deliveredTo(t, sendID) {
		if len(d.Roster) != 2 {
			t.Errorf("delivery to %s roster changed to %q", e, d.Roster)
		}
	}

	f.ob.kicks = 0
	f.now = f.now.Add(time.Hour)
	rep, err = f.s.SendLetter(ctx, &outreach.Principal{Name: "bob", Role: outreach.RoleCoordinator}, v.ID, LetterSendInput{Country: "MY", Resend: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Sent) != 1 || !rep.Sent[0].Resend || f.ob.kicks != 1 {
		t.Errorf("resend report = %+v, %d kicks; want one resend and a kick", rep, f.ob.kicks)
	}
	audit, _ := f.s.Store.AuditLog(ctx, "bob", time.Time{}, 100)
	if len(audit) != 1 || audit[0].Action != "letter.resend" {
		t.Errorf("bob's audit = %+v; want the resend", audit)
	}
	v, _ = f.s.Letter(ctx, letterViewer, v.ID)
	if my := countryView(t, v, "MY"); len(my.WithdrawnAfterSending) != 0 || len(my.Sends) != 2 {
		t.Errorf("after a resend without Delta, MY = %+v; want two sends and no withdrawal against the latest", my)
	}
}

// The withdrawal shows only when the organisation is off the roster now.
func TestWithdrawnAfterSendingOnlyWhenGone(t *testing.T) {
	ctx := context.Background()
	f := letterFixture(t)
	a1 := f.endorse(t, "m1@x", "a1@alpha.test", outreach.EndorsementConfirmed, "")
	a2 := f.endorse(t, "m2@x", "a2@alpha.test", outreach.EndorsementConfirmed, "")
	before := f.endorse(t, "m3@x", "d@delta.test", outreach.EndorsementConfirmed, "")
	f.setState(t, before.ID, outreach.EndorsementWithdrawn) // before the send: not shown
	v := f.add(t, LetterInput{Template: "letter", Targets: "country = MY"})
	if _, err := f.s.SendLetter(ctx, letterCoord, v.ID, LetterSendInput{Country: "MY"}); err != nil {
		t.Fatal(err)
	}
	f.now = f.now.Add(time.Minute)
	f.setState(t, a1.ID, outreach.EndorsementWithdrawn)
	v, _ = f.s.Letter(ctx, letterViewer, v.ID)
	if got := countryView(t, v, "MY").WithdrawnAfterSending; len(got) != 0 {
		t.Errorf("withdrawn after sending = %q while a2 still endorses; want none", got)
	}
	f.setState(t, a2.ID, outreach.EndorsementWithdrawn)
	v, _ = f.s.Letter(ctx, letterViewer, v.ID)
	if got := countryView(t, v, "MY").WithdrawnAfterSending; !slices.Equal(got, []string{"Alpha Rights Network"}) {
		t.Errorf("withdrawn after sending = %q; want Alpha Rights Network", got)
	}
}

// Acceptance 2 at the service level, and scope.
func TestSendAllSkipsBelowThreshold(t *testing.T) {
	ctx := context.Background()
	f := letterFixture(t)
	f.endorse(t, "m1@x", "a1@alpha.test", outreach.EndorsementConfirmed, "")
	f.endorse(t, "m2@x", "d@delta.test", outreach.EndorsementConfirmed, "")
	f.endorse(t, "m3@x", "p@ph.test", outreach.EndorsementConfirmed, "")
	v := f.add(t, LetterInput{Template: "letter", Targets: "kind = head_of_state", International: true})
	if ph := countryView(t, v, "PH"); !slices.Equal(rosterNames(ph.Roster), []string{"PH Alliance"}) {
		t.Errorf("PH roster = %q; want PH Alliance (no international endorser confirmed yet)", rosterNames(ph.Roster))
	}
	f.endorse(t, "m4@x", "w@world.test", outreach.EndorsementConfirmed, "")

	if _, err := f.s.SendLetter(ctx, letterViewer, v.ID, LetterSendInput{All: true}); outreach.ErrorCode(err) != outreach.EFORBIDDEN {
		t.Errorf("send by a viewer = %v; want forbidden", err)
	}
	if _, err := f.s.SendLetter(ctx, letterCoord, v.ID, LetterSendInput{All: true, Country: "MY"}); outreach.ErrorCode(err) != outreach.EINVALID {
		t.Errorf("send with --all and --country = %v; want invalid", err)
	}
	if _, err := f.s.SendLetter(ctx, letterCoordPH, v.ID, LetterSendInput{Country: "MY"}); outreach.ErrorCode(err) != outreach.ENOTFOUND {
		t.Errorf("send to MY by a PH coordinator = %v; want not found", err)
	}
	rep, err := f.s.SendLetter(ctx, letterCoord, v.ID, LetterSendInput{All: true, MinEndorsements: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Sent) != 1 || rep.Sent[0].Country != "MY" || !slices.Equal(rep.Sent[0].Roster, []string{"Alpha Rights Network", "Delta Housing", "World Network"}) {
		t.Errorf("sent = %+v; want MY with its two and the international endorser", rep.Sent)
	}
	if len(rep.Skipped) != 1 || rep.Skipped[0].Country != "PH" || !strings.Contains(rep.Skipped[0].Reason, "below the threshold: 1 confirmed organisations, 2 needed") {
		t.Errorf("skipped = %+v; want PH below the threshold", rep.Skipped)
	}
	// A PH coordinator sees and sends only PH.
	pv, err := f.s.Letter(ctx, letterCoordPH, v.ID)
	if err != nil || len(pv.Countries) != 1 || pv.Countries[0].Country != "PH" {
		t.Fatalf("PH coordinator's view = %+v, %v; want PH only", pv, err)
	}
	rep, err = f.s.SendLetter(ctx, letterCoordPH, v.ID, LetterSendInput{All: true})
	if err != nil || len(rep.Sent) != 1 || rep.Sent[0].Country != "PH" || len(rep.Skipped) != 0 {
		t.Errorf("PH coordinator's send --all = %+v, %v; want PH only", rep, err)
	}
	rep, err = f.s.SendLetter(ctx, letterCoord, v.ID, LetterSendInput{All: true})
	if err != nil || len(rep.Sent) != 0 || len(rep.Skipped) != 2 || !strings.Contains(rep.Skipped[0].Reason, "already sent") {
		t.Errorf("send --all again = %+v, %v; want both skipped as already sent", rep, err)
	}
}

// Readiness rules: a rule prepares the letter; without approval it waits,
// an approval sends it, and a campaign with unattended letters sends at once.
func TestReadinessRulesAndApproval(t *testing.T) {
	ctx := context.Background()
	f := letterFixture(t)
	f.endorse(t, "m1@x", "a1@alpha.test", outreach.EndorsementConfirmed, "")
	f.endorse(t, "m2@x", "p@ph.test", outreach.EndorsementConfirmed, "")
	v := f.add(t, LetterInput{Template: "letter", Targets: "kind = head_of_state", MinEndorsements: 2, Deadline: "2026-12-10"})
	if v.Rule != "ready at 2 confirmed organisations or ready at 2026-12-10T00:00:00Z" {
		t.Errorf("rule = %q", v.Rule)
	}
	if err := f.s.CheckLetters(ctx); err != nil {
		t.Fatal(err)
	}
	if v, _ = f.s.Letter(ctx, letterViewer, v.ID); countryView(t, v, "MY").State != LetterStateCollecting {
		t.Fatalf("MY after a check with one endorser = %+v; want collecting", countryView(t, v, "MY"))
	}
	// PH approved in advance: it goes when its rule fires.
	rep, err := f.s.ApproveLetter(ctx, letterCoord, v.ID, LetterSendInput{Country: "PH"})
	if err != nil || len(rep.Sent) != 0 || len(rep.Waiting) != 1 {
		t.Fatalf("approve PH = %+v, %v; want it waiting for its rule", rep, err)
	}
	f.endorse(t, "m3@x", "d@delta.test", outreach.EndorsementConfirmed, "")
	if err := f.s.CheckLetters(ctx); err != nil {
		t.Fatal(err)
	}
	v, _ = f.s.Letter(ctx, letterViewer, v.ID)
	if my := countryView(t, v, "MY"); my.State != LetterStateReady || !strings.Contains(my.ReadyReason, "2 confirmed organisations") {
		t.Errorf("MY at 2 endorsers = %+v; want ready, waiting for approval", my)
	}
	if sends, _ := f.s.Store.Sends(ctx, ""); len(sends) != 0 {
		t.Fatalf("%d sends before any approval of a ready letter; want 0", len(sends))
	}
	rep, err = f.s.ApproveLetter(ctx, letterCoord, v.ID, LetterSendInput{Country: "MY"})
	if err != nil || len(rep.Sent) != 1 {
		t.Fatalf("approve MY = %+v, %v; want it sent", rep, err)
	}
	if d := f.deliveredTo(t, rep.Sent[0].SendID); len(d) != 1 || len(d["pm@gov.my.test"].Roster) != 2 {
		t.Errorf("MY deliveries = %+v; want the head of state with the two endorsers", d)
	}

	// The deadline prepares PH, approved in advance: sent by the system.
	f.now = time.Date(2026, 12, 10, 0, 0, 0, 0, time.UTC)
	if err := f.s.CheckLetters(ctx); err != nil {
		t.Fatal(err)
	}
	v, _ = f.s.Letter(ctx, letterViewer, v.ID)
	ph := countryView(t, v, "PH")
	if ph.State != LetterStateSent || !strings.Contains(ph.ReadyReason, "deadline") || ph.Sends[0].By != "system (approved by ana)" {
		t.Errorf("PH after its deadline = %+v; want sent by the system on ana's approval", ph)
	}
	if err := f.s.CheckLetters(ctx); err != nil {
		t.Fatal(err)
	}
	if sends, _ := f.s.Store.Sends(ctx, ""); len(sends) != 2 {
		t.Errorf("%d sends after checking again; want 2 (nothing twice)", len(sends))
	}
	ready, _ := f.s.Store.AuditLog(ctx, "system", time.Time{}, 100)
	n := 0
	for _, e := range ready {
		if e.Action == "letter.ready" {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d letter.ready audit entries; want 2 (MY, PH)", n)
	}
}

// Approving a letter whose rule is met sends it at once, without waiting
// for the periodic check.
func TestApproveAppliesRuleAtOnce(t *testing.T) {
	ctx := context.Background()
	f := letterFixture(t)
	f.endorse(t, "m1@x", "p@ph.test", outreach.EndorsementConfirmed, "")
	v := f.add(t, LetterInput{Template: "letter", Targets: "kind = head_of_state", MinEndorsements: 1})
	if _, err := f.s.ApproveLetter(ctx, letterCoord, v.ID, LetterSendInput{}); outreach.ErrorCode(err) != outreach.EINVALID {
		t.Errorf("approve without --country or --all = %v; want invalid", err)
	}
	rep, err := f.s.ApproveLetter(ctx, letterCoord, v.ID, LetterSendInput{All: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Sent) != 1 || rep.Sent[0].Country != "PH" || len(rep.Waiting) != 1 || rep.Waiting[0].Country != "MY" {
		t.Errorf("approve --all = %+v; want PH sent and MY waiting", rep)
	}
	v, _ = f.s.Letter(ctx, letterViewer, v.ID)
	if ph := countryView(t, v, "PH"); ph.ReadyReason == "" || ph.Sends[0].By != "ana" {
		t.Errorf("PH = %+v; want ready by its rule and sent by ana", ph)
	}
	if _, err := f.s.ApproveLetter(ctx, letterCoord, v.ID, LetterSendInput{Country: "PH"}); outreach.ErrorCode(err) != outreach.ECONFLICT {
		t.Errorf("approving a sent letter = %v; want a conflict", err)
	}
}

func TestUnattendedLetterSendsWhenReady(t *testing.T) {
	ctx := context.Background()
	f := letterFixture(t)
	camp, _ := f.s.Store.Campaign(ctx, 1)
	camp.UnattendedLetters = true
	if err := f.s.Store.UpdateCampaign(ctx, camp); err != nil {
		t.Fatal(err)
	}
	f.endorse(t, "m1@x", "p@ph.test", outreach.EndorsementConfirmed, "")
	v := f.add(t, LetterInput{Template: "letter", Targets: "kind = head_of_state", MinEndorsements: 1})
	if err := f.s.CheckLetters(ctx); err != nil {
		t.Fatal(err)
	}
	v, _ = f.s.Letter(ctx, letterViewer, v.ID)
	if ph := countryView(t, v, "PH"); ph.State != LetterStateSent || ph.Sends[0].By != "system" || ph.ApprovedBy != "" {
		t.Errorf("PH = %+v; want sent by the system without approval", ph)
	}
	if my := countryView(t, v, "MY"); my.State != LetterStateCollecting {
		t.Errorf("MY = %+v; want collecting (no endorser)", my)
	}
}

func TestExportLetter(t *testing.T) {
	ctx := context.Background()
	f := letterFixture(t)
	f.endorse(t, "m1@x", "a1@alpha.test", outreach.EndorsementConfirmed, "=Alpha *Rights* [Network]")
	f.endorse(t, "m2@x", "d@delta.test", outreach.EndorsementConfirmed, "")
	v := f.add(t, LetterInput{Template: "letter", Targets: "country = MY"})

	x, err := f.s.ExportLetter(ctx, letterViewer, v.ID, "MY", ExportCSV, "", false)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(strings.NewReader(string(x.Body))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"name", "organization", "country"}, {"'=Alpha *Rights* [Network]", "Alpha Rights Network", "MY"}, {"Delta Housing", "Delta Housing", "MY"}}
	if !slices.EqualFunc(rows, want, slices.Equal) || x.Name != "letter-1-MY.csv" {
		t.Errorf("CSV %s = %q; want %q", x.Name, rows, want)
	}
	x, err = f.s.ExportLetter(ctx, letterViewer, v.ID, "MY", ExportHTML, "fr", false)
	if err != nil {
		t.Fatal(err)
	}
	if h := string(x.Body); !strings.HasPrefix(h, "<!DOCTYPE html>") || !strings.Contains(h, `lang="fr"`) || !strings.Contains(h, "<li>=Alpha *Rights* [Network]</li>") {
		t.Errorf("HTML export:\n%s", h)
	}
	x, err = f.s.ExportLetter(ctx, letterViewer, v.ID, "MY", ExportMarkdown, "", false)
	if err != nil {
		t.Fatal(err)
	}
	md := string(x.Body)
	for _, s := range []string{"# Malaysia: joint letter", "\n- =Alpha \\*Rights\\* \\[Network\\]\n- Delta Housing\n", "\n\\--\\\nOP-ICESCR\n"} {
		if !strings.Contains(md, s) {
			t.Errorf("Markdown export lacks %q:\n%s", s, md)
		}
	}
	if _, err := f.s.ExportLetter(ctx, letterViewer, v.ID, "MY", "pdf", "", false); outreach.ErrorCode(err) != outreach.EINVALID {
		t.Errorf("export as pdf = %v; want invalid", err)
	}
	if _, err := f.s.ExportLetter(ctx, letterViewer, v.ID, "MY", ExportCSV, "", true); outreach.ErrorCode(err) != outreach.ENOTFOUND {
		t.Errorf("export --as-sent of an unsent letter = %v; want not found", err)
	}
	if _, err := f.s.ExportLetter(ctx, letterCoordPH, v.ID, "MY", ExportCSV, "", false); outreach.ErrorCode(err) != outreach.ENOTFOUND {
		t.Errorf("export of MY by a PH coordinator = %v; want not found", err)
	}
}

func TestMarkdown(t *testing.T) {
	got := Markdown("A # subject", "Dear 1. you\nsecond line\n\n  - item *one*\n  - two\n\n-- \nSig\n")
	want := "# A \\# subject\n\nDear 1. you\\\nsecond line\n\n- item \\*one\\*\n- two\n\n\\--\\\nSig\n"
	if got != want {
		t.Errorf("Markdown =\n%q\nwant\n%q", got, want)
	}
	if got := Markdown("s", "12. not a list"); !strings.Contains(got, "12\\. not a list") {
		t.Errorf("Markdown of a numbered line = %q; want the dot escaped", got)
	}
}

func FuzzMarkdown(f *testing.F) {
	for _, s := range []string{"", "a\nb", "  - x", "-- \n", "# h", "1) x", "<b>&amp;</b>", "\\*"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		md := Markdown("subject", text)
		if !strings.HasPrefix(md, "# subject\n\n") {
			t.Fatalf("Markdown(%q) = %q; want the heading first", text, md)
		}
		for _, l := range strings.Split(md, "\n")[1:] {
			if strings.HasPrefix(l, "#") || strings.HasPrefix(l, ">") || strings.HasPrefix(l, "<") || strings.HasPrefix(l, "=") {
				t.Fatalf("Markdown(%q) has a line read as markup: %q", text, l)
			}
		}
	})
}

// FuzzBuildRoster checks the roster's contract on arbitrary names: one
// entry per organisation and country, every named endorsement on exactly
// one entry, and the same roster whatever the input order.
func FuzzBuildRoster(f *testing.F) {
	f.Add("Alpha Rights Network", "Alpha Rights Network (ARN)", "alpha  rights NETWORK", "", "Omega", "Beta Foundation")
	f.Add("", "", "Émile", "ÉMILE", "x\xffy", "x y")
	f.Fuzz(func(t *testing.T, o1, p1, o2, p2, o3, p3 string) {
		es := []outreach.Endorsement{
			{ID: 1, Organization: o1, PrintName: p1, Country: "MY"},
			{ID: 2, Organization: o2, PrintName: p2, Country: "MY"},
			{ID: 3, Organization: o3, PrintName: p3, Country: "MY"},
			{ID: 4, Organization: o1, PrintName: p2, Country: ""},
		}
		got := BuildRoster(es)
		seen := map[uint64]int{}
		keys := map[string]bool{}
		for _, r := range got {
			k := r.Country + "|" + r.key
			if keys[k] {
				t.Fatalf("two entries for %q: %+v", k, got)
			}
			keys[k] = true
			if r.key == "" || len(r.Endorsements) == 0 {
				t.Fatalf("entry without key or endorsements: %+v", r)
			}
			for _, id := range r.Endorsements {
				seen[id]++
			}
		}
		for _, e := range es {
			if want := map[bool]int{true: 1, false: 0}[rosterKey(&e) != ""]; seen[e.ID] != want {
				t.Fatalf("endorsement %d (%q, %q) is on %d entries; want %d: %+v", e.ID, e.Organization, e.PrintName, seen[e.ID], want, got)
			}
		}
		rev := slices.Clone(es)
		slices.Reverse(rev)
		again := BuildRoster(rev)
		if !slices.EqualFunc(again, got, func(a, b RosterEntry) bool {
			return a.Name == b.Name && a.key == b.key && slices.Equal(a.Endorsements, b.Endorsements)
		}) {
			t.Fatalf("order-dependent roster:\n%+v\n%+v", got, again)
		}
	})
}

// Finding: a decline from an endorser could wait in review while a letter
// went out with the endorsement. Whatever an endorser's unsettled reply
// says (a decline the classifier missed, "please disregard my last
// email"), the country's letter waits until a person settles it.
func TestLetterWaitsForAnEndorsersReplyInReview(t *testing.T) {
	ctx := context.Background()
	f := letterFixture(t)
	camp, _ := f.s.Store.Campaign(ctx, 1)
	camp.UnattendedLetters = true
	if err := f.s.Store.UpdateCampaign(ctx, camp); err != nil {
		t.Fatal(err)
	}
	f.endorse(t, "m1@x", "p@ph.test", outreach.EndorsementConfirmed, "")
	c, _ := f.s.Store.Contact(ctx, "p@ph.test")
	rec, err := f.s.Store.RecordReply(ctx, &store.Incoming{Key: "m2@x", Reply: outreach.Reply{MessageID: "m2@x", From: c.Email,
		Class: outreach.ClassOther, ContactID: c.ID, CampaignID: 1, Review: true, Text: "Please disregard my last email.", Reason: "unclear"}})
	if err != nil {
		t.Fatal(err)
	}
	v := f.add(t, LetterInput{Template: "letter", Targets: "kind = head_of_state", MinEndorsements: 1})
	if err := f.s.CheckLetters(ctx); err != nil {
		t.Fatal(err)
	}
	lv, _ := f.s.Letter(ctx, letterViewer, v.ID)
	if ph := countryView(t, lv, "PH"); ph.State == LetterStateSent {
		t.Fatalf("PH = %+v; want it held while reply %d waits for review", ph, rec.Reply.ID)
	}
	_, err = f.s.SendLetter(ctx, letterCoord, v.ID, LetterSendInput{Country: "PH"})
	if outreach.ErrorCode(err) != outreach.ECONFLICT || !strings.Contains(err.Error(), fmt.Sprintf("reply %d", rec.Reply.ID)) {
		t.Fatalf("send while an endorser's reply waits = %v; want ECONFLICT naming reply %d", err, rec.Reply.ID)
	}
	pv, err := f.s.PreviewLetter(ctx, letterViewer, v.ID, "PH", "")
	if err != nil || !slices.ContainsFunc(pv.Problems, func(p string) bool { return strings.Contains(p, "review") }) {
		t.Errorf("preview problems = %v, %v; want the reply in review named", pv.Problems, err)
	}
	// Once a person settled it, the letter goes.
	if _, err := f.s.Review(ctx, letterCoord, rec.Reply.ID, ReviewApprove, ReviewInput{}); err != nil {
		t.Fatal(err)
	}
	if err := f.s.CheckLetters(ctx); err != nil {
		t.Fatal(err)
	}
	lv, _ = f.s.Letter(ctx, letterViewer, v.ID)
	if ph := countryView(t, lv, "PH"); ph.State != LetterStateSent || !slices.Equal(ph.Sends[0].Roster, []string{"PH Alliance"}) {
		t.Errorf("PH = %+v; want it sent with PH Alliance once the reply was settled", ph)
	}
}
