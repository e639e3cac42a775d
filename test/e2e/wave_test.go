package e2e

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/outreach-coalition/outreach/test/realmail"
)

// TestWaveThroughSubmission (issue 7, scenario 1): a wave to partner
// mailboxes on Dovecot, with non-ASCII names and organisations, goes
// through Postfix's submission port with STARTTLS (the test CA trusted
// through smtp.ca_file) and AUTH; Postfix's log shows both; counted over
// IMAP, every partner has exactly one message of the wave, with its name
// and subject intact (Dovecot 2.3 has no SMTPUTF8: headers must be RFC 2047
// encoded for the mail to arrive at all).
func TestWaveThroughSubmission(t *testing.T) {
	s := realmail.Env(t)
	t.Parallel()
	id := runID(t)
	campaign := s.AddUser(t, "wave-"+id)
	partners := []struct {
		contact
		greeting, subject string
	}{
		{contact{s.Address("partner1"), "Zoë Ñúñez Peña", "Asociación Pro Derechos Económicos «Ñandú»", "CO", "es"},
			"Estimado/a Zoë Ñúñez Peña:", "Asociación Pro Derechos Económicos «Ñandú»: ¿respaldará la carta conjunta sobre el PF-PIDESC?"},
		{contact{s.Address("partner2"), "François Lefèvre-Hénault", "Ligue des droits de l'Homme – Comité d'Île-de-France", "FR", "fr"},
			"Bonjour François Lefèvre-Hénault,", "Ligue des droits de l'Homme – Comité d'Île-de-France : appuierez-vous la lettre commune sur le PF-PIDESC ?"},
		{contact{s.Address("partner3"), "João Conceição", "Associação Brasileira de Direitos Humanos – Seção São Paulo", "BR", "pt"},
			"Prezado(a) João Conceição,", "Associação Brasileira de Direitos Humanos – Seção São Paulo: vai apoiar a carta conjunta sobre o PF-PIDESC?"},
		{contact{s.Address("partner4"), "Đặng Thị Hương", "Trung tâm Nhân quyền Việt Nam", "VN", "en"},
			"Dear Đặng Thị Hương,", "Trung tâm Nhân quyền Việt Nam: will you endorse the joint letter on the OP-ICESCR?"},
		{contact{s.Address("partner5"), "李明 (Lǐ Míng)", "人权与发展中心 — Centre for Rights", "MY", "en"},
			"Dear 李明 (Lǐ Míng),", "人权与发展中心 — Centre for Rights: will you endorse the joint letter on the OP-ICESCR?"},
	}
	d := startDaemon(t, s, setup{campaign: campaign})
	var cs []contact
	for _, p := range partners {
		cs = append(cs, p.contact)
	}
	d.importContacts(cs)
	wave := d.addWave("Solicitud «ñ» "+id, "endorsement-request")
	v := d.waitWave(wave, len(partners), time.Minute)
	if k := v.counts(); k.Sent != len(partners) {
		t.Fatalf("wave ended with %+v; want all %d sent", k, len(partners))
	}

	var ids []string
	for _, p := range partners {
		got := waitSent(t, s, p.email, campaign, 1, 30*time.Second)
		if len(got) != 1 {
			t.Errorf("%s received %d messages of the wave; want exactly 1", p.email, len(got))
			continue
		}
		m := got[0]
		ids = append(ids, m.MessageID)
		if m.Subject != p.subject {
			t.Errorf("%s: subject %q; want %q", p.email, m.Subject, p.subject)
		}
		if m.ToName != p.name {
			t.Errorf("%s: To name %q; want %q", p.email, m.ToName, p.name)
		}
		if m.FromName != "Coalición PF-PIDESC" {
			t.Errorf("%s: From name %q; want %q", p.email, m.FromName, "Coalición PF-PIDESC")
		}
		if !strings.HasPrefix(m.Text, p.greeting) || !strings.Contains(m.Text, p.org) {
			t.Errorf("%s: text does not start with %q or lacks %q:\n%s", p.email, p.greeting, p.org, m.Text)
		}
		if !strings.Contains(m.Text, "Campaña por el PF-PIDESC") {
			t.Errorf("%s: text lacks the campaign name:\n%s", p.email, m.Text)
		}
		// Postfix's Received header of the submission hop says TLS and
		// AUTH: ESMTPSA (RFC 3848), or UTF8SMTPSA when the client used
		// SMTPUTF8 (RFC 6531).
		if len(m.Received) < 2 || !regexp.MustCompile(`with (ESMTPSA|UTF8SMTPSA) `).MatchString(m.Received[1]) {
			t.Errorf("%s: Received headers %q: the submission hop does not say TLS and AUTH", p.email, m.Received)
		}
		if m.ListUnsubscribe == "" {
			t.Errorf("%s: a wave message without List-Unsubscribe", p.email)
		}
		for _, line := range strings.Split(string(headerBytes(m.Raw)), "\r\n") {
			if !isASCII(line) {
				t.Errorf("%s: raw header line is not ASCII (RFC 2047 expected): %q", p.email, line)
			}
		}
	}

	// Postfix's own log: each message was received once, on the submission
	// service, from a client that had established TLS and logged in as
	// sender@.
	log, err := os.ReadFile(s.PostfixLog)
	if err != nil {
		t.Fatal(err)
	}
	for _, mid := range ids {
		checkSubmitted(t, string(log), mid, s.Address("sender"))
	}
}

// checkSubmitted checks in Postfix's log that the message with Message-ID
// mid was queued exactly once, by the submission smtpd, for a client
// authenticated as user over TLS.
func checkSubmitted(t *testing.T, log, mid, user string) {
	t.Helper()
	re := regexp.MustCompile(`postfix/cleanup\[\d+\]: ([0-9A-F]+): message-id=<` + regexp.QuoteMeta(mid) + `>`)
	found := re.FindAllStringSubmatch(log, -1)
	if len(found) != 1 {
		t.Errorf("Postfix queued Message-ID %s %d times; want exactly 1", mid, len(found))
		return
	}
	qid := found[0][1]
	client := regexp.MustCompile(`postfix/submission/smtpd\[(\d+)\]: ` + qid + `: client=\S+, sasl_method=(PLAIN|LOGIN), sasl_username=` + regexp.QuoteMeta(user) + `\n`)
	m := client.FindStringSubmatch(log)
	if m == nil {
		t.Errorf("Postfix log: no submission line for queue id %s (Message-ID %s) with sasl_username=%s", qid, mid, user)
		return
	}
	tls := regexp.MustCompile(`postfix/submission/smtpd\[` + m[1] + `\]: \S+ TLS connection established from \S+: TLSv1\.[23] `)
	if !tls.MatchString(log[:strings.Index(log, m[0])]) {
		t.Errorf("Postfix log: submission smtpd[%s] that queued %s established no TLS connection before", m[1], qid)
	}
}

func headerBytes(raw []byte) []byte {
	if i := strings.Index(string(raw), "\r\n\r\n"); i >= 0 {
		return raw[:i]
	}
	return raw
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
