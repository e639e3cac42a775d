package store

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/outreach-coalition/outreach/internal/outreach"
)

func mustLetterCampaign(t *testing.T, s *Store) *outreach.Campaign {
	t.Helper()
	c := &outreach.Campaign{Name: "C", From: "c@example.test", ReplyTo: "c@example.test", DefaultLanguage: "en"}
	if err := s.CreateCampaign(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	return c
}

func letterRequest(s *Store, t *testing.T, l *outreach.Letter, country string, roster []string, emails ...string) *LetterSendRequest {
	t.Helper()
	req := &LetterSendRequest{LetterID: l.ID, Country: country, Roster: roster, By: "ana",
		Send: &outreach.Send{Name: "letter", CampaignID: l.CampaignID, Template: "letter", TemplateVersion: 1}}
	for _, e := range emails {
		c, err := s.Contact(context.Background(), e)
		if err != nil {
			t.Fatal(err)
		}
		req.Recipients = append(req.Recipients, Recipient{ContactID: c.ID, Email: c.Email})
	}
	return req
}

func auditActions(t *testing.T, s *Store, prefix string) []AuditEntry {
	t.Helper()
	all, err := s.AuditLog(context.Background(), "", time.Time{}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []AuditEntry
	for _, e := range all {
		if strings.HasPrefix(e.Action, prefix) {
			out = append(out, e)
		}
	}
	return out
}

func TestSendLetterOnceUnlessResent(t *testing.T) {
	s := MustOpen(t)
	ctx := context.Background()
	camp := mustLetterCampaign(t, s)
	importAll(t, s,
		outreach.Contact{Email: "pm@gov.my.test", Kind: outreach.KindHeadOfState, Country: "MY"},
		outreach.Contact{Email: "nhri@my.test", Kind: outreach.KindNHRI, Country: "MY"},
	)
	if err := s.Suppress(ctx, "nhri@my.test", "manual", "test"); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateLetter(ctx, &outreach.Letter{CampaignID: 99, Template: "letter"}, "ana"); outreach.ErrorCode(err) != outreach.ENOTFOUND {
		t.Errorf("CreateLetter for a missing campaign = %v; want not found", err)
	}
	l := &outreach.Letter{CampaignID: camp.ID, Template: "letter", Targets: "kind = head_of_state"}
	if err := s.CreateLetter(ctx, l, "ana"); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Letters(ctx, camp.ID); err != nil || len(got) != 1 || got[0].ID != l.ID || got[0].Created.IsZero() {
		t.Fatalf("Letters = %+v, %v; want the one letter", got, err)
	}

	roster := []string{"Alpha", "Beta"}
	req := letterRequest(s, t, l, "MY", roster, "pm@gov.my.test", "nhri@my.test")
	req.Approve = true
	ls, err := s.SendLetter(ctx, req, testMint)
	if err != nil {
		t.Fatal(err)
	}
	roster[0] = "changed by the caller"
	send, err := s.Send(ctx, ls.SendID)
	if err != nil {
		t.Fatal(err)
	}
	if send.Kind != outreach.SendLetter || send.LetterID != l.ID || send.ListHeaders || send.Counts.Total != 2 || send.Counts.Suppressed != 1 {
		t.Errorf("send = %+v; want a letter send without list headers, 2 deliveries, 1 suppressed", send)
	}
	ds, _ := s.SendDeliveries(ctx, ls.SendID)
	for _, d := range ds {
		if !slices.Equal(d.Roster, []string{"Alpha", "Beta"}) {
			t.Errorf("delivery to %s has roster %q; want [Alpha Beta]", d.Email, d.Roster)
		}
	}

	_, err = s.SendLetter(ctx, letterRequest(s, t, l, "MY", []string{"Alpha"}, "pm@gov.my.test"), testMint)
	if outreach.ErrorCode(err) != outreach.ECONFLICT || !strings.Contains(err.Error(), "already sent to MY") {
		t.Fatalf("second SendLetter = %v; want a conflict saying it was sent", err)
	}
	if sends, _ := s.Sends(ctx, ""); len(sends) != 1 {
		t.Errorf("%d sends after a refused second send; want 1", len(sends))
	}

	again := letterRequest(s, t, l, "MY", []string{"Alpha"}, "pm@gov.my.test")
	again.Resend, again.By = true, "bob"
	ls2, err := s.SendLetter(ctx, again, testMint)
	if err != nil {
		t.Fatal(err)
	}
	if !ls2.Resend || ls2.By != "bob" || ls2.SendID == ls.SendID {
		t.Errorf("resend = %+v; want a new send marked as a resend by bob", ls2)
	}
	lc, err := s.LetterCountry(ctx, l.ID, "MY")
	if err != nil {
		t.Fatal(err)
	}
	if len(lc.Sends) != 2 || lc.ApprovedBy != "ana" || !slices.Equal(lc.Sends[0].Roster, []string{"Alpha", "Beta"}) {
		t.Errorf("MY record = %+v; want two sends, approved by ana, the first roster kept", lc)
	}
	resends := auditActions(t, s, "letter.resend")
	if len(resends) != 1 || resends[0].User != "bob" || !strings.Contains(resends[0].Detail, "before: send") {
		t.Errorf("resend audit = %+v; want one entry by bob naming the earlier send", resends)
	}
	if sends := auditActions(t, s, "letter.send"); len(sends) != 1 || sends[0].User != "ana" {
		t.Errorf("send audit = %+v; want one entry by ana", sends)
	}
	if other, _ := s.LetterCountry(ctx, l.ID, "PH"); other.LastSend() != nil || other.Country != "PH" {
		t.Errorf("PH record = %+v; want an empty one", other)
	}
}

func TestSendLetterRefusesEmptyRosterOrRecipients(t *testing.T) {
	s := MustOpen(t)
	ctx := context.Background()
	camp := mustLetterCampaign(t, s)
	importAll(t, s, outreach.Contact{Email: "pm@gov.my.test", Kind: outreach.KindHeadOfState, Country: "MY"})
	l := &outreach.Letter{CampaignID: camp.ID, Template: "letter"}
	if err := s.CreateLetter(ctx, l, "ana"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SendLetter(ctx, letterRequest(s, t, l, "MY", nil, "pm@gov.my.test"), testMint); outreach.ErrorCode(err) != outreach.EINVALID {
		t.Errorf("SendLetter with no roster = %v; want invalid", err)
	}
	if _, err := s.SendLetter(ctx, letterRequest(s, t, l, "MY", []string{"A"}), testMint); outreach.ErrorCode(err) != outreach.EINVALID {
		t.Errorf("SendLetter with no recipients = %v; want invalid", err)
	}
	req := letterRequest(s, t, l, "MY", []string{"A"}, "pm@gov.my.test")
	req.LetterID = 42
	if _, err := s.SendLetter(ctx, req, testMint); outreach.ErrorCode(err) != outreach.ENOTFOUND {
		t.Errorf("SendLetter of a missing letter = %v; want not found", err)
	}
	if sends, _ := s.Sends(ctx, ""); len(sends) != 0 {
		t.Errorf("%d sends after refusals; want 0", len(sends))
	}
}

func TestLetterReadyAndApproval(t *testing.T) {
	s := MustOpen(t)
	ctx := context.Background()
	camp := mustLetterCampaign(t, s)
	l := &outreach.Letter{CampaignID: camp.ID, Template: "letter"}
	if err := s.CreateLetter(ctx, l, "ana"); err != nil {
		t.Fatal(err)
	}
	for i, want := range []bool{true, false} {
		if got, err := s.MarkLetterReady(ctx, l.ID, "MY", "2 confirmed", "system"); err != nil || got != want {
			t.Errorf("MarkLetterReady #%d = %v, %v; want %v", i+1, got, err, want)
		}
	}
	if _, err := s.ApproveLetter(ctx, l.ID, "MY", "ana"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ApproveLetter(ctx, l.ID, "MY", "bob"); outreach.ErrorCode(err) != outreach.ECONFLICT || !strings.Contains(err.Error(), "ana") {
		t.Errorf("second ApproveLetter = %v; want a conflict naming ana", err)
	}
	if _, err := s.ApproveLetter(ctx, 7, "MY", "ana"); outreach.ErrorCode(err) != outreach.ENOTFOUND {
		t.Errorf("ApproveLetter of a missing letter = %v; want not found", err)
	}
	list, err := s.LetterCountries(ctx, l.ID)
	if err != nil || len(list) != 1 || list[0].ReadyReason != "2 confirmed" || list[0].ApprovedBy != "ana" {
		t.Fatalf("LetterCountries = %+v, %v; want MY ready and approved by ana", list, err)
	}
	if got := auditActions(t, s, "letter.ready"); len(got) != 1 || got[0].User != "system" {
		t.Errorf("ready audit = %+v; want one entry by system", got)
	}
}
