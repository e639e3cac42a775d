package mailreply

import (
	"strings"
	"testing"

	"github.com/outreach-coalition/outreach/internal/outreach"
)

const (
	endorse = outreach.ClassEndorse
	decline = outreach.ClassDecline
	unsub   = outreach.ClassUnsubscribe
	auto    = outreach.ClassAutoReply
	bounce  = outreach.ClassBounce
	other   = outreach.ClassOther
)

// reply builds a message that answers the endorsement request with text.
func reply(text string) *Message {
	return &Message{
		From:       "partner@ngo.example",
		Subject:    "Re: Kenya Human Rights Forum: will you endorse the joint letter on the OP-ICESCR?",
		InReplyTo:  []string{"c1.w1.abc@outreach.example"},
		References: []string{"c1.w1.abc@outreach.example"},
		Text:       text,
		NewText:    newText(text),
	}
}

type classifyCase struct {
	text  string
	class string
	sure  *bool // nil: either
}

var (
	yes = func() *bool { b := true; return &b }()
	no  = func() *bool { b := false; return &b }()
)

func TestClassifyText(t *testing.T) {
	cases := []classifyCase{
		// Plain endorsements.
		{"We endorse the letter.", endorse, yes},
		{"Yes", endorse, yes},
		{"YES!", endorse, yes},
		{"Yes.\nName: Centre for Social Justice", endorse, yes},
		{"Yes please\n\nMaria Lopez\nDirector\nCentro de Derechos", endorse, yes},
		{"Happy to endorse!", endorse, yes},
		{"Count us in.", endorse, yes},
		{"We are happy to sign.", endorse, yes},
		{"We'd be honoured to be among the signatories.", endorse, yes},
		{"Please add our organisation to the signatories.", endorse, yes},
		{"You have our full support.", endorse, yes},
		{"We fully support this letter.", endorse, yes},
		{"We will sign on behalf of the Legal Aid Society.", endorse, yes},
		{"We're on board.", endorse, yes},
		{"Sí", endorse, yes},
		{"Sí, claro.", endorse, yes},
		{"Con mucho gusto nos sumamos.", endorse, yes},
		{"Nos adherimos a la carta.", endorse, yes},
		{"Cuenten con nuestra firma.", endorse, yes},
		{"Oui", endorse, yes},
		{"Nous soutenons cette lettre.", endorse, yes},
		{"Nous sommes heureux de signer la lettre.", endorse, yes},
		{"Vous pouvez compter sur nous.", endorse, yes},
		{"Sim", endorse, yes},
		{"Apoiamos a carta.", endorse, yes},
		{"Com muito prazer assinamos.", endorse, yes},
		{"Podem contar conosco.", endorse, yes},
		{"We couldn't agree more, count us in.", endorse, yes},
		{"No problem, we endorse.", endorse, yes},
		{"Nous n'hésitons pas à signer.", other, no}, // not recognised: review, never a refusal
		{"We endorse the letter.\n\nKind regards,\nJohn\n\nThis email is confidential. If you are not the intended recipient, do not copy it.", endorse, yes},
		{"Sim\n\nAntes de imprimir, pense no meio ambiente.", endorse, yes},
		{"Sí.\n\nMaría\nCoordinadora de Apoyo Legal\nCentro de Derechos", endorse, yes},
		{"We endorse.\nBest\nTom\nSupport Officer, Not-for-profit Legal Support", endorse, yes},
		{"Après discussion avec notre bureau, nous avons décidé de soutenir la lettre.", endorse, yes},
		{"Oui, nous sommes d'accord pour que notre nom figure sur la lettre.", endorse, yes},
		{"After consulting our members, we are happy to endorse.", endorse, yes},
		// The demo partners' answers (internal/demo).
		{"Dear colleagues,\n\nYes, we endorse the joint letter. Please add our organisation to the list of endorsers.\n\nBest regards", endorse, yes},
		{"Hello,\n\nWe are happy to endorse the letter to our government. Count us in!\n\nKind regards", endorse, yes},
		{"Estimados colegas:\n\nSí, respaldamos la carta conjunta. Pueden incluir a nuestra organización en la lista de firmantes.\n\nSaludos cordiales", endorse, yes},
		{"Chers collègues,\n\nOui, nous soutenons la lettre commune et acceptons d'y figurer parmi les signataires.\n\nBien cordialement", endorse, yes},
		{"Caros colegas,\n\nSim, apoiamos a carta conjunta. Por favor incluam a nossa organização na lista de signatários.\n\nAtenciosamente", endorse, yes},
		// Endorsements that still need a person.
		{"Sure.", endorse, no},
		{"Si", endorse, no},
		{"We endorse. Do you also need our logo?", endorse, no},
		{"The Legal Resources Centre endorses the joint letter.", endorse, no},
		// Refusals.
		{"No", decline, yes},
		{"No thank you.", decline, yes},
		{"We cannot endorse the letter.", decline, yes},
		{"Unfortunately we are not able to sign.", decline, yes},
		{"We won't be signing this one.", decline, yes},
		{"We would rather not endorse.", decline, yes},
		{"Count us out.", decline, yes},
		{"Of course not.", decline, yes},
		{"No podemos respaldar la carta.", decline, yes},
		{"Lamentablemente no vamos a firmar.", decline, yes},
		{"Nous ne pouvons pas soutenir cette lettre.", decline, yes},
		{"Nous ne la signerons pas.", decline, yes},
		{"Nous signons pas.", decline, nil},
		{"Não podemos endossar a carta.", decline, yes},
		{"Infelizmente não vamos assinar.", decline, yes},
		{"We are not, after long consideration with our members, in a position to endorse.", decline, nil},
		{"Please withdraw our signature.", decline, no},
		// Conditions, questions, hedges, mixed signals: never endorse.
		{"We would endorse if the text mentioned water.", other, no},
		{"We'll sign when the final text is ready.", other, no},
		{"We'd endorse it, were it not for the paragraph on taxes.", other, no},
		{"Yes — once our board approves.", other, no},
		{"Yes, but only if you remove paragraph 3.", other, no},
		{"We endorse. But only if the logo is not used.", other, no},
		{"Can we endorse if we are not registered?", other, no},
		{"What does endorsing mean?", other, no},
		{"Yes?", other, no},
		{"Who else has endorsed?", other, no},
		{"Maybe, we will discuss it with our board.", other, no},
		{"We will consider endorsing.", other, no},
		{"We need board approval before we sign.", other, no},
		{"We have not yet decided whether to endorse.", other, no},
		{"We would love to endorse but our bylaws prevent us.", other, no},
		{"We'd love to sign, however our lawyers say no.", other, no},
		{"We support the aims but cannot sign the letter.", other, no},
		{"We endorse the aims but not the letter.", other, no},
		{"I endorse this personally, not on behalf of my organisation.", other, no},
		{"We support the letter in spirit.", other, no},
		{"Yes, we have received your email.", other, no},
		{"Yes, I am the right person to contact.", other, no},
		{"Yes\nI will forward this to our director.", other, no},
		{"Yes.\n\nPlease keep this confidential.", other, no},
		{"Yes\nonly for the national letter", other, no},
		{"Yes\n\nMaria Lopez\nCentro de Derechos A.C.\nTel. +52 55 0000 0000", endorse, yes},
		{"OK", other, no},
		{"Thanks, received.", other, no},
		{"We support human rights.", other, no},
		{"We support the ratification of the protocol.", other, no},
		{"We already signed a similar letter last year.", other, no},
		{"Please add us to your mailing list.", other, no},
		{"Sign us up for the webinar.", other, no},
		{"Please put us in touch with the coordinator.", other, no},
		{"Sí, pero necesitamos la aprobación de la junta.", other, no},
		{"Firmaremos siempre y cuando se mencione a los pueblos indígenas.", other, no},
		{"¿Podemos firmar si no estamos registrados?", other, no},
		{"Tal vez, lo vamos a discutir.", other, no},
		{"Ya firmamos la carta anterior.", other, no},
		{"Nous signerons sous réserve de l'accord du conseil.", other, no},
		{"Peut-être, nous devons consulter nos membres.", other, no},
		{"Assinamos desde que o texto mencione a moradia.", other, no},
		{"Talvez. Vamos discutir com a direção.", other, no},
		{"Apoiamos, mas precisamos da aprovação da diretoria.", other, no},
		{"We endorse the letter but cannot endorse the second annex.", other, no},
		{"I'm out of the office but yes, we endorse.", other, no},
		// A negation, "instead", a time condition or a modal anywhere in
		// the answer: never an endorsement without a person.
		{"We endorse the other letter on climate, not this one.", other, no},
		{"Respaldamos la carta de otra red, no esta.", other, no},
		{"Nous soutenons la lettre. Enfin, pas vraiment.", other, no},
		{"We will endorse after the elections.", other, no},
		{"We would endorse it.", other, no},
		{"We are happy to endorse. Not.", other, no},
		{"We could sign the letter.", other, no},
		{"We might endorse.", other, no},
		{"We hope to endorse the letter.", other, no},
		{"We endorse the letter. Never mind the logo.", other, no},
		{"Yes. We sign the regional letter instead.", other, no},
		{"Firmamos la otra carta en lugar de esta.", other, no},
		{"Nous signons la lettre régionale au lieu de celle-ci.", other, no},
		{"Assinamos a carta regional em vez desta.", other, no},
		{"Podríamos firmar la carta.", other, no},
		{"Nous pourrions signer la lettre.", other, no},
		{"Poderíamos assinar a carta.", other, no},
		{"Firmaríamos la carta.", other, no},
		{"Nous signerions la lettre.", other, no},
		{"We endorse the letter once it is final.", other, no},
		{"We will sign when the board meets.", other, no},
		{"Nos sumamos después de las elecciones.", other, no},
		{"Firmaremos cuando esté lista.", other, no},
		{"Nous signerons après les élections.", other, no},
		{"Nous signerons quand le texte sera prêt.", other, no},
		{"Assinaremos depois das eleições.", other, no},
		{"Assinaremos quando o texto estiver pronto.", other, no},
		{"Yes.\n\nWe never sign joint letters, though.", other, no},
		{"Sí, nunca firmamos con gobiernos.", decline, nil},
		{"Sim, não assinamos com governos.", decline, nil},
		{"Oui, nous ne signons jamais avec des partis.", decline, nil},
		// Polite conditionals are a yes.
		{"We would like to endorse the letter.", endorse, yes},
		{"We would be happy to endorse the letter.", endorse, yes},
		{"Nous serions ravis de signer la lettre.", endorse, yes},
		{"Estaríamos encantados de firmar la carta.", endorse, yes},
		// "no" is "in the" in Portuguese.
		{"Assinamos a carta. Incluam o nosso nome no texto.", endorse, yes},
		{"Yes.\n\nBest,\nAna\nP.S. Only if you remove paragraph 3.", other, no},
		{"Yes, we endorse.\n\nThanks,\nLeo\n\nPS: we cannot be listed next to government bodies.", other, no},
		// Unsubscribe requests win.
		{"Yes, remove us.", unsub, yes},
		{"Please stop", unsub, yes},
		{"STOP", unsub, yes},
		{"Unsubscribe", unsub, yes},
		{"Take us off your list.", unsub, yes},
		{"No. Stop emailing us.", unsub, yes},
		{"Por favor, dennos de baja.", unsub, yes},
		{"Merci de me désabonner.", unsub, yes},
		{"Favor descadastrar este e-mail.", unsub, yes},
		{"We endorse, but remove my personal address from your list.", unsub, no},
		{"How do I unsubscribe?", unsub, no},
		// Out of office written by hand, without headers.
		{"I am out of the office until Monday.", auto, nil},
		// Nothing to go on.
		{"", other, no},
	}
	for _, c := range cases {
		r := Classify(reply(c.text))
		if r.Class == endorse && c.class != endorse {
			t.Errorf("FALSE ENDORSEMENT Classify(%q) = %+v; want %s", c.text, r, c.class)
			continue
		}
		if r.Class != c.class {
			t.Errorf("Classify(%q) = %s (%s); want %s", c.text, r.Class, r.Reason, c.class)
			continue
		}
		if c.sure != nil && r.Sure != *c.sure {
			t.Errorf("Classify(%q).Sure = %v (%s); want %v", c.text, r.Sure, r.Reason, *c.sure)
		}
		if !r.Sure && !r.Review {
			t.Errorf("Classify(%q) is not sure but not sent to review: %+v", c.text, r)
		}
		if r.Reason == "" {
			t.Errorf("Classify(%q) gave no reason", c.text)
		}
	}
}

func TestClassifyQuotedTextDoesNotCount(t *testing.T) {
	text := "Thanks for the reminder.\n\nOn Mon, 3 Mar 2025 at 10:00, Campaign <c@outreach.example> wrote:\n> Will your organisation endorse the letter?\n> Reply YES to endorse.\n"
	r := Classify(reply(text))
	if r.Class == endorse {
		t.Fatalf("Classify(reply quoting the request) = %+v; a quoted YES is not an endorsement", r)
	}
	if !r.Review {
		t.Errorf("Classify(reply quoting the request).Review = false; want true")
	}
}

func TestClassifyBareYesNeedsAReply(t *testing.T) {
	m := reply("Yes")
	m.InReplyTo, m.References, m.Subject = nil, nil, "hello"
	r := Classify(m)
	if r.Class != endorse || r.Sure || !r.Review {
		t.Errorf("Classify(bare yes, not a reply) = %+v; want an endorsement sent to review", r)
	}
}

func TestClassifyLongEndorsementGoesToReview(t *testing.T) {
	text := "We endorse the letter. " + strings.Repeat("Our organisation works with tenants in many cities across the region. ", 12)
	r := Classify(reply(text))
	if r.Class != endorse || r.Sure || !r.Review {
		t.Errorf("Classify(long endorsement) = %+v; want an endorsement sent to review", r)
	}
}

func TestClassifyAutomatedNeverEndorses(t *testing.T) {
	for _, automated := range []string{"Auto-Submitted: auto-replied", "X-Autoreply: yes", "Return-Path: <>"} {
		m := reply("We endorse the letter.")
		m.Automated = automated
		if r := Classify(m); r.Class != auto || !r.Sure {
			t.Errorf("Classify(automated %q) = %+v; want a sure auto_reply", automated, r)
		}
	}
	m := reply("We endorse the letter.")
	m.Automated = "Precedence: list" + weakSuffix
	if r := Classify(m); r.Class != auto || r.Sure || !r.Review {
		t.Errorf("Classify(list mail with an endorsement) = %+v; want auto_reply sent to review", r)
	}
}

func TestClassifyBounceBeforeAutoReply(t *testing.T) {
	m := reply("We endorse the letter.")
	m.Automated = "multipart/report; report-type=delivery-status; Auto-Submitted: auto-replied"
	m.Bounces = []outreach.Bounce{{Recipient: "gone@ngo.example", Action: "failed", Status: "5.1.1", Hard: true}}
	if r := Classify(m); r.Class != bounce || !r.Sure {
		t.Errorf("Classify(DSN) = %+v; want a sure bounce", r)
	}
}

func TestClassifyUnsubscribeSubjectRule(t *testing.T) {
	for _, subject := range []string{"unsubscribe", "UNSUBSCRIBE", "Re: Unsubscribe", "AW: RE: unsubscribe "} {
		m := reply("We endorse the letter, of course!")
		m.Subject = subject
		if r := Classify(m); r.Class != unsub || !r.Sure {
			t.Errorf("Classify(subject %q) = %+v; want a sure unsubscribe", subject, r)
		}
	}
	m := reply("We endorse.")
	m.Subject = "Re: unsubscribe link broken?"
	if r := Classify(m); r.Class == unsub {
		t.Errorf("Classify(subject %q) = %+v; want no unsubscribe by rule", m.Subject, r)
	}
}

func TestClassifyLanguage(t *testing.T) {
	for text, want := range map[string]string{
		"We endorse the letter.":        "en",
		"Nos sumamos a la carta.":       "es",
		"Nous signons la lettre.":       "fr",
		"Assinamos a carta com prazer.": "pt",
		"Sí":                            "es",
		"":                              "",
	} {
		if got := Classify(reply(text)).Language; got != want {
			t.Errorf("Classify(%q).Language = %q; want %q", text, got, want)
		}
	}
}

func TestClassifyNil(t *testing.T) {
	if r := Classify(nil); r.Class != other || !r.Review {
		t.Errorf("Classify(nil) = %+v; want other, review", r)
	}
}

func TestPrintName(t *testing.T) {
	cases := []struct {
		text, want string
	}{
		{"We endorse. Please list us as Kenya Human Rights Forum.", "Kenya Human Rights Forum"},
		{"Yes, sign as \"Centre for Housing Rights\", thanks!", "Centre for Housing Rights"},
		{"We endorse on behalf of the Zambia ESCR Platform.", "Zambia ESCR Platform"},
		{"Please list us as:\nRed de Mujeres Rurales", "Red de Mujeres Rurales"},
		{"The name to print is Justice Now (JN).", "Justice Now (JN)"},
		{"We would like our name to \nappear as Nordic Network for ESCR.", "Nordic Network for ESCR"},
		{"Nos sumamos. Pueden firmar como Fundación Derechos Ya.", "Fundación Derechos Ya"},
		{"Respaldamos. Firmamos en nombre de la Asociación Vivienda Digna.", "Asociación Vivienda Digna"},
		{"Oui, vous pouvez signer au nom de l'Association Droits et Dignité.", "Association Droits et Dignité"},
		{"Nous signons. Inscrivez-nous sous le nom « Collectif Logement ».", "Collectif Logement"},
		{"Sim, podem assinar como Instituto Terra Viva.", "Instituto Terra Viva"},
		{"Apoiamos. Incluam-nos como Liga dos Direitos.", "Liga dos Direitos"},
		{"We endorse. Please list us as endorsers.", ""},
		{"We endorse, list us as our board decides.", ""},
		{"Please list us as info@ngo.example", ""},
		{"We endorse.", ""},
	}
	for _, c := range cases {
		got, ok := PrintName(reply(c.text))
		if got != c.want || ok != (c.want != "") {
			t.Errorf("PrintName(%q) = %q, %v; want %q", c.text, got, ok, c.want)
		}
	}
	if _, ok := PrintName(nil); ok {
		t.Error("PrintName(nil) ok; want not ok")
	}
	quoted := reply("Yes\n\nOn Mon, 3 Mar 2025, Campaign <c@outreach.example> wrote:\n> Please list us as Fake Org.\n")
	if name, ok := PrintName(quoted); ok {
		t.Errorf("PrintName(quoted cue) = %q; want none: quoted text does not count", name)
	}
}
