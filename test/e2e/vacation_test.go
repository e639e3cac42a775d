package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/outreach-coalition/outreach/internal/outreach"
	"github.com/outreach-coalition/outreach/test/realmail"
)

// TestVacationReply (issue 7, scenario 4): a partner away on holiday has a
// real Sieve vacation script. Pigeonhole does not answer the endorsement
// request, which carries list headers. The partner endorses anyway; the
// daemon confirms it and sends a thank-you, which carries no list headers,
// so Pigeonhole answers it: the vacation reply goes to the thank-you's
// envelope sender, the reply address with its token, comes back to the
// campaign mailbox and is classified as an auto-reply that changes
// nothing: still one confirmed endorsement, no suppression, the contact
// active, nothing for review.
func TestVacationReply(t *testing.T) {
	s := realmail.Env(t)
	t.Parallel()
	id := runID(t)
	campaign := s.AddUser(t, "vacation-"+id)
	p := contact{s.AddUser(t, "away-"+id), "Søren Kierkegård", "Institut for Menneskerettigheder", "DK", "en"}
	s.SetVacation(t, p.email, "I am away until next month. Je suis absent. Estoy de vacaciones.")
	d := startDaemon(t, s, setup{campaign: campaign, imaps: true, env: []string{"OUTREACH_CAMPAIGN_THANK_YOU=true"}})
	d.importContacts([]contact{p})
	wave := d.addWave("Vacation "+id, "endorsement-request")
	d.waitWave(wave, 1, time.Minute)
	req := waitSent(t, s, p.email, campaign, 1, 30*time.Second)[0]
	if req.ListUnsubscribe == "" {
		t.Fatalf("the endorsement request carries no List-Unsubscribe")
	}
	// Pigeonhole refuses to answer list mail, and logs so.
	realmail.WaitLog(t, s.DovecotLog, 20*time.Second, p.email, "discarding vacation response")

	endorse := "yes." + id + "@partners.example.test"
	reply{from: p.email, to: req.ReplyTo, subject: "Re: " + req.Subject, inReplyTo: req.MessageID, messageID: endorse,
		text: "Yes, we endorse the joint letter. Please add our organisation to the signatories.\n\nBest,\nSøren\n"}.send(t, s)

	// The thank-you arrives, without list headers.
	var thanks sent
	waitFor(t, time.Minute, "thank-you in the partner's mailbox", func() (bool, string) {
		for _, m := range fromCampaign(t, s.Mailbox(t, p.email), campaign) {
			if m.MessageID != req.MessageID {
				thanks = m
				return true, ""
			}
		}
		return false, fmt.Sprintf("endorsements %+v", d.endorsements())
	})
	if thanks.Subject != "Thank you for endorsing the joint letter on the OP-ICESCR" {
		t.Errorf("thank-you subject %q", thanks.Subject)
	}
	if thanks.ListUnsubscribe != "" {
		t.Errorf("the thank-you carries List-Unsubscribe %q", thanks.ListUnsubscribe)
	}
	realmail.WaitLog(t, s.DovecotLog, 20*time.Second, p.email, "sent vacation response")

	// The vacation reply comes back and is recorded as an auto-reply to the
	// thank-you.
	var auto outreach.Reply
	waitFor(t, time.Minute, "vacation reply recorded", func() (bool, string) {
		rs := d.replies()
		for _, r := range rs {
			if r.MessageID != endorse {
				auto = r
				return true, ""
			}
		}
		return false, fmt.Sprintf("%d replies: %s", len(rs), summary(rs))
	})
	if auto.Class != outreach.ClassAutoReply {
		t.Errorf("vacation reply classified %q (%s); want %q", auto.Class, auto.Reason, outreach.ClassAutoReply)
	}
	if auto.Match != outreach.MatchToken {
		t.Errorf("vacation reply matched by %q; want by the thank-you's token", auto.Match)
	}
	if auto.Review {
		t.Errorf("vacation reply sent to review: %+v", auto)
	}

	es := d.endorsements()
	if len(es) != 1 || es[0].State != outreach.EndorsementConfirmed || es[0].MessageID != endorse {
		t.Errorf("endorsements after the vacation reply: %+v; want one, confirmed by %s", es, endorse)
	}
	if ss := d.suppressions(); len(ss) != 0 {
		t.Errorf("suppressions after the vacation reply: %+v", ss)
	}
	if c := d.contact(p.email); c.Status != outreach.StatusActive {
		t.Errorf("%s: status %q after the vacation reply; want %q", p.email, c.Status, outreach.StatusActive)
	}
	if rs := d.replies(); len(rs) != 2 {
		t.Errorf("%d replies; want the endorsement and the vacation reply:%s", len(rs), summary(rs))
	}
}
