package store

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/outreach-coalition/outreach/internal/outreach"
	bolt "go.etcd.io/bbolt"
)

// LetterCountry is one country's copy of a letter: whether a readiness
// rule has prepared it, whether a coordinator has approved it, and every
// time it went out, oldest first. The zero value (nothing yet) is what
// LetterCountry returns for a country with no record.
type LetterCountry struct {
	LetterID    uint64                `json:"letter_id"`
	Country     string                `json:"country"`
	Ready       time.Time             `json:"ready,omitzero"`
	ReadyReason string                `json:"ready_reason,omitempty"`
	Approved    time.Time             `json:"approved,omitzero"`
	ApprovedBy  string                `json:"approved_by,omitempty"`
	Sends       []outreach.LetterSend `json:"sends,omitempty"`
}

// LastSend returns the latest time the country's letter went out, or nil.
func (lc *LetterCountry) LastSend() *outreach.LetterSend {
	if len(lc.Sends) == 0 {
		return nil
	}
	return &lc.Sends[len(lc.Sends)-1]
}

func letterCountryKey(id uint64, country string) []byte {
	return key(u64(id), []byte(country))
}

func letterObject(id uint64, country string) string {
	if country == "" {
		return fmt.Sprintf("letter %d", id)
	}
	return fmt.Sprintf("letter %d (%s)", id, country)
}

func getLetter(tx *bolt.Tx, id uint64) (*outreach.Letter, error) {
	var l outreach.Letter
	ok, err := getJSON(bucket(tx, "letters"), u64(id), &l)
	if err == nil && !ok {
		err = notFound("letter", id)
	}
	return &l, err
}

func getLetterCountry(tx *bolt.Tx, id uint64, country string) (*LetterCountry, error) {
	lc := &LetterCountry{LetterID: id, Country: country}
	if _, err := getJSON(bucket(tx, "letter_sends"), letterCountryKey(id, country), lc); err != nil {
		return nil, fmt.Errorf("letter %d %s: %w", id, country, err)
	}
	return lc, nil
}

// CreateLetter stores a new letter, giving it its id and creation time,
// with an audit entry naming by.
func (s *Store) CreateLetter(ctx context.Context, l *outreach.Letter, by string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		if bucket(tx, "campaigns").Get(u64(l.CampaignID)) == nil {
			return notFound("campaign", l.CampaignID)
		}
		b := bucket(tx, "letters")
		l.ID, _ = b.NextSequence()
		now := s.now().UTC()
		l.Created = now
		if err := putJSON(b, u64(l.ID), l); err != nil {
			return err
		}
		return appendAudit(tx, now, by, "letter.create", letterObject(l.ID, ""), fmt.Sprintf("template %s version %d, targets %q", l.Template, l.TemplateVersion, l.Targets))
	})
}

// Letter returns a letter by id.
func (s *Store) Letter(ctx context.Context, id uint64) (*outreach.Letter, error) {
	var l *outreach.Letter
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		l, err = getLetter(tx, id)
		return err
	})
	return l, err
}

// Letters returns the letters of a campaign (0: of every campaign) in id
// order.
func (s *Store) Letters(ctx context.Context, campaignID uint64) ([]outreach.Letter, error) {
	var out []outreach.Letter
	err := s.db.View(func(tx *bolt.Tx) error {
		b := bucket(tx, "letters")
		return b.ForEach(func(k, _ []byte) error {
			var l outreach.Letter
			if _, err := getJSON(b, k, &l); err != nil {
				return fmt.Errorf("letter %d: %w", btou(k), err)
			}
			if campaignID == 0 || l.CampaignID == campaignID {
				out = append(out, l)
			}
			return nil
		})
	})
	return out, err
}

// LetterCountry returns a country's record of a letter; a country with no
// record gets an empty one.
func (s *Store) LetterCountry(ctx context.Context, id uint64, country string) (*LetterCountry, error) {
	var lc *LetterCountry
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		lc, err = getLetterCountry(tx, id, country)
		return err
	})
	return lc, err
}

// LetterCountries returns every country's record of a letter, by country.
func (s *Store) LetterCountries(ctx context.Context, id uint64) ([]LetterCountry, error) {
	var out []LetterCountry
	err := s.db.View(func(tx *bolt.Tx) error {
		prefix := u64(id)
		b := bucket(tx, "letter_sends")
		cur := b.Cursor()
		for k, _ := cur.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = cur.Next() {
			var lc LetterCountry
			if _, err := getJSON(b, k, &lc); err != nil {
				return fmt.Errorf("letter %d %s: %w", id, k[8:], err)
			}
			out = append(out, lc)
		}
		return nil
	})
	return out, err
}

// changeLetterCountry loads a country's record, lets change modify it and
// stores it; change returning false stores nothing.
func changeLetterCountry(tx *bolt.Tx, id uint64, country string, change func(lc *LetterCountry) (bool, error)) (*LetterCountry, error) {
	if _, err := getLetter(tx, id); err != nil {
		return nil, err
	}
	lc, err := getLetterCountry(tx, id, country)
	if err != nil {
		return nil, err
	}
	ok, err := change(lc)
	if err != nil || !ok {
		return lc, err
	}
	return lc, putJSON(bucket(tx, "letter_sends"), letterCountryKey(id, country), lc)
}

// MarkLetterReady records that a readiness rule (reason says which) has
// prepared a country's letter, with an audit entry naming by. It returns
// false, changing nothing, when the letter was already ready there.
func (s *Store) MarkLetterReady(ctx context.Context, id uint64, country, reason, by string) (bool, error) {
	marked := false
	err := s.db.Update(func(tx *bolt.Tx) error {
		now := s.now().UTC()
		_, err := changeLetterCountry(tx, id, country, func(lc *LetterCountry) (bool, error) {
			if !lc.Ready.IsZero() {
				return false, nil
			}
			lc.Ready, lc.ReadyReason, marked = now, reason, true
			return true, nil
		})
		if err != nil || !marked {
			return err
		}
		return appendAudit(tx, now, by, "letter.ready", letterObject(id, country), reason)
	})
	return marked, err
}

// ApproveLetter records a coordinator's approval of a country's letter,
// audited. Approving twice is ECONFLICT, naming who approved it first.
func (s *Store) ApproveLetter(ctx context.Context, id uint64, country, by string) (*LetterCountry, error) {
	var lc *LetterCountry
	err := s.db.Update(func(tx *bolt.Tx) error {
		now := s.now().UTC()
		var err error
		lc, err = changeLetterCountry(tx, id, country, func(lc *LetterCountry) (bool, error) {
			if !lc.Approved.IsZero() {
				return false, outreach.Errorf(outreach.ECONFLICT, "letter %d for %s was already approved by %s on %s",
					id, country, lc.ApprovedBy, lc.Approved.Format(time.RFC3339))
			}
			lc.Approved, lc.ApprovedBy = now, by
			return true, nil
		})
		if err != nil {
			return err
		}
		return appendAudit(tx, now, by, "letter.approve", letterObject(id, country), "")
	})
	return lc, err
}

// LetterSendRequest is one country's letter to send.
type LetterSendRequest struct {
	LetterID uint64
	Country  string
	// Send is the send to create (Kind, Name, CampaignID, Template,
	// TemplateVersion, ListHeaders, CreatedBy); its ID, LetterID, State
	// and Created are filled in.
	Send       *outreach.Send
	Recipients []Recipient // their Roster is set to Roster
	Roster     []string
	// Endorsements are the confirmed endorsements behind Roster; the send
	// is refused if any is no longer confirmed when it commits (a decline
	// or a review decision raced the send).
	Endorsements []uint64
	By           string
	// Resend allows sending a country's letter again.
	Resend bool
	// Approve records By's approval when the letter has none: sending by
	// hand is approving.
	Approve bool
}

// SendLetter sends one country's letter: in one transaction it refuses a
// letter already sent to the country unless Resend (ECONFLICT, saying
// when and by whom it went), creates the send with one delivery per
// recipient, each keeping the frozen roster, and records a LetterSend and
// an audit entry (letter.send, or letter.resend naming the earlier
// sends). Suppressed recipients get suppressed deliveries, as in any send.
func (s *Store) SendLetter(ctx context.Context, req *LetterSendRequest, mint Mint) (*outreach.LetterSend, error) {
	if req.Send == nil || len(req.Recipients) == 0 {
		return nil, outreach.Errorf(outreach.EINVALID, "letter %d for %s has no recipients", req.LetterID, req.Country)
	}
	if len(req.Roster) == 0 {
		return nil, outreach.Errorf(outreach.EINVALID, "letter %d for %s has an empty roster", req.LetterID, req.Country)
	}
	var ls outreach.LetterSend
	err := s.db.Update(func(tx *bolt.Tx) error {
		now := s.now().UTC()
		for _, id := range req.Endorsements {
			var e outreach.Endorsement
			if ok, err := getJSON(bucket(tx, "endorsements"), u64(id), &e); err != nil || !ok || e.State != outreach.EndorsementConfirmed {
				return outreach.Errorf(outreach.ECONFLICT, "letter %d for %s: endorsement %d behind its roster is no longer confirmed: nothing sent; preview the letter again", req.LetterID, req.Country, id)
			}
		}
		var before []outreach.LetterSend
		lc, err := changeLetterCountry(tx, req.LetterID, req.Country, func(lc *LetterCountry) (bool, error) {
			if last := lc.LastSend(); last != nil && !req.Resend {
				return false, outreach.Errorf(outreach.ECONFLICT, "letter %d was already sent to %s on %s by %s (send %d): nothing sent; resend it on purpose with --resend",
					req.LetterID, req.Country, last.Time.Format(time.RFC3339), last.By, last.SendID)
			}
			before = lc.Sends
			return false, nil
		})
		if err != nil {
			return err
		}
		send := req.Send
		sends := bucket(tx, "sends")
		send.ID, _ = sends.NextSequence()
		send.Kind, send.LetterID, send.State, send.Created = outreach.SendLetter, req.LetterID, outreach.SendRunning, now
		send.Counts = outreach.SendCounts{}
		roster := append([]string(nil), req.Roster...)
		rcpts := make([]Recipient, len(req.Recipients))
		for i, r := range req.Recipients {
			r.Roster = roster
			rcpts[i] = r
		}
		if err := enqueue(tx, now, send, rcpts, mint); err != nil {
			return err
		}
		finishIfDone(send, now)
		if err := putJSON(sends, u64(send.ID), send); err != nil {
			return err
		}
		ls = outreach.LetterSend{LetterID: req.LetterID, Country: req.Country, SendID: send.ID, Roster: roster, By: req.By, Resend: len(before) > 0, Time: now}
		lc.Sends = append(lc.Sends, ls)
		approved := req.Approve && lc.Approved.IsZero()
		if approved {
			lc.Approved, lc.ApprovedBy = now, req.By
		}
		if err := putJSON(bucket(tx, "letter_sends"), letterCountryKey(req.LetterID, req.Country), lc); err != nil {
			return err
		}
		obj := letterObject(req.LetterID, req.Country)
		if approved {
			if err := appendAudit(tx, now, req.By, "letter.approve", obj, "by sending it"); err != nil {
				return err
			}
		}
		action := "letter.send"
		detail := fmt.Sprintf("send %d to %d targets; roster of %d: %s", send.ID, send.Counts.Total, len(roster), strings.Join(roster, "; "))
		if ls.Resend {
			action = "letter.resend"
			var earlier []string
			for _, b := range before {
				earlier = append(earlier, fmt.Sprintf("send %d on %s by %s", b.SendID, b.Time.Format(time.RFC3339), b.By))
			}
			detail = "sent again on purpose (before: " + strings.Join(earlier, ", ") + "); " + detail
		}
		return appendAudit(tx, now, req.By, action, obj, detail)
	})
	if err != nil {
		return nil, err
	}
	return &ls, nil
}
