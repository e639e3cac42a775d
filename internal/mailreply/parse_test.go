package mailreply

import (
	"bytes"
	"errors"
	"io"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func mustParse(t *testing.T, raw string) *Message {
	t.Helper()
	m, err := Parse(strings.NewReader(strings.ReplaceAll(raw, "\n", "\r\n")))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return m
}

func fixture(t *testing.T, name string) *Message {
	t.Helper()
	return parseFile(t, filepath.Join("testdata", "replies", name))
}

func TestParseHeaders(t *testing.T) {
	m := mustParse(t, `Return-Path: <ana@ngo.example>
Delivered-To: campaign+AB12@outreach.example
X-Original-To: campaign+AB12@outreach.example
Message-ID: <r1@mail.ngo.example>
Date: Tue, 4 Mar 2025 09:00:07 +0100
From: =?ISO-8859-1?Q?Ana_Mar=EDa_L=F3pez?= <ana@ngo.example>
To: Campaign <campaign+AB12@outreach.example>, other@ngo.example
Cc: boss@ngo.example
Subject: =?UTF-8?B?UmU6IMK/cmVzcGFsZGFyw6EgbGEgY2FydGE/?=
In-Reply-To: <c7.w3.ab12@outreach.example>
References: <c7.w1.ab12@outreach.example>
 <c7.w3.ab12@outreach.example>

Sí
`)
	checks := []struct {
		name      string
		got, want any
	}{
		{"MessageID", m.MessageID, "r1@mail.ngo.example"},
		{"From", m.From, "ana@ngo.example"},
		{"FromName", m.FromName, "Ana María López"},
		{"To", m.To, []string{"campaign+AB12@outreach.example", "other@ngo.example"}},
		{"Cc", m.Cc, []string{"boss@ngo.example"}},
		{"DeliveredTo", m.DeliveredTo, []string{"campaign+AB12@outreach.example", "campaign+AB12@outreach.example"}},
		{"ReturnPath", m.ReturnPath, "ana@ngo.example"},
		{"Subject", m.Subject, "Re: ¿respaldará la carta?"},
		{"Date", m.Date.UTC(), time.Date(2025, 3, 4, 8, 0, 7, 0, time.UTC)},
		{"InReplyTo", m.InReplyTo, []string{"c7.w3.ab12@outreach.example"}},
		{"References", m.References, []string{"c7.w1.ab12@outreach.example", "c7.w3.ab12@outreach.example"}},
		{"Text", m.Text, "Sí"},
		{"Automated", m.Automated, ""},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %#v; want %#v", c.name, c.got, c.want)
		}
	}
}

func TestParseNullReturnPath(t *testing.T) {
	m := mustParse(t, "Return-Path: <>\nFrom: MAILER-DAEMON@mx.example\nSubject: hello\n\nhi\n")
	if m.ReturnPath != "<>" {
		t.Errorf("ReturnPath = %q; want <>", m.ReturnPath)
	}
	if !strings.Contains(m.Automated, "Return-Path: <>") {
		t.Errorf("Automated = %q; want the null sender named", m.Automated)
	}
}

func TestParseBrokenHeaders(t *testing.T) {
	m := mustParse(t, "From nobody Mon Mar  3 10:00:00 2025\nFrom: \"Broken <x@ngo.example>\nthis line has no colon\nSubject: still read\nIn-Reply-To: not-an-id <c1@outreach.example> junk\nDate: yesterday\n\nWe endorse.\n")
	if m.Subject != "still read" {
		t.Errorf("Subject = %q; want %q", m.Subject, "still read")
	}
	if m.From != "x@ngo.example" {
		t.Errorf("From = %q; want x@ngo.example", m.From)
	}
	if !reflect.DeepEqual(m.InReplyTo, []string{"c1@outreach.example"}) {
		t.Errorf("InReplyTo = %q; want [c1@outreach.example]", m.InReplyTo)
	}
	if !m.Date.IsZero() {
		t.Errorf("Date = %v; want zero for an unparseable date", m.Date)
	}
	if m.Text != "We endorse." {
		t.Errorf("Text = %q; want %q", m.Text, "We endorse.")
	}
}

func TestParseCharsetsAndEncodings(t *testing.T) {
	cases := []struct {
		file, want string
	}{
		{"es_nos_sumamos_latin1_qp.eml", "¡Nos sumamos con gusto! Pueden incluirnos como Fundación Derechos Ya."}, // ISO-8859-1, quoted-printable
		{"en_windows1252.eml", "We endorse – with pleasure – the joint letter."},                                  // windows-1252 8bit
		{"es_respaldamos_base64.eml", "Respaldamos la carta."},                                                    // UTF-8 base64
		{"en_qp_smart_quotes.eml", "we’re delighted to endorse the joint letter"},                                 // UTF-8 quoted-printable
		{"pt_subscrevemos_latin1.eml", "Subscrevemos a carta em nome da Associação Cidadania Ativa."},             // ISO-8859-1 8bit
		{"no_content_type_latin1.eml", "Nous signons volontiers."},                                                // no Content-Type, raw Latin-1
		{"fr_html_qp_latin1.eml", "Merci de nous inscrire sous le nom « Association Malienne des Droits Sociaux »."},
	}
	for _, c := range cases {
		m := fixture(t, c.file)
		if !strings.Contains(m.Text, c.want) {
			t.Errorf("%s: Text = %q; want it to contain %q", c.file, m.Text, c.want)
		}
		if strings.ContainsRune(m.Text, '\uFFFD') {
			t.Errorf("%s: Text has replacement characters: %q", c.file, m.Text)
		}
	}
	if m := fixture(t, "es_nos_sumamos_latin1_qp.eml"); m.FromName != "Lucía Fernández" {
		t.Errorf("FromName = %q; want Lucía Fernández (RFC 2047, ISO-8859-1)", m.FromName)
	}
}

func TestParseUnknownCharsetFallsBack(t *testing.T) {
	raw := "From: a@ngo.example\nSubject: x\nContent-Type: text/plain; charset=x-made-up\nContent-Transfer-Encoding: 8bit\n\nNous signons \xe0 deux mains.\n"
	m, err := Parse(strings.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if m.Text != "Nous signons à deux mains." {
		t.Errorf("Text = %q; want Windows-1252 fallback", m.Text)
	}
}

func TestParseHTMLOnly(t *testing.T) {
	m := mustParse(t, `From: a@ngo.example
Subject: Re: letter
Content-Type: text/html; charset=utf-8

<html><head><title>ignored</title><style>p{color:red}</style><script>alert("we endorse")</script></head>
<body><p>Dear&nbsp;team,</p><p>We   <b>endorse</b>
the letter.<br>Maria</p>
<ul><li>one</li><li>two</li></ul>
<table><tr><td>A</td><td>B</td></tr></table>
<div class="gmail_quote">On Mon, 3 Mar 2025, Campaign wrote:<br>
<blockquote>Will you endorse?<br>Reply YES.<blockquote>nested</blockquote></blockquote></div>
</body></html>
`)
	wantText := "Dear team,\n\nWe endorse the letter.\nMaria\n\n- one\n- two\n\nA B\n\nOn Mon, 3 Mar 2025, Campaign wrote:\n\n> Will you endorse?\n> Reply YES.\n\n> > nested"
	if m.Text != wantText {
		t.Errorf("Text =\n%q\nwant\n%q", m.Text, wantText)
	}
	wantNew := "Dear team,\n\nWe endorse the letter.\nMaria\n\n- one\n- two\n\nA B"
	if m.NewText != wantNew {
		t.Errorf("NewText =\n%q\nwant\n%q", m.NewText, wantNew)
	}
}

func TestParsePrefersPlainAlternative(t *testing.T) {
	m := fixture(t, "en_html_outlook_reply.eml") // empty text/plain part, real HTML part
	if !strings.HasPrefix(m.NewText, "We endorse the letter.") {
		t.Errorf("NewText = %q; want the HTML part's text when the plain part is empty", m.NewText)
	}
	if strings.Contains(m.Text, "var x") {
		t.Errorf("Text contains script content: %q", m.Text)
	}
	m = mustParse(t, "From: a@ngo.example\nContent-Type: multipart/alternative; boundary=b\n\n--b\nContent-Type: text/plain\n\nplain yes\n--b\nContent-Type: text/html\n\n<p>html yes</p>\n--b--\n")
	if m.Text != "plain yes" {
		t.Errorf("Text = %q; want the text/plain alternative", m.Text)
	}
}

func TestNewText(t *testing.T) {
	cases := []struct {
		name, text, want string
	}{
		{"gmail en", "Yes\n\nOn Mon, 3 Mar 2025 at 10:00, Campaign <c@outreach.example> wrote:\n> Reply YES to endorse.", "Yes"},
		{"wrapped attribution", "Yes\n\nOn Mon, 3 Mar 2025 at 10:00, OP-ICESCR campaign <\ncampaign+AB@outreach.example> wrote:\n\n> Reply YES.", "Yes"},
		{"es", "Sí\n\nEl lun, 3 mar 2025 a las 10:00, Campaña (<c@outreach.example>) escribió:\n> Responda SÍ", "Sí"},
		{"fr", "Oui\n\nLe lun. 3 mars 2025 à 10:00, Campagne <c@outreach.example> a écrit :\n> Répondez OUI", "Oui"},
		{"pt", "Sim\n\nEm seg., 3 de mar. de 2025 às 10:00, Campanha <c@outreach.example> escreveu:\n> Responda SIM", "Sim"},
		{"de", "Yes\n\nAm 03.03.2025 um 10:00 schrieb Campaign <c@outreach.example>:\n> Reply YES", "Yes"},
		{"outlook rule", "We endorse.\n\n________________________________\nFrom: Campaign <c@outreach.example>\nSent: Monday, March 3, 2025 10:00 AM\nTo: partner\nSubject: Call\n\nReply YES to endorse.", "We endorse."},
		{"outlook fr", "Nous signons.\n\nDe : Campagne <c@outreach.example>\nEnvoyé : lundi 3 mars 2025 10:00\nÀ : partenaire\nObjet : Appel\n\nRépondez OUI.", "Nous signons."},
		{"original message", "No.\n\n-----Original Message-----\nFrom: Campaign\nReply YES to endorse.", "No."},
		{"mensaje original", "No.\n\n-----Mensaje original-----\nDe: Campaña\nResponda SÍ.", "No."},
		{"gmail forward", "FYI\n\n---------- Forwarded message ---------\nFrom: Partner <p@ngo.example>\n\nWe endorse.", "FYI"},
		{"apple forward", "FYI\n\nBegin forwarded message:\n\nFrom: Partner <p@ngo.example>\n\nWe endorse.", "FYI"},
		{"signature", "We endorse.\n-- \nMaria\nWe support communities", "We endorse."},
		{"signature without space", "We endorse.\n--\nMaria", "We endorse."},
		{"mobile", "Yes\n\nSent from my iPhone", "Yes"},
		{"interleaved", "> Will you endorse?\nYes.\n> Name to print?\nFoo Network\n", "Yes.\nFoo Network"},
		{"only quote", "On Mon, 3 Mar 2025, Campaign <c@outreach.example> wrote:\n> Reply YES to endorse.", ""},
		{"attribution then unquoted original", "Yes\n\nOn Mon, 3 Mar 2025, Campaign <c@outreach.example> wrote:\nReply YES to endorse.", "Yes"},
		{"from line in prose", "From: our side, yes.\nWe endorse.", "From: our side, yes.\nWe endorse."},
	}
	for _, c := range cases {
		if got := newText(c.text); got != c.want {
			t.Errorf("%s: newText = %q; want %q", c.name, got, c.want)
		}
	}
}

func TestParseDSNPostfix(t *testing.T) {
	m := fixture(t, "postfix_dsn_550.eml")
	if len(m.Bounces) != 1 {
		t.Fatalf("Bounces = %+v; want 1", m.Bounces)
	}
	b := m.Bounces[0]
	if b.Recipient != "nobody@partner.example" || b.Action != "failed" || b.Status != "5.1.1" || !b.Hard {
		t.Errorf("Bounce = %+v; want nobody@partner.example failed 5.1.1 hard", b)
	}
	if !strings.HasPrefix(b.Diagnostic, "smtp; 550 5.1.1 <nobody@partner.example> User doesn't exist: nobody@partner.example") {
		t.Errorf("Diagnostic = %q; want the unfolded Diagnostic-Code", b.Diagnostic)
	}
	if m.OriginalMessageID != "c7.w3.w2yz@outreach.example" {
		t.Errorf("OriginalMessageID = %q; want it from text/rfc822-headers", m.OriginalMessageID)
	}
	if !strings.Contains(m.Automated, "report-type=delivery-status") {
		t.Errorf("Automated = %q; want the report named", m.Automated)
	}
	if strings.Contains(m.Text, "Reporting-MTA") {
		t.Errorf("Text includes the delivery-status fields: %q", m.Text)
	}
}

func TestParseDSNVariants(t *testing.T) {
	cases := []struct {
		file, rcpt, action, status, diag, origID string
		hard                                     bool
	}{
		{"postfix_xpostfix.eml", "ghost@outreach.example", "failed", "5.1.1", `X-Postfix; unknown user: "ghost"`, "c7.w3.x3ab@outreach.example", true},
		{"postfix_delayed.eml", "slow@partner.example", "delayed", "4.2.1", "smtp; 421 4.2.1 Try again later", "c7.w3.y4cd@outreach.example", false},
		{"postfix_expired.eml", "slow@partner.example", "failed", "4.4.7", "X-Postfix; delivery temporarily suspended: host mx.partner.example[192.0.2.7] refused to talk to me: 421 4.2.1 Try again later", "c7.w3.z5ef@outreach.example", true},
		{"gmail_dsn.eml", "ghost.partner@gmail-like.example", "failed", "5.1.1", "", "c7.w3.a6gh@outreach.example", true},
		{"exchange_ndr.eml", "m.okonkwo@partner-ex.example", "failed", "5.1.10", "smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup", "c7.w3.b7ij@outreach.example", true},
		{"global_dsn.eml", "josé@correo.partner.example", "failed", "5.1.1", "", "c7.w3.f2qr@outreach.example", true},
		{"qmail_bounce.eml", "joao@partner-q.example", "failed", "5.1.1", "", "c7.w3.d9mn@outreach.example", true},
		{"exchange_ndr_text.eml", "ana.silva@partner-old.example", "failed", "5.1.1", "", "", true},
		{"mailer_daemon_plain.eml", "lost@partner-r.example", "failed", "5.1.1", "", "", true},
	}
	for _, c := range cases {
		m := fixture(t, c.file)
		if len(m.Bounces) != 1 {
			t.Errorf("%s: Bounces = %+v; want 1", c.file, m.Bounces)
			continue
		}
		b := m.Bounces[0]
		if b.Recipient != c.rcpt || b.Action != c.action || b.Status != c.status || b.Hard != c.hard {
			t.Errorf("%s: Bounce = %+v; want %s %s %s hard=%v", c.file, b, c.rcpt, c.action, c.status, c.hard)
		}
		if c.diag != "" && b.Diagnostic != c.diag {
			t.Errorf("%s: Diagnostic = %q; want %q", c.file, b.Diagnostic, c.diag)
		}
		if m.OriginalMessageID != c.origID {
			t.Errorf("%s: OriginalMessageID = %q; want %q", c.file, m.OriginalMessageID, c.origID)
		}
	}
}

func TestParseEmbeddedMessageNotInText(t *testing.T) {
	m := fixture(t, "dsn_original_endorses.eml")
	if strings.Contains(m.Text, "We endorse") || strings.Contains(m.NewText, "We endorse") {
		t.Errorf("Text carries the returned message: %q", m.Text)
	}
	if r := Classify(m); r.Class != bounce {
		t.Errorf("Classify = %+v; want bounce", r)
	}
}

func TestParseAutomatedHeaders(t *testing.T) {
	cases := []struct {
		header, want string
	}{
		{"Auto-Submitted: auto-replied (vacation)", "Auto-Submitted: auto-replied (vacation)"},
		{"Auto-Submitted: auto-generated", "Auto-Submitted: auto-generated"},
		{"Auto-Submitted: no", ""},
		{"X-Autoreply: yes", "X-Autoreply: yes"},
		{"X-Autorespond: on", "X-Autorespond: on"},
		{"Precedence: auto_reply", "Precedence: auto_reply"},
		{"Precedence: bulk", "Precedence: bulk" + weakSuffix},
		{"Precedence: junk", "Precedence: junk" + weakSuffix},
		{"Precedence: list", "Precedence: list" + weakSuffix},
		{"Precedence: first-class", ""},
		{"X-Auto-Response-Suppress: All", "X-Auto-Response-Suppress: All" + weakSuffix},
	}
	for _, c := range cases {
		m := mustParse(t, "From: a@ngo.example\nReturn-Path: <a@ngo.example>\n"+c.header+"\nSubject: s\n\nbody\n")
		if m.Automated != c.want {
			t.Errorf("%s: Automated = %q; want %q", c.header, m.Automated, c.want)
		}
	}
}

func TestParseAttachments(t *testing.T) {
	m := fixture(t, "en_attachment_form.eml")
	if m.Attachments != 1 {
		t.Errorf("Attachments = %d; want 1", m.Attachments)
	}
	if !strings.HasPrefix(m.NewText, "Please find our signed form attached.") {
		t.Errorf("NewText = %q", m.NewText)
	}
}

func TestParseBrokenMIME(t *testing.T) {
	m := fixture(t, "broken_mime.eml")
	if !strings.HasPrefix(m.Text, "We endorse the letter.") {
		t.Errorf("Text = %q; want the readable part", m.Text)
	}
	m = mustParse(t, "From: a@ngo.example\nContent-Type: multipart/mixed\n\nWe endorse, no boundary given.\n")
	if m.Text != "We endorse, no boundary given." {
		t.Errorf("Text = %q; want the raw body when the multipart cannot be read", m.Text)
	}
	m = mustParse(t, "From: a@ngo.example\nContent-Type: text/plain; charset=utf-8; charset=latin1\nContent-Transfer-Encoding: base64\n\nV2UgZW5kb3JzZS4=\n!!!\n")
	if m.Text != "We endorse." {
		t.Errorf("Text = %q; want the decoded part despite a duplicate parameter and trailing junk", m.Text)
	}
}

func TestParseTruncates(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("From: a@ngo.example\r\nSubject: big\r\n\r\nWe endorse.\r\n")
	for b.Len() <= MaxMessageBytes {
		b.WriteString(strings.Repeat("x", 1000) + "\r\n")
	}
	m, err := Parse(&b)
	if err != nil {
		t.Fatal(err)
	}
	if !m.Truncated {
		t.Error("Truncated = false; want true")
	}
	if b.Len() == 0 {
		t.Error("Parse read everything; want it to stop at MaxMessageBytes")
	}
	if r := Classify(m); r.Sure {
		t.Errorf("Classify(truncated) = %+v; want not sure", r)
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

func TestParseErrors(t *testing.T) {
	if _, err := Parse(failingReader{}); err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Errorf("Parse(failing reader) err = %v; want the read error wrapped", err)
	}
	if _, err := Parse(strings.NewReader("")); err == nil {
		t.Error("Parse(empty) err = nil; want an error")
	}
	if _, err := Parse(io.LimitReader(strings.NewReader("garbage without structure"), 100)); err == nil {
		t.Error("Parse(garbage) err = nil; want an error")
	}
}
