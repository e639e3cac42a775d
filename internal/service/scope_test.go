package service

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/outreach-coalition/outreach/internal/outreach"
)

// Changes that reach every country (templates, saved segments) are for
// principals without a country scope.
func TestScopedCoordinatorCannotChangeWhatOtherCountriesReceive(t *testing.T) {
	ctx := context.Background()
	f := letterFixture(t)
	scoped := letterCoordPH
	tv, err := f.s.Store.Template(ctx, "reminder", 0)
	if err != nil {
		t.Fatal(err)
	}
	edited := map[string]string{}
	for k, v := range tv.Files {
		edited[k] = v
	}
	edited["reminder/en.subject"] = "Changed by PH\n"
	if _, err := f.s.EditTemplate(ctx, scoped, "reminder", edited); outreach.ErrorCode(err) != outreach.EFORBIDDEN {
		t.Errorf("EditTemplate by a scoped coordinator = %v; want forbidden", err)
	}
	if after, _ := f.s.Store.Template(ctx, "reminder", 0); after.Version != tv.Version {
		t.Errorf("a refused edit stored version %d", after.Version)
	}
	if _, err := f.s.ReloadTemplates(ctx, scoped); outreach.ErrorCode(err) != outreach.EFORBIDDEN {
		t.Errorf("ReloadTemplates by a scoped coordinator = %v; want forbidden", err)
	}
	if err := f.s.SaveSegment(ctx, letterCoord, outreach.Segment{Name: "asia", Filter: "country in (MY, PH)"}); err != nil {
		t.Fatalf("SaveSegment by an unscoped coordinator = %v", err)
	}
	if err := f.s.SaveSegment(ctx, scoped, outreach.Segment{Name: "asia", Filter: "country = PH"}); outreach.ErrorCode(err) != outreach.EFORBIDDEN {
		t.Errorf("SaveSegment by a scoped coordinator = %v; want forbidden", err)
	}
	if err := f.s.DeleteSegment(ctx, scoped, "asia"); outreach.ErrorCode(err) != outreach.EFORBIDDEN {
		t.Errorf("DeleteSegment by a scoped coordinator = %v; want forbidden", err)
	}
	if seg, err := f.s.Store.Segment(ctx, "asia"); err != nil || seg.Filter != "country in (MY, PH)" {
		t.Errorf("segment after refused changes: %+v, %v", seg, err)
	}
	if _, err := f.s.EditTemplate(ctx, letterCoord, "reminder", edited); err != nil {
		t.Errorf("EditTemplate by an unscoped coordinator = %v", err)
	}
	if err := f.s.DeleteSegment(ctx, &outreach.Principal{Name: "root", Role: outreach.RoleAdmin}, "asia"); err != nil {
		t.Errorf("DeleteSegment by an admin = %v", err)
	}
}

// A letter keeps the template version it was created with: an edit of the
// template afterwards changes neither its preview nor what it sends.
func TestLetterKeepsItsTemplateVersion(t *testing.T) {
	ctx := context.Background()
	f := letterFixture(t)
	f.endorse(t, "m1@x", "a1@alpha.test", outreach.EndorsementConfirmed, "")
	v := f.add(t, LetterInput{Template: "letter", Targets: "not kind = legislator"})
	pinned, err := f.s.Store.Template(ctx, "letter", 0)
	if err != nil {
		t.Fatal(err)
	}
	edited := map[string]string{}
	for k, v := range pinned.Files {
		edited[k] = v
	}
	edited["letter/en.subject"] = "Edited after the letter was made\n"
	ch, err := f.s.EditTemplate(ctx, letterCoord, "letter", edited)
	if err != nil || !ch.Changed {
		t.Fatalf("EditTemplate = %+v, %v", ch, err)
	}
	pv, err := f.s.PreviewLetter(ctx, letterViewer, v.ID, "MY", "")
	if err != nil {
		t.Fatal(err)
	}
	if pv.Version != pinned.Version || strings.Contains(pv.Subject, "Edited") {
		t.Errorf("preview uses version %d with subject %q; want version %d", pv.Version, pv.Subject, pinned.Version)
	}
	rep, err := f.s.SendLetter(ctx, letterCoord, v.ID, LetterSendInput{Country: "MY"})
	if err != nil {
		t.Fatal(err)
	}
	send, err := f.s.Store.Send(ctx, rep.Sent[0].SendID)
	if err != nil {
		t.Fatal(err)
	}
	if send.TemplateVersion != pinned.Version {
		t.Errorf("letter sent with template version %d; want %d (pinned at creation)", send.TemplateVersion, pinned.Version)
	}
	exp, err := f.s.ExportLetter(ctx, letterViewer, v.ID, "MY", ExportMarkdown, "", false)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(exp.Body), "Edited") {
		t.Errorf("export uses the edited template:\n%s", exp.Body)
	}
}

// A wave keeps the filter its segment had when the wave was created: a
// later edit or deletion of the segment changes none of its runs.
func TestWaveKeepsItsSegmentFilter(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC))
	f.importCSV(t, "my@x.test,A,Org A,partner,MY,en,", "ph@x.test,B,Org B,partner,PH,en,")
	if err := f.svc.SaveSegment(ctx, waveAdmin, outreach.Segment{Name: "seg", Filter: "country = MY"}); err != nil {
		t.Fatal(err)
	}
	v := f.create(t, WaveInput{Name: "weekly", Template: "call-to-action", Segment: "seg", Cron: "@weekly", TimeZone: "UTC", AllowRepeat: true})
	if err := f.svc.SaveSegment(ctx, waveAdmin, outreach.Segment{Name: "seg", Filter: "country = PH"}); err != nil {
		t.Fatal(err)
	}
	d, err := f.svc.DryRunWave(ctx, waveAdmin, v.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Recipients) != 1 || d.Recipients[0].Email != "my@x.test" {
		t.Errorf("after the segment edit a run would reach %+v; want my@x.test", d.Recipients)
	}
	if err := f.svc.DeleteSegment(ctx, waveAdmin, "seg"); err != nil {
		t.Fatal(err)
	}
	slot := time.Date(2026, 6, 7, 0, 0, 0, 0, time.UTC)
	f.clock.Set(slot)
	if err := f.svc.RunScheduled(ctx, v.ID, slot); err != nil {
		t.Fatal(err)
	}
	if got := emails(f.deliveries(t, v.ID)); got != "my@x.test" {
		t.Errorf("the run after the segment was deleted reached %s; want my@x.test", got)
	}
}
