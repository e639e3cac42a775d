package store

import (
	"context"
	"testing"
	"time"

	"github.com/outreach-coalition/outreach/internal/outreach"
)

// A letter send whose roster rests on an endorsement that stopped being
// confirmed (a decline raced the send) sends nothing.
func TestSendLetterRefusesAStaleRoster(t *testing.T) {
	s := MustOpen(t)
	ctx := context.Background()
	if err := s.ImportContacts(ctx, func(put PutFunc) error {
		_, err := put(&outreach.Contact{Email: "a@example.test", Organization: "Org A", Country: "MY"})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	e := &outreach.Endorsement{CampaignID: 1, ContactID: 1, Email: "a@example.test", Organization: "Org A", PrintName: "Org A", Country: "MY", State: outreach.EndorsementPending, Source: "manual", Time: time.Now()}
	if _, err := s.AddEndorsement(ctx, e, "test", nil); err != nil {
		t.Fatal(err)
	}
	req := &LetterSendRequest{LetterID: 1, Country: "MY", Roster: []string{"Org A"}, Endorsements: []uint64{e.ID}, By: "ana",
		Send:       &outreach.Send{Name: "letter", CampaignID: 1, Template: "letter", TemplateVersion: 1},
		Recipients: []Recipient{{ContactID: 9, Email: "pm@example.test"}}}
	_, err := s.SendLetter(ctx, req, func(id uint64) (string, string) { return "t", "t@example.test" })
	if outreach.ErrorCode(err) != outreach.ECONFLICT {
		t.Fatalf("SendLetter with a pending endorsement behind the roster = %v; want ECONFLICT", err)
	}
	if sends, _ := s.Sends(ctx, ""); len(sends) != 0 {
		t.Errorf("%d sends created; want none", len(sends))
	}
}
