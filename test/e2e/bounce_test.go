package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/outreach-coalition/outreach/internal/outreach"
	"github.com/outreach-coalition/outreach/test/realmail"
)

// TestBounces (issue 7, scenario 3): a wave reaches an address without a
// mailbox and one whose delivery Postfix keeps deferring. Postfix accepts
// both on the submission port, then returns real DSNs to the envelope
// sender, the campaign's reply address with the delivery's token: for the
// unknown user at once (LMTP says 550 5.1.1), for the deferred one first a
// delay notice (about 20 s after queueing) and then, when the message
// expires (about 60 s), a failure. The daemon reads them over IMAPS: the
// unknown user is suppressed and its contact marked bounced at once; the
// delay notice is recorded and changes nothing; the expiry bounce
// suppresses the deferred address. A partner with a mailbox in the same
// wave is not touched.
func TestBounces(t *testing.T) {
	s := realmail.Env(t)
	t.Parallel()
	id := runID(t)
	campaign := s.AddUser(t, "bounces-"+id)
	ok := contact{s.AddUser(t, "ok-"+id), "Ørsted Åberg", "Foreningen for Rettigheder", "DK", "en"}
	nobody := contact{s.Address("nobody-" + id), "Nadie", "Organización Inexistente", "CO", "es"}
	deferred := contact{s.Address("deferred"), "Différé", "Association en attente", "FR", "fr"}
	d := startDaemon(t, s, setup{campaign: campaign, imaps: true})
	d.importContacts([]contact{ok, nobody, deferred})
	start := time.Now()
	wave := d.addWave("Bounces "+id, "call-to-action")
	v := d.waitWave(wave, 3, time.Minute)
	if k := v.counts(); k.Sent != 3 {
		t.Fatalf("wave ended with %+v; want all 3 accepted by Postfix", k)
	}
	waitSent(t, s, ok.email, campaign, 1, 30*time.Second)

	bounce := func(email, action string) func() (bool, string) {
		return func() (bool, string) {
			rs := d.replies()
			for _, r := range rs {
				if r.Class == outreach.ClassBounce && r.Bounce != nil && strings.EqualFold(r.Bounce.Recipient, email) && r.Bounce.Action == action {
					return true, ""
				}
			}
			return false, fmt.Sprintf("%d replies: %s", len(rs), summary(rs))
		}
	}

	// The unknown user: a DSN with Action: failed, Status: 5.1.1.
	waitFor(t, 45*time.Second, "DSN for "+nobody.email+" recorded", bounce(nobody.email, "failed"))
	waitFor(t, 10*time.Second, nobody.email+" suppressed", func() (bool, string) {
		return suppressed(d, nobody.email) != "", fmt.Sprintf("suppressions %+v", d.suppressions())
	})
	if c := d.contact(nobody.email); c.Status != outreach.StatusBounced {
		t.Errorf("%s: status %q after a hard bounce; want %q", nobody.email, c.Status, outreach.StatusBounced)
	}
	for _, r := range d.replies() {
		if r.Bounce != nil && strings.EqualFold(r.Bounce.Recipient, nobody.email) {
			if r.Match == outreach.MatchNone || !strings.HasPrefix(r.Bounce.Status, "5.1.1") || !r.Bounce.Hard {
				t.Errorf("bounce for %s: match %q, %+v; want matched, status 5.1.1, hard", nobody.email, r.Match, r.Bounce)
			}
		}
	}

	// The deferred address: a delay notice first, which changes nothing.
	waitFor(t, 60*time.Second, "delay notice for deferred@ recorded", bounce(deferred.email, "delayed"))
	t.Logf("delay notice recorded %v after the wave started", time.Since(start).Round(time.Second))
	if r := suppressed(d, deferred.email); r != "" {
		t.Errorf("%s suppressed (%s) after a mere delay notice", deferred.email, r)
	}
	if c := d.contact(deferred.email); c.Status != outreach.StatusActive {
		t.Errorf("%s: status %q after a delay notice; want %q", deferred.email, c.Status, outreach.StatusActive)
	}

	// Then, when Postfix gives up, the expiry bounce suppresses it.
	waitFor(t, 90*time.Second, "expiry bounce for deferred@ recorded", bounce(deferred.email, "failed"))
	t.Logf("expiry bounce recorded %v after the wave started", time.Since(start).Round(time.Second))
	waitFor(t, 10*time.Second, deferred.email+" suppressed", func() (bool, string) {
		return suppressed(d, deferred.email) != "", fmt.Sprintf("suppressions %+v", d.suppressions())
	})
	if c := d.contact(deferred.email); c.Status != outreach.StatusBounced {
		t.Errorf("%s: status %q after the expiry bounce; want %q", deferred.email, c.Status, outreach.StatusBounced)
	}

	if r := suppressed(d, ok.email); r != "" {
		t.Errorf("%s, who received the message, is suppressed (%s)", ok.email, r)
	}
	if n := len(d.suppressions()); n != 2 {
		t.Errorf("%d suppressions; want 2: %+v", n, d.suppressions())
	}
	if es := d.endorsements(); len(es) != 0 {
		t.Errorf("bounces produced endorsements: %+v", es)
	}
}

// suppressed returns the reason email is suppressed, or "".
func suppressed(d *daemon, email string) string {
	for _, sp := range d.suppressions() {
		if outreach.EmailKey(sp.Address) == outreach.EmailKey(email) {
			return sp.Reason
		}
	}
	return ""
}

// summary describes replies in a line each, for failure messages.
func summary(rs []outreach.Reply) string {
	var b strings.Builder
	for _, r := range rs {
		fmt.Fprintf(&b, "\n  %d %s from %s match=%s review=%v reason=%q", r.ID, r.Class, r.From, r.Match, r.Review, r.Reason)
		if r.Bounce != nil {
			fmt.Fprintf(&b, " bounce=%+v", *r.Bounce)
		}
	}
	return b.String()
}
