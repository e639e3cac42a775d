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

// MailboxCheckpoint is where the inbox stands in one mailbox: the
// UIDVALIDITY it saw and the last UID it recorded (RFC 9051 section
// 2.3.1.1). It is stored in bucket mailboxes under the mailbox's key.
type MailboxCheckpoint struct {
	UIDValidity uint32 `json:"uid_validity"`
	LastUID     uint32 `json:"last_uid"`
}

// MailboxLast returns the last UID recorded for mailbox under
// uidValidity, and 0 when nothing was recorded under that UIDVALIDITY.
func (s *Store) MailboxLast(ctx context.Context, mailbox string, uidValidity uint32) (uint32, error) {
	var cp MailboxCheckpoint
	err := s.db.View(func(tx *bolt.Tx) error {
		_, err := getJSON(bucket(tx, "mailboxes"), []byte(mailbox), &cp)
		return err
	})
	if err != nil || cp.UIDValidity != uidValidity {
		return 0, err
	}
	return cp.LastUID, nil
}

func advanceMailbox(tx *bolt.Tx, mailbox string, uidValidity, uid uint32) error {
	if mailbox == "" {
		return nil
	}
	b := bucket(tx, "mailboxes")
	var cp MailboxCheckpoint
	if _, err := getJSON(b, []byte(mailbox), &cp); err != nil {
		return err
	}
	if cp.UIDValidity == uidValidity && cp.LastUID >= uid {
		return nil
	}
	return putJSON(b, []byte(mailbox), MailboxCheckpoint{UIDValidity: uidValidity, LastUID: uid})
}

// SuppressRequest asks for an address to be suppressed with a reason
// (outreach.StatusUnsubscribed, StatusBounced, ...).
type SuppressRequest struct {
	Address string
	Reason  string
}

// Incoming is one message read from the campaign mailbox and everything it
// changes. RecordReply applies all of it in one transaction.
type Incoming struct {
	// Key de-duplicates messages: the Message-ID without <>, or, for a
	// message without one, "sha256:" and the hex digest of its raw bytes.
	Key   string
	Reply outreach.Reply
	// Mailbox, UIDValidity and UID advance the mailbox checkpoint in the
	// same transaction; an empty Mailbox leaves every checkpoint alone.
	Mailbox          string
	UIDValidity, UID uint32
	// Endorse, when set, is the endorsement the reply makes: State is
	// pending or confirmed, and CampaignID, ContactID, Email,
	// Organization, PrintName, Country, Evidence and Source are filled in.
	// The store sets ID, ReplyID, MessageID and the times.
	Endorse *outreach.Endorsement
	// Suppress lists addresses to suppress at once.
	Suppress []SuppressRequest
	// Delayed lists addresses a delivery delay notice reports on: each is
	// counted, and an address with SoftBounceLimit notices within
	// SoftBounceWindow is suppressed as bounced.
	Delayed          []string
	SoftBounceLimit  int
	SoftBounceWindow time.Duration
	// ThankYou, when set, gives an endorsement this reply confirms a
	// thank-you: a send of the latest "thank-you" template version to the
	// endorsing contact, without list headers.
	ThankYou Mint
	// Withdraws marks a reply that may take back an endorsement (a
	// decline or a withdrawal): the contact's pending or confirmed
	// endorsement in Reply.CampaignID is put on hold (a confirmed one is
	// pending again at once, so no letter carries it) and the reply goes to
	// review linked to it. Approving the reply withdraws it (Decision.Withdraw).
	Withdraws bool
}

// Recorded is what RecordReply did.
type Recorded struct {
	// Duplicate is set when a reply with the same Key was recorded before:
	// nothing changed but the checkpoint, and Reply is the earlier one.
	Duplicate bool
	Reply     outreach.Reply
	// Endorsement is the endorsement the reply created, was attached to as
	// further evidence, or put on hold (Incoming.Withdraws); Change says
	// which ("created", "attached", "held").
	Endorsement *outreach.Endorsement
	Change      string
	// Suppressed lists the addresses newly suppressed.
	Suppressed []string
	// ThankYouSend is the id of the thank-you send created, or 0.
	ThankYouSend uint64
}

// Endorsement changes reported by RecordReply and DecideReply.
const (
	EndorsementCreated   = "created"
	EndorsementConfirmed = "confirmed"
	EndorsementAttached  = "attached"
	EndorsementHeld      = "held"
)

// inboxUser is the audit trail's name for changes the inbox makes.
const inboxUser = "inbox"

// RecordReply records a reply and everything it changes in one
// transaction: the reply (de-duplicated by in.Key), the endorsement it
// makes, suppressions, delay notices, the thank-you send and the mailbox
// checkpoint. A reply whose Key is known records nothing twice; only the
// checkpoint advances.
//
// An endorsement is unique per contact and campaign: while the contact has
// a pending or confirmed one, a further endorsing reply is attached to it
// as evidence. It never confirms a pending one, even when in.Endorse is
// confirmed: the reply goes to review beside it. A contact whose earlier
// endorsement in the campaign was rejected or withdrawn gets a new one, but
// never confirmed without a person: it is created pending and the reply
// goes to review.
func (s *Store) RecordReply(ctx context.Context, in *Incoming) (*Recorded, error) {
	if in.Key == "" {
		return nil, outreach.Errorf(outreach.EINVALID, "record reply: no de-duplication key")
	}
	out := &Recorded{}
	err := s.db.Update(func(tx *bolt.Tx) error {
		*out = Recorded{}
		now := s.now().UTC()
		replies, byKey := bucket(tx, "replies"), bucket(tx, "replies_by_msgid")
		if id := byKey.Get([]byte(in.Key)); id != nil {
			out.Duplicate = true
			if _, err := getJSON(replies, id, &out.Reply); err != nil {
				return err
			}
			return advanceMailbox(tx, in.Mailbox, in.UIDValidity, in.UID)
		}
		r := in.Reply
		r.ID, _ = replies.NextSequence()
		if r.Received.IsZero() {
			r.Received = now
		}
		if err := byKey.Put([]byte(in.Key), u64(r.ID)); err != nil {
			return err
		}
		if in.Endorse != nil {
			e := *in.Endorse
			e.ReplyID, e.MessageID = r.ID, r.MessageID
			got, change, note, err := endorseTx(tx, now, &e, inboxUser)
			if err != nil {
				return err
			}
			role := ""
			if change == EndorsementCreated && got.State == outreach.EndorsementConfirmed {
				role = roleConfirmed
			}
			if err := linkReply(tx, got.ID, r.ID, role); err != nil {
				return err
			}
			if note != "" {
				r.Reason += "; " + note
			}
			if got.State == outreach.EndorsementPending {
				r.Review = true
			}
			out.Endorsement, out.Change = got, change
			if in.ThankYou != nil && got.State == outreach.EndorsementConfirmed && change != EndorsementAttached {
				if out.ThankYouSend, err = thankYouTx(tx, now, got, in.ThankYou); err != nil {
					return err
				}
			}
		}
		if in.Withdraws && r.ContactID != 0 && r.CampaignID != 0 {
			e, err := activeEndorsement(tx, r.ContactID, r.CampaignID, 0)
			if err != nil {
				return err
			}
			if e != nil {
				was := e.State
				if err := holdTx(tx, now, e, r.ID); err != nil {
					return err
				}
				r.Review = true
				r.Reason += fmt.Sprintf("; endorsement %d (%s) is pending until a person decides: approving this reply withdraws it", e.ID, was)
				out.Endorsement, out.Change = e, EndorsementHeld
			}
		}
		for _, sup := range in.Suppress {
			ok, err := suppressOnce(tx, now, sup.Address, sup.Reason, fmt.Sprintf("reply %d", r.ID))
			if err != nil {
				return err
			}
			if ok {
				out.Suppressed = append(out.Suppressed, sup.Address)
			}
		}
		for _, addr := range in.Delayed {
			n, err := countDelay(tx, now, addr, r.ID, in.SoftBounceWindow)
			if err != nil {
				return err
			}
			if in.SoftBounceLimit > 0 && n >= in.SoftBounceLimit {
				why := fmt.Sprintf("%d delivery delays within %s (reply %d)", n, in.SoftBounceWindow, r.ID)
				ok, err := suppressOnce(tx, now, addr, outreach.StatusBounced, why)
				if err != nil {
					return err
				}
				if ok {
					out.Suppressed = append(out.Suppressed, addr)
				}
			}
		}
		if err := putReply(tx, &r); err != nil {
			return err
		}
		out.Reply = r
		return advanceMailbox(tx, in.Mailbox, in.UIDValidity, in.UID)
	})
	if err != nil {
		return nil, fmt.Errorf("record reply %s: %w", in.Key, err)
	}
	return out, nil
}

// suppressOnce suppresses addr unless it is suppressed already, with an
// audit entry; it reports whether it did.
func suppressOnce(tx *bolt.Tx, now time.Time, addr, reason, detail string) (bool, error) {
	a, err := outreach.ParseEmail(addr)
	if err != nil || isSuppressed(tx, a) {
		return false, nil
	}
	if err := suppress(tx, now, a, reason, inboxUser); err != nil {
		return false, err
	}
	return true, appendAudit(tx, now, inboxUser, "suppress.add", a, reason+": "+detail)
}

// countDelay records a delay notice for addr and returns how many fall
// within window, dropping older ones.
func countDelay(tx *bolt.Tx, now time.Time, addr string, replyID uint64, window time.Duration) (int, error) {
	b := bucket(tx, "soft_bounces")
	prefix := key([]byte(outreach.EmailKey(addr)), []byte{0})
	if err := b.Put(key(prefix, u64(uint64(now.UnixNano())), u64(replyID)), nil); err != nil {
		return 0, err
	}
	since := uint64(now.Add(-window).UnixNano())
	var old [][]byte
	n := 0
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		if len(k) < len(prefix)+16 {
			continue
		}
		if btou(k[len(prefix):]) < since {
			old = append(old, bytes.Clone(k))
			continue
		}
		n++
	}
	for _, k := range old {
		if err := b.Delete(k); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// putReply stores a reply and keeps the review index in step with it.
func putReply(tx *bolt.Tx, r *outreach.Reply) error {
	if err := putJSON(bucket(tx, "replies"), u64(r.ID), r); err != nil {
		return err
	}
	if r.Review && r.Resolved == "" {
		return bucket(tx, "review").Put(u64(r.ID), nil)
	}
	return bucket(tx, "review").Delete(u64(r.ID))
}

func getReply(tx *bolt.Tx, id uint64) (*outreach.Reply, error) {
	var r outreach.Reply
	ok, err := getJSON(bucket(tx, "replies"), u64(id), &r)
	if err == nil && !ok {
		err = notFound("reply", id)
	}
	return &r, err
}

// Reply returns a reply by id.
func (s *Store) Reply(ctx context.Context, id uint64) (*outreach.Reply, error) {
	var r *outreach.Reply
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		r, err = getReply(tx, id)
		return err
	})
	return r, err
}

// ReplyByKey returns the reply recorded under a de-duplication key (a
// Message-ID without <>).
func (s *Store) ReplyByKey(ctx context.Context, k string) (*outreach.Reply, error) {
	var r *outreach.Reply
	err := s.db.View(func(tx *bolt.Tx) error {
		id := bucket(tx, "replies_by_msgid").Get([]byte(k))
		if id == nil {
			return notFound("reply", k)
		}
		var err error
		r, err = getReply(tx, btou(id))
		return err
	})
	return r, err
}

// ReplyFilter selects replies. Zero fields match everything.
type ReplyFilter struct {
	Class      string
	Review     bool // only replies waiting for a person
	CampaignID uint64
	ContactID  uint64
	// Countries, when not nil, keeps only replies matched to a contact in
	// one of these countries (a scoped principal's view).
	Countries []string
	After     uint64 // ids greater than this
	Limit     int    // default 100
}

// Replies returns replies in id order and the cursor of the next page (0
// at the end).
func (s *Store) Replies(ctx context.Context, f ReplyFilter) ([]outreach.Reply, uint64, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	var out []outreach.Reply
	var next uint64
	err := s.db.View(func(tx *bolt.Tx) error {
		replies := bucket(tx, "replies")
		index := replies
		if f.Review {
			index = bucket(tx, "review")
		}
		c := index.Cursor()
		for k, _ := c.Seek(u64(f.After + 1)); k != nil; k, _ = c.Next() {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			var r outreach.Reply
			if ok, err := getJSON(replies, k, &r); err != nil || !ok {
				continue
			}
			if (f.Class != "" && r.Class != f.Class) || (f.CampaignID != 0 && r.CampaignID != f.CampaignID) ||
				(f.ContactID != 0 && r.ContactID != f.ContactID) || !inScope(tx, f.Countries, r.ContactID) {
				continue
			}
			if len(out) == f.Limit {
				next = out[len(out)-1].ID
				break
			}
			out = append(out, r)
		}
		return nil
	})
	return out, next, err
}

// inScope reports whether the contact is in one of countries; nil
// countries admit everything, and a reply matched to no contact is only in
// an unscoped view.
func inScope(tx *bolt.Tx, countries []string, contactID uint64) bool {
	if countries == nil {
		return true
	}
	v := bucket(tx, "contacts").Get(u64(contactID))
	var c outreach.Contact
	if v == nil || decodeContact(v, &c, true) != nil {
		return false
	}
	for _, cc := range countries {
		if cc == c.Country {
			return true
		}
	}
	return false
}

// Decision is a person's verdict on a reply; DecideReply applies it in one
// transaction.
type Decision struct {
	ReplyID uint64
	By      string
	Action  string // for the audit trail: review.approve, review.reject, review.reclassify
	Class   string // the reply's class afterwards
	Note    string
	// ContactID and CampaignID link a reply that has none to a contact
	// and a campaign; they never replace a link the reply has.
	ContactID, CampaignID uint64
	// Confirm confirms the reply's endorsement, creating it from Confirm
	// when the reply has none (CampaignID, ContactID, Email,
	// Organization, PrintName, Country and Evidence filled in). A
	// non-empty PrintName replaces the stored one.
	Confirm *outreach.Endorsement
	// RejectEndorsement undoes what the reply did to its endorsement: one
	// it created is rejected; one its reading or approval confirmed goes
	// back to pending; one it put on hold stays pending. A pending
	// endorsement's first evidence goes back to review, so that a person
	// settles it. An endorsement the reply is only further evidence of is
	// left alone.
	RejectEndorsement bool
	// Withdraw withdraws the endorsement the reply put on hold; for a
	// reply linked to none, the contact's active endorsement in the
	// campaign if it is older than the reply. It wins over
	// RejectEndorsement.
	Withdraw bool
	// Suppress, when set, suppresses an address at once.
	Suppress *SuppressRequest
	// ThankYou, when set, thanks the contact of a newly confirmed
	// endorsement (see Incoming.ThankYou).
	ThankYou Mint
}

// Decided is what DecideReply did.
type Decided struct {
	Reply        outreach.Reply
	Endorsement  *outreach.Endorsement
	ThankYouSend uint64
}

// DecideReply applies a person's verdict on a reply: it takes the reply out
// of review, sets its class, confirms, withdraws or rejects its
// endorsement and suppresses as asked, with audit entries, in one
// transaction.
func (s *Store) DecideReply(ctx context.Context, d Decision) (*Decided, error) {
	out := &Decided{}
	err := s.db.Update(func(tx *bolt.Tx) error {
		*out = Decided{}
		now := s.now().UTC()
		r, err := getReply(tx, d.ReplyID)
		if err != nil {
			return err
		}
		if r.ContactID == 0 && d.ContactID != 0 {
			r.ContactID = d.ContactID
		}
		if r.CampaignID == 0 && d.CampaignID != 0 {
			r.CampaignID = d.CampaignID
		}
		// Out of the queue first: the reply is settled by this decision.
		r.Review, r.Resolved = false, d.By
		if err := putReply(tx, r); err != nil {
			return err
		}
		linked := replyEndorsement(tx, r.ID)
		if d.Confirm != nil {
			e, newly, err := confirmReplyTx(tx, now, r, linked, d)
			if err != nil {
				return err
			}
			out.Endorsement = e
			if newly && d.ThankYou != nil {
				if out.ThankYouSend, err = thankYouTx(tx, now, e, d.ThankYou); err != nil {
					return err
				}
			}
		} else if e, err := undoReplyTx(tx, now, r, linked, d); err != nil {
			return err
		} else {
			out.Endorsement = e
		}
		if d.Suppress != nil {
			if _, err := suppressOnce(tx, now, d.Suppress.Address, d.Suppress.Reason, fmt.Sprintf("reply %d, decided by %s", r.ID, d.By)); err != nil {
				return err
			}
		}
		detail := r.Class
		if d.Class != "" && d.Class != r.Class {
			detail = r.Class + " -> " + d.Class
			r.Class = d.Class
		}
		if d.Note != "" {
			detail += ": " + d.Note
		}
		if err := putReply(tx, r); err != nil {
			return err
		}
		out.Reply = *r
		return appendAudit(tx, now, d.By, d.Action, fmt.Sprintf("reply %d", r.ID), detail)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// confirmReplyTx confirms the endorsement a person approved reply r as
// (linked, or made from d.Confirm), marks r as the reply that confirmed it,
// and reports whether it was newly confirmed.
func confirmReplyTx(tx *bolt.Tx, now time.Time, r *outreach.Reply, linked *outreach.Endorsement, d Decision) (*outreach.Endorsement, bool, error) {
	if linked != nil {
		newly := false
		if linked.State != outreach.EndorsementConfirmed {
			if err := setStateTx(tx, now, linked, outreach.EndorsementConfirmed, d.By, d.Note); err != nil {
				return nil, false, err
			}
			if err := markConfirmed(tx, linked.ID, r.ID); err != nil {
				return nil, false, err
			}
			newly = true
		}
		if d.Confirm.PrintName != "" && d.Confirm.PrintName != linked.PrintName {
			linked.PrintName = d.Confirm.PrintName
			linked.Updated = now
			if err := putEndorsement(tx, linked); err != nil {
				return nil, false, err
			}
			if err := appendAudit(tx, now, d.By, "endorsement.rename", endorsementObject(linked), linked.PrintName); err != nil {
				return nil, false, err
			}
		}
		return linked, newly, nil
	}
	c := *d.Confirm
	c.State, c.ReplyID, c.MessageID = outreach.EndorsementConfirmed, r.ID, r.MessageID
	got, change, _, err := endorseTx(tx, now, &c, d.By)
	if err != nil {
		return nil, false, err
	}
	if err := linkReply(tx, got.ID, r.ID, ""); err != nil {
		return nil, false, err
	}
	if got.State != outreach.EndorsementConfirmed {
		if err := setStateTx(tx, now, got, outreach.EndorsementConfirmed, d.By, d.Note); err != nil {
			return nil, false, err
		}
		change = EndorsementConfirmed
	}
	if change == EndorsementAttached {
		return got, false, nil
	}
	return got, true, markConfirmed(tx, got.ID, r.ID)
}

// undoReplyTx applies d.Withdraw and d.RejectEndorsement to the endorsement
// reply r is linked to, and returns it (nil when there is none).
func undoReplyTx(tx *bolt.Tx, now time.Time, r *outreach.Reply, linked *outreach.Endorsement, d Decision) (*outreach.Endorsement, error) {
	if linked == nil && d.Withdraw && r.ContactID != 0 && r.CampaignID != 0 {
		e, err := activeEndorsement(tx, r.ContactID, r.CampaignID, 0)
		if err != nil || e == nil || r.Received.Before(e.Time) {
			return nil, err
		}
		if err := linkReply(tx, e.ID, r.ID, roleHeld); err != nil {
			return nil, err
		}
		linked = e
	}
	if linked == nil || !active(linked.State) {
		return linked, nil
	}
	role := linkRole(tx, linked.ID, r.ID)
	note := d.Note
	if note == "" {
		note = fmt.Sprintf("reply %d, %s by %s", r.ID, strings.TrimPrefix(d.Action, "review."), d.By)
	}
	pendingAgain := fmt.Sprintf("endorsement %d is pending: reply %d was set aside by %s; approve this reply to confirm it again", linked.ID, r.ID, d.By)
	switch {
	case d.Withdraw && role == roleHeld:
		return linked, setStateTx(tx, now, linked, outreach.EndorsementWithdrawn, d.By, note)
	case !d.RejectEndorsement:
	case linked.ReplyID == r.ID:
		return linked, setStateTx(tx, now, linked, outreach.EndorsementRejected, d.By, note)
	case role == roleConfirmed && linked.State == outreach.EndorsementConfirmed:
		if err := unconfirmTx(tx, now, linked, d.By, note); err != nil {
			return nil, err
		}
		return linked, reopenReply(tx, linked.ReplyID, pendingAgain)
	case role == roleHeld && linked.State == outreach.EndorsementPending:
		return linked, reopenReply(tx, linked.ReplyID, pendingAgain)
	}
	return linked, nil
}
