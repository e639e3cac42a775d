package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/outreach-coalition/outreach/internal/outreach"
	"github.com/outreach-coalition/outreach/test/realmail"
)

// crashRecipients is the size of the crash test's wave, one fresh mailbox
// each; crashRate its messages per second, slow enough to kill mid-way.
const (
	crashRecipients = 200
	crashRate       = "10"
)

// TestCrashMidWave (issue 7, scenario 5): the daemon is killed with
// SIGKILL twice while a wave is going out through Postfix, and restarted
// each time. Counted over IMAP in every recipient's own mailbox, no message
// is missing, and every recipient with more than one copy is one whose
// delivery the log marks uncertain (it was in flight at a kill).
func TestCrashMidWave(t *testing.T) {
	s := realmail.Env(t)
	t.Parallel()
	id := runID(t)
	campaign := s.AddUser(t, "crash-"+id)
	var cs []contact
	for i := range crashRecipients {
		email := s.AddUser(t, fmt.Sprintf("k%s-%03d", id, i))
		cs = append(cs, contact{email, fmt.Sprintf("Partenaire n°%d", i), fmt.Sprintf("Organização %d", i), "BR", []string{"en", "es", "fr", "pt"}[i%4]})
	}
	d := startDaemon(t, s, setup{campaign: campaign, env: []string{"OUTREACH_SMTP_RATE=" + crashRate}})
	d.importContacts(cs)
	wave := d.addWave("Crash "+id, "call-to-action")

	for _, share := range []int{25, 60} {
		at := crashRecipients * share / 100
		waitFor(t, time.Minute, fmt.Sprintf("%d%% of the wave sent", share), func() (bool, string) {
			k := d.wave(wave).counts()
			return k.Sent >= at, fmt.Sprintf("%+v", k)
		})
		d.kill9()
		t.Logf("killed at %d%%", share)
		d.start()
	}
	v := d.waitWave(wave, crashRecipients, 2*time.Minute)
	if k := v.counts(); k.Sent != crashRecipients {
		t.Fatalf("wave ended with %+v; want all %d sent", k, crashRecipients)
	}
	uncertain := map[string]bool{}
	for _, a := range d.attempts(wave, outreach.DeliveryUncertain) {
		uncertain[outreach.EmailKey(a.Email)] = true
	}
	t.Logf("the log marks %d deliveries uncertain", len(uncertain))

	// Postfix may still be handing the last messages to Dovecot: wait until
	// every mailbox has its message, then count.
	counts := make([]int, len(cs))
	waitFor(t, time.Minute, "a message in every mailbox", func() (bool, string) {
		missing := 0
		for i, c := range cs {
			if counts[i] == 0 {
				counts[i] = len(fromCampaign(t, s.Mailbox(t, c.email), campaign))
			}
			if counts[i] == 0 {
				missing++
			}
		}
		return missing == 0, fmt.Sprintf("%d mailboxes without the message", missing)
	})
	for i, c := range cs {
		counts[i] = len(fromCampaign(t, s.Mailbox(t, c.email), campaign))
	}
	dups := 0
	for i, c := range cs {
		switch n := counts[i]; {
		case n == 0:
			t.Errorf("%s: no message", c.email)
		case n > 1:
			dups += n - 1
			if !uncertain[outreach.EmailKey(c.email)] {
				t.Errorf("%s: %d copies, but the log does not mark its delivery uncertain", c.email, n)
			}
		}
	}
	t.Logf("%d recipients, %d duplicates, %d uncertain", len(cs), dups, len(uncertain))
	if dups > len(uncertain) {
		t.Errorf("%d duplicates; at most the %d uncertain deliveries may be doubled", dups, len(uncertain))
	}
}
