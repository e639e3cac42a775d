package render

import (
	"time"

	"github.com/outreach-coalition/outreach/internal/outreach"
)

// Data is what a template sees as dot. Every field is documented for
// template authors in templates/mail/README.md.
type Data struct {
	Contact   outreach.Contact
	Campaign  outreach.Campaign
	Wave      WaveInfo
	Delivery  DeliveryInfo
	Endorsers []Endorser // letters: the roster, in order
	Lang      string     // the variant being rendered; set by Render
	Now       time.Time  // set by the caller from its clock
}

// WaveInfo describes the wave a message belongs to.
type WaveInfo struct {
	Name string
}

// DeliveryInfo carries the per-message values. An empty UnsubscribeURL
// means the message has no unsubscribe link (letters, thank-yous).
type DeliveryInfo struct {
	ReplyTo        string
	UnsubscribeURL string
	MessageID      string
}

// Endorser is one organisation on a letter's roster. Name is what the
// roster prints (the endorsement's print name); Organization is the
// organisation as recorded, for templates that want both.
type Endorser struct {
	Name         string
	Organization string
	Country      string
}

// SampleData returns the data templates are validated and previewed with:
// a partner in Malaysia writing in English, a campaign whose default
// language is English, an unsubscribe link and a roster of three.
func SampleData() *Data {
	return &Data{
		Contact: outreach.Contact{
			ID:           1,
			Email:        "ana@example.net",
			Name:         "Ana Example",
			Organization: "Example Human Rights Network",
			Kind:         outreach.KindPartner,
			Country:      "MY",
			Regions:      []string{"ASEAN"},
			Language:     "en",
			TimeZone:     "Asia/Kuala_Lumpur",
			Status:       outreach.StatusActive,
		},
		Campaign: outreach.Campaign{
			ID:              1,
			Name:            "Campaign for the OP-ICESCR",
			From:            "Coalition for the OP-ICESCR <campaign@example.org>",
			ReplyTo:         "campaign@example.org",
			DefaultLanguage: "en",
			PostalAddress:   "1 Example Street, 1000 Example City",
		},
		Wave: WaveInfo{Name: "First call"},
		Delivery: DeliveryInfo{
			ReplyTo:        "campaign+sampletoken@example.org",
			UnsubscribeURL: "https://outreach.example.org/u/sampletoken",
			MessageID:      "sampletoken.1@example.org",
		},
		Endorsers: []Endorser{
			{Name: "Example Human Rights Network", Organization: "Example Human Rights Network", Country: "MY"},
			{Name: "Sample Legal Aid Centre (SLAC)", Organization: "Sample Legal Aid Centre", Country: "MY"},
			{Name: "Demo Workers' Association", Organization: "Demo Workers' Association", Country: "MY"},
		},
		Now: time.Date(2026, time.November, 26, 9, 0, 0, 0, time.UTC),
	}
}
