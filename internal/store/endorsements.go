package store

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/outreach-coalition/outreach/internal/outreach"
	bolt "go.etcd.io/bbolt"
)

// active reports whether an endorsement in state counts: pending or
// confirmed. A contact has at most one active endorsement per campaign.
func active(state string) bool {
	return state == outreach.EndorsementPending || state == outreach.EndorsementConfirmed
}

func endorsementObject(e *outreach.Endorsement) string {
	return fmt.Sprintf("endorsement %d (%s)", e.ID, e.Email)
}

func putEndorsement(tx *bolt.Tx, e *outreach.Endorsement) error {
	return putJSON(bucket(tx, "endorsements"), u64(e.ID), e)
}

func getEndorsement(tx *bolt.Tx, id uint64) (*outreach.Endorsement, error) {
	var e outreach.Endorsement
	ok, err := getJSON(bucket(tx, "endorsements"), u64(id), &e)
	if err == nil && !ok {
		err = notFound("endorsement", id)
	}
	return &e, err
}

// contactEndorsements returns the contact's endorsements in a campaign,
// oldest first.
func contactEndorsements(tx *bolt.Tx, contactID, campaignID uint64) ([]*outreach.Endorsement, error) {
	prefix := key(u64(contactID), u64(campaignID))
	var out []*outreach.Endorsement
	c := bucket(tx, "endorsements_by_contact").Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		e, err := getEndorsement(tx, btou(k[16:24]))
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

func activeEndorsement(tx *bolt.Tx, contactID, campaignID uint64, except uint64) (*outreach.Endorsement, error) {
	list, err := contactEndorsements(tx, contactID, campaignID)
	if err != nil {
		return nil, err
	}
	for _, e := range list {
		if e.ID != except && active(e.State) {
			return e, nil
		}
	}
	return nil, nil
}

// createEndorsement stores a new endorsement and its index entry.
func createEndorsement(tx *bolt.Tx, now time.Time, e *outreach.Endorsement, by string) error {
	b := bucket(tx, "endorsements")
	e.ID, _ = b.NextSequence()
	if e.Time.IsZero() {
		e.Time = now
	}
	e.Updated = now
	e.By = by
	if err := putEndorsement(tx, e); err != nil {
		return err
	}
	if err := bucket(tx, "endorsements_by_contact").Put(key(u64(e.ContactID), u64(e.CampaignID), u64(e.ID)), nil); err != nil {
		return err
	}
	return appendAudit(tx, now, by, "endorsement.create", endorsementObject(e), e.State+" ("+e.Source+")")
}

// endorseTx records the endorsement e makes (State pending or confirmed)
// for its contact and campaign. While the contact has an active
// endorsement, e is attached to it as evidence instead. A person (by is not
// inboxUser) confirming e confirms a pending one, unless e names another
// print name (ECONFLICT: that name came from a reply the person may not
// have seen); the inbox never does: a
// pending endorsement was held back for a reason (another name to print,
// another sender, an unclear text) that a later reply does not settle, so
// the reply waits beside it for a person and note says so. By the inbox, a
// contact whose earlier endorsement was rejected or withdrawn gets a
// pending one whatever e's state, and note says why.
func endorseTx(tx *bolt.Tx, now time.Time, e *outreach.Endorsement, by string) (got *outreach.Endorsement, change, note string, err error) {
	list, err := contactEndorsements(tx, e.ContactID, e.CampaignID)
	if err != nil {
		return nil, "", "", err
	}
	var lapsed *outreach.Endorsement
	for _, old := range list {
		if active(old.State) {
			if old.State == outreach.EndorsementPending && e.State == outreach.EndorsementConfirmed && by != inboxUser {
				if e.PrintName != "" && strings.TrimSpace(e.PrintName) != strings.TrimSpace(old.PrintName) {
					return nil, "", "", outreach.Errorf(outreach.ECONFLICT, "%s has endorsement %d pending, to be printed as %q, not %q: confirm that endorsement (outreach endorsements confirm %d) or approve its reply %d",
						e.Email, old.ID, old.PrintName, e.PrintName, old.ID, old.ReplyID)
				}
				if err := setStateTx(tx, now, old, outreach.EndorsementConfirmed, by, fmt.Sprintf("confirmed by reply %d", e.ReplyID)); err != nil {
					return nil, "", "", err
				}
				return old, EndorsementConfirmed, "", nil
			}
			note = fmt.Sprintf("further evidence of endorsement %d (%s)", old.ID, old.State)
			if old.State == outreach.EndorsementPending {
				note = fmt.Sprintf("further evidence of endorsement %d, which is pending: only a person confirms it", old.ID)
			}
			return old, EndorsementAttached, note, nil
		}
		if old.State == outreach.EndorsementRejected || old.State == outreach.EndorsementWithdrawn {
			lapsed = old
		}
	}
	if lapsed != nil && by == inboxUser && e.State == outreach.EndorsementConfirmed {
		e.State = outreach.EndorsementPending
		note = fmt.Sprintf("pending: endorsement %d of this contact was %s", lapsed.ID, lapsed.State)
	}
	if err := createEndorsement(tx, now, e, by); err != nil {
		return nil, "", "", err
	}
	if e.State == outreach.EndorsementPending && note == "" {
		note = fmt.Sprintf("endorsement %d pending review", e.ID)
	}
	return e, EndorsementCreated, note, nil
}

// Roles of a reply linked to an endorsement, the value stored under
// endorsement_replies; plain evidence has none.
const (
	// roleConfirmed: the reply's sure reading or a person's approval of it
	// confirmed the endorsement. One reply at most has it, and only while
	// the endorsement stays confirmed.
	roleConfirmed = "confirmed"
	// roleHeld: a decline or withdrawal that put the endorsement on hold.
	roleHeld = "held"
)

// linkReply records that reply is evidence of endorsement, in role ("" for
// plain evidence).
func linkReply(tx *bolt.Tx, endorsementID, replyID uint64, role string) error {
	var v []byte
	if role != "" {
		v = []byte(role)
	}
	if err := bucket(tx, "endorsement_replies").Put(key(u64(endorsementID), u64(replyID)), v); err != nil {
		return err
	}
	return bucket(tx, "reply_endorsement").Put(u64(replyID), u64(endorsementID))
}

// linkRole returns the role of reply in endorsement's evidence.
func linkRole(tx *bolt.Tx, endorsementID, replyID uint64) string {
	return string(bucket(tx, "endorsement_replies").Get(key(u64(endorsementID), u64(replyID))))
}

// markConfirmed records that reply confirmed endorsement.
func markConfirmed(tx *bolt.Tx, endorsementID, replyID uint64) error {
	if err := clearConfirmed(tx, endorsementID); err != nil {
		return err
	}
	return linkReply(tx, endorsementID, replyID, roleConfirmed)
}

// clearConfirmed makes the reply that confirmed endorsement plain evidence.
func clearConfirmed(tx *bolt.Tx, endorsementID uint64) error {
	b := bucket(tx, "endorsement_replies")
	prefix := u64(endorsementID)
	var ks [][]byte
	c := b.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		if string(v) == roleConfirmed {
			ks = append(ks, bytes.Clone(k))
		}
	}
	for _, k := range ks {
		if err := b.Put(k, nil); err != nil {
			return err
		}
	}
	return nil
}

// heldInReview returns a decline or withdrawal that put endorsement on
// hold and waits for a person, or nil.
func heldInReview(tx *bolt.Tx, endorsementID uint64) *outreach.Reply {
	for _, rid := range endorsementReplies(tx, endorsementID) {
		if linkRole(tx, endorsementID, rid) != roleHeld {
			continue
		}
		if r, err := getReply(tx, rid); err == nil && r.Review && r.Resolved == "" {
			return r
		}
	}
	return nil
}

// holdTx puts e on hold for reply replyID, a decline or a withdrawal: a
// confirmed endorsement goes back to pending at once, so that no letter
// carries it while a person decides; approving the reply withdraws it.
func holdTx(tx *bolt.Tx, now time.Time, e *outreach.Endorsement, replyID uint64) error {
	if e.State == outreach.EndorsementConfirmed {
		e.State, e.Updated, e.By = outreach.EndorsementPending, now, inboxUser
		if err := putEndorsement(tx, e); err != nil {
			return err
		}
		if err := clearConfirmed(tx, e.ID); err != nil {
			return err
		}
		detail := fmt.Sprintf("confirmed -> pending: reply %d may take it back", replyID)
		if err := appendAudit(tx, now, inboxUser, "endorsement.hold", endorsementObject(e), detail); err != nil {
			return err
		}
	}
	return linkReply(tx, e.ID, replyID, roleHeld)
}

// unconfirmTx sets confirmed e back to pending, audited: a person set
// aside the reply that confirmed it.
func unconfirmTx(tx *bolt.Tx, now time.Time, e *outreach.Endorsement, by, note string) error {
	e.State, e.Updated, e.By = outreach.EndorsementPending, now, by
	if err := putEndorsement(tx, e); err != nil {
		return err
	}
	if err := clearConfirmed(tx, e.ID); err != nil {
		return err
	}
	return appendAudit(tx, now, by, "endorsement.unconfirm", endorsementObject(e), "confirmed -> pending: "+note)
}

// reopenReply puts reply id back in the review queue with why added to its
// reason; it does nothing to a reply already there or not found.
func reopenReply(tx *bolt.Tx, id uint64, why string) error {
	if id == 0 {
		return nil
	}
	r, err := getReply(tx, id)
	if err != nil || (r.Review && r.Resolved == "") {
		return nil
	}
	r.Review, r.Resolved = true, ""
	r.Reason += "; " + why
	return putReply(tx, r)
}

func replyEndorsement(tx *bolt.Tx, replyID uint64) *outreach.Endorsement {
	v := bucket(tx, "reply_endorsement").Get(u64(replyID))
	if v == nil {
		return nil
	}
	e, err := getEndorsement(tx, btou(v))
	if err != nil {
		return nil
	}
	return e
}

func endorsementReplies(tx *bolt.Tx, id uint64) []uint64 {
	var out []uint64
	prefix := u64(id)
	c := bucket(tx, "endorsement_replies").Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		out = append(out, btou(k[8:16]))
	}
	return out
}

// Endorsement actions, for SetEndorsementState.
const (
	ActionConfirm  = "confirm"
	ActionReject   = "reject"
	ActionWithdraw = "withdraw"
)

// transitions lists, per target state, the states it may be reached from.
var transitions = map[string][]string{
	outreach.EndorsementConfirmed: {outreach.EndorsementPending, outreach.EndorsementRejected},
	outreach.EndorsementRejected:  {outreach.EndorsementPending, outreach.EndorsementConfirmed},
	outreach.EndorsementWithdrawn: {outreach.EndorsementPending, outreach.EndorsementConfirmed},
}

var stateAction = map[string]string{
	outreach.EndorsementConfirmed: ActionConfirm,
	outreach.EndorsementRejected:  ActionReject,
	outreach.EndorsementWithdrawn: ActionWithdraw,
}

// setStateTx moves e to state, audited. Confirming requires that the
// contact has no other active endorsement in the campaign and that no
// decline or withdrawal that put e on hold waits for review. The replies
// that are its evidence leave the review queue when a person confirms or
// rejects it. No reply keeps the role of having confirmed it: a caller
// confirming it through a reply marks that reply afterwards.
func setStateTx(tx *bolt.Tx, now time.Time, e *outreach.Endorsement, state, by, note string) error {
	if !slices.Contains(transitions[state], e.State) {
		return outreach.Errorf(outreach.ECONFLICT, "endorsement %d is %s: it cannot be %s", e.ID, e.State, state)
	}
	if state == outreach.EndorsementConfirmed {
		other, err := activeEndorsement(tx, e.ContactID, e.CampaignID, e.ID)
		if err != nil {
			return err
		}
		if other != nil {
			return outreach.Errorf(outreach.ECONFLICT, "%s already has endorsement %d (%s) in this campaign", e.Email, other.ID, other.State)
		}
		if r := heldInReview(tx, e.ID); r != nil {
			return outreach.Errorf(outreach.ECONFLICT, "endorsement %d (%s): reply %d (%s) may take it back and waits for review: approve that reply (it withdraws the endorsement) or reject it first",
				e.ID, e.Email, r.ID, r.Class)
		}
	}
	if err := clearConfirmed(tx, e.ID); err != nil {
		return err
	}
	detail := e.State + " -> " + state
	if note != "" {
		detail += ": " + note
	}
	e.State = state
	e.Updated = now
	e.By = by
	if err := putEndorsement(tx, e); err != nil {
		return err
	}
	if by != inboxUser && state != outreach.EndorsementWithdrawn {
		for _, rid := range endorsementReplies(tx, e.ID) {
			r, err := getReply(tx, rid)
			if err != nil || !r.Review || r.Resolved != "" {
				continue
			}
			r.Review, r.Resolved = false, by
			if err := putReply(tx, r); err != nil {
				return err
			}
		}
	}
	return appendAudit(tx, now, by, "endorsement."+stateAction[state], endorsementObject(e), detail)
}

// thankYouTx creates a send of the latest "thank-you" template to the
// endorsing contact; it does nothing (and returns 0) when there is no such
// template. A suppressed contact gets a suppressed delivery, never mail.
func thankYouTx(tx *bolt.Tx, now time.Time, e *outreach.Endorsement, mint Mint) (uint64, error) {
	tv, ok, err := latestTemplate(bucket(tx, "templates"), "thank-you")
	if err != nil || !ok {
		return 0, err
	}
	sends := bucket(tx, "sends")
	send := &outreach.Send{Kind: outreach.SendAuto, Name: fmt.Sprintf("thank-you for endorsement %d", e.ID), CampaignID: e.CampaignID,
		Template: tv.Name, TemplateVersion: tv.Version, ListHeaders: false, State: outreach.SendRunning, CreatedBy: e.By, Created: now}
	send.ID, _ = sends.NextSequence()
	if err := enqueue(tx, now, send, []Recipient{{ContactID: e.ContactID, Email: e.Email}}, mint); err != nil {
		return 0, err
	}
	finishIfDone(send, now)
	if err := putJSON(sends, u64(send.ID), send); err != nil {
		return 0, err
	}
	return send.ID, nil
}

// Endorsement returns an endorsement by id.
func (s *Store) Endorsement(ctx context.Context, id uint64) (*outreach.Endorsement, error) {
	var e *outreach.Endorsement
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		e, err = getEndorsement(tx, id)
		return err
	})
	return e, err
}

// EndorsementReplies returns the ids of the replies that are evidence of
// an endorsement, oldest first.
func (s *Store) EndorsementReplies(ctx context.Context, id uint64) ([]uint64, error) {
	var out []uint64
	err := s.db.View(func(tx *bolt.Tx) error {
		out = endorsementReplies(tx, id)
		return nil
	})
	return out, err
}

// ReplyEndorsement returns the endorsement a reply is evidence of, or nil.
func (s *Store) ReplyEndorsement(ctx context.Context, replyID uint64) (*outreach.Endorsement, error) {
	var e *outreach.Endorsement
	err := s.db.View(func(tx *bolt.Tx) error {
		e = replyEndorsement(tx, replyID)
		return nil
	})
	return e, err
}

// ActiveEndorsement returns the contact's pending or confirmed endorsement
// in a campaign, or nil.
func (s *Store) ActiveEndorsement(ctx context.Context, contactID, campaignID uint64) (*outreach.Endorsement, error) {
	var e *outreach.Endorsement
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		e, err = activeEndorsement(tx, contactID, campaignID, 0)
		return err
	})
	return e, err
}

// EndorsementFilter selects endorsements. Zero fields match everything.
type EndorsementFilter struct {
	CampaignID uint64
	ContactID  uint64
	Country    string
	State      string
	// Countries, when not nil, keeps only endorsements from these
	// countries (a scoped principal's view).
	Countries []string
}

// Endorsements returns the matching endorsements in id order.
func (s *Store) Endorsements(ctx context.Context, f EndorsementFilter) ([]outreach.Endorsement, error) {
	var out []outreach.Endorsement
	err := s.db.View(func(tx *bolt.Tx) error {
		b := bucket(tx, "endorsements")
		return b.ForEach(func(k, _ []byte) error {
			var e outreach.Endorsement
			if _, err := getJSON(b, k, &e); err != nil {
				return err
			}
			if (f.CampaignID != 0 && e.CampaignID != f.CampaignID) || (f.ContactID != 0 && e.ContactID != f.ContactID) ||
				(f.Country != "" && e.Country != f.Country) || (f.State != "" && e.State != f.State) ||
				(f.Countries != nil && !slices.Contains(f.Countries, e.Country)) {
				return nil
			}
			out = append(out, e)
			return nil
		})
	})
	return out, err
}

// SetEndorsementState confirms, rejects or withdraws an endorsement
// (state is the target state), with an audit entry naming by and note.
// Allowed: pending or rejected -> confirmed (when the contact has no other
// active endorsement in the campaign); pending or confirmed -> rejected or
// withdrawn. Confirming with thankYou set creates the thank-you send; its
// id is returned (0 otherwise).
func (s *Store) SetEndorsementState(ctx context.Context, id uint64, state, by, note string, thankYou Mint) (*outreach.Endorsement, uint64, error) {
	if _, ok := transitions[state]; !ok {
		return nil, 0, outreach.FieldError("state", "%q is not confirmed, rejected or withdrawn", state)
	}
	var e *outreach.Endorsement
	var sendID uint64
	err := s.db.Update(func(tx *bolt.Tx) error {
		now := s.now().UTC()
		var err error
		if e, err = getEndorsement(tx, id); err != nil {
			return err
		}
		if err := setStateTx(tx, now, e, state, by, note); err != nil {
			return err
		}
		if state == outreach.EndorsementConfirmed && thankYou != nil {
			sendID, err = thankYouTx(tx, now, e, thankYou)
		}
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	return e, sendID, nil
}

// AddEndorsement stores an endorsement entered by hand (Source manual) or
// imported: e names its campaign and contact (ContactID, Email, Country,
// Organization, PrintName) and carries its evidence. It fails with
// ECONFLICT when the contact already has an active endorsement in the
// campaign. A confirmed one gets a thank-you when thankYou is set; the
// send's id is returned.
func (s *Store) AddEndorsement(ctx context.Context, e *outreach.Endorsement, by string, thankYou Mint) (uint64, error) {
	var sendID uint64
	err := s.db.Update(func(tx *bolt.Tx) error {
		now := s.now().UTC()
		if bucket(tx, "contacts").Get(u64(e.ContactID)) == nil {
			return notFound("contact", e.Email)
		}
		other, err := activeEndorsement(tx, e.ContactID, e.CampaignID, 0)
		if err != nil {
			return err
		}
		if other != nil {
			return outreach.Errorf(outreach.ECONFLICT, "%s already has endorsement %d (%s) in this campaign", e.Email, other.ID, other.State)
		}
		if err := createEndorsement(tx, now, e, by); err != nil {
			return err
		}
		if e.State == outreach.EndorsementConfirmed && thankYou != nil {
			sendID, err = thankYouTx(tx, now, e, thankYou)
		}
		return err
	})
	return sendID, err
}

// ImportEndorsements stores earlier endorsements in one transaction: all
// or nothing. A contact that already has an active endorsement in the
// campaign is skipped (so importing a file twice adds nothing); it
// returns how many were created and how many skipped.
func (s *Store) ImportEndorsements(ctx context.Context, list []outreach.Endorsement, by string) (created, skipped int, err error) {
	err = s.db.Update(func(tx *bolt.Tx) error {
		created, skipped = 0, 0
		now := s.now().UTC()
		for i := range list {
			e := list[i]
			if bucket(tx, "contacts").Get(u64(e.ContactID)) == nil {
				return notFound("contact", e.Email)
			}
			other, err := activeEndorsement(tx, e.ContactID, e.CampaignID, 0)
			if err != nil {
				return err
			}
			if other != nil {
				skipped++
				continue
			}
			if err := createEndorsement(tx, now, &e, by); err != nil {
				return err
			}
			created++
		}
		return nil
	})
	return created, skipped, err
}
