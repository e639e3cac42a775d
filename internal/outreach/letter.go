package outreach

import "time"

// Letter is the endorsed letter of a campaign, sent per country to that
// country's targets.
type Letter struct {
	ID              uint64    `json:"id"`
	CampaignID      uint64    `json:"campaign_id"`
	Template        string    `json:"template"`
	TemplateVersion uint64    `json:"template_version,omitempty"` // pinned at creation (0: the latest, in letters made before pinning)
	Targets         string    `json:"targets"`                    // filter over target contacts
	MinEndorsements int       `json:"min_endorsements,omitempty"`
	Deadline        time.Time `json:"deadline,omitzero"`
	International   bool      `json:"international,omitempty"`
	Created         time.Time `json:"created"`
}

// LetterSend records one country's letter going out.
type LetterSend struct {
	LetterID uint64    `json:"letter_id"`
	Country  string    `json:"country"`
	SendID   uint64    `json:"send_id"`
	Roster   []string  `json:"roster"`
	By       string    `json:"by"`
	Resend   bool      `json:"resend,omitempty"`
	Time     time.Time `json:"time"`
}
