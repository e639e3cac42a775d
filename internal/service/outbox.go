package service

import (
	"context"

	"github.com/outreach-coalition/outreach/internal/outreach"
	"github.com/outreach-coalition/outreach/internal/store"
)

// TokenParser maps a reply or unsubscribe token to its delivery.
type TokenParser interface {
	Parse(token string) (uint64, bool)
}

// DeliveryLog returns a page of the delivery log. Scoped principals see only
// attempts to contacts in scope.
func (s *Service) DeliveryLog(ctx context.Context, p *outreach.Principal, f store.LogFilter) ([]outreach.Attempt, string, error) {
	if err := can(p, outreach.RoleViewer); err != nil {
		return nil, "", err
	}
	items, next, err := s.Store.Log(ctx, f)
	if err != nil || len(p.Countries) == 0 {
		return items, next, err
	}
	var out []outreach.Attempt
	for _, a := range items {
		if c, err := s.Store.Contact(ctx, a.Email); err == nil && p.InScope(c.Country) {
			out = append(out, a)
		}
	}
	return out, next, nil
}

// UnsubscribeTarget is what the public unsubscribe page shows.
type UnsubscribeTarget struct {
	Email    string
	Language string
	Campaign string
	Done     bool // already unsubscribed
}

// unsubscribeDelivery resolves a token to its delivery and contact.
func (s *Service) unsubscribeDelivery(ctx context.Context, token string) (*outreach.Delivery, *outreach.Contact, error) {
	notFound := outreach.Errorf(outreach.ENOTFOUND, "this unsubscribe link is not valid: it may have been altered; reply to the message with \"unsubscribe\" instead")
	if s.Tokens == nil {
		return nil, nil, notFound
	}
	id, ok := s.Tokens.Parse(token)
	if !ok {
		return nil, nil, notFound
	}
	d, err := s.Store.Delivery(ctx, id)
	if err != nil || d.Token != token {
		return nil, nil, notFound
	}
	c, err := s.Store.ContactByID(ctx, d.ContactID)
	if err != nil {
		return d, &outreach.Contact{Email: d.Email}, nil
	}
	return d, c, nil
}

// UnsubscribeInfo describes the contact an unsubscribe link is for.
func (s *Service) UnsubscribeInfo(ctx context.Context, token string) (*UnsubscribeTarget, error) {
	d, c, err := s.unsubscribeDelivery(ctx, token)
	if err != nil {
		return nil, err
	}
	t := &UnsubscribeTarget{Email: c.Email, Language: c.Language, Done: c.Status == outreach.StatusUnsubscribed}
	if camp, err := s.Store.Campaign(ctx, d.CampaignID); err == nil {
		t.Campaign = camp.Name
	}
	return t, nil
}

// Unsubscribe suppresses the contact a valid unsubscribe token belongs
// to, at once: the next claim of any delivery to it skips it.
func (s *Service) Unsubscribe(ctx context.Context, token, via string) (*UnsubscribeTarget, error) {
	d, c, err := s.unsubscribeDelivery(ctx, token)
	if err != nil {
		return nil, err
	}
	if err := s.Store.Suppress(ctx, d.Email, outreach.StatusUnsubscribed, via); err != nil {
		return nil, err
	}
	s.Log.Info("unsubscribed", "email", d.Email, "via", via, "delivery", d.ID)
	return &UnsubscribeTarget{Email: c.Email, Language: c.Language, Done: true}, nil
}
