package e2e

import (
	"fmt"
	"os"
	"regexp"
	"testing"
	"time"

	"github.com/outreach-coalition/outreach/internal/outreach"
	"github.com/outreach-coalition/outreach/test/realmail"
)

// TestDovecotRestart (issue 7, scenario 6): Dovecot is stopped while the
// daemon watches the campaign mailbox, and started again. A reply sent
// before, one sent while it is down (Postfix defers it, then hands it
// over when Dovecot is back) and one sent after are each recorded once:
// the daemon reconnects and misses nothing. Runs on a private instance.
func TestDovecotRestart(t *testing.T) {
	realmail.Env(t)
	t.Parallel()
	s := realmail.StartInstance(t)
	id := runID(t)
	campaign := s.Address("campaign")
	partners := []contact{
		{s.Address("partner1"), "Ana Núñez", "Red de Derechos", "CO", "es"},
		{s.Address("partner2"), "Bob Ørn", "Rights Network", "KE", "en"},
		{s.Address("partner3"), "Chloé Duval", "Réseau des droits", "FR", "fr"},
	}
	d := startDaemon(t, s, setup{campaign: campaign})
	d.importContacts(partners)
	wave := d.addWave("Dovecot "+id, "endorsement-request")
	d.waitWave(wave, len(partners), time.Minute)
	var reqs []sent
	for _, p := range partners {
		reqs = append(reqs, waitSent(t, s, p.email, campaign, 1, 30*time.Second)[0])
	}
	answer := func(i int, text string) string {
		mid := fmt.Sprintf("r%d.%s@partners.example.test", i, id)
		reply{from: partners[i].email, to: reqs[i].ReplyTo, subject: "Re: " + reqs[i].Subject, inReplyTo: reqs[i].MessageID, messageID: mid, text: text}.send(t, s)
		return mid
	}
	recorded := func(mid string) func() (bool, string) {
		return func() (bool, string) {
			rs := d.replies()
			for _, r := range rs {
				if r.MessageID == mid {
					return true, ""
				}
			}
			return false, fmt.Sprintf("%d replies:%s", len(rs), summary(rs))
		}
	}

	before := answer(0, "Sí, respaldamos la carta conjunta.\n")
	waitFor(t, 30*time.Second, "reply before the restart recorded", recorded(before))

	s.StopDovecot(t)
	during := answer(1, "Sorry, we cannot endorse the letter.\n")
	// Postfix cannot hand it to Dovecot over LMTP, and defers it.
	waitPostfixLog(t, s, 30*time.Second, during, `status=deferred`)
	s.StartDovecot(t)
	after := answer(2, "Oui, nous appuyons la lettre commune.\n")

	waitFor(t, time.Minute, "reply sent while Dovecot was down recorded", recorded(during))
	waitFor(t, 30*time.Second, "reply sent after the restart recorded", recorded(after))
	rs := d.replies()
	seen := map[string]int{}
	for _, r := range rs {
		seen[r.MessageID]++
	}
	if len(rs) != 3 || seen[before] != 1 || seen[during] != 1 || seen[after] != 1 {
		t.Errorf("replies after the restart:%s\nwant each of %s, %s, %s once", summary(rs), before, during, after)
	}
	waitFor(t, 30*time.Second, "replies moved to Processed", func() (bool, string) {
		processed := s.Folder(t, campaign, "Processed")
		n := 0
		for _, mid := range []string{before, during, after} {
			if hasMessageID(processed, mid) {
				n++
			}
		}
		return n == 3, fmt.Sprintf("%d of 3 in Processed", n)
	})
}

// TestPostfixStoppedMidWave (issue 7, scenario 6): Postfix is stopped while
// a wave is going out. After outreach.pause_after failed connections the
// wave's run is paused by the system; when Postfix is back, the probe
// finds it, the run resumes by itself and the wave finishes: every
// recipient's mailbox holds the message, twice only where the log marks
// the delivery uncertain. Runs on a private instance.
func TestPostfixStoppedMidWave(t *testing.T) {
	realmail.Env(t)
	t.Parallel()
	s := realmail.StartInstance(t)
	id := runID(t)
	campaign := s.Address("campaign")
	var cs []contact
	for i := 1; i <= 20; i++ {
		cs = append(cs, contact{s.Address(fmt.Sprintf("partner%d", i)), fmt.Sprintf("Partner Nº %d", i), fmt.Sprintf("Organización %d", i), "MX", "es"})
	}
	// At 2 messages a second the wave takes 10 s: Postfix is down long
	// before it ends.
	d := startDaemon(t, s, setup{campaign: campaign, env: []string{"OUTREACH_SMTP_RATE=2"}})
	d.importContacts(cs)
	wave := d.addWave("Postfix "+id, "call-to-action")
	waitFor(t, time.Minute, "a fifth of the wave sent", func() (bool, string) {
		k := d.wave(wave).counts()
		return k.Sent >= len(cs)/5, fmt.Sprintf("%+v", k)
	})
	s.StopPostfix(t)
	var paused outreach.Send
	waitFor(t, time.Minute, "the wave paused by the system", func() (bool, string) {
		v := d.wave(wave)
		for _, r := range v.Runs {
			if r.State == outreach.SendPaused && r.Pause != nil && r.Pause.By == outreach.PausedBySystem {
				paused = r
				return true, ""
			}
		}
		return false, fmt.Sprintf("state %s, runs %+v", v.State, v.Runs)
	})
	t.Logf("paused by the system: %q with %+v", paused.Pause.Reason, paused.Counts)
	if paused.Counts.Pending() == 0 {
		t.Fatalf("the wave paused with nothing left to send: %+v", paused.Counts)
	}
	s.StartPostfix(t)
	v := d.waitWave(wave, len(cs), 2*time.Minute)
	if k := v.counts(); k.Sent != len(cs) {
		t.Fatalf("wave ended with %+v; want all %d sent", k, len(cs))
	}
	for _, r := range v.Runs {
		if r.State != outreach.SendDone {
			t.Errorf("run %d is %s after Postfix came back; want done", r.ID, r.State)
		}
	}
	uncertain := map[string]bool{}
	for _, a := range d.attempts(wave, outreach.DeliveryUncertain) {
		uncertain[outreach.EmailKey(a.Email)] = true
	}
	for _, c := range cs {
		got := waitSent(t, s, c.email, campaign, 1, 30*time.Second)
		if len(got) > 1 && !uncertain[outreach.EmailKey(c.email)] {
			t.Errorf("%s: %d copies, but the log does not mark its delivery uncertain", c.email, len(got))
		}
	}
}

// waitPostfixLog waits until Postfix logs, for the message with Message-ID
// mid, a line matching pattern.
func waitPostfixLog(t *testing.T, s *realmail.Servers, timeout time.Duration, mid, pattern string) {
	t.Helper()
	qidRE := regexp.MustCompile(`: ([0-9A-F]+): message-id=<` + regexp.QuoteMeta(mid) + `>`)
	waitFor(t, timeout, "Postfix log for "+mid+": "+pattern, func() (bool, string) {
		log, err := os.ReadFile(s.PostfixLog)
		if err != nil {
			return false, err.Error()
		}
		m := qidRE.FindSubmatch(log)
		if m == nil {
			return false, "message not queued"
		}
		re := regexp.MustCompile(`: ` + string(m[1]) + `: .*` + pattern)
		return re.Match(log), "queue id " + string(m[1])
	})
}
