package inbox

import (
	"bytes"
	"context"
	"testing"

	"github.com/outreach-coalition/outreach/internal/mailreply"
	"github.com/outreach-coalition/outreach/internal/outreach"
	"github.com/outreach-coalition/outreach/internal/store"
)

// FuzzProcess feeds arbitrary messages through the whole pipeline: it must
// never fail or panic, never record an endorsement from automated mail or
// a bounce, and confirm one only for an endorse reply matched by token or
// Message-ID.
func FuzzProcess(f *testing.F) {
	fx := newFixture(f, outreach.Campaign{ThankYou: true})
	partners(fx)
	ds := fx.send("endorsement-request", "ana@hr-kenya.test", "luis@derechos.test")
	ana, luis := ds["ana@hr-kenya.test"], ds["luis@derechos.test"]
	auto := answer(ana, "Out of office. We endorse the letter.")
	auto.headers = []string{"Auto-Submitted: auto-replied"}
	seeds := [][]byte{
		answer(ana, endorse).raw(),
		answer(ana, "Sorry, ignore that, we cannot endorse.").raw(),
		answer(luis, "Nos sumamos a la carta.\n\nSaludos").raw(),
		msg{from: luis.Email, to: replyBase, body: "We endorse the letter."}.raw(),
		auto.raw(),
		dsn(ana, ana.Email, "failed", "5.1.1"),
		dsn(luis, luis.Email, "delayed", "4.4.1"),
		[]byte("From: x\r\n\r\nyes"),
		{},
	}
	for _, s := range seeds {
		f.Add(s)
	}
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, raw []byte) {
		rec, err := fx.inbox.Process(ctx, raw, Source{})
		if err != nil {
			t.Fatalf("Process: %v", err)
		}
		if rec.Change == store.EndorsementHeld {
			if rec.Endorsement.State != outreach.EndorsementPending || rec.Reply.Class != outreach.ClassDecline || !rec.Reply.Review {
				t.Fatalf("held endorsement %+v from reply %+v; want it pending beside a decline in review", rec.Endorsement, rec.Reply)
			}
			return
		}
		if rec.Duplicate || rec.Endorsement == nil || rec.Change == store.EndorsementAttached {
			return
		}
		m, err := mailreply.Parse(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("endorsement %+v from a message Parse rejects: %v", rec.Endorsement, err)
		}
		if m.Automated != "" || len(m.Bounces) > 0 {
			t.Fatalf("endorsement %+v from automated mail (%q, %d bounces)", rec.Endorsement, m.Automated, len(m.Bounces))
		}
		r := rec.Reply
		if r.Class != outreach.ClassEndorse {
			t.Fatalf("endorsement %+v from a %s reply", rec.Endorsement, r.Class)
		}
		if rec.Endorsement.State == outreach.EndorsementConfirmed && r.Match != outreach.MatchToken && r.Match != outreach.MatchMessageID {
			t.Fatalf("endorsement confirmed from a reply matched by %s", r.Match)
		}
	})
}
