package store

import (
	"context"
	"testing"
	"time"

	"github.com/outreach-coalition/outreach/internal/outreach"
)

// A claim writes only the inflight entry; every reader still sees the
// delivery as sending with the attempt counted, and recording, returning
// and recovering it keep the attempt count and the send's counts exact.
func TestClaimedDeliveryReadsAsSending(t *testing.T) {
	ctx := context.Background()
	s := MustOpen(t)
	a, b := mustContact(t, s, "a@x.test", "MY"), mustContact(t, s, "b@x.test", "MY")
	send := &outreach.Send{Kind: outreach.SendWave, CampaignID: 1, Template: "t"}
	if err := s.CreateSend(ctx, send, []Recipient{{ContactID: a.ID, Email: a.Email}, {ContactID: b.ID, Email: b.Email}}, testMint); err != nil {
		t.Fatal(err)
	}
	claimAll := func(want int) map[string]uint64 {
		t.Helper()
		claimed, err := s.Claim(ctx, send.ID, time.Now(), 10)
		if err != nil || len(claimed) != want {
			t.Fatalf("claim: %d, %v; want %d", len(claimed), err, want)
		}
		ids := map[string]uint64{}
		for _, c := range claimed {
			ids[c.Delivery.Email] = c.Delivery.ID
		}
		return ids
	}
	check := func(id uint64, state string, attempts int) {
		t.Helper()
		d, err := s.Delivery(ctx, id)
		if err != nil || d.State != state || d.Attempts != attempts {
			t.Fatalf("delivery %d: %s after %d attempts (%v); want %s after %d", id, d.State, d.Attempts, err, state, attempts)
		}
		ds, err := s.ContactDeliveries(ctx, d.ContactID)
		if err != nil || len(ds) != 1 || ds[0].State != state || ds[0].Attempts != attempts {
			t.Fatalf("contact deliveries of %d: %+v, %v; want %s after %d", id, ds, err, state, attempts)
		}
	}
	counts := func(want outreach.SendCounts) {
		t.Helper()
		got, err := s.Send(ctx, send.ID)
		if err != nil || got.Counts != want {
			t.Fatalf("counts %+v (%v); want %+v", got.Counts, err, want)
		}
	}

	ids := claimAll(2)
	check(ids["a@x.test"], outreach.DeliverySending, 1)
	check(ids["b@x.test"], outreach.DeliverySending, 1)
	counts(outreach.SendCounts{Total: 2, Sending: 2})

	if err := s.Unclaim(ctx, []uint64{ids["b@x.test"]}); err != nil {
		t.Fatal(err)
	}
	check(ids["b@x.test"], outreach.DeliveryQueued, 0)
	now := time.Now()
	if _, err := s.Record(ctx, []Result{{DeliveryID: ids["a@x.test"], Attempt: outreach.Attempt{Time: now, Outcome: outreach.DeliveryRetrying}, RetryAt: now}}); err != nil {
		t.Fatal(err)
	}
	check(ids["a@x.test"], outreach.DeliveryRetrying, 1)
	counts(outreach.SendCounts{Total: 2, Queued: 1, Retrying: 1})

	ids = claimAll(2)
	check(ids["a@x.test"], outreach.DeliverySending, 2)
	check(ids["b@x.test"], outreach.DeliverySending, 1)
	if n, err := s.RecoverInflight(ctx, true); err != nil || n != 2 {
		t.Fatalf("recover: %d, %v; want 2", n, err)
	}
	check(ids["a@x.test"], outreach.DeliveryQueued, 2)
	check(ids["b@x.test"], outreach.DeliveryQueued, 1)
	counts(outreach.SendCounts{Total: 2, Queued: 2, Uncertain: 2})
}
