package service

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/outreach-coalition/outreach/internal/outreach"
	"github.com/outreach-coalition/outreach/internal/segment"
	"github.com/outreach-coalition/outreach/internal/store"
)

// Suppress adds an address to the suppression list. A scoped principal
// may not suppress a contact outside its countries (ENOTFOUND).
func (s *Service) Suppress(ctx context.Context, p *outreach.Principal, address, reason string) error {
	if err := can(p, outreach.RoleCoordinator); err != nil {
		return err
	}
	if err := s.addressInScope(ctx, p, address, true); err != nil {
		return err
	}
	if reason == "" {
		reason = "manual"
	}
	if err := s.Store.Suppress(ctx, address, reason, name(p)); err != nil {
		return err
	}
	markAudited(ctx)
	return nil
}

// Unsuppress removes an address from the suppression list. A scoped
// principal may only lift the suppression of a contact in its countries.
func (s *Service) Unsuppress(ctx context.Context, p *outreach.Principal, address string) error {
	if err := can(p, outreach.RoleCoordinator); err != nil {
		return err
	}
	if err := s.addressInScope(ctx, p, address, false); err != nil {
		return err
	}
	if err := s.Store.Unsuppress(ctx, address, name(p)); err != nil {
		return err
	}
	markAudited(ctx)
	return nil
}

// addressInScope returns ENOTFOUND when a scoped principal may not act on
// address: it belongs to a contact outside the principal's countries, or
// (unless bare is allowed) to no contact at all.
func (s *Service) addressInScope(ctx context.Context, p *outreach.Principal, address string, bare bool) error {
	if len(p.Countries) == 0 {
		return nil
	}
	c, err := s.Store.Contact(ctx, address)
	switch {
	case err == nil && p.InScope(c.Country):
		return nil
	case err == nil, !bare && outreach.ErrorCode(err) == outreach.ENOTFOUND:
		return outreach.Errorf(outreach.ENOTFOUND, "%s not found among your countries' contacts", address)
	case outreach.ErrorCode(err) == outreach.ENOTFOUND:
		return nil
	}
	return err
}

// Suppressions lists the suppression list. A scoped principal sees only
// the suppressions of contacts in its countries.
func (s *Service) Suppressions(ctx context.Context, p *outreach.Principal) ([]outreach.Suppression, error) {
	if err := can(p, outreach.RoleViewer); err != nil {
		return nil, err
	}
	list, err := s.Store.Suppressions(ctx)
	if err != nil || len(p.Countries) == 0 {
		return list, err
	}
	var out []outreach.Suppression
	for _, sup := range list {
		if s.addressInScope(ctx, p, sup.Address, false) == nil {
			out = append(out, sup)
		}
	}
	return out, nil
}

// ImportSuppressions reads one address per line (or the first column of a
// CSV; lines starting with # and a header "email" are skipped). Any bad
// line rejects the file, naming it.
func (s *Service) ImportSuppressions(ctx context.Context, p *outreach.Principal, r io.Reader, reason string) (int, error) {
	if err := can(p, outreach.RoleCoordinator); err != nil {
		return 0, err
	}
	if reason == "" {
		reason = "import"
	}
	var addrs []string
	var bad []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(strings.TrimPrefix(sc.Text(), "\ufeff"))
		text, _, _ = strings.Cut(text, ",")
		text = strings.Trim(text, `"`)
		if text == "" || strings.HasPrefix(text, "#") || strings.EqualFold(text, "email") {
			continue
		}
		addr, err := outreach.ParseEmail(text)
		if err != nil {
			bad = append(bad, fmt.Sprintf("%d: %v", line, err))
			continue
		}
		addrs = append(addrs, addr)
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	if len(bad) > 0 {
		return 0, outreach.Errorf(outreach.EINVALID, "nothing imported; bad lines:\n%s", strings.Join(bad, "\n"))
	}
	for _, a := range addrs {
		if err := s.addressInScope(ctx, p, a, true); err != nil {
			return 0, outreach.Errorf(outreach.EINVALID, "nothing imported: %v", err)
		}
	}
	n, err := s.Store.ImportSuppressions(ctx, addrs, reason, name(p))
	if err == nil {
		markAudited(ctx)
	}
	return n, err
}

// Campaigns lists campaigns.
func (s *Service) Campaigns(ctx context.Context, p *outreach.Principal) ([]outreach.Campaign, error) {
	if err := can(p, outreach.RoleViewer); err != nil {
		return nil, err
	}
	return s.Store.Campaigns(ctx)
}

// Campaign returns one campaign.
func (s *Service) Campaign(ctx context.Context, p *outreach.Principal, id uint64) (*outreach.Campaign, error) {
	if err := can(p, outreach.RoleViewer); err != nil {
		return nil, err
	}
	return s.Store.Campaign(ctx, id)
}

// CreateCampaign adds a campaign (admin only).
func (s *Service) CreateCampaign(ctx context.Context, p *outreach.Principal, c *outreach.Campaign) error {
	if err := can(p, outreach.RoleAdmin); err != nil {
		return err
	}
	if err := s.Store.CreateCampaign(ctx, c); err != nil {
		return err
	}
	s.audit(ctx, p, "campaign.create", c.Name, "")
	return nil
}

// canEverywhere returns EFORBIDDEN unless p has the role need and may act
// for every country: an admin, or a principal without a country scope.
// Saved segments and templates are shared by every country, so changing
// them is refused to a principal scoped to some.
func canEverywhere(p *outreach.Principal, need, what string) error {
	if err := can(p, need); err != nil {
		return err
	}
	if p.Role != outreach.RoleAdmin && len(p.Countries) > 0 {
		return outreach.Errorf(outreach.EFORBIDDEN, "%s is shared by every country: %q is scoped to %s; ask a coordinator without a country scope",
			what, p.Name, strings.Join(p.Countries, ", "))
	}
	return nil
}

// SaveSegment validates and stores a named filter (unscoped principals
// only: a segment is shared by every country). A wave keeps the filter
// its segment had when the wave was created.
func (s *Service) SaveSegment(ctx context.Context, p *outreach.Principal, seg outreach.Segment) error {
	if err := canEverywhere(p, outreach.RoleCoordinator, "a saved segment"); err != nil {
		return err
	}
	f, err := segment.Parse(seg.Filter)
	if err != nil {
		return err
	}
	seg.Filter = f.String()
	if err := s.Store.SaveSegment(ctx, seg); err != nil {
		return err
	}
	s.audit(ctx, p, "segment.save", seg.Name, seg.Filter)
	return nil
}

// Segments lists saved segments.
func (s *Service) Segments(ctx context.Context, p *outreach.Principal) ([]outreach.Segment, error) {
	if err := can(p, outreach.RoleViewer); err != nil {
		return nil, err
	}
	return s.Store.Segments(ctx)
}

// DeleteSegment removes a saved segment (unscoped principals only).
func (s *Service) DeleteSegment(ctx context.Context, p *outreach.Principal, segName string) error {
	if err := canEverywhere(p, outreach.RoleCoordinator, "a saved segment"); err != nil {
		return err
	}
	if err := s.Store.DeleteSegment(ctx, segName); err != nil {
		return err
	}
	s.audit(ctx, p, "segment.delete", segName, "")
	return nil
}

// ResolveFilter returns the filter text of a saved segment or the inline
// filter (exactly one may be given).
func (s *Service) ResolveFilter(ctx context.Context, filter, segmentName string) (string, error) {
	if segmentName == "" {
		return filter, nil
	}
	if filter != "" {
		return "", outreach.FieldError("segment", "give a filter or a segment, not both")
	}
	seg, err := s.Store.Segment(ctx, segmentName)
	if err != nil {
		return "", err
	}
	return seg.Filter, nil
}

// CreateToken makes an API token (admin only).
func (s *Service) CreateToken(ctx context.Context, p *outreach.Principal, principal, role string) (string, *outreach.Token, error) {
	if err := can(p, outreach.RoleAdmin); err != nil {
		return "", nil, err
	}
	secret, t, err := s.Store.CreateToken(ctx, principal, role, name(p))
	if err == nil {
		markAudited(ctx)
	}
	return secret, t, err
}

// ListTokens lists tokens (admin only).
func (s *Service) ListTokens(ctx context.Context, p *outreach.Principal) ([]outreach.Token, error) {
	if err := can(p, outreach.RoleAdmin); err != nil {
		return nil, err
	}
	return s.Store.Tokens(ctx)
}

// RevokeToken revokes a token (admin only).
func (s *Service) RevokeToken(ctx context.Context, p *outreach.Principal, id string) error {
	if err := can(p, outreach.RoleAdmin); err != nil {
		return err
	}
	if err := s.Store.RevokeToken(ctx, id, name(p)); err != nil {
		return err
	}
	markAudited(ctx)
	return nil
}

// Backup streams a consistent copy of the database (admin only).
func (s *Service) Backup(ctx context.Context, p *outreach.Principal, w io.Writer) (int64, error) {
	if err := can(p, outreach.RoleAdmin); err != nil {
		return 0, err
	}
	n, err := s.Store.Backup(w)
	if err == nil {
		s.audit(ctx, p, "backup", "", fmt.Sprintf("%d bytes", n))
	}
	return n, err
}

// Audit returns the audit trail (admin only).
func (s *Service) Audit(ctx context.Context, p *outreach.Principal, user string, since time.Time, limit int) ([]store.AuditEntry, error) {
	if err := can(p, outreach.RoleAdmin); err != nil {
		return nil, err
	}
	if limit <= 0 || limit > 10000 {
		limit = 1000
	}
	return s.Store.AuditLog(ctx, user, since, limit)
}
