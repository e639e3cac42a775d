package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/outreach-coalition/outreach/internal/outreach"
	"github.com/outreach-coalition/outreach/test/realmail"
)

// TestRepliesOverIMAP (issue 7, scenario 2): partners answer an
// endorsement request through Postfix's MX port, to their reply address
// and with In-Reply-To, as a mail client would: one endorses in Spanish,
// one declines, one asks to stop, one writes HTML only and says nothing
// clear. The daemon reads them from Dovecot over IMAP with STARTTLS and
// records exactly one confirmed endorsement, one decline, one unsubscribe
// (the address suppressed) and one item for review; the four messages end
// up in the Processed folder and no longer in the INBOX.
func TestRepliesOverIMAP(t *testing.T) {
	s := realmail.Env(t)
	t.Parallel()
	id := runID(t)
	campaign := s.AddUser(t, "replies-"+id)
	partners := []contact{
		{s.Address("partner6"), "María José Ibáñez", "Fundación Derechos y Dignidad", "CO", "es"},
		{s.Address("partner7"), "John Smith", "Rights Watch Kenya", "KE", "en"},
		{s.Address("partner8"), "Hélène Dupré", "Collectif pour les droits sociaux", "FR", "fr"},
		{s.Address("partner9"), "Ana Gonçalves", "Instituto Direitos Já", "BR", "pt"},
	}
	d := startDaemon(t, s, setup{campaign: campaign})
	// The daemon logs in first (this test reads the campaign mailbox only
	// at the end): over imap:// it must have used STARTTLS.
	login := realmail.WaitLog(t, s.DovecotLog, 30*time.Second, "imap-login: Info: Login: user=<"+campaign+">")
	if !strings.Contains(login, ", TLS,") {
		t.Errorf("the daemon logged in to Dovecot without TLS: %s", login)
	}
	d.importContacts(partners)
	wave := d.addWave("Replies "+id, "endorsement-request")
	d.waitWave(wave, len(partners), time.Minute)

	requests := map[string]sent{}
	for _, p := range partners {
		got := waitSent(t, s, p.email, campaign, 1, 30*time.Second)
		if len(got) != 1 {
			t.Fatalf("%s received %d requests; want 1", p.email, len(got))
		}
		requests[p.email] = got[0]
	}
	answer := func(p contact, subject, text, html string) string {
		req := requests[p.email]
		mid := fmt.Sprintf("%s.%s@partners.example.test", p.lang, id)
		reply{from: p.email, to: req.ReplyTo, subject: subject, inReplyTo: req.MessageID, text: text, html: html, messageID: mid}.send(t, s)
		return mid
	}
	endorse := answer(partners[0], "Re: "+requests[partners[0].email].Subject,
		"Sí, con mucho gusto respaldamos la carta conjunta. Pueden incluir a nuestra organización entre las firmantes.\n\nSaludos cordiales,\nMaría José\n", "")
	decline := answer(partners[1], "Re: "+requests[partners[1].email].Subject,
		"Thank you for asking. Unfortunately we cannot endorse the letter at this time.\n\nBest regards,\nJohn\n", "")
	stop := answer(partners[2], "Re: "+requests[partners[2].email].Subject,
		"Merci de ne plus nous écrire. Veuillez nous retirer de votre liste de diffusion.\n", "")
	unclear := answer(partners[3], "Re: "+requests[partners[3].email].Subject, "",
		"<html><body><p>Obrigado pela mensagem.</p><p>Vamos discutir o assunto com a nossa dire&ccedil;&atilde;o e voltaremos a falar em breve.</p></body></html>")
	mids := []string{endorse, decline, stop, unclear}

	var rs []outreach.Reply
	waitFor(t, time.Minute, "four replies recorded", func() (bool, string) {
		rs = d.replies()
		return len(rs) >= len(mids), fmt.Sprintf("%d replies", len(rs))
	})
	byMID := map[string]outreach.Reply{}
	for _, r := range rs {
		byMID[r.MessageID] = r
	}
	if len(rs) != len(mids) || len(byMID) != len(mids) {
		t.Errorf("%d replies recorded (%d Message-IDs); want %d", len(rs), len(byMID), len(mids))
	}
	want := []struct {
		mid, class string
		review     bool
		from       string
	}{
		{endorse, outreach.ClassEndorse, false, partners[0].email},
		{decline, outreach.ClassDecline, false, partners[1].email},
		{stop, outreach.ClassUnsubscribe, false, partners[2].email},
		{unclear, "", true, partners[3].email},
	}
	for _, w := range want {
		r, ok := byMID[w.mid]
		if !ok {
			t.Errorf("reply %s (from %s) not recorded", w.mid, w.from)
			continue
		}
		if r.Match != outreach.MatchToken {
			t.Errorf("reply from %s matched by %q; want by token", w.from, r.Match)
		}
		if w.class != "" && r.Class != w.class {
			t.Errorf("reply from %s classified %q (%s); want %q", w.from, r.Class, r.Reason, w.class)
		}
		if r.Review != w.review {
			t.Errorf("reply from %s (class %s, %s): review %v; want %v", w.from, r.Class, r.Reason, r.Review, w.review)
		}
		if w.review && r.Class == outreach.ClassEndorse {
			t.Errorf("the unclear HTML reply was classified as an endorsement: %+v", r)
		}
	}

	es := d.endorsements()
	if len(es) != 1 {
		t.Fatalf("%d endorsements recorded; want exactly 1: %+v", len(es), es)
	}
	if e := es[0]; e.Email != partners[0].email || e.State != outreach.EndorsementConfirmed || e.MessageID != endorse {
		t.Errorf("endorsement %+v; want %s confirmed by reply %s", e, partners[0].email, endorse)
	}
	if e := es[0]; e.Organization != partners[0].org || e.PrintName != partners[0].org {
		t.Errorf("endorsement organisation %q, print name %q; want %q", e.Organization, e.PrintName, partners[0].org)
	}
	suppressed := map[string]string{}
	for _, sp := range d.suppressions() {
		suppressed[outreach.EmailKey(sp.Address)] = sp.Reason
	}
	if len(suppressed) != 1 || suppressed[outreach.EmailKey(partners[2].email)] == "" {
		t.Errorf("suppressions %v; want only %s (unsubscribed)", suppressed, partners[2].email)
	}
	if c := d.contact(partners[2].email); c.Status != outreach.StatusUnsubscribed {
		t.Errorf("%s has status %q after asking to stop; want %q", c.Email, c.Status, outreach.StatusUnsubscribed)
	}

	// Processed mail is moved, never deleted: all four are in Processed,
	// none is left in the INBOX.
	waitFor(t, 30*time.Second, "replies moved to Processed", func() (bool, string) {
		processed := s.Folder(t, campaign, "Processed")
		inbox := s.Mailbox(t, campaign)
		missing := 0
		for _, mid := range mids {
			if !hasMessageID(processed, mid) || hasMessageID(inbox, mid) {
				missing++
			}
		}
		return missing == 0, fmt.Sprintf("%d of %d not (only) in Processed; INBOX holds %d, Processed %d", missing, len(mids), len(inbox), len(processed))
	})
}
