package inbox

import (
	"context"
	"strings"
	"testing"

	"github.com/outreach-coalition/outreach/internal/outbox"
	"github.com/outreach-coalition/outreach/internal/outreach"
	"github.com/outreach-coalition/outreach/internal/store"
)

const endorse = "We endorse the letter.\n\nBest regards,\nAna"

func partners(f *fixture) {
	f.contacts(
		outreach.Contact{Email: "ana@hr-kenya.test", Organization: "HR Kenya", Country: "KE", Kind: outreach.KindPartner},
		outreach.Contact{Email: "luis@derechos.test", Organization: "Derechos Ya", Country: "CO", Kind: outreach.KindPartner, Language: "es"},
		outreach.Contact{Email: "pm@gov.test", Organization: "Office of the President", Country: "KE", Kind: outreach.KindHeadOfState},
		outreach.Contact{Email: "noname@solo.test", Country: "KE", Kind: outreach.KindPartner},
	)
}

func TestMatching(t *testing.T) {
	f := newFixture(t, outreach.Campaign{})
	partners(f)
	req := f.send("endorsement-request", "ana@hr-kenya.test", "luis@derechos.test")
	ana, luis := req["ana@hr-kenya.test"], req["luis@derechos.test"]
	tokenAddr := outbox.ReplyAddress(replyBase, ana.Token)
	tests := []struct {
		name     string
		m        msg
		how      string
		delivery uint64
		contact  string
	}{
		{"token in To", msg{from: ana.Email, to: tokenAddr}, outreach.MatchToken, ana.ID, ana.Email},
		{"token in To, upper case", msg{from: ana.Email, to: strings.ToUpper(tokenAddr)}, outreach.MatchToken, ana.ID, ana.Email},
		{"token in Cc", msg{from: ana.Email, to: "someone@else.test", cc: tokenAddr}, outreach.MatchToken, ana.ID, ana.Email},
		{"token in Delivered-To", msg{from: ana.Email, to: replyBase, headers: []string{"Delivered-To: " + tokenAddr}}, outreach.MatchToken, ana.ID, ana.Email},
		{"token wins over In-Reply-To", msg{from: ana.Email, to: tokenAddr, inReplyTo: luis.MessageID}, outreach.MatchToken, ana.ID, ana.Email},
		{"In-Reply-To", msg{from: luis.Email, to: replyBase, inReplyTo: luis.MessageID}, outreach.MatchMessageID, luis.ID, luis.Email},
		{"References", msg{from: luis.Email, to: replyBase, references: "<x@y.test> <" + luis.MessageID + "> <z@y.test>"}, outreach.MatchMessageID, luis.ID, luis.Email},
		{"forged token", msg{from: ana.Email, to: "campaign+" + ana.Token[:len(ana.Token)-1] + "a@coalition.test"}, outreach.MatchSender, ana.ID, ana.Email},
		{"sender only", msg{from: "Luis <LUIS@derechos.test>", to: replyBase}, outreach.MatchSender, luis.ID, luis.Email},
		{"nothing", msg{from: "stranger@nowhere.test", to: replyBase}, outreach.MatchNone, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.m.body = "Thanks for your message, we will read it."
			rec := f.process(tt.m.raw())
			r := rec.Reply
			var contact string
			if r.ContactID != 0 {
				c, _ := f.st.ContactByID(context.Background(), r.ContactID)
				contact = c.Email
			}
			if r.Match != tt.how || r.DeliveryID != tt.delivery || contact != tt.contact {
				t.Errorf("match = %s, delivery %d, contact %q; want %s, %d, %q", r.Match, r.DeliveryID, contact, tt.how, tt.delivery, tt.contact)
			}
			if tt.how == outreach.MatchNone && (!r.Review || !strings.Contains(r.Reason, "matched to no")) {
				t.Errorf("unmatched reply: review %v, reason %q; want it kept for review", r.Review, r.Reason)
			}
			if tt.how != outreach.MatchNone && r.CampaignID != f.camp.ID {
				t.Errorf("campaign = %d; want %d", r.CampaignID, f.camp.ID)
			}
		})
	}
}

func TestAutoConfirmOnlyWhenEverythingHolds(t *testing.T) {
	type want struct {
		endorsement string // "": none
		review      bool
		why         string
	}
	tests := []struct {
		name string
		camp outreach.Campaign
		// build returns the message, given the deliveries of each template
		build func(f *fixture) msg
		want  want
	}{
		{"sure reply to a request by token", outreach.Campaign{}, func(f *fixture) msg {
			return answer(f.send("endorsement-request", "ana@hr-kenya.test")["ana@hr-kenya.test"], endorse)
		}, want{outreach.EndorsementConfirmed, false, ""}},
		{"sure reply to a reminder by Message-ID", outreach.Campaign{}, func(f *fixture) msg {
			d := f.send("reminder", "luis@derechos.test")["luis@derechos.test"]
			return msg{from: d.Email, to: replyBase, inReplyTo: d.MessageID, body: "Nos sumamos a la carta.\n\nSaludos,\nLuis"}
		}, want{outreach.EndorsementConfirmed, false, ""}},
		{"reply to a call to action", outreach.Campaign{}, func(f *fixture) msg {
			return answer(f.send("call-to-action", "ana@hr-kenya.test")["ana@hr-kenya.test"], endorse)
		}, want{outreach.EndorsementPending, true, `a reply to "call-to-action"`}},
		{"reply to a thank-you", outreach.Campaign{}, func(f *fixture) msg {
			return answer(f.send("thank-you", "ana@hr-kenya.test")["ana@hr-kenya.test"], endorse)
		}, want{outreach.EndorsementPending, true, "not to an endorsement request"}},
		{"matched by sender only", outreach.Campaign{}, func(f *fixture) msg {
			f.send("endorsement-request", "ana@hr-kenya.test")
			return msg{from: "ana@hr-kenya.test", to: replyBase, body: endorse}
		}, want{outreach.EndorsementPending, true, "sender's address only"}},
		{"reply from a target", outreach.Campaign{}, func(f *fixture) msg {
			return answer(f.send("endorsement-request", "pm@gov.test")["pm@gov.test"], endorse)
		}, want{outreach.EndorsementPending, true, "head_of_state, not a partner"}},
		{"campaign requires review", outreach.Campaign{RequireReview: true}, func(f *fixture) msg {
			return answer(f.send("endorsement-request", "ana@hr-kenya.test")["ana@hr-kenya.test"], endorse)
		}, want{outreach.EndorsementPending, true, "requires a person"}},
		{"sent from another domain", outreach.Campaign{}, func(f *fixture) msg {
			m := answer(f.send("endorsement-request", "ana@hr-kenya.test")["ana@hr-kenya.test"], endorse)
			m.from = "someone@gmail.test"
			return m
		}, want{outreach.EndorsementPending, true, "not from the address"}},
		{"colleague at the same domain", outreach.Campaign{}, func(f *fixture) msg {
			m := answer(f.send("endorsement-request", "ana@hr-kenya.test")["ana@hr-kenya.test"], endorse)
			m.from = "director@hr-kenya.test"
			return m
		}, want{outreach.EndorsementConfirmed, false, ""}},
		{"another address at a public mail domain", outreach.Campaign{}, func(f *fixture) msg {
			f.contacts(outreach.Contact{Email: "kenyarights@gmail.com", Organization: "Kenya Rights Group", Country: "KE", Kind: outreach.KindPartner})
			m := answer(f.send("endorsement-request", "kenyarights@gmail.com")["kenyarights@gmail.com"], endorse)
			m.from = "anyone.at.all@gmail.com"
			return m
		}, want{outreach.EndorsementPending, true, "not from the address"}},
		{"another address at a public mail domain's national site", outreach.Campaign{}, func(f *fixture) msg {
			f.contacts(outreach.Contact{Email: "derechos@yahoo.com.ar", Organization: "Derechos AR", Country: "AR", Kind: outreach.KindPartner})
			m := answer(f.send("endorsement-request", "derechos@yahoo.com.ar")["derechos@yahoo.com.ar"], endorse)
			m.from = "impostor@yahoo.com.ar"
			return m
		}, want{outreach.EndorsementPending, true, "not from the address"}},
		{"the very address at a public mail domain", outreach.Campaign{}, func(f *fixture) msg {
			f.contacts(outreach.Contact{Email: "kenyarights@gmail.com", Organization: "Kenya Rights Group", Country: "KE", Kind: outreach.KindPartner})
			m := answer(f.send("endorsement-request", "kenyarights@gmail.com")["kenyarights@gmail.com"], endorse)
			m.from = "Kenya Rights <KenyaRights@Gmail.com>"
			return m
		}, want{outreach.EndorsementConfirmed, false, ""}},
		{"asks for another name", outreach.Campaign{}, func(f *fixture) msg {
			return answer(f.send("endorsement-request", "ana@hr-kenya.test")["ana@hr-kenya.test"], "We endorse the letter. Please list us as Kenya Human Rights Network.")
		}, want{outreach.EndorsementPending, true, `listed as "Kenya Human Rights Network"`}},
		{"no name to print", outreach.Campaign{}, func(f *fixture) msg {
			return answer(f.send("endorsement-request", "noname@solo.test")["noname@solo.test"], endorse)
		}, want{outreach.EndorsementPending, true, "no organisation or name"}},
		{"classifier not sure", outreach.Campaign{}, func(f *fixture) msg {
			return answer(f.send("endorsement-request", "ana@hr-kenya.test")["ana@hr-kenya.test"], "Count us in, although we have a question about the deadline?")
		}, want{"", true, ""}},
		{"conditional", outreach.Campaign{}, func(f *fixture) msg {
			return answer(f.send("endorsement-request", "ana@hr-kenya.test")["ana@hr-kenya.test"], "We would endorse if the letter mentioned housing.")
		}, want{"", true, "conditional"}},
		{"auto-reply that says endorse", outreach.Campaign{}, func(f *fixture) msg {
			m := answer(f.send("endorsement-request", "ana@hr-kenya.test")["ana@hr-kenya.test"], "I am out of the office. About your request to endorse: we endorse the letter.")
			m.headers = []string{"Auto-Submitted: auto-replied"}
			return m
		}, want{"", false, "automated"}},
		{"quoted request only", outreach.Campaign{}, func(f *fixture) msg {
			return answer(f.send("endorsement-request", "ana@hr-kenya.test")["ana@hr-kenya.test"],
				"\nOn Mon, 2 Mar 2026, Campaign wrote:\n> Reply YES to endorse the letter.\n> We endorse it ourselves.\n")
		}, want{"", true, ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, tt.camp)
			partners(f)
			rec := f.process(tt.build(f).raw())
			es := f.endorsements()
			switch {
			case tt.want.endorsement == "" && len(es) != 0:
				t.Fatalf("endorsements = %+v; want none (reply %+v)", es, rec.Reply)
			case tt.want.endorsement != "" && (len(es) != 1 || es[0].State != tt.want.endorsement):
				t.Fatalf("endorsements = %+v; want one %s (reply %+v)", es, tt.want.endorsement, rec.Reply)
			}
			if rec.Reply.Review != tt.want.review {
				t.Errorf("Review = %v (%s); want %v", rec.Reply.Review, rec.Reply.Reason, tt.want.review)
			}
			if !strings.Contains(rec.Reply.Reason, tt.want.why) {
				t.Errorf("Reason = %q; want it to contain %q", rec.Reply.Reason, tt.want.why)
			}
			if len(es) == 1 {
				e := es[0]
				if e.ReplyID != rec.Reply.ID || e.MessageID != rec.Reply.MessageID || e.Source != "reply" || e.Evidence == "" || e.CampaignID != f.camp.ID {
					t.Errorf("endorsement = %+v; want the reply as evidence", e)
				}
				if e.State == outreach.EndorsementConfirmed {
					c, _ := f.st.ContactByID(context.Background(), e.ContactID)
					if e.PrintName != c.Organization || e.Organization != c.Organization || e.Country != c.Country {
						t.Errorf("endorsement = %+v; want the organisation's name and country", e)
					}
				}
			}
		})
	}
}

func TestPrintNameFromReplyWhenConfirmedByAPerson(t *testing.T) {
	f := newFixture(t, outreach.Campaign{})
	partners(f)
	d := f.send("endorsement-request", "ana@hr-kenya.test")["ana@hr-kenya.test"]
	f.process(answer(d, "We endorse the letter. Please list us as Kenya Human Rights Network.").raw())
	es := f.endorsements()
	if len(es) != 1 || es[0].PrintName != "Kenya Human Rights Network" {
		t.Errorf("endorsements = %+v; want the name the reply asks for", es)
	}
}

func TestNothingCountedTwice(t *testing.T) {
	f := newFixture(t, outreach.Campaign{})
	partners(f)
	d := f.send("endorsement-request", "ana@hr-kenya.test")["ana@hr-kenya.test"]
	raw := answer(d, endorse).raw()
	first := f.process(raw)
	again := f.process(raw)
	if !again.Duplicate || again.Reply.ID != first.Reply.ID {
		t.Errorf("same message again = %+v; want a duplicate of reply %d", again, first.Reply.ID)
	}
	second := f.process(answer(d, "Yes, we endorse the joint letter.\n\nAna").raw())
	if second.Change != store.EndorsementAttached || second.Endorsement.ID != first.Endorsement.ID {
		t.Errorf("second endorsing reply = %+v; want it attached to endorsement %d", second, first.Endorsement.ID)
	}
	if es := f.endorsements(); len(es) != 1 {
		t.Errorf("%d endorsements; want 1", len(es))
	}
	if rs := f.replies(); len(rs) != 2 {
		t.Errorf("%d replies; want 2", len(rs))
	}
	// Without a Message-ID, the raw bytes identify a message.
	noID := answer(d, "Yes, we endorse.")
	noID.id = "-"
	a, b := f.process(noID.raw()), f.process(noID.raw())
	if a.Duplicate || !b.Duplicate {
		t.Errorf("message without Message-ID: duplicates %v, %v; want false, true", a.Duplicate, b.Duplicate)
	}
}

func TestUnsubscribeSuppressesAtOnce(t *testing.T) {
	f := newFixture(t, outreach.Campaign{})
	partners(f)
	d := f.send("endorsement-request", "ana@hr-kenya.test")["ana@hr-kenya.test"]
	m := answer(d, "whatever the body says, even we endorse")
	m.subject = "unsubscribe"
	m.from = "other@elsewhere.test" // the delivery's address is the one suppressed
	rec := f.process(m.raw())
	if rec.Reply.Class != outreach.ClassUnsubscribe || len(rec.Suppressed) != 1 {
		t.Fatalf("reply = %+v, suppressed %v; want an unsubscribe suppressing the address", rec.Reply, rec.Suppressed)
	}
	ctx := context.Background()
	if ok, _ := f.st.Suppressed(ctx, "ana@hr-kenya.test"); !ok {
		t.Error("ana@hr-kenya.test not suppressed")
	}
	if c := f.contact("ana@hr-kenya.test"); c.Status != outreach.StatusUnsubscribed {
		t.Errorf("status = %s; want unsubscribed", c.Status)
	}
	if len(f.endorsements()) != 0 {
		t.Error("an unsubscribe recorded an endorsement")
	}
}

// Mail that is not matched by a reply token or a Message-ID can be sent by
// anyone: it never suppresses an address by itself, it goes to review.
func TestSpoofedMailSuppressesNobody(t *testing.T) {
	f := newFixture(t, outreach.Campaign{})
	partners(f)
	ds := f.send("endorsement-request", "ana@hr-kenya.test", "luis@derechos.test")
	ana := ds["ana@hr-kenya.test"]
	ctx := context.Background()
	tests := []struct {
		name   string
		raw    []byte
		victim string
	}{
		{"unsubscribe matched by the sender only", msg{from: "luis@derechos.test", to: replyBase, body: "Please unsubscribe us."}.raw(), "luis@derechos.test"},
		{"unsubscribe subject matched by the sender only", msg{from: "luis@derechos.test", to: replyBase, subject: "unsubscribe", body: "x"}.raw(), "luis@derechos.test"},
		{"unsubscribe matched to nothing", msg{from: "stranger@nowhere.test", to: replyBase, subject: "Re: letter", body: "Please unsubscribe us."}.raw(), "stranger@nowhere.test"},
		{"bounce matched to nothing", dsnTo(replyBase, "unknown@coalition.test", "luis@derechos.test", "failed", "5.1.1"), "luis@derechos.test"},
		{"bounce quoting no delivery of ours", dsnTo(replyBase, "", "pm@gov.test", "failed", "5.1.1"), "pm@gov.test"},
		{"bounce by token for another recipient", dsn(ana, "luis@derechos.test", "failed", "5.1.1"), "luis@derechos.test"},
		{"bounce by Message-ID for another recipient", dsnTo(replyBase, ana.MessageID, "pm@gov.test", "failed", "5.1.1"), "pm@gov.test"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := f.process(tt.raw)
			if len(rec.Suppressed) != 0 {
				t.Errorf("suppressed %v; want nobody", rec.Suppressed)
			}
			if ok, _ := f.st.Suppressed(ctx, tt.victim); ok {
				t.Errorf("%s suppressed", tt.victim)
			}
			if c := f.contact2(tt.victim); c != nil && c.Status != outreach.StatusActive {
				t.Errorf("%s is %s; want active", tt.victim, c.Status)
			}
			if !rec.Reply.Review {
				t.Errorf("reply = %+v; want it in review", rec.Reply)
			}
		})
	}
	// Delay notices that anyone could send are not counted either.
	for range 5 {
		f.process(dsnTo(replyBase, "", "ana@hr-kenya.test", "delayed", "4.4.1"))
		f.process(dsn(ana, "luis@derechos.test", "delayed", "4.4.1"))
	}
	for _, addr := range []string{"ana@hr-kenya.test", "luis@derechos.test"} {
		if ok, _ := f.st.Suppressed(ctx, addr); ok {
			t.Errorf("%s suppressed by delay notices it did not cause", addr)
		}
	}
}

func TestBounces(t *testing.T) {
	f := newFixture(t, outreach.Campaign{})
	partners(f)
	ds := f.send("endorsement-request", "ana@hr-kenya.test", "luis@derechos.test")
	ana, luis := ds["ana@hr-kenya.test"], ds["luis@derechos.test"]
	ctx := context.Background()

	rec := f.process(dsn(ana, ana.Email, "failed", "5.1.1"))
	if rec.Reply.Class != outreach.ClassBounce || rec.Reply.Bounce == nil || !rec.Reply.Bounce.Hard || rec.Reply.Match != outreach.MatchToken {
		t.Fatalf("reply = %+v; want a hard bounce matched by token", rec.Reply)
	}
	if c := f.contact(ana.Email); c.Status != outreach.StatusBounced {
		t.Errorf("status after a hard bounce = %s; want bounced", c.Status)
	}
	if ok, _ := f.st.Suppressed(ctx, ana.Email); !ok {
		t.Error("hard-bounced address not suppressed")
	}

	for i := range 2 {
		rec := f.process(dsn(luis, luis.Email, "delayed", "4.4.1"))
		if len(rec.Suppressed) != 0 {
			t.Fatalf("delay notice %d suppressed %v; want nothing before the limit", i+1, rec.Suppressed)
		}
		if c := f.contact(luis.Email); c.Status != outreach.StatusActive {
			t.Fatalf("status after %d delay notices = %s; want active", i+1, c.Status)
		}
	}
	rec = f.process(dsn(luis, luis.Email, "delayed", "4.4.1"))
	if len(rec.Suppressed) != 1 || f.contact(luis.Email).Status != outreach.StatusBounced {
		t.Errorf("third delay notice: suppressed %v, status %s; want suppressed and bounced", rec.Suppressed, f.contact(luis.Email).Status)
	}
	if len(f.endorsements()) != 0 {
		t.Error("a bounce recorded an endorsement")
	}
}

func TestDeclineNextToAnEndorsementGoesToReview(t *testing.T) {
	f := newFixture(t, outreach.Campaign{})
	partners(f)
	d := f.send("endorsement-request", "ana@hr-kenya.test")["ana@hr-kenya.test"]
	first := f.process(answer(d, "We cannot endorse this letter.").raw())
	if first.Reply.Class != outreach.ClassDecline || first.Reply.Review || first.Endorsement != nil {
		t.Errorf("plain decline = %+v; want a decline, not in review, no endorsement", first)
	}
	f.process(answer(d, endorse).raw())
	if es := f.endorsements(); len(es) != 1 || es[0].State != outreach.EndorsementConfirmed {
		t.Fatalf("endorsements = %+v; want one confirmed", es)
	}
	later := f.process(answer(d, "Sorry, ignore that, we cannot endorse.").raw())
	if !later.Reply.Review || later.Change != store.EndorsementHeld || !strings.Contains(later.Reply.Reason, "withdraws") {
		t.Errorf("decline after an endorsement = %+v; want review, the endorsement held", later)
	}
	if es := f.endorsements(); len(es) != 1 || es[0].State != outreach.EndorsementPending {
		t.Errorf("endorsements = %+v; want the confirmed one pending at once", es)
	}
}

// Finding: a withdrawal after a confirmed endorsement left it confirmed.
func TestWithdrawalHoldsTheEndorsementAtOnce(t *testing.T) {
	for _, text := range []string{"Please withdraw our signature.", "Please remove our name from the letter.", "Retiramos nuestra firma."} {
		t.Run(text, func(t *testing.T) {
			f := newFixture(t, outreach.Campaign{})
			partners(f)
			d := f.send("endorsement-request", "ana@hr-kenya.test")["ana@hr-kenya.test"]
			f.process(answer(d, endorse).raw())
			rec := f.process(answer(d, text).raw())
			if rec.Reply.Class != outreach.ClassDecline || !rec.Reply.Review || rec.Endorsement == nil || rec.Endorsement.State != outreach.EndorsementPending {
				t.Errorf("withdrawal = %+v; want a decline in review holding the endorsement", rec)
			}
			for _, e := range f.endorsements() {
				if e.State == outreach.EndorsementConfirmed {
					t.Errorf("endorsement %+v still confirmed after a withdrawal", e)
				}
			}
		})
	}
}

func TestThankYouAfterConfirmedEndorsement(t *testing.T) {
	f := newFixture(t, outreach.Campaign{ThankYou: true})
	partners(f)
	ds := f.send("endorsement-request", "ana@hr-kenya.test", "luis@derechos.test")
	rec := f.process(answer(ds["ana@hr-kenya.test"], endorse).raw())
	if rec.ThankYouSend == 0 || f.outbox.kicks.Load() != 1 {
		t.Fatalf("thank-you send %d, kicks %d; want a send and a kick", rec.ThankYouSend, f.outbox.kicks.Load())
	}
	ctx := context.Background()
	send, _ := f.st.Send(ctx, rec.ThankYouSend)
	if send.Kind != outreach.SendAuto || send.Template != "thank-you" || send.ListHeaders || send.Counts.Total != 1 {
		t.Errorf("thank-you send = %+v; want one auto thank-you without list headers", send)
	}
	got, _ := f.st.SendDeliveries(ctx, send.ID)
	if len(got) != 1 || got[0].Email != "ana@hr-kenya.test" {
		t.Errorf("thank-you deliveries = %+v; want one to ana", got)
	}
	if id, ok := f.tokens.Parse(got[0].Token); !ok || id != got[0].ID {
		t.Errorf("thank-you token %q does not parse to its delivery", got[0].Token)
	}
	// A pending endorsement gets no thank-you.
	m := answer(ds["luis@derechos.test"], endorse)
	m.from = "someone@else.test"
	if rec := f.process(m.raw()); rec.ThankYouSend != 0 || rec.Endorsement.State != outreach.EndorsementPending {
		t.Errorf("pending endorsement = %+v; want no thank-you", rec)
	}
}

func TestUnreadableMailIsKeptForReview(t *testing.T) {
	f := newFixture(t, outreach.Campaign{})
	rec := f.process([]byte("\x00\x01\x02 not a message at all"))
	if rec.Reply.Class != outreach.ClassOther || !rec.Reply.Review {
		t.Errorf("garbage = %+v; want class other in review", rec.Reply)
	}
	if rec := f.process(nil); !rec.Reply.Review || !strings.Contains(rec.Reply.Reason, "unreadable") {
		t.Errorf("empty message = %+v; want it recorded as unreadable, for review", rec.Reply)
	}
}

func TestPublicMailDomains(t *testing.T) {
	tests := []struct {
		from, to string
		want     bool
	}{
		{"a@ngo.test", "a@ngo.test", true},
		{"director@ngo.test", "a@ngo.test", true},
		{"A@Gmail.com", "a@gmail.com", true},
		{"b@gmail.com", "a@gmail.com", false},
		{"b@googlemail.com", "a@googlemail.com", false},
		{"b@yahoo.co.uk", "a@yahoo.co.uk", false},
		{"b@hotmail.fr", "a@hotmail.fr", false},
		{"b@outlook.com", "a@outlook.com", false},
		{"b@live.com", "a@live.com", false},
		{"b@icloud.com", "a@icloud.com", false},
		{"b@proton.me", "a@proton.me", false},
		{"b@protonmail.com", "a@protonmail.com", false},
		{"b@gmx.de", "a@gmx.de", false},
		{"b@aol.com", "a@aol.com", false},
		{"b@yandex.ru", "a@yandex.ru", false},
		{"b@mail.ru", "a@mail.ru", false},
		{"b@qq.com", "a@qq.com", false},
		{"b@163.com", "a@163.com", false},
		{"b@zoho.com", "a@zoho.com", false},
		{"b@ngo.test", "a@gmail.com", false},
		{"", "a@ngo.test", false},
	}
	for _, tt := range tests {
		if got := sameSender(tt.from, tt.to); got != tt.want {
			t.Errorf("sameSender(%q, %q) = %v; want %v", tt.from, tt.to, got, tt.want)
		}
	}
}

// Finding: a rejected endorsement came back confirmed, and a held-back
// print name was confirmed by a later plain "yes", both without a person.
func TestLaterRepliesNeverConfirmWithoutAPerson(t *testing.T) {
	ctx := context.Background()
	t.Run("after a rejection", func(t *testing.T) {
		f := newFixture(t, outreach.Campaign{ThankYou: true})
		partners(f)
		d := f.send("endorsement-request", "ana@hr-kenya.test")["ana@hr-kenya.test"]
		first := f.process(answer(d, endorse).raw())
		if first.Endorsement == nil || first.Endorsement.State != outreach.EndorsementConfirmed {
			t.Fatalf("first reply = %+v; want a confirmed endorsement", first)
		}
		if _, _, err := f.st.SetEndorsementState(ctx, first.Endorsement.ID, outreach.EndorsementRejected, "coordinator", "not a member", nil); err != nil {
			t.Fatal(err)
		}
		second := f.process(answer(d, endorse).raw())
		third := f.process(answer(d, "Yes!").raw())
		for i, rec := range []*store.Recorded{second, third} {
			if rec.Endorsement == nil || rec.Endorsement.State != outreach.EndorsementPending || rec.ThankYouSend != 0 || !rec.Reply.Review {
				t.Errorf("reply %d after the rejection = %+v; want a pending endorsement, no thank-you, review", i+2, rec)
			}
		}
		for _, e := range f.endorsements() {
			if e.State == outreach.EndorsementConfirmed {
				t.Errorf("endorsement %+v confirmed without a person", e)
			}
		}
	})
	t.Run("held back for its print name", func(t *testing.T) {
		f := newFixture(t, outreach.Campaign{ThankYou: true})
		partners(f)
		d := f.send("endorsement-request", "ana@hr-kenya.test")["ana@hr-kenya.test"]
		first := f.process(answer(d, "We endorse the letter. Please list us as The Presidential Guard.").raw())
		if first.Endorsement == nil || first.Endorsement.State != outreach.EndorsementPending {
			t.Fatalf("first reply = %+v; want a pending endorsement", first)
		}
		yes := f.process(answer(d, "Yes").raw())
		if yes.Endorsement == nil || yes.Endorsement.State != outreach.EndorsementPending || yes.ThankYouSend != 0 || !yes.Reply.Review {
			t.Errorf("plain yes = %+v; want the endorsement still pending, in review", yes)
		}
		if es := f.endorsements(); len(es) != 1 || es[0].State != outreach.EndorsementPending {
			t.Errorf("endorsements = %+v; want one, pending", es)
		}
	})
}

// "Remove us" from an endorser may mean from the letter: the address is
// suppressed at once and the reply waits for a person.
func TestUnsubscribeFromAnEndorserGoesToReview(t *testing.T) {
	f := newFixture(t, outreach.Campaign{})
	partners(f)
	d := f.send("endorsement-request", "ana@hr-kenya.test")["ana@hr-kenya.test"]
	f.process(answer(d, endorse).raw())
	rec := f.process(answer(d, "Yes, remove us.").raw())
	if rec.Reply.Class != outreach.ClassUnsubscribe || len(rec.Suppressed) != 1 || !rec.Reply.Review || !strings.Contains(rec.Reply.Reason, "withdraw") {
		t.Errorf("unsubscribe from an endorser = %+v; want it suppressed and in review", rec)
	}
}
