package outreach

import (
	"strings"
	"time"
	"unicode/utf8"
)

// Reply classes.
const (
	ClassEndorse     = "endorse"
	ClassDecline     = "decline"
	ClassUnsubscribe = "unsubscribe"
	ClassAutoReply   = "auto_reply"
	ClassBounce      = "bounce"
	ClassOther       = "other"
)

// How a reply was matched to the delivery it answers, most certain first.
const (
	MatchToken     = "token"
	MatchMessageID = "message_id"
	MatchSender    = "sender"
	MatchNone      = "none"
)

// Reply is one message read from the campaign mailbox.
type Reply struct {
	ID         uint64    `json:"id"`
	MessageID  string    `json:"message_id"`
	From       string    `json:"from"`
	Subject    string    `json:"subject"`
	Date       time.Time `json:"date"`
	Received   time.Time `json:"received"`
	Text       string    `json:"text"` // the new text, quotes removed
	Match      string    `json:"match"`
	DeliveryID uint64    `json:"delivery_id,omitempty"`
	ContactID  uint64    `json:"contact_id,omitempty"`
	CampaignID uint64    `json:"campaign_id,omitempty"`
	Class      string    `json:"class"`
	Review     bool      `json:"review"` // waiting for a person
	Reason     string    `json:"reason"`
	Bounce     *Bounce   `json:"bounce,omitempty"`
	Resolved   string    `json:"resolved,omitempty"` // who cleared it from review
}

// Bounce is what a delivery status notification said about a recipient.
type Bounce struct {
	Recipient  string `json:"recipient"`
	Action     string `json:"action"` // failed, delayed, ...
	Status     string `json:"status"` // 5.1.1
	Diagnostic string `json:"diagnostic,omitempty"`
	Hard       bool   `json:"hard"`
}

// Endorsement states.
const (
	EndorsementPending   = "pending"
	EndorsementConfirmed = "confirmed"
	EndorsementRejected  = "rejected"
	EndorsementWithdrawn = "withdrawn"
)

// Endorsement records that an organisation endorsed a campaign's letter.
type Endorsement struct {
	ID           uint64    `json:"id"`
	CampaignID   uint64    `json:"campaign_id"`
	ContactID    uint64    `json:"contact_id"`
	Email        string    `json:"email"`
	Organization string    `json:"organization"`
	PrintName    string    `json:"print_name"`
	Country      string    `json:"country,omitempty"`
	State        string    `json:"state"`
	ReplyID      uint64    `json:"reply_id,omitempty"`
	MessageID    string    `json:"message_id,omitempty"`
	Evidence     string    `json:"evidence"` // the words that endorsed, see EvidenceOf
	Source       string    `json:"source"`   // reply, manual, import
	Time         time.Time `json:"time"`
	Updated      time.Time `json:"updated"`
	By           string    `json:"by,omitempty"`
}

// MaxEvidence is the most of a reply's text an endorsement keeps as
// evidence, in bytes.
const MaxEvidence = 1000

// EvidenceOf is the evidence an endorsement keeps of text: trimmed, and cut
// to MaxEvidence bytes.
func EvidenceOf(text string) string { return Clip(strings.TrimSpace(text), MaxEvidence) }

// Clip cuts s to at most n bytes at a rune boundary, marking the cut.
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + " […]"
}
