// Package service is outreach's use-case layer: every operation the API,
// the CLI and the web UI offer, with validation, country scope and the
// audit trail enforced in one place. It composes the store with the
// parsers (segments, CSV, templates) and the outbox; transports only
// translate.
package service

import (
	"context"
	"log/slog"
	"time"

	"github.com/outreach-coalition/outreach/internal/outreach"
	"github.com/outreach-coalition/outreach/internal/segment"
	"github.com/outreach-coalition/outreach/internal/store"
)

// Service implements outreach's operations.
type Service struct {
	Store *store.Store
	Log   *slog.Logger
	Now   func() time.Time
	// DefaultCampaign is the campaign used when a request names none.
	DefaultCampaign uint64
	// Outbox is the sending engine (nil in offline uses).
	Outbox Outbox
	// Tokens checks reply and unsubscribe tokens.
	Tokens TokenParser
	// TemplateSource is where template reloads read (templates.go).
	TemplateSource TemplateSource
	// Scheduler runs waves at their times (nil: waves due later wait for
	// the next start).
	Scheduler WaveScheduler
	// SignIn tunes passwords and web UI sessions (users.go).
	SignIn SignInOptions

	logins loginThrottle
}

// New returns a Service over st.
func New(st *store.Store, log *slog.Logger, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{Store: st, Log: log, Now: now, DefaultCampaign: 1}
}

// can returns EFORBIDDEN unless p's role is at least need.
func can(p *outreach.Principal, need string) error {
	if p == nil {
		return outreach.Errorf(outreach.EUNAUTHORIZED, "sign in or pass a token")
	}
	if !outreach.RoleAtLeast(p.Role, need) {
		return outreach.Errorf(outreach.EFORBIDDEN, "%s %q may not do this: it needs the %s role", p.Role, p.Name, need)
	}
	return nil
}

// scopeMatch returns a matcher for filter restricted to p's countries.
func scopeMatch(p *outreach.Principal, filter string) (store.Match, error) {
	f, err := segment.Parse(filter)
	if err != nil {
		return nil, err
	}
	if p == nil || len(p.Countries) == 0 {
		if filter == "" {
			return nil, nil
		}
		return f.Match, nil
	}
	return func(c *outreach.Contact) bool { return p.InScope(c.Country) && f.Match(c) }, nil
}

// name returns the principal's name for the audit trail.
func name(p *outreach.Principal) string {
	if p == nil {
		return "system"
	}
	return p.Name
}

// audit records an action; a failure to audit is logged, not returned,
// since the action itself has been committed.
func (s *Service) audit(ctx context.Context, p *outreach.Principal, action, object, detail string) {
	if err := s.Store.Audit(ctx, name(p), action, object, detail); err != nil {
		s.Log.Error("audit", "action", action, "err", err)
	}
	markAudited(ctx)
}
