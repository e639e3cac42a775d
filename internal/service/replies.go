package service

import (
	"context"
	"slices"
	"strings"

	"github.com/outreach-coalition/outreach/internal/outreach"
	"github.com/outreach-coalition/outreach/internal/store"
)

// Classes are the reply classes, in the order people read them.
var Classes = []string{outreach.ClassEndorse, outreach.ClassDecline, outreach.ClassUnsubscribe,
	outreach.ClassAutoReply, outreach.ClassBounce, outreach.ClassOther}

// countries returns the scope filter of p: nil for an unscoped principal.
func countries(p *outreach.Principal) []string {
	if p == nil || len(p.Countries) == 0 {
		return nil
	}
	return p.Countries
}

// ReplyQuery selects replies.
type ReplyQuery struct {
	Class  string
	Review bool // only replies waiting for a person
	After  uint64
	Limit  int
}

// Replies lists replies in the order they arrived, and the cursor of the
// next page (0 at the end). A scoped principal sees only replies from
// contacts in its countries; replies matched to no contact only unscoped
// principals see.
func (s *Service) Replies(ctx context.Context, p *outreach.Principal, q ReplyQuery) ([]outreach.Reply, uint64, error) {
	if err := can(p, outreach.RoleViewer); err != nil {
		return nil, 0, err
	}
	if q.Class != "" && !slices.Contains(Classes, q.Class) {
		return nil, 0, outreach.FieldError("class", "%q is not one of %s", q.Class, strings.Join(Classes, ", "))
	}
	if q.Limit <= 0 || q.Limit > 1000 {
		q.Limit = 100
	}
	return s.Store.Replies(ctx, store.ReplyFilter{Class: q.Class, Review: q.Review, Countries: countries(p), After: q.After, Limit: q.Limit})
}

// ReplyView is a reply with the endorsement it is evidence of.
type ReplyView struct {
	outreach.Reply
	Endorsement *outreach.Endorsement `json:"endorsement,omitempty"`
}

// Reply returns one reply. Out of scope is ENOTFOUND.
func (s *Service) Reply(ctx context.Context, p *outreach.Principal, id uint64) (*ReplyView, error) {
	if err := can(p, outreach.RoleViewer); err != nil {
		return nil, err
	}
	r, _, err := s.scopedReply(ctx, p, id)
	if err != nil {
		return nil, err
	}
	e, err := s.Store.ReplyEndorsement(ctx, id)
	if err != nil {
		return nil, err
	}
	return &ReplyView{Reply: *r, Endorsement: e}, nil
}

// scopedReply returns a reply and its contact (nil when it has none),
// or ENOTFOUND when the reply is out of p's scope.
func (s *Service) scopedReply(ctx context.Context, p *outreach.Principal, id uint64) (*outreach.Reply, *outreach.Contact, error) {
	r, err := s.Store.Reply(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	var c *outreach.Contact
	if r.ContactID != 0 {
		if c, err = s.Store.ContactByID(ctx, r.ContactID); err != nil && outreach.ErrorCode(err) != outreach.ENOTFOUND {
			return nil, nil, err
		}
		if err != nil {
			c = nil
		}
	}
	if countries(p) != nil && (c == nil || !p.InScope(c.Country)) {
		return nil, nil, outreach.Errorf(outreach.ENOTFOUND, "reply %d not found", id)
	}
	return r, c, nil
}

// Review actions.
const (
	ReviewApprove    = "approve"
	ReviewReject     = "reject"
	ReviewReclassify = "reclassify"
)

// ReviewInput is a person's decision on a reply.
type ReviewInput struct {
	// Class is the class a reclassify sets.
	Class string `json:"class,omitempty"`
	// Name is the name to print for an endorsement (approve, reclassify).
	Name string `json:"name,omitempty"`
	// Email links a reply matched to no contact to this contact.
	Email string `json:"email,omitempty"`
	Note  string `json:"note,omitempty"`
}

// ReviewResult is what a review decision did.
type ReviewResult struct {
	Reply        outreach.Reply        `json:"reply"`
	Endorsement  *outreach.Endorsement `json:"endorsement,omitempty"`
	ThankYouSend uint64                `json:"thank_you_send,omitempty"`
}

// Review applies a coordinator's decision on a reply and takes it out of
// the review queue:
//
//   - approve accepts the reply's class: an endorsement is confirmed
//     (created if the reply has none; Name sets the name to print); a
//     decline or withdrawal withdraws the endorsement it put on hold (or,
//     for a reply linked to none, the contact's endorsement older than the
//     reply); an unsubscribe suppresses the address, a hard bounce the
//     bounced recipient (the inbox acts on neither by itself unless the
//     mail is matched by reply token or Message-ID);
//   - reject says the reply is not what it seemed: an endorsement it
//     created is rejected, one it confirmed goes back to pending, one it
//     put on hold stays pending; a pending one's first evidence goes back
//     to review, for a person to confirm again;
//   - reclassify sets Class and then acts as approve for it; away from
//     endorse, it undoes what the reply did to its endorsement as reject
//     does.
//
// A reply matched to no contact needs Email to be approved as an
// endorsement. Every decision is in the audit trail.
func (s *Service) Review(ctx context.Context, p *outreach.Principal, id uint64, action string, in ReviewInput) (*ReviewResult, error) {
	if err := can(p, outreach.RoleCoordinator); err != nil {
		return nil, err
	}
	r, c, err := s.scopedReply(ctx, p, id)
	if err != nil {
		return nil, err
	}
	d := store.Decision{ReplyID: id, By: name(p), Action: "review." + action, Class: r.Class, Note: in.Note}
	switch action {
	case ReviewApprove:
		if in.Name != "" && r.Class != outreach.ClassEndorse {
			return nil, outreach.FieldError("name", "reply %d is classed %s, so approving it records no endorsement to print a name on: to record one, `outreach review reclassify %d endorse --name NAME`", id, r.Class, id)
		}
	case ReviewReclassify:
		if !slices.Contains(Classes, in.Class) {
			return nil, outreach.FieldError("class", "%q is not one of %s", in.Class, strings.Join(Classes, ", "))
		}
		d.Class = in.Class
	case ReviewReject:
		d.RejectEndorsement = true
	default:
		return nil, outreach.Errorf(outreach.ENOTFOUND, "no review action %q (approve, reject, reclassify)", action)
	}
	if in.Email != "" {
		linked, err := s.Store.Contact(ctx, in.Email)
		if err != nil || !p.InScope(linked.Country) {
			return nil, outreach.FieldError("email", "no contact %s in your scope", in.Email)
		}
		if c != nil && c.ID != linked.ID {
			return nil, outreach.FieldError("email", "reply %d is already matched to %s", id, c.Email)
		}
		c = linked
		d.ContactID = c.ID
	}
	campaignID := r.CampaignID
	if campaignID == 0 {
		campaignID = s.DefaultCampaign
		d.CampaignID = campaignID
	}
	camp, err := s.Store.Campaign(ctx, campaignID)
	if err != nil {
		return nil, err
	}
	if action != ReviewReject {
		switch d.Class {
		case outreach.ClassEndorse:
			if c == nil {
				return nil, outreach.FieldError("email", "reply %d is matched to no contact: give the contact's address (--email) to record the endorsement", id)
			}
			if d.Confirm, err = s.confirmation(ctx, r, c, camp, in.Name); err != nil {
				return nil, err
			}
			if camp.ThankYou && s.Outbox != nil {
				d.ThankYou = s.Outbox.Mint(camp)
			}
		case outreach.ClassUnsubscribe:
			if addr := unsubscribeAddress(ctx, s.Store, r, c); addr != "" {
				d.Suppress = &store.SuppressRequest{Address: addr, Reason: outreach.StatusUnsubscribed}
			}
			d.RejectEndorsement = true
		case outreach.ClassDecline:
			d.Withdraw = true
			d.RejectEndorsement = true
		case outreach.ClassBounce:
			if r.Bounce != nil && r.Bounce.Hard && r.Bounce.Recipient != "" {
				d.Suppress = &store.SuppressRequest{Address: r.Bounce.Recipient, Reason: outreach.StatusBounced}
			}
			d.RejectEndorsement = true
		default:
			d.RejectEndorsement = true
		}
	}
	got, err := s.Store.DecideReply(ctx, d)
	if err != nil {
		return nil, err
	}
	if got.ThankYouSend != 0 && s.Outbox != nil {
		s.Outbox.Kick()
	}
	return &ReviewResult{Reply: got.Reply, Endorsement: got.Endorsement, ThankYouSend: got.ThankYouSend}, nil
}

// confirmation returns the endorsement a person's approval of r confirms.
// A reply that already has an endorsement keeps its name to print unless
// printName is given.
func (s *Service) confirmation(ctx context.Context, r *outreach.Reply, c *outreach.Contact, camp *outreach.Campaign, printName string) (*outreach.Endorsement, error) {
	printName = strings.TrimSpace(printName)
	e := &outreach.Endorsement{CampaignID: camp.ID, ContactID: c.ID, Email: c.Email, Organization: c.Organization, Country: c.Country,
		PrintName: printName, Evidence: outreach.EvidenceOf(r.Text), Source: "reply"}
	linked, err := s.Store.ReplyEndorsement(ctx, r.ID)
	if err != nil {
		return nil, err
	}
	if linked != nil || e.PrintName != "" {
		return e, nil
	}
	e.PrintName = c.Organization
	if e.PrintName == "" {
		e.PrintName = c.Name
	}
	if e.PrintName == "" {
		return nil, outreach.FieldError("name", "%s has no organisation or name: give the name to print (--name)", c.Email)
	}
	return e, nil
}

// unsubscribeAddress is the address an unsubscribe reply stops: the
// delivery's when the reply answers one, else the contact's, else the
// sender's.
func unsubscribeAddress(ctx context.Context, st *store.Store, r *outreach.Reply, c *outreach.Contact) string {
	if r.DeliveryID != 0 && r.Match != outreach.MatchSender {
		if d, err := st.Delivery(ctx, r.DeliveryID); err == nil {
			return d.Email
		}
	}
	if c != nil {
		return c.Email
	}
	return r.From
}
