package outreach

import (
	"strings"
	"time"
)

// Campaign groups waves, endorsements and letters under one sender.
type Campaign struct {
	ID                uint64    `json:"id"`
	Name              string    `json:"name"`
	From              string    `json:"from"`               // "Name <addr>" or addr
	ReplyTo           string    `json:"reply_to"`           // base reply address; tokens go after '+'
	DefaultLanguage   string    `json:"default_language"`   // BCP 47
	PostalAddress     string    `json:"postal_address"`     // printed in every footer
	RequireReview     bool      `json:"require_review"`     // every endorsement needs a person
	UnattendedLetters bool      `json:"unattended_letters"` // letters may go without approval
	ThankYou          bool      `json:"thank_you"`          // thank partners after a confirmed endorsement
	Created           time.Time `json:"created,omitzero"`
}

// Validate checks a campaign's fields.
func (c *Campaign) Validate() error {
	if strings.TrimSpace(c.Name) == "" {
		return FieldError("name", "is required")
	}
	if _, err := ParseEmail(c.From); err != nil {
		return FieldError("from", "%q is not an email address", c.From)
	}
	addr, err := ParseEmail(c.ReplyTo)
	if err != nil {
		return FieldError("reply_to", "%q is not an email address", c.ReplyTo)
	}
	if strings.Contains(addr[:strings.LastIndexByte(addr, '@')], "+") {
		return FieldError("reply_to", "%q must not contain '+': outreach adds +TOKEN to it", c.ReplyTo)
	}
	if c.DefaultLanguage == "" || !ValidLanguage(c.DefaultLanguage) {
		return FieldError("default_language", "%q is not a BCP 47 language tag", c.DefaultLanguage)
	}
	return nil
}

// Suppression keeps an address from ever being sent to. Address is stored
// as its EmailKey (or, once forgotten, a keyed hash of it).
type Suppression struct {
	Address string    `json:"address"`
	Reason  string    `json:"reason"` // unsubscribed, bounced, complained, manual, import
	Source  string    `json:"source"` // who or what added it
	Time    time.Time `json:"time"`
}
