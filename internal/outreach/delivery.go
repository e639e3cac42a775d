package outreach

import "time"

// Send kinds: what produced a send.
const (
	SendWave   = "wave"
	SendLetter = "letter"
	SendAuto   = "auto" // one automatic message, e.g. a thank-you
)

// Send is one run of a wave, one letter send, or one automatic message.
// Its deliveries are fixed when it is created (a snapshot of recipients).
type Send struct {
	ID              uint64     `json:"id"`
	Kind            string     `json:"kind"`
	Name            string     `json:"name"` // the wave's or the letter's name
	CampaignID      uint64     `json:"campaign_id"`
	WaveID          uint64     `json:"wave_id,omitempty"`
	LetterID        uint64     `json:"letter_id,omitempty"`
	Template        string     `json:"template"`
	TemplateVersion uint64     `json:"template_version"`
	ListHeaders     bool       `json:"list_headers"` // List-Unsubscribe and -Post
	State           string     `json:"state"`        // running, paused, done, cancelled
	Pause           *Pause     `json:"pause,omitempty"`
	Counts          SendCounts `json:"counts"`
	CreatedBy       string     `json:"created_by,omitempty"`
	Created         time.Time  `json:"created"`
	Finished        time.Time  `json:"finished,omitzero"`
}

// SendCounts counts a send's deliveries by state.
type SendCounts struct {
	Total      int `json:"total"`
	Queued     int `json:"queued"`
	Sending    int `json:"sending"`
	Retrying   int `json:"retrying"`
	Sent       int `json:"sent"`
	Failed     int `json:"failed"`
	Suppressed int `json:"suppressed"`
	Cancelled  int `json:"cancelled"`
	Uncertain  int `json:"uncertain"` // sent again after a crash: possibly twice
}

// Pending is how many deliveries may still be attempted.
func (c *SendCounts) Pending() int { return c.Queued + c.Sending + c.Retrying }

// Add adds o's counts to c (to sum the runs of a wave).
func (c *SendCounts) Add(o SendCounts) {
	c.Total += o.Total
	c.Queued += o.Queued
	c.Sending += o.Sending
	c.Retrying += o.Retrying
	c.Sent += o.Sent
	c.Failed += o.Failed
	c.Suppressed += o.Suppressed
	c.Cancelled += o.Cancelled
	c.Uncertain += o.Uncertain
}

// Move accounts for one delivery changing state.
func (c *SendCounts) Move(from, to string) {
	if p := c.field(from); p != nil {
		*p--
	}
	if p := c.field(to); p != nil {
		*p++
	}
}

func (c *SendCounts) field(state string) *int {
	switch state {
	case DeliveryQueued:
		return &c.Queued
	case DeliverySending:
		return &c.Sending
	case DeliveryRetrying:
		return &c.Retrying
	case DeliverySent:
		return &c.Sent
	case DeliveryFailed:
		return &c.Failed
	case DeliverySuppressed:
		return &c.Suppressed
	case DeliveryCancelled:
		return &c.Cancelled
	}
	return nil
}

// Send states.
const (
	SendRunning   = "running"
	SendPaused    = "paused"
	SendDone      = "done"
	SendCancelled = "cancelled"
)

// Pause says who or what paused a send and why. Only a person lifts a
// person's pause; a pause by the system (SMTP unreachable) lifts itself.
type Pause struct {
	By     string    `json:"by"` // a user name, or "system"
	Reason string    `json:"reason"`
	Time   time.Time `json:"time"`
}

// ByPerson reports whether a person set the pause.
func (p *Pause) ByPerson() bool { return p != nil && p.By != PausedBySystem }

// PausedBySystem is Pause.By when outreach paused a send by itself.
const PausedBySystem = "system"

// Delivery states. A delivery moves queued → sending → sent, or to
// retrying (temporary failure), failed (permanent), suppressed (skipped),
// cancelled, or uncertain (found in sending after a crash: it may have
// reached the server, and is sent again).
const (
	DeliveryQueued     = "queued"
	DeliverySending    = "sending"
	DeliverySent       = "sent"
	DeliveryRetrying   = "retrying"
	DeliveryFailed     = "failed"
	DeliverySuppressed = "suppressed"
	DeliveryCancelled  = "cancelled"
	DeliveryUncertain  = "uncertain"
)

// Delivery is one message of a send to one contact.
type Delivery struct {
	ID          uint64    `json:"id"`
	SendID      uint64    `json:"send_id"`
	WaveID      uint64    `json:"wave_id,omitempty"`
	CampaignID  uint64    `json:"campaign_id"`
	ContactID   uint64    `json:"contact_id"`
	Email       string    `json:"email"`
	Template    string    `json:"template"`
	Language    string    `json:"language,omitempty"` // variant used
	State       string    `json:"state"`
	Attempts    int       `json:"attempts"`
	NextAttempt time.Time `json:"next_attempt,omitzero"`
	NotBefore   time.Time `json:"not_before,omitzero"` // local-hour sending
	MessageID   string    `json:"message_id"`          // without <>
	Token       string    `json:"token"`
	Uncertain   bool      `json:"uncertain,omitempty"` // was in sending at a crash
	LastError   string    `json:"last_error,omitempty"`
	Roster      []string  `json:"roster,omitempty"` // letters: names as sent
	Created     time.Time `json:"created"`
	Updated     time.Time `json:"updated"`
}

// Final reports whether the delivery will not be attempted again.
func (d *Delivery) Final() bool {
	switch d.State {
	case DeliverySent, DeliveryFailed, DeliverySuppressed, DeliveryCancelled:
		return true
	}
	return false
}

// Attempt is one entry of the delivery log.
type Attempt struct {
	DeliveryID uint64        `json:"delivery_id"`
	SendID     uint64        `json:"send_id"`
	WaveID     uint64        `json:"wave_id,omitempty"`
	Email      string        `json:"email"`
	Time       time.Time     `json:"time"`
	Server     string        `json:"server"`
	Code       int           `json:"code"`
	Enhanced   string        `json:"enhanced,omitempty"`
	Response   string        `json:"response"`
	Duration   time.Duration `json:"duration_ns"`
	Outcome    string        `json:"outcome"` // sent, retrying, failed, uncertain, suppressed
}
