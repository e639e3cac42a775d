// Package demo seeds the first-run demonstration (outreach serve --demo): a
// campaign built from the campaign letter in campaign-letter.md, fictional
// partner organisations and targets in ten countries, and simulated
// partners who answer the mail they receive with real MIME replies,
// delivered into the campaign mailbox so the real inbox reads them.
//
// Every address is in a reserved example domain (.example, .test).
package demo

import (
	_ "embed"
	"fmt"
	"strings"
)

// CampaignLetter is the letter the project started from, addresses removed.
//
//go:embed campaign-letter.md
var CampaignLetter string

// Campaign facts, from the letter.
const (
	CampaignName  = "Global campaign for the ratification of the OP-ICESCR (demo)"
	CampaignFrom  = "OP-ICESCR Coalition (demo) <campaign@coalition.example>"
	CampaignReply = "campaign@coalition.example"
	PostalAddress = "International NGO Coalition for the OP-ICESCR (demo), 1 Example Street, Example City"
)

// Persona is how a simulated partner answers.
type Persona string

// The mix of answers the demo shows.
const (
	EndorseEN   Persona = "endorse-en"
	EndorseES   Persona = "endorse-es"
	EndorseFR   Persona = "endorse-fr"
	EndorsePT   Persona = "endorse-pt"
	EndorseHTML Persona = "endorse-html" // HTML-only mail client
	Decline     Persona = "decline"
	OutOfOffice Persona = "out-of-office"
	Bounce      Persona = "bounce"
	Question    Persona = "question"
	Unsubscribe Persona = "unsubscribe"
	Conditional Persona = "conditional" // "we would endorse if…": goes to review
	Silent      Persona = "silent"
)

// Partner is a fictional partner organisation.
type Partner struct {
	Email, Name, Organization, Country, Language string
	Tags                                         string
	Persona                                      Persona
}

// Target is a fictional head of state, ministry or human rights institution.
type Target struct {
	Email, Name, Organization, Kind, Country, Language string
}

// Partners are the demo's partner organisations, in ten countries across
// ASEAN, the AU, the OAS, the Council of Europe and SAARC.
var Partners = []Partner{
	{"amina@suara-rakyat.example", "Amina Yusof", "Suara Rakyat", "MY", "en", "national-platform", EndorseEN},
	{"lim@hak-asasi.example", "Lim Wei Ling", "Hak Asasi Malaysia", "MY", "en", "legal", EndorseHTML},
	{"maria@karapatan-demo.example", "Maria Santos", "Karapatan Demo Alliance", "PH", "en", "", Question},
	{"jose@bayan-rights.example", "José Reyes", "Bayan Rights Network", "PH", "en", "", EndorseEN},
	{"wanjiru@haki-demo.example", "Wanjiru Kamau", "Haki Demo Kenya", "KE", "en", "", OutOfOffice},
	{"otieno@kituo.example", "Otieno Odhiambo", "Kituo cha Sheria (demo)", "KE", "en", "legal", EndorseEN},
	{"ada@lagos-rights.example", "Ada Okafor", "Lagos Rights Forum", "NG", "en", "", Decline},
	{"lucia@dejusticia-demo.example", "Lucía Gómez", "Centro de Estudios Sociales (demo)", "CO", "es", "", EndorseES},
	{"andres@vivienda-digna.example", "Andrés Restrepo", "Vivienda Digna Colombia", "CO", "es", "housing", EndorseES},
	{"rosa@desca-mexico.example", "Rosa Hernández", "Red DESCA México (demo)", "MX", "es", "", Conditional},
	{"joao@terra-direitos.example", "João Silva", "Terra de Direitos (demo)", "BR", "pt", "", EndorsePT},
	{"ana@moradia.example", "Ana Costa", "Movimento Moradia Digna", "BR", "pt", "housing", Unsubscribe},
	{"elise@ldh-demo.example", "Élise Moreau", "Ligue des droits (démo)", "FR", "fr", "", EndorseFR},
	{"pierre@secours-droits.example", "Pierre Martin", "Secours Droits Sociaux", "FR", "fr", "", Silent},
	{"gone@former-ngo.example", "Former Contact", "Former NGO Network", "IN", "en", "", Bounce},
	{"priya@hrln-demo.example", "Priya Sharma", "Human Rights Law Forum (demo)", "IN", "en", "legal", EndorseEN},
	{"ram@nepal-escr.example", "Ram Thapa", "Nepal ESCR Network (demo)", "NP", "en", "", Silent},
}

// Targets receive letters, never waves.
var Targets = []Target{
	{"pm@pmo.my.example", "Office of the Prime Minister", "Prime Minister's Department", "head_of_state", "MY", "en"},
	{"wisma@foreign.my.example", "Ministry of Foreign Affairs", "Wisma Putra", "ministry", "MY", "en"},
	{"info@nhri.my.example", "Human Rights Commission", "Human Rights Commission of Malaysia (demo)", "nhri", "MY", "en"},
	{"president@op.ph.example", "Office of the President", "Malacañang (demo)", "head_of_state", "PH", "en"},
	{"president@statehouse.ke.example", "State House", "Office of the President of Kenya (demo)", "head_of_state", "KE", "en"},
	{"presidencia@casa.co.example", "Presidencia de la República", "Presidencia de Colombia (demo)", "head_of_state", "CO", "es"},
	{"cancilleria@exteriores.co.example", "Cancillería", "Ministerio de Relaciones Exteriores (demo)", "ministry", "CO", "es"},
	{"gabinete@planalto.br.example", "Gabinete da Presidência", "Presidência da República (demo)", "head_of_state", "BR", "pt"},
	{"elysee@presidence.fr.example", "Présidence de la République", "Élysée (démo)", "head_of_state", "FR", "fr"},
	{"pmo@pmindia.in.example", "Prime Minister's Office", "PMO India (demo)", "head_of_state", "IN", "en"},
	{"pm@opmcm.np.example", "Office of the Prime Minister", "OPMCM Nepal (demo)", "head_of_state", "NP", "en"},
	{"presidencia@gob.mx.example", "Presidencia de la República", "Presidencia de México (demo)", "head_of_state", "MX", "es"},
	{"presidency@villa.ng.example", "State House", "Presidency of Nigeria (demo)", "head_of_state", "NG", "en"},
}

// ContactsCSV returns the demo contacts as CSV for `contacts import`.
func ContactsCSV() string {
	var b strings.Builder
	b.WriteString("email,name,organization,kind,country,language,tags,consent,consent_date\n")
	q := func(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
	for _, p := range Partners {
		fmt.Fprintf(&b, "%s,%s,%s,partner,%s,%s,%s,demo seed,2026-01-15\n", p.Email, q(p.Name), q(p.Organization), p.Country, p.Language, q(p.Tags))
	}
	for _, t := range Targets {
		fmt.Fprintf(&b, "%s,%s,%s,%s,%s,%s,,public record,2026-01-15\n", t.Email, q(t.Name), q(t.Organization), t.Kind, t.Country, t.Language)
	}
	return b.String()
}

// PartnerByEmail finds a demo partner.
func PartnerByEmail(addr string) (Partner, bool) {
	for _, p := range Partners {
		if strings.EqualFold(p.Email, addr) {
			return p, true
		}
	}
	return Partner{}, false
}
