package service

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/outreach-coalition/outreach/internal/outreach"
	"github.com/outreach-coalition/outreach/internal/render"
	"github.com/outreach-coalition/outreach/internal/schedule"
	"github.com/outreach-coalition/outreach/internal/store"
	"github.com/outreach-coalition/outreach/templates"
)

// testClock is a settable clock shared by the store and the service.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

// fakeOutbox mints predictable tokens and counts kicks; nothing is sent.
type fakeOutbox struct{}

func (fakeOutbox) Mint(*outreach.Campaign) store.Mint {
	return func(id uint64) (string, string) { return fmt.Sprintf("tok%d", id), fmt.Sprintf("m%d@example.test", id) }
}
func (fakeOutbox) Kick() {}

// fakeScheduler records what the service asks of the daemon's clock.
type fakeScheduler struct {
	mu          sync.Mutex
	scheduled   []uint64
	unscheduled []uint64
}

func (f *fakeScheduler) ScheduleWave(w *outreach.Wave) {
	f.mu.Lock()
	f.scheduled = append(f.scheduled, w.ID)
	f.mu.Unlock()
}

func (f *fakeScheduler) UnscheduleWave(id uint64) {
	f.mu.Lock()
	f.unscheduled = append(f.unscheduled, id)
	f.mu.Unlock()
}

var waveAdmin = &outreach.Principal{Name: "ana", Role: outreach.RoleAdmin}

type fixture struct {
	svc   *Service
	st    *store.Store
	clock *testClock
	sched *fakeScheduler
}

func newFixture(t testing.TB, now time.Time) *fixture {
	t.Helper()
	ctx := context.Background()
	clock := &testClock{now: now}
	st, err := store.Open(t.TempDir(), store.Options{NoSync: true, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc := New(st, slog.New(slog.DiscardHandler), clock.Now)
	camp, err := st.EnsureDefaultCampaign(ctx, &outreach.Campaign{Name: "OP-ICESCR", From: "Coalition <coalition@example.org>",
		ReplyTo: "replies@example.org", DefaultLanguage: "en", PostalAddress: "1 Rue Example, Geneva"})
	if err != nil {
		t.Fatal(err)
	}
	svc.DefaultCampaign = camp.ID
	mail, _ := fs.Sub(templates.Mail, "mail")
	set, err := render.Load(mail)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range set.Names() {
		if _, _, err := st.SaveTemplate(ctx, name, set.Files(name), "system"); err != nil {
			t.Fatal(err)
		}
	}
	f := &fixture{svc: svc, st: st, clock: clock, sched: &fakeScheduler{}}
	svc.Outbox = fakeOutbox{}
	svc.Scheduler = f.sched
	return f
}

const csvHeader = "email,name,organization,kind,country,language,timezone\n"

func (f *fixture) importCSV(t *testing.T, rows ...string) {
	t.Helper()
	if _, err := f.svc.ImportContacts(context.Background(), waveAdmin, strings.NewReader(csvHeader+strings.Join(rows, "\n")+"\n"), false); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) contact(t *testing.T, email string) *outreach.Contact {
	t.Helper()
	c, err := f.st.Contact(context.Background(), email)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (f *fixture) create(t *testing.T, in WaveInput) *WaveView {
	t.Helper()
	v, err := f.svc.CreateWave(context.Background(), waveAdmin, in)
	if err != nil {
		t.Fatalf("CreateWave(%+v): %v", in, err)
	}
	return v
}

// deliveries returns a wave's deliveries by email.
func (f *fixture) deliveries(t *testing.T, waveID uint64) map[string]outreach.Delivery {
	t.Helper()
	ds, err := f.st.WaveDeliveries(context.Background(), waveID)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]outreach.Delivery{}
	for _, d := range ds {
		if _, dup := out[d.Email]; dup {
			t.Errorf("%s has two deliveries in wave %d", d.Email, waveID)
		}
		out[d.Email] = d
	}
	return out
}

// deliverAll marks every queued delivery of a wave sent at the clock's
// time, except those listed in fail, which fail permanently.
func (f *fixture) deliverAll(t *testing.T, waveID uint64, fail ...string) {
	t.Helper()
	ctx := context.Background()
	runs, err := f.st.WaveSends(ctx, waveID)
	if err != nil {
		t.Fatal(err)
	}
	now := f.clock.Now()
	for _, run := range runs {
		claimed, err := f.st.Claim(ctx, run.ID, now.Add(48*time.Hour), 10000)
		if err != nil {
			t.Fatal(err)
		}
		var rs []store.Result
		for _, c := range claimed {
			outcome := outreach.DeliverySent
			if slices.Contains(fail, c.Delivery.Email) {
				outcome = outreach.DeliveryFailed
			}
			rs = append(rs, store.Result{DeliveryID: c.Delivery.ID, Attempt: outreach.Attempt{Time: now, Outcome: outcome}})
		}
		if _, err := f.st.Record(ctx, rs); err != nil {
			t.Fatal(err)
		}
	}
}

func emails(m map[string]outreach.Delivery) string {
	var out []string
	for e := range m {
		out = append(out, e)
	}
	slices.Sort(out)
	return strings.Join(out, " ")
}

func hour(h int) *int { return &h }

func TestLocalHourSendsEachRecipientAtItsOwnHour(t *testing.T) {
	// 10:00 UTC on 1 June 2026.
	f := newFixture(t, time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC))
	f.importCSV(t,
		"kl@x.test,KL,Org KL,partner,MY,en,",                    // country zone: Asia/Kuala_Lumpur, 18:00 now
		"bog@x.test,Bog,Org Bog,partner,CO,es,",                 // America/Bogota, 05:00 now
		"tyo@x.test,Tyo,Org Tyo,partner,PH,en,Asia/Tokyo",       // the contact's own zone wins over its country's
		"cv@x.test,CV,Org CV,partner,CV,pt,Atlantic/Cape_Verde", // 09:00 now: sent at once
		"intl@x.test,Intl,Org Intl,partner,,en,",                // no zone: the wave's (New York, 06:00 EDT now)
	)
	v := f.create(t, WaveInput{Name: "morning", Template: "endorsement-request", Filter: "kind = partner", LocalHour: hour(9), TimeZone: "America/New_York"})
	want := map[string]string{
		"kl@x.test":   "2026-06-02T01:00:00Z",
		"bog@x.test":  "2026-06-01T14:00:00Z",
		"tyo@x.test":  "2026-06-02T00:00:00Z",
		"cv@x.test":   "", // now
		"intl@x.test": "2026-06-01T13:00:00Z",
	}
	got := f.deliveries(t, v.ID)
	if len(got) != len(want) {
		t.Fatalf("deliveries to %s; want %d", emails(got), len(want))
	}
	for email, w := range want {
		d := got[email]
		nb := ""
		if !d.NotBefore.IsZero() {
			nb = d.NotBefore.UTC().Format(time.RFC3339)
		}
		if nb != w {
			t.Errorf("%s NotBefore = %q; want %q", email, nb, w)
		}
		if d.State != outreach.DeliveryQueued {
			t.Errorf("%s state %s", email, d.State)
		}
	}
	// Nothing is due before its local hour: a claim at 13:30 UTC takes the
	// Cape Verde and New York ones only.
	claimed, err := f.st.Claim(context.Background(), v.Runs[0].ID, time.Date(2026, 6, 1, 13, 30, 0, 0, time.UTC), 100)
	if err != nil {
		t.Fatal(err)
	}
	var claimedEmails []string
	for _, c := range claimed {
		claimedEmails = append(claimedEmails, c.Delivery.Email)
	}
	slices.Sort(claimedEmails)
	if strings.Join(claimedEmails, " ") != "cv@x.test intl@x.test" {
		t.Errorf("due at 13:30 UTC: %v", claimedEmails)
	}
}

func TestRateSpacesSendTimes(t *testing.T) {
	t0 := time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)
	f := newFixture(t, t0)
	var rows []string
	for i := range 5 {
		rows = append(rows, fmt.Sprintf("p%d@x.test,P%d,Org %d,partner,MY,en,", i, i, i))
	}
	f.importCSV(t, rows...)
	v := f.create(t, WaveInput{Name: "slow", Template: "call-to-action", Filter: "kind = partner", Rate: 2})
	var times []time.Time
	for _, d := range f.deliveries(t, v.ID) {
		times = append(times, d.NotBefore)
	}
	slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	for i, tm := range times {
		want := t0.Add(time.Duration(i) * 500 * time.Millisecond)
		if i == 0 {
			want = time.Time{}
		}
		if !tm.Equal(want) {
			t.Errorf("send %d at %v; want %v", i, tm, want)
		}
	}
}

func TestFollowupNotEndorsedReachesExactlyTheRightPeople(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)
	f := newFixture(t, t0)
	f.importCSV(t,
		"confirmed@x.test,A,Org A,partner,MY,en,",
		"pending@x.test,B,Org B,partner,MY,en,",
		"rejected@x.test,C,Org C,partner,MY,en,",
		"withdrawn@x.test,D,Org D,partner,MY,en,",
		"silent@x.test,E,Org E,partner,MY,en,",
		"bounced@x.test,F,Org F,partner,MY,en,",
		"later@x.test,G,Org G,partner,MY,en,", // joins after the first wave
		"minister@x.test,H,Ministry,ministry,MY,en,",
	)
	first := f.create(t, WaveInput{Name: "request", Template: "endorsement-request", Filter: "country = MY and not (email = later@x.test)"})
	f.deliverAll(t, first.ID, "bounced@x.test")

	f.clock.Set(t0.Add(2 * 24 * time.Hour))
	for email, state := range map[string]string{
		"confirmed@x.test": outreach.EndorsementConfirmed, "pending@x.test": outreach.EndorsementPending,
		"rejected@x.test": outreach.EndorsementRejected, "withdrawn@x.test": outreach.EndorsementWithdrawn,
	} {
		c := f.contact(t, email)
		initial := state
		if state == outreach.EndorsementRejected || state == outreach.EndorsementWithdrawn {
			initial = outreach.EndorsementPending
		}
		e := &outreach.Endorsement{CampaignID: first.CampaignID, ContactID: c.ID, Email: c.Email, Organization: c.Organization,
			PrintName: c.Organization, Country: c.Country, State: initial, Evidence: "by hand", Source: "manual"}
		if _, err := f.st.AddEndorsement(ctx, e, "ana", nil); err != nil {
			t.Fatal(err)
		}
		if initial != state {
			if _, _, err := f.st.SetEndorsementState(ctx, e.ID, state, "ana", "", nil); err != nil {
				t.Fatal(err)
			}
		}
	}

	// Three days in, nobody is due yet.
	f.clock.Set(t0.Add(3 * 24 * time.Hour))
	in := WaveInput{Name: "reminder", Template: "reminder", FollowupOf: first.ID, After: "7d", Unless: UnlessEndorsed, At: "now"}
	early, err := f.svc.PreviewWave(ctx, waveAdmin, in)
	if err != nil {
		t.Fatal(err)
	}
	if len(early.Recipients) != 0 || early.LeftOut[LeftNotDue] != 3 || early.LeftOut[LeftEndorsed] != 2 {
		t.Errorf("after 3 days: %d recipients, left out %v; want none, 3 not due, 2 endorsed", len(early.Recipients), early.LeftOut)
	}

	f.clock.Set(t0.Add(8 * 24 * time.Hour))
	follow := f.create(t, in)
	if got := emails(f.deliveries(t, follow.ID)); got != "rejected@x.test silent@x.test withdrawn@x.test" {
		t.Errorf("follow-up reached %q; want the rejected, withdrawn and silent ones", got)
	}
	if follow.LeftOut[LeftEndorsed] != 2 {
		t.Errorf("left out = %v; want 2 endorsed", follow.LeftOut)
	}

	// A second follow-up with the same template reaches nobody twice.
	f.clock.Set(t0.Add(9 * 24 * time.Hour))
	again := f.create(t, WaveInput{Name: "reminder again", Template: "reminder", FollowupOf: first.ID, After: "7d", Unless: UnlessEndorsed, At: "now"})
	if got := f.deliveries(t, again.ID); len(got) != 0 {
		t.Errorf("second follow-up reached %s; want nobody", emails(got))
	}
	if again.LeftOut[LeftRepeat] != 3 || again.State != outreach.WaveDone {
		t.Errorf("second follow-up: left out %v, state %s; want 3 already received, done", again.LeftOut, again.State)
	}
	// ... unless the coordinator allows it.
	allowed := f.create(t, WaveInput{Name: "reminder allowed", Template: "reminder", FollowupOf: first.ID, After: "7d", Unless: UnlessEndorsed, At: "now", AllowRepeat: true})
	if got := emails(f.deliveries(t, allowed.ID)); got != "rejected@x.test silent@x.test withdrawn@x.test" {
		t.Errorf("--allow-repeat reached %q", got)
	}
}

func TestFollowupUnlessRepliedIgnoresAutoReplies(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)
	f := newFixture(t, t0)
	f.importCSV(t, "wrote@x.test,A,Org A,partner,MY,en,", "away@x.test,B,Org B,partner,MY,en,", "quiet@x.test,C,Org C,partner,MY,en,")
	first := f.create(t, WaveInput{Name: "request", Template: "endorsement-request", Filter: "country = MY"})
	f.deliverAll(t, first.ID)
	ds := f.deliveries(t, first.ID)
	for i, r := range []struct{ email, class string }{{"wrote@x.test", outreach.ClassOther}, {"away@x.test", outreach.ClassAutoReply}} {
		d := ds[r.email]
		if _, err := f.st.RecordReply(ctx, &store.Incoming{Key: fmt.Sprintf("r%d@x.test", i), Reply: outreach.Reply{MessageID: fmt.Sprintf("r%d@x.test", i),
			From: r.email, Class: r.class, Match: outreach.MatchToken, DeliveryID: d.ID, ContactID: d.ContactID, CampaignID: d.CampaignID}}); err != nil {
			t.Fatal(err)
		}
	}
	v, err := f.svc.Wave(ctx, waveAdmin, first.ID)
	if err != nil || v.Replied != 1 {
		t.Errorf("wave replied = %d, %v; want 1 (auto-replies are not answers)", v.Replied, err)
	}
	// Without --at the follow-up is due --after the first run.
	follow := f.create(t, WaveInput{Name: "reminder", Template: "reminder", FollowupOf: first.ID, After: "1d", Unless: UnlessReplied})
	if want := t0.Add(24 * time.Hour); !follow.At.Equal(want) || follow.State != outreach.WaveScheduled || len(follow.Runs) != 0 {
		t.Fatalf("follow-up at %v state %s; want scheduled at %v", follow.At, follow.State, want)
	}
	f.clock.Set(t0.Add(25 * time.Hour))
	if err := f.svc.RunScheduled(ctx, follow.ID, follow.At); err != nil {
		t.Fatal(err)
	}
	if got := emails(f.deliveries(t, follow.ID)); got != "away@x.test quiet@x.test" {
		t.Errorf("follow-up reached %q; want away (auto-reply) and quiet", got)
	}
}

func TestDryRunNamesEveryRecipientAndChangesNothing(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC))
	f.importCSV(t,
		"aminah@x.test,Aminah,Suara,partner,MY,ms,",
		"lim@x.test,Lim,HAKAM,partner,MY,en,",
		"lucia@x.test,Lucía,Dejusticia,partner,CO,es,",
		"elise@x.test,Élise,LDH,partner,FR,fr,",
		"pm@x.test,PM,PMO,head_of_state,MY,ms,",
		"gone@x.test,Gone,Org,partner,FR,fr,",
		"ke@x.test,Wanjiru,Haki,partner,KE,sw,",
	)
	if err := f.svc.Suppress(ctx, waveAdmin, "gone@x.test", "manual"); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.SaveSegment(ctx, waveAdmin, outreach.Segment{Name: "three", Filter: "country in (MY, CO, FR)"}); err != nil {
		t.Fatal(err)
	}
	in := WaveInput{Name: "morning", Template: "endorsement-request", Segment: "three", LocalHour: hour(9), TimeZone: "UTC"}

	var before bytes.Buffer
	if _, err := f.st.Backup(&before); err != nil {
		t.Fatal(err)
	}
	d, err := f.svc.PreviewWave(ctx, waveAdmin, in)
	if err != nil {
		t.Fatal(err)
	}
	var after bytes.Buffer
	if _, err := f.st.Backup(&after); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before.Bytes(), after.Bytes()) {
		t.Fatal("the dry run changed the store")
	}
	want := map[string]struct{ lang, at string }{
		"aminah@x.test": {"en", "2026-06-02T01:00:00Z"}, // ms has no variant: the campaign's en
		"lim@x.test":    {"en", "2026-06-02T01:00:00Z"},
		"lucia@x.test":  {"es", "2026-06-01T14:00:00Z"},
		"elise@x.test":  {"fr", "2026-06-02T07:00:00Z"},
	}
	if len(d.Recipients) != len(want) {
		t.Fatalf("%d recipients: %+v", len(d.Recipients), d.Recipients)
	}
	for _, r := range d.Recipients {
		w, ok := want[r.Email]
		if !ok || r.Language != w.lang || r.SendAt.UTC().Format(time.RFC3339) != w.at {
			t.Errorf("recipient %s: language %s at %s; want %+v", r.Email, r.Language, r.SendAt.UTC().Format(time.RFC3339), w)
		}
	}
	if d.LeftOut[LeftTarget] != 1 || d.LeftOut[LeftSuppressed] != 1 {
		t.Errorf("left out = %v; want 1 target and 1 suppressed", d.LeftOut)
	}
	var langs []string
	for _, s := range d.Samples {
		langs = append(langs, s.Language)
		if s.Subject == "" || !strings.Contains(s.Text, "1 Rue Example") {
			t.Errorf("sample %s: subject %q, text without the postal address:\n%s", s.Language, s.Subject, s.Text)
		}
	}
	slices.Sort(langs)
	if strings.Join(langs, " ") != "en es fr" {
		t.Errorf("samples in %v; want en es fr", langs)
	}

	// The dry run of a stored wave changes nothing either.
	v := f.create(t, WaveInput{Name: "later", Template: "endorsement-request", Segment: "three", At: "2026-06-05T09:00:00Z"})
	before.Reset()
	f.st.Backup(&before)
	d, err = f.svc.DryRunWave(ctx, waveAdmin, v.ID)
	if err != nil {
		t.Fatal(err)
	}
	after.Reset()
	f.st.Backup(&after)
	if !bytes.Equal(before.Bytes(), after.Bytes()) {
		t.Fatal("DryRunWave changed the store")
	}
	if len(d.Recipients) != 4 || !d.RunAt.Equal(time.Date(2026, 6, 5, 9, 0, 0, 0, time.UTC)) {
		t.Errorf("dry run of wave %d: %d recipients at %v", v.ID, len(d.Recipients), d.RunAt)
	}
}

func TestEditingTheSegmentDuringARunChangesNothingForIt(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC))
	f.importCSV(t, "a@x.test,A,Org A,partner,MY,en,", "b@x.test,B,Org B,partner,MY,en,", "c@x.test,C,Org C,partner,PH,en,")
	if err := f.svc.SaveSegment(ctx, waveAdmin, outreach.Segment{Name: "seg", Filter: "country = MY"}); err != nil {
		t.Fatal(err)
	}
	v := f.create(t, WaveInput{Name: "w", Template: "call-to-action", Segment: "seg", LocalHour: hour(20)})
	before := f.deliveries(t, v.ID)
	if emails(before) != "a@x.test b@x.test" {
		t.Fatalf("run reached %s", emails(before))
	}
	if err := f.svc.SaveSegment(ctx, waveAdmin, outreach.Segment{Name: "seg", Filter: "country = PH"}); err != nil {
		t.Fatal(err)
	}
	f.importCSV(t, "d@x.test,D,Org D,partner,MY,en,")
	after := f.deliveries(t, v.ID)
	if emails(after) != emails(before) {
		t.Errorf("the run's recipients changed from %s to %s", emails(before), emails(after))
	}
	runs, _ := f.st.WaveSends(ctx, v.ID)
	if len(runs) != 1 || runs[0].Counts.Total != 2 {
		t.Errorf("runs = %+v", runs)
	}
	// A new run (a dry run here) keeps the filter the segment had when the
	// wave was created: only d, in MY and new, would get it.
	d, err := f.svc.DryRunWave(ctx, waveAdmin, v.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Recipients) != 1 || d.Recipients[0].Email != "d@x.test" {
		t.Errorf("a new run would reach %+v; want d@x.test", d.Recipients)
	}
}

func TestScheduledSlotRunsOnceOnTheFallBackDay(t *testing.T) {
	ctx := context.Background()
	ny, _ := time.LoadLocation("America/New_York")
	f := newFixture(t, time.Date(2026, 10, 30, 12, 0, 0, 0, time.UTC))
	f.importCSV(t, "a@x.test,A,Org A,partner,MY,en,")
	v := f.create(t, WaveInput{Name: "daily", Template: "call-to-action", Filter: "kind = partner", Cron: "30 1 * * *", TimeZone: "America/New_York", AllowRepeat: true})
	if v.State != outreach.WaveScheduled || len(v.Runs) != 0 || !slices.Contains(f.sched.scheduled, v.ID) {
		t.Fatalf("recurring wave: state %s, %d runs, scheduled %v", v.State, len(v.Runs), f.sched.scheduled)
	}
	first := time.Date(2026, 11, 1, 1, 30, 0, 0, ny) // 01:30 EDT
	second := first.Add(time.Hour)                   // 01:30 EST, what robfig's runner would offer too
	if second.In(ny).Format("15:04 MST") != "01:30 EST" {
		t.Fatalf("test setup: %v", second.In(ny))
	}
	for _, slot := range []time.Time{first, first, second} {
		f.clock.Set(slot)
		if err := f.svc.RunScheduled(ctx, v.ID, slot); err != nil {
			t.Fatal(err)
		}
	}
	runs, _ := f.st.WaveSends(ctx, v.ID)
	if len(runs) != 1 {
		t.Fatalf("%d runs on the fall-back day; want 1", len(runs))
	}
	next := first.Add(25 * time.Hour) // 01:30 EST on 2 November
	f.clock.Set(next)
	if err := f.svc.RunScheduled(ctx, v.ID, next); err != nil {
		t.Fatal(err)
	}
	if runs, _ = f.st.WaveSends(ctx, v.ID); len(runs) != 2 {
		t.Errorf("%d runs after the next day; want 2", len(runs))
	}
	w, _ := f.st.Wave(ctx, v.ID)
	if !w.LastRun.Equal(next) {
		t.Errorf("last run %v; want %v", w.LastRun, next)
	}
}

func TestPauseHoldsScheduledRunsAndCancelUnschedules(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)
	f := newFixture(t, t0)
	f.importCSV(t, "a@x.test,A,Org A,partner,MY,en,", "b@x.test,B,Org B,partner,MY,en,")
	v := f.create(t, WaveInput{Name: "weekly", Template: "call-to-action", Filter: "kind = partner", Cron: "@weekly", TimeZone: "UTC", AllowRepeat: true})
	if want := time.Date(2026, 6, 7, 0, 0, 0, 0, time.UTC); !v.Next.Equal(want) {
		t.Errorf("next = %v; want %v", v.Next, want)
	}
	if _, err := f.svc.PauseWave(ctx, waveAdmin, v.ID, "board meeting"); err != nil {
		t.Fatal(err)
	}
	slot := time.Date(2026, 6, 7, 0, 0, 0, 0, time.UTC)
	f.clock.Set(slot)
	if err := f.svc.RunScheduled(ctx, v.ID, slot); err != nil {
		t.Fatal(err)
	}
	if runs, _ := f.st.WaveSends(ctx, v.ID); len(runs) != 0 {
		t.Fatalf("a paused wave ran")
	}
	got, _ := f.svc.Wave(ctx, waveAdmin, v.ID)
	if got.State != outreach.WavePaused || got.Pause.Reason != "board meeting" || got.Pause.By != "ana" {
		t.Errorf("paused wave: %s %+v", got.State, got.Pause)
	}
	if _, err := f.svc.ResumeWave(ctx, waveAdmin, v.ID); err != nil {
		t.Fatal(err)
	}
	slot = slot.Add(7 * 24 * time.Hour)
	f.clock.Set(slot)
	if err := f.svc.RunScheduled(ctx, v.ID, slot); err != nil {
		t.Fatal(err)
	}
	runs, _ := f.st.WaveSends(ctx, v.ID)
	if len(runs) != 1 || runs[0].Counts.Queued != 2 {
		t.Fatalf("after resume: %+v", runs)
	}
	got, err := f.svc.CancelWave(ctx, waveAdmin, v.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != outreach.WaveCancelled || got.Runs[0].Counts.Cancelled != 2 || !slices.Contains(f.sched.unscheduled, v.ID) {
		t.Errorf("cancelled: state %s, counts %+v, unscheduled %v", got.State, got.Runs[0].Counts, f.sched.unscheduled)
	}
	if err := f.svc.RunScheduled(ctx, v.ID, slot.Add(7*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if runs, _ := f.st.WaveSends(ctx, v.ID); len(runs) != 1 {
		t.Errorf("a cancelled wave ran again")
	}
	audit, _ := f.st.AuditLog(ctx, "ana", time.Time{}, 1000)
	var actions []string
	for _, a := range audit {
		actions = append(actions, a.Action)
	}
	for _, want := range []string{"wave.create", "wave.pause", "wave.resume", "wave.cancel"} {
		if !slices.Contains(actions, want) {
			t.Errorf("audit lacks %s: %v", want, actions)
		}
	}
}

func TestPausedOnceWaveStartsOnResume(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)
	f := newFixture(t, t0)
	f.importCSV(t, "a@x.test,A,Org A,partner,MY,en,")
	v := f.create(t, WaveInput{Name: "later", Template: "call-to-action", Filter: "kind = partner", At: "2026-06-01T12:00:00Z"})
	if _, err := f.svc.PauseWave(ctx, waveAdmin, v.ID, "wait"); err != nil {
		t.Fatal(err)
	}
	f.clock.Set(t0.Add(3 * time.Hour))
	if err := f.svc.RunScheduled(ctx, v.ID, v.At); err != nil {
		t.Fatal(err)
	}
	if runs, _ := f.st.WaveSends(ctx, v.ID); len(runs) != 0 {
		t.Fatal("paused once wave ran")
	}
	got, err := f.svc.ResumeWave(ctx, waveAdmin, v.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Runs) != 1 || got.State != outreach.WaveRunning {
		t.Errorf("after resume: %d runs, %s", len(got.Runs), got.State)
	}
}

func TestMissedOnceWaveIsCancelledAndAudited(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC))
	f.importCSV(t, "a@x.test,A,Org A,partner,MY,en,")
	v := f.create(t, WaveInput{Name: "missed", Template: "call-to-action", Filter: "kind = partner", At: "2026-06-01T12:00:00Z"})
	f.svc.WaveMissed(ctx, v.ID, schedule.Missed{Count: 1, First: v.At, Last: v.At})
	got, _ := f.svc.Wave(ctx, waveAdmin, v.ID)
	if got.State != outreach.WaveCancelled || len(got.Runs) != 0 {
		t.Errorf("missed wave: %s, %d runs", got.State, len(got.Runs))
	}
	audit, _ := f.st.AuditLog(ctx, "", time.Time{}, 1000)
	found := false
	for _, a := range audit {
		found = found || (a.Action == "wave.missed" && strings.Contains(a.Detail, "waves.grace"))
	}
	if !found {
		t.Errorf("no wave.missed audit entry: %+v", audit)
	}
}

func TestScopedCoordinatorWaves(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC))
	f.importCSV(t, "my@x.test,A,Org A,partner,MY,en,", "ph@x.test,B,Org B,partner,PH,en,")
	my := &outreach.Principal{Name: "mira", Role: outreach.RoleCoordinator, Countries: []string{"MY"}}
	ph := &outreach.Principal{Name: "pia", Role: outreach.RoleCoordinator, Countries: []string{"PH"}}
	v, err := f.svc.CreateWave(ctx, my, WaveInput{Name: "mine", Template: "call-to-action", Filter: "kind = partner"})
	if err != nil {
		t.Fatal(err)
	}
	if got := emails(f.deliveries(t, v.ID)); got != "my@x.test" {
		t.Errorf("scoped wave reached %s", got)
	}
	if _, err := f.svc.Wave(ctx, ph, v.ID); outreach.ErrorCode(err) != outreach.ENOTFOUND {
		t.Errorf("another scope sees the wave: %v", err)
	}
	if _, err := f.svc.PauseWave(ctx, ph, v.ID, ""); outreach.ErrorCode(err) != outreach.ENOTFOUND {
		t.Errorf("another scope pauses the wave: %v", err)
	}
	if _, err := f.svc.CreateWave(ctx, ph, WaveInput{Name: "f", Template: "reminder", FollowupOf: v.ID, After: "1d", Unless: "replied"}); outreach.ErrorCode(err) != outreach.EINVALID {
		t.Errorf("follow-up of an unseen wave: %v", err)
	}
	list, _ := f.svc.Waves(ctx, ph)
	if len(list) != 0 {
		t.Errorf("another scope lists %d waves", len(list))
	}
}

func TestCreateWaveValidation(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC))
	f.importCSV(t, "a@x.test,A,Org A,partner,MY,en,")
	base := WaveInput{Name: "w", Template: "call-to-action", Filter: "kind = partner"}
	for _, tc := range []struct {
		change func(*WaveInput)
		field  string
	}{
		{func(in *WaveInput) { in.Cron = "0 9 * * *" }, "timezone"},
		{func(in *WaveInput) { in.Cron = "0 9 * * *"; in.TimeZone = "Mars/Base" }, "timezone"},
		{func(in *WaveInput) { in.Cron = "0 9 31 2 *"; in.TimeZone = "UTC" }, "cron"},
		{func(in *WaveInput) { in.Cron = "every day"; in.TimeZone = "UTC" }, "cron"},
		{func(in *WaveInput) { in.Cron = "0 9 * * *"; in.TimeZone = "UTC"; in.At = "now" }, "at"},
		{func(in *WaveInput) { in.At = "tomorrow" }, "at"},
		{func(in *WaveInput) { in.LocalHour = hour(24) }, "local_hour"},
		{func(in *WaveInput) { in.After = "7d" }, "followup_of"},
		{func(in *WaveInput) { in.FollowupOf = 99; in.After = "7d"; in.Unless = "replied" }, "followup_of"},
		{func(in *WaveInput) { in.Rate = -1 }, "rate"},
		{func(in *WaveInput) { in.Template = "nope" }, "template"},
		{func(in *WaveInput) { in.Name = " " }, "name"},
	} {
		in := base
		tc.change(&in)
		_, err := f.svc.CreateWave(ctx, waveAdmin, in)
		var e *outreach.Error
		if err == nil || !errors.As(err, &e) || e.Field != tc.field {
			t.Errorf("CreateWave(%+v) = %v; want an error on %s", in, err, tc.field)
		}
	}
	if list, _ := f.st.Waves(ctx); len(list) != 0 {
		t.Errorf("invalid waves were stored: %d", len(list))
	}
	first := f.create(t, base)
	for _, tc := range []struct{ after, unless, field string }{{"", "replied", "after"}, {"soon", "replied", "after"}, {"7d", "opened", "unless"}} {
		_, err := f.svc.CreateWave(ctx, waveAdmin, WaveInput{Name: "f", Template: "reminder", FollowupOf: first.ID, After: tc.after, Unless: tc.unless})
		var e *outreach.Error
		if err == nil || !errors.As(err, &e) || e.Field != tc.field {
			t.Errorf("follow-up after %q unless %q = %v; want an error on %s", tc.after, tc.unless, err, tc.field)
		}
	}
}

func TestParseAfter(t *testing.T) {
	for in, want := range map[string]time.Duration{"7d": 7 * 24 * time.Hour, "36h": 36 * time.Hour, "1d12h": 36 * time.Hour, "1w": 7 * 24 * time.Hour, "90m": 90 * time.Minute} {
		if got, err := ParseAfter(in); err != nil || got != want {
			t.Errorf("ParseAfter(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "d", "7 days", "x7d", "1d1"} {
		if _, err := ParseAfter(in); err == nil {
			t.Errorf("ParseAfter(%q) succeeded", in)
		}
	}
}

// FuzzParseAfter checks that ParseAfter never panics and never returns a
// negative delay with a nil error for input without a minus sign.
func FuzzParseAfter(f *testing.F) {
	for _, s := range []string{"7d", "36h", "1d12h", "1w2d3h4m", "", "d", "-1h", "99999999999d", "1.5h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseAfter(s)
		if err == nil && d < 0 && !strings.Contains(s, "-") {
			t.Errorf("ParseAfter(%q) = %v", s, d)
		}
	})
}

// BenchmarkWaveSnapshot measures taking a run's snapshot (filter, repeat
// check, template check, local-hour times) over 10,000 contacts in five
// countries, and the dry run built on it.
func BenchmarkWaveSnapshot(b *testing.B) {
	const n = 10000
	f := newFixture(b, time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC))
	var csv strings.Builder
	csv.WriteString(csvHeader)
	countries := []string{"MY", "PH", "CO", "FR", "KE"}
	for i := range n {
		fmt.Fprintf(&csv, "p%05d@bench.test,Partner %d,Org %d,partner,%s,en,\n", i, i, i, countries[i%len(countries)])
	}
	if _, err := f.svc.ImportContacts(context.Background(), waveAdmin, strings.NewReader(csv.String()), false); err != nil {
		b.Fatal(err)
	}
	w, err := f.svc.newWave(context.Background(), waveAdmin, WaveInput{Name: "bench", Template: "endorsement-request", Filter: "kind = partner", LocalHour: hour(9)})
	if err != nil {
		b.Fatal(err)
	}
	for _, dry := range []bool{false, true} {
		name := "plan"
		if dry {
			name = "dry-run"
		}
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if dry {
					if _, err := f.svc.dryRun(context.Background(), w, f.clock.Now(), false); err != nil {
						b.Fatal(err)
					}
				} else if pl, err := f.svc.plan(context.Background(), w, f.clock.Now(), false); err != nil || len(pl.rcpts) != n {
					b.Fatalf("plan: %v", err)
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "contacts/s")
		})
	}
}

// overlappingRuns makes a recurring wave with two runs whose deliveries
// are all still queued: the first run's slot came a day before the second.
func overlappingRuns(t *testing.T, f *fixture) (*WaveView, []outreach.Send) {
	t.Helper()
	ctx := context.Background()
	f.importCSV(t, "a@x.test,A,Org A,partner,MY,en,", "b@x.test,B,Org B,partner,MY,en,")
	v := f.create(t, WaveInput{Name: "daily", Template: "call-to-action", Filter: "kind = partner", Cron: "0 9 * * *", TimeZone: "UTC", AllowRepeat: true})
	for _, slot := range []time.Time{time.Date(2026, 6, 2, 9, 0, 0, 0, time.UTC), time.Date(2026, 6, 3, 9, 0, 0, 0, time.UTC)} {
		f.clock.Set(slot)
		if err := f.svc.RunScheduled(ctx, v.ID, slot); err != nil {
			t.Fatal(err)
		}
	}
	runs, err := f.st.WaveSends(ctx, v.ID)
	if err != nil || len(runs) != 2 || runs[0].State != outreach.SendRunning || runs[1].State != outreach.SendRunning {
		t.Fatalf("test setup: runs %+v, %v", runs, err)
	}
	return v, runs
}

func runStates(t *testing.T, f *fixture, waveID uint64) []string {
	t.Helper()
	runs, err := f.st.WaveSends(context.Background(), waveID)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range runs {
		s := r.State
		if r.Pause != nil {
			s += " by " + r.Pause.By
		}
		out = append(out, s)
	}
	return out
}

func TestPauseResumeCancelReachEveryRunOfTheWave(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC))
	v, runs := overlappingRuns(t, f)
	// The SMTP server went away during the first run: the system paused it.
	if _, err := f.st.SetSendState(ctx, runs[0].ID, outreach.SendPaused, &outreach.Pause{By: outreach.PausedBySystem, Reason: "unreachable"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.PauseWave(ctx, waveAdmin, v.ID, "wrong letter"); err != nil {
		t.Fatal(err)
	}
	if got, want := runStates(t, f, v.ID), []string{"paused by ana", "paused by ana"}; !slices.Equal(got, want) {
		t.Errorf("after pause, runs are %q; want %q", got, want)
	}
	if _, err := f.svc.ResumeWave(ctx, waveAdmin, v.ID); err != nil {
		t.Fatal(err)
	}
	if got, want := runStates(t, f, v.ID), []string{"running", "running"}; !slices.Equal(got, want) {
		t.Errorf("after resume, runs are %q; want %q", got, want)
	}
	got, err := f.svc.CancelWave(ctx, waveAdmin, v.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != outreach.WaveCancelled {
		t.Errorf("wave is %s after cancel", got.State)
	}
	for _, r := range got.Runs {
		if r.State != outreach.SendCancelled || r.Counts.Cancelled != 2 || r.Counts.Queued != 0 {
			t.Errorf("after cancel, run %d is %s with %+v; want cancelled with both deliveries cancelled", r.ID, r.State, r.Counts)
		}
	}
	ds, err := f.st.WaveDeliveries(ctx, v.ID)
	if err != nil || len(ds) != 4 {
		t.Fatalf("WaveDeliveries = %d, %v; want 4", len(ds), err)
	}
	for _, d := range ds {
		if d.State != outreach.DeliveryCancelled {
			t.Errorf("%s: delivery %d is %s after cancel", d.Email, d.ID, d.State)
		}
	}
}

func TestPausedOnceWaveSurvivesAMissedTime(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC))
	f.importCSV(t, "a@x.test,A,Org A,partner,MY,en,")
	v := f.create(t, WaveInput{Name: "held", Template: "call-to-action", Filter: "kind = partner", At: "2026-06-01T12:00:00Z"})
	if _, err := f.svc.PauseWave(ctx, waveAdmin, v.ID, "hold"); err != nil {
		t.Fatal(err)
	}
	f.clock.Set(time.Date(2026, 6, 2, 12, 0, 0, 0, time.UTC))
	f.svc.WaveMissed(ctx, v.ID, schedule.Missed{Count: 1, First: v.At, Last: v.At})
	got, _ := f.svc.Wave(ctx, waveAdmin, v.ID)
	if got.State != outreach.WavePaused || got.Pause == nil {
		t.Fatalf("paused wave after a missed time: %s, pause %+v; want still paused", got.State, got.Pause)
	}
	if got, err := f.svc.ResumeWave(ctx, waveAdmin, v.ID); err != nil || len(got.Runs) != 1 {
		t.Fatalf("resume after a missed time: %v", err)
	}
}
