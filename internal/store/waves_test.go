package store

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/outreach-coalition/outreach/internal/outreach"
	bolt "go.etcd.io/bbolt"
)

func mustWave(t *testing.T, s *Store, w *outreach.Wave) *outreach.Wave {
	t.Helper()
	if w.CampaignID == 0 {
		w.CampaignID = 1
	}
	if err := s.CreateWave(context.Background(), w); err != nil {
		t.Fatal(err)
	}
	return w
}

func backup(t *testing.T, s *Store) []byte {
	t.Helper()
	var b bytes.Buffer
	if _, err := s.Backup(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestStartWaveRunChecksAndStoresInOneTransaction(t *testing.T) {
	ctx := context.Background()
	s := MustOpen(t)
	a := mustContact(t, s, "a@example.test", "MY")
	b := mustContact(t, s, "b@example.test", "PH")
	w := mustWave(t, s, &outreach.Wave{Name: "w", Template: "t", Cron: "0 9 * * *", TimeZone: "UTC", State: outreach.WaveScheduled})
	slot := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)

	before := backup(t, s)
	refused := errors.New("taken")
	send := &outreach.Send{Kind: outreach.SendWave, CampaignID: 1, Template: "t"}
	rcpts := []Recipient{{ContactID: a.ID, Email: a.Email}, {ContactID: b.ID, Email: b.Email}}
	if _, err := s.StartWaveRun(ctx, w.ID, func(*outreach.Wave) error { return refused }, send, rcpts, testMint, &WaveRun{Slot: slot}); !errors.Is(err, refused) {
		t.Fatalf("StartWaveRun with a refusing check = %v", err)
	}
	if !bytes.Equal(before, backup(t, s)) {
		t.Fatal("a refused run changed the store")
	}

	send = &outreach.Send{Kind: outreach.SendWave, CampaignID: 1, Template: "t"}
	got, err := s.StartWaveRun(ctx, w.ID, func(w *outreach.Wave) error {
		if !w.LastRun.IsZero() {
			return refused
		}
		return nil
	}, send, rcpts, testMint, &WaveRun{Slot: slot, LeftOut: map[string]int{"already_received": 3}})
	if err != nil {
		t.Fatal(err)
	}
	if !got.LastRun.Equal(slot) || got.State != outreach.WaveRunning {
		t.Errorf("wave after the run: last run %v, state %s", got.LastRun, got.State)
	}
	if send.ID == 0 || send.WaveID != w.ID || send.Counts.Queued != 2 || send.State != outreach.SendRunning {
		t.Errorf("send = %+v", send)
	}
	runs, err := s.WaveRuns(ctx, w.ID)
	if err != nil || len(runs) != 1 || runs[0].SendID != send.ID || !runs[0].Slot.Equal(slot) || runs[0].LeftOut["already_received"] != 3 {
		t.Fatalf("WaveRuns = %+v, %v", runs, err)
	}
	// The same slot again is refused by the check, inside the transaction.
	if _, err := s.StartWaveRun(ctx, w.ID, func(w *outreach.Wave) error {
		if !slot.After(w.LastRun) {
			return refused
		}
		return nil
	}, &outreach.Send{Kind: outreach.SendWave, CampaignID: 1, Template: "t"}, rcpts, testMint, &WaveRun{Slot: slot}); !errors.Is(err, refused) {
		t.Errorf("second run of the same slot = %v; want refused", err)
	}
	if sends, _ := s.WaveSends(ctx, w.ID); len(sends) != 1 {
		t.Errorf("%d sends; want 1", len(sends))
	}
}

func TestEmptyRunIsDoneAtOnce(t *testing.T) {
	ctx := context.Background()
	s := MustOpen(t)
	w := mustWave(t, s, &outreach.Wave{Name: "w", Template: "t", State: outreach.WaveScheduled})
	send := &outreach.Send{Kind: outreach.SendWave, CampaignID: 1, Template: "t"}
	got, err := s.StartWaveRun(ctx, w.ID, nil, send, nil, testMint, &WaveRun{Slot: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if send.State != outreach.SendDone || got.State != outreach.WaveDone {
		t.Errorf("send %s, wave %s; want both done", send.State, got.State)
	}
}

func TestTemplateRecipientsCountOnlyMessagesThatReachOrMay(t *testing.T) {
	ctx := context.Background()
	s := MustOpen(t)
	var cs []*outreach.Contact
	for _, e := range []string{"sent@x.test", "queued@x.test", "failed@x.test", "other@x.test"} {
		cs = append(cs, mustContact(t, s, e, "MY"))
	}
	send := &outreach.Send{Kind: outreach.SendWave, CampaignID: 1, Template: "reminder"}
	if err := s.CreateSend(ctx, send, []Recipient{{ContactID: cs[0].ID, Email: cs[0].Email}, {ContactID: cs[1].ID, Email: cs[1].Email}, {ContactID: cs[2].ID, Email: cs[2].Email}}, testMint); err != nil {
		t.Fatal(err)
	}
	claimed, err := s.Claim(ctx, send.ID, time.Now(), 10)
	if err != nil || len(claimed) != 3 {
		t.Fatalf("claim: %d, %v", len(claimed), err)
	}
	byEmail := map[string]uint64{}
	for _, c := range claimed {
		byEmail[c.Delivery.Email] = c.Delivery.ID
	}
	now := time.Now()
	if _, err := s.Record(ctx, []Result{
		{DeliveryID: byEmail["sent@x.test"], Attempt: outreach.Attempt{Time: now, Outcome: outreach.DeliverySent}},
		{DeliveryID: byEmail["queued@x.test"], Attempt: outreach.Attempt{Time: now, Outcome: outreach.DeliveryRetrying}, RetryAt: now.Add(time.Hour)},
		{DeliveryID: byEmail["failed@x.test"], Attempt: outreach.Attempt{Time: now, Outcome: outreach.DeliveryFailed}},
	}); err != nil {
		t.Fatal(err)
	}
	other := &outreach.Send{Kind: outreach.SendWave, CampaignID: 1, Template: "call-to-action"}
	if err := s.CreateSend(ctx, other, []Recipient{{ContactID: cs[3].ID, Email: cs[3].Email}}, testMint); err != nil {
		t.Fatal(err)
	}
	got, err := s.TemplateRecipients(ctx, 1, "reminder")
	if err != nil {
		t.Fatal(err)
	}
	if !got[cs[0].ID] || !got[cs[1].ID] || got[cs[2].ID] || got[cs[3].ID] || len(got) != 2 {
		t.Errorf("TemplateRecipients = %v; want sent and retrying only", got)
	}
	if got, _ := s.TemplateRecipients(ctx, 2, "reminder"); len(got) != 0 {
		t.Errorf("another campaign: %v", got)
	}
}

// putRecord writes a record the way the inbox does: JSON under u64(id).
func putRecord(t *testing.T, s *Store, name string, id uint64, v any) {
	t.Helper()
	if err := s.db.Update(func(tx *bolt.Tx) error { return putJSON(bucket(tx, name), u64(id), v) }); err != nil {
		t.Fatal(err)
	}
}

func TestRepliedAndEndorsedContacts(t *testing.T) {
	ctx := context.Background()
	s := MustOpen(t)
	t0 := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	putRecord(t, s, "replies", 1, outreach.Reply{ID: 1, ContactID: 10, CampaignID: 1, Class: outreach.ClassOther, Received: t0.Add(2 * time.Hour)})
	putRecord(t, s, "replies", 2, outreach.Reply{ID: 2, ContactID: 10, CampaignID: 1, Class: outreach.ClassEndorse, Received: t0.Add(time.Hour)})
	putRecord(t, s, "replies", 3, outreach.Reply{ID: 3, ContactID: 11, CampaignID: 1, Class: outreach.ClassAutoReply, Received: t0})
	putRecord(t, s, "replies", 4, outreach.Reply{ID: 4, ContactID: 12, CampaignID: 2, Class: outreach.ClassOther, Received: t0})
	putRecord(t, s, "replies", 5, outreach.Reply{ID: 5, ContactID: 13, Class: outreach.ClassDecline, Match: outreach.MatchSender, Received: t0})
	putRecord(t, s, "replies", 6, outreach.Reply{ID: 6, ContactID: 14, CampaignID: 1, Class: outreach.ClassBounce, Received: t0})
	replied, err := s.RepliedContacts(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(replied) != 2 || !replied[10].Equal(t0.Add(time.Hour)) || replied[13].IsZero() {
		t.Errorf("RepliedContacts = %v; want 10 (first at +1h) and 13", replied)
	}

	for i, st := range []string{outreach.EndorsementConfirmed, outreach.EndorsementPending, outreach.EndorsementRejected, outreach.EndorsementWithdrawn} {
		putRecord(t, s, "endorsements", uint64(i+1), outreach.Endorsement{ID: uint64(i + 1), CampaignID: 1, ContactID: uint64(20 + i), State: st})
	}
	putRecord(t, s, "endorsements", 9, outreach.Endorsement{ID: 9, CampaignID: 2, ContactID: 30, State: outreach.EndorsementConfirmed})
	endorsed, err := s.EndorsedContacts(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(endorsed) != 2 || !endorsed[20] || !endorsed[21] {
		t.Errorf("EndorsedContacts = %v; want 20 and 21", endorsed)
	}
}

func TestWaveRepliedCountsPeopleOnce(t *testing.T) {
	ctx := context.Background()
	s := MustOpen(t)
	a := mustContact(t, s, "a@example.test", "MY")
	b := mustContact(t, s, "b@example.test", "MY")
	w := mustWave(t, s, &outreach.Wave{Name: "w", Template: "t"})
	send := &outreach.Send{Kind: outreach.SendWave, CampaignID: 1, Template: "t"}
	if _, err := s.StartWaveRun(ctx, w.ID, nil, send, []Recipient{{ContactID: a.ID, Email: a.Email}, {ContactID: b.ID, Email: b.Email}}, testMint, &WaveRun{Slot: time.Now()}); err != nil {
		t.Fatal(err)
	}
	ds, err := s.WaveDeliveries(ctx, w.ID)
	if err != nil || len(ds) != 2 {
		t.Fatalf("WaveDeliveries = %d, %v", len(ds), err)
	}
	putRecord(t, s, "replies", 1, outreach.Reply{ID: 1, ContactID: a.ID, CampaignID: 1, DeliveryID: ds[0].ID, Class: outreach.ClassOther})
	putRecord(t, s, "replies", 2, outreach.Reply{ID: 2, ContactID: a.ID, CampaignID: 1, DeliveryID: ds[0].ID, Class: outreach.ClassEndorse})
	putRecord(t, s, "replies", 3, outreach.Reply{ID: 3, ContactID: b.ID, CampaignID: 1, DeliveryID: ds[1].ID, Class: outreach.ClassAutoReply})
	if n, err := s.WaveReplied(ctx, w.ID); err != nil || n != 1 {
		t.Errorf("WaveReplied = %d, %v; want 1", n, err)
	}
}

func TestControlWaveRefusedChangesNothing(t *testing.T) {
	ctx := context.Background()
	s := MustOpen(t)
	a := mustContact(t, s, "a@example.test", "MY")
	w := mustWave(t, s, &outreach.Wave{Name: "w", Template: "t", Cron: "0 9 * * *", TimeZone: "UTC", State: outreach.WaveScheduled})
	for _, slot := range []time.Time{time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC), time.Date(2026, 5, 2, 9, 0, 0, 0, time.UTC)} {
		send := &outreach.Send{Kind: outreach.SendWave, CampaignID: 1, Template: "t"}
		if _, err := s.StartWaveRun(ctx, w.ID, nil, send, []Recipient{{ContactID: a.ID, Email: a.Email}}, testMint, &WaveRun{Slot: slot}); err != nil {
			t.Fatal(err)
		}
	}
	before := backup(t, s)
	refused := errors.New("no")
	var seen int
	if _, _, err := s.ControlWave(ctx, w.ID, WaveCancel, nil, func(_ *outreach.Wave, runs []outreach.Send) error {
		seen = len(runs)
		return refused
	}); !errors.Is(err, refused) {
		t.Fatalf("ControlWave with a refusing check = %v", err)
	}
	if seen != 2 {
		t.Errorf("check saw %d runs; want 2", seen)
	}
	if _, _, err := s.ControlWave(ctx, w.ID, "stop", nil, nil); outreach.ErrorCode(err) != outreach.EINVALID {
		t.Errorf("ControlWave(stop) = %v; want EINVALID", err)
	}
	if !bytes.Equal(before, backup(t, s)) {
		t.Fatal("a refused control changed the store")
	}
	got, runs, err := s.ControlWave(ctx, w.ID, WaveCancel, nil, nil)
	if err != nil || got.State != outreach.WaveCancelled || len(runs) != 2 {
		t.Fatalf("cancel: wave %+v, %d runs, %v", got, len(runs), err)
	}
	for _, r := range runs {
		if stored, _ := s.Send(ctx, r.ID); stored.State != outreach.SendCancelled || stored.Counts.Cancelled != 1 {
			t.Errorf("run %d after cancel: %s %+v", r.ID, stored.State, stored.Counts)
		}
	}
}
