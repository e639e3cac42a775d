package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/outreach-coalition/outreach/internal/outreach"
	"github.com/outreach-coalition/outreach/internal/service"
	"github.com/outreach-coalition/outreach/internal/store"
)

const letterContacts = `email,name,organization,kind,country
pm@gov.my.test,Prime Minister,,head_of_state,MY
fm@gov.my.test,,Ministry of Foreign Affairs,ministry,MY
suhakam@my.test,,SUHAKAM,nhri,MY
mp@parl.my.test,A Member,,legislator,MY
president@gov.ph.test,The President,,head_of_state,PH
a1@alpha.test,Aida,Alpha Rights Network,partner,MY
a2@alpha.test,Amin,alpha  rights NETWORK,partner,MY
b@beta.test,Bala,Beta Legal Aid,partner,MY
c@gamma.test,Chen,Gamma Union,partner,MY
d@delta.test,Dina,Delta Housing,partner,MY
p@ph.test,Pia,PH Alliance,partner,PH
`

// withStore stops the daemon, lets fn change the store directly (as the
// inbox would), and starts the daemon again.
func withStore(t *testing.T, d *daemonT, fn func(st *store.Store)) *daemonT {
	t.Helper()
	d.stop()
	st, err := store.Open(d.data, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	fn(st)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	return startDaemon(t, d.data)
}

// endorseByReply records an endorsing reply of a contact, as the inbox does.
func endorseByReply(t *testing.T, st *store.Store, key, email, state string) *outreach.Endorsement {
	t.Helper()
	ctx := context.Background()
	c, err := st.Contact(ctx, email)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := st.RecordReply(ctx, &store.Incoming{Key: key,
		Reply: outreach.Reply{MessageID: key, From: c.Email, Class: outreach.ClassEndorse, ContactID: c.ID, CampaignID: 1,
			Reason: "endorse", Review: state == outreach.EndorsementPending},
		Endorse: &outreach.Endorsement{CampaignID: 1, ContactID: c.ID, Email: c.Email, Organization: c.Organization,
			PrintName: c.Organization, Country: c.Country, State: state, Evidence: "we endorse the letter", Source: "reply"}})
	if err != nil {
		t.Fatal(err)
	}
	return rec.Endorsement
}

// waitMail polls the daemon's captured mail until want messages are there.
func (d *daemonT) waitMail(want int) map[string][]parsed {
	d.t.Helper()
	for deadline := time.Now().Add(20 * time.Second); ; {
		got := capturedMail(d.t, d.api())
		n := 0
		for _, ms := range got {
			n += len(ms)
		}
		if n >= want {
			return got
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("%d messages captured; want %d", n, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (d *daemonT) letter() service.LetterView {
	d.t.Helper()
	var v service.LetterView
	if err := json.Unmarshal([]byte(d.mustCLI("letters", "show", "--json")), &v); err != nil {
		d.t.Fatal(err)
	}
	return v
}

func letterCountryOf(t *testing.T, v service.LetterView, country string) service.LetterCountryView {
	t.Helper()
	for _, c := range v.Countries {
		if c.Country == country {
			return c
		}
	}
	t.Fatalf("letter has no %s: %+v", country, v.Countries)
	return service.LetterCountryView{}
}

// The acceptance tests, end to end through the CLI, the API, the
// outbox and the development mail server.
func TestLettersAcceptance(t *testing.T) {
	d := startDaemon(t, "")
	if out, errs, err := d.cliIn(letterContacts, "contacts", "import", "-"); err != nil || !strings.Contains(out, "created 11") {
		t.Fatalf("contacts import: %q %q %v", out, errs, err)
	}
	var delta *outreach.Endorsement
	d = withStore(t, d, func(st *store.Store) {
		// MY: Alpha confirmed twice through two replies (from two of its
		// people), Beta pending review, Gamma rejected, Delta confirmed.
		endorseByReply(t, st, "r1@alpha.test", "a1@alpha.test", outreach.EndorsementConfirmed)
		endorseByReply(t, st, "r2@alpha.test", "a2@alpha.test", outreach.EndorsementConfirmed)
		endorseByReply(t, st, "r3@alpha.test", "a1@alpha.test", outreach.EndorsementConfirmed)
		endorseByReply(t, st, "r4@beta.test", "b@beta.test", outreach.EndorsementPending)
		gamma := endorseByReply(t, st, "r5@gamma.test", "c@gamma.test", outreach.EndorsementPending)
		if _, _, err := st.SetEndorsementState(context.Background(), gamma.ID, outreach.EndorsementRejected, "admin", "not an endorsement", nil); err != nil {
			t.Fatal(err)
		}
		delta = endorseByReply(t, st, "r6@delta.test", "d@delta.test", outreach.EndorsementConfirmed)
		endorseByReply(t, st, "r7@ph.test", "p@ph.test", outreach.EndorsementConfirmed)
	})

	if out := d.mustCLI("letters", "add", "--template", "letter", "--targets", "kind in (head_of_state, ministry, nhri)"); !strings.Contains(out, "letter 1: template letter") {
		t.Fatalf("letters add said %q", out)
	}
	out := d.mustCLI("letters", "preview", "--country", "MY")
	if !strings.Contains(out, "roster (2):\n  Alpha Rights Network\n  Delta Housing\n") || strings.Contains(out, "Beta") || strings.Contains(out, "Gamma") ||
		!strings.Contains(out, "targets (3):") || strings.Contains(out, "mp@parl.my.test") || !strings.Contains(out, "Subject: Malaysia: joint letter") {
		t.Fatalf("preview of MY:\n%s", out)
	}

	// Acceptance 2: --all --min-endorsements 2 skips PH and says so.
	out = d.mustCLI("letters", "send", "--all", "--min-endorsements", "2")
	if !strings.Contains(out, "sent MY: send ") || !strings.Contains(out, "to 3 targets, roster of 2: Alpha Rights Network; Delta Housing") ||
		!strings.Contains(out, "skipped PH: below the threshold: 1 confirmed organisations, 2 needed") {
		t.Fatalf("send --all --min-endorsements 2 said:\n%s", out)
	}

	// Acceptance 1: the MY letter lists the confirmed organisations once
	// each and goes to MY's targets only.
	mail := d.waitMail(3)
	if got := slices.Sorted(maps.Keys(mail)); !slices.Equal(got, []string{"fm@gov.my.test", "pm@gov.my.test", "suhakam@my.test"}) {
		t.Errorf("letters went to %q; want MY's three targets only", got)
	}
	for to, ms := range mail {
		m := ms[0]
		if n := strings.Count(m.text, "Alpha Rights Network"); n != 1 || strings.Count(m.text, "Delta Housing") != 1 {
			t.Errorf("letter to %s names Alpha %d times:\n%s", to, n, m.text)
		}
		if strings.Contains(m.text, "Beta") || strings.Contains(m.text, "Gamma") || strings.Contains(m.text, "PH Alliance") {
			t.Errorf("letter to %s lists a pending, rejected or foreign endorser:\n%s", to, m.text)
		}
		if m.header.Get("List-Unsubscribe") != "" || strings.Contains(m.text, "unsubscribe") {
			t.Errorf("letter to %s carries list headers or an unsubscribe link: %v", to, m.header)
		}
	}

	// Acceptance 3: a second send sends nothing and says why; --resend
	// sends and is audited.
	_, errOut, err := d.cli("letters", "send", "--country", "MY")
	if err == nil || !strings.Contains(err.Error(), "already sent") || !strings.Contains(err.Error(), "--resend") {
		t.Fatalf("second send: err %v, stderr %q; want it refused as already sent", err, errOut)
	}
	if my := letterCountryOf(t, d.letter(), "MY"); len(my.Sends) != 1 {
		t.Fatalf("MY has %d sends after a refused second send; want 1", len(my.Sends))
	}
	if out := d.mustCLI("letters", "send", "--country", "MY", "--resend"); !strings.Contains(out, "resent MY") {
		t.Fatalf("resend said %q", out)
	}
	d.waitMail(6)
	if out := d.mustCLI("audit"); !strings.Contains(out, "letter.resend") || !regexp.MustCompile(`admin\s+letter\.resend\s+letter 1 \(MY\)`).MatchString(out) {
		t.Errorf("audit trail lacks the resend by admin:\n%s", out)
	}

	csvOut := d.mustCLI("letters", "export", "--country", "MY", "--format", "csv")
	rows, err := csv.NewReader(strings.NewReader(csvOut)).ReadAll()
	if err != nil || len(rows) != 3 || rows[1][0] != "Alpha Rights Network" || rows[2][0] != "Delta Housing" {
		t.Errorf("CSV export = %q, %v", rows, err)
	}
	if md := d.mustCLI("letters", "export", "--country", "MY", "--format", "md"); !strings.HasPrefix(md, "# Malaysia: joint letter") || !strings.Contains(md, "\n- Delta Housing\n") {
		t.Errorf("Markdown export:\n%s", md)
	}

	// Acceptance 4: a withdrawal after sending leaves the frozen roster
	// alone and shows against the letter.
	sent := letterCountryOf(t, d.letter(), "MY").Sends
	d = withStore(t, d, func(st *store.Store) {
		if _, _, err := st.SetEndorsementState(context.Background(), delta.ID, outreach.EndorsementWithdrawn, "admin", "changed their mind", nil); err != nil {
			t.Fatal(err)
		}
		for _, s := range sent {
			ds, err := st.SendDeliveries(context.Background(), s.SendID)
			if err != nil || len(ds) != 3 {
				t.Fatalf("send %d has %d deliveries, %v", s.SendID, len(ds), err)
			}
			for _, dl := range ds {
				if !slices.Equal(dl.Roster, []string{"Alpha Rights Network", "Delta Housing"}) {
					t.Errorf("delivery to %s keeps roster %q; want the frozen one", dl.Email, dl.Roster)
				}
			}
		}
	})
	if out := d.mustCLI("letters", "list"); !strings.Contains(out, "MY: withdrawn after sending: Delta Housing") {
		t.Errorf("letters list does not show the withdrawal:\n%s", out)
	}
	my := letterCountryOf(t, d.letter(), "MY")
	if !slices.Equal(my.Sends[1].Roster, []string{"Alpha Rights Network", "Delta Housing"}) || !slices.Equal(rosterOf(my.Roster), []string{"Alpha Rights Network"}) {
		t.Errorf("after the withdrawal MY = %+v; want the sent roster unchanged and Delta off the current one", my)
	}
	if out := d.mustCLI("letters", "show"); !strings.Contains(out, "roster as sent: Alpha Rights Network; Delta Housing") || !strings.Contains(out, "withdrawn after sending: Delta Housing") {
		t.Errorf("letters show:\n%s", out)
	}
}

func rosterOf(r []service.RosterEntry) []string {
	var out []string
	for _, e := range r {
		out = append(out, e.Name)
	}
	return out
}
