package service

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/outreach-coalition/outreach/internal/csvsafe"
	"github.com/outreach-coalition/outreach/internal/outreach"
	"github.com/outreach-coalition/outreach/internal/store"
)

// EndorsementStates lists the endorsement states.
var EndorsementStates = []string{outreach.EndorsementPending, outreach.EndorsementConfirmed, outreach.EndorsementRejected, outreach.EndorsementWithdrawn}

// EndorsementQuery selects endorsements.
type EndorsementQuery struct {
	CampaignID uint64
	Country    string
	State      string
}

func (q *EndorsementQuery) filter(p *outreach.Principal) (store.EndorsementFilter, error) {
	f := store.EndorsementFilter{CampaignID: q.CampaignID, Country: strings.ToUpper(strings.TrimSpace(q.Country)), State: q.State, Countries: countries(p)}
	if f.State != "" && !slices.Contains(EndorsementStates, f.State) {
		return f, outreach.FieldError("state", "%q is not one of %s", f.State, strings.Join(EndorsementStates, ", "))
	}
	if f.Country != "" && !outreach.ValidCountry(f.Country) {
		return f, outreach.FieldError("country", "%q is not an ISO 3166-1 alpha-2 country code", q.Country)
	}
	return f, nil
}

// Endorsements lists endorsements in the order they were recorded. A
// scoped principal sees only its countries'.
func (s *Service) Endorsements(ctx context.Context, p *outreach.Principal, q EndorsementQuery) ([]outreach.Endorsement, error) {
	if err := can(p, outreach.RoleViewer); err != nil {
		return nil, err
	}
	f, err := q.filter(p)
	if err != nil {
		return nil, err
	}
	return s.Store.Endorsements(ctx, f)
}

// EndorsementView is an endorsement with the replies that are its
// evidence.
type EndorsementView struct {
	outreach.Endorsement
	Replies []uint64 `json:"replies"`
}

// Endorsement returns one endorsement. Out of scope is ENOTFOUND.
func (s *Service) Endorsement(ctx context.Context, p *outreach.Principal, id uint64) (*EndorsementView, error) {
	if err := can(p, outreach.RoleViewer); err != nil {
		return nil, err
	}
	e, err := s.scopedEndorsement(ctx, p, id)
	if err != nil {
		return nil, err
	}
	ids, err := s.Store.EndorsementReplies(ctx, id)
	if err != nil {
		return nil, err
	}
	if ids == nil {
		ids = []uint64{}
	}
	return &EndorsementView{Endorsement: *e, Replies: ids}, nil
}

func (s *Service) scopedEndorsement(ctx context.Context, p *outreach.Principal, id uint64) (*outreach.Endorsement, error) {
	e, err := s.Store.Endorsement(ctx, id)
	if err != nil {
		return nil, err
	}
	if countries(p) != nil && !p.InScope(e.Country) {
		return nil, outreach.Errorf(outreach.ENOTFOUND, "endorsement %d not found", id)
	}
	return e, nil
}

// Endorsement actions.
var endorsementActions = map[string]string{
	store.ActionConfirm:  outreach.EndorsementConfirmed,
	store.ActionReject:   outreach.EndorsementRejected,
	store.ActionWithdraw: outreach.EndorsementWithdrawn,
}

// SetEndorsement confirms, rejects or withdraws an endorsement (action is
// confirm, reject or withdraw), with note in the audit trail. Confirming
// thanks the partner when the campaign says so.
func (s *Service) SetEndorsement(ctx context.Context, p *outreach.Principal, id uint64, action, note string) (*outreach.Endorsement, error) {
	if err := can(p, outreach.RoleCoordinator); err != nil {
		return nil, err
	}
	state, ok := endorsementActions[action]
	if !ok {
		return nil, outreach.Errorf(outreach.ENOTFOUND, "no endorsement action %q (confirm, reject, withdraw)", action)
	}
	e, err := s.scopedEndorsement(ctx, p, id)
	if err != nil {
		return nil, err
	}
	var mint store.Mint
	if state == outreach.EndorsementConfirmed && e.Source != "import" {
		mint = s.thankYou(ctx, e.CampaignID)
	}
	e, sendID, err := s.Store.SetEndorsementState(ctx, id, state, name(p), note, mint)
	if err != nil {
		return nil, err
	}
	if sendID != 0 {
		s.Outbox.Kick()
	}
	return e, nil
}

// thankYou returns the mint for a thank-you in campaign id, or nil when
// the campaign sends none or the outbox is not running.
func (s *Service) thankYou(ctx context.Context, id uint64) store.Mint {
	if s.Outbox == nil {
		return nil
	}
	camp, err := s.Store.Campaign(ctx, id)
	if err != nil || !camp.ThankYou {
		return nil
	}
	return s.Outbox.Mint(camp)
}

// EndorsementInput is an endorsement entered by hand: received by phone,
// on paper or through a form.
type EndorsementInput struct {
	Email      string `json:"email"`
	Name       string `json:"name,omitempty"` // to print; default the organisation
	Evidence   string `json:"evidence"`       // what was received, and how
	CampaignID uint64 `json:"campaign_id,omitempty"`
}

// AddEndorsement records a confirmed endorsement entered by hand. The
// contact must exist and be in scope, the evidence note is required, and
// the contact may not already have a pending or confirmed endorsement in
// the campaign (ECONFLICT).
func (s *Service) AddEndorsement(ctx context.Context, p *outreach.Principal, in EndorsementInput) (*outreach.Endorsement, error) {
	if err := can(p, outreach.RoleCoordinator); err != nil {
		return nil, err
	}
	if strings.TrimSpace(in.Evidence) == "" {
		return nil, outreach.FieldError("evidence", "is required: say what was received and how (phone call, signed form, ...)")
	}
	e, err := s.newEndorsement(ctx, p, in.Email, in.Name, in.CampaignID)
	if err != nil {
		return nil, err
	}
	e.State, e.Source, e.Evidence = outreach.EndorsementConfirmed, "manual", strings.TrimSpace(in.Evidence)
	sendID, err := s.Store.AddEndorsement(ctx, e, name(p), s.thankYou(ctx, e.CampaignID))
	if err != nil {
		return nil, err
	}
	if sendID != 0 {
		s.Outbox.Kick()
	}
	return e, nil
}

// newEndorsement fills in an endorsement of the contact with address
// email in a campaign (0: the default one).
func (s *Service) newEndorsement(ctx context.Context, p *outreach.Principal, email, printName string, campaignID uint64) (*outreach.Endorsement, error) {
	if campaignID == 0 {
		campaignID = s.DefaultCampaign
	}
	if _, err := s.Store.Campaign(ctx, campaignID); err != nil {
		return nil, err
	}
	addr, err := outreach.ParseEmail(email)
	if err != nil {
		return nil, err
	}
	c, err := s.Store.Contact(ctx, addr)
	if err != nil || !p.InScope(c.Country) {
		return nil, outreach.FieldError("email", "no contact %s in your scope (outreach contacts import adds contacts)", addr)
	}
	e := &outreach.Endorsement{CampaignID: campaignID, ContactID: c.ID, Email: c.Email, Organization: c.Organization, Country: c.Country,
		PrintName: strings.TrimSpace(printName)}
	if e.PrintName == "" {
		e.PrintName = c.Organization
	}
	if e.PrintName == "" {
		e.PrintName = c.Name
	}
	if e.PrintName == "" {
		return nil, outreach.FieldError("name", "%s has no organisation or name: give the name to print", c.Email)
	}
	if strings.ContainsAny(e.PrintName, "\r\n\x00") {
		return nil, outreach.FieldError("name", "contains a line break or NUL")
	}
	return e, nil
}

// endorsementColumns are the CSV columns of an export, in order. An import
// reads email (required), campaign_id, print_name, state, time and
// evidence, and ignores the others, so an export imports as it is.
var endorsementColumns = []string{"id", "campaign_id", "email", "organization", "print_name", "country", "state", "source", "time", "message_id", "evidence"}

// ExportEndorsements writes the endorsements q selects as CSV. Cells a
// spreadsheet would read as a formula (evidence and names come from
// outside) are escaped (internal/csvsafe); an import unescapes them.
func (s *Service) ExportEndorsements(ctx context.Context, p *outreach.Principal, q EndorsementQuery, w io.Writer) error {
	list, err := s.Endorsements(ctx, p, q)
	if err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	cw.Write(endorsementColumns)
	for _, e := range list {
		cw.Write(csvsafe.Row(strconv.FormatUint(e.ID, 10), strconv.FormatUint(e.CampaignID, 10), e.Email, e.Organization, e.PrintName,
			e.Country, e.State, e.Source, e.Time.UTC().Format(time.RFC3339), e.MessageID, e.Evidence))
	}
	cw.Flush()
	return cw.Error()
}

// ImportEndorsements reads earlier endorsements from CSV (columns as in an
// export; only email is required) and stores them in one transaction.
// Rows whose state is rejected or withdrawn are skipped; a contact that
// already has a pending or confirmed endorsement in the campaign is left
// as it is (counted Unchanged), so a file imports once however often it
// is given. Any bad row rejects the whole file (an *ImportError listing
// every bad row) unless skipInvalid is set. Imported endorsements are not
// thanked.
func (s *Service) ImportEndorsements(ctx context.Context, p *outreach.Principal, r io.Reader, skipInvalid bool) (*ImportReport, error) {
	if err := can(p, outreach.RoleCoordinator); err != nil {
		return nil, err
	}
	rows, rep, err := s.readEndorsementCSV(ctx, p, r)
	if err != nil {
		return nil, err
	}
	if len(rep.Errors) > 0 && !skipInvalid {
		return nil, &ImportError{Report: *rep}
	}
	created, existing, err := s.Store.ImportEndorsements(ctx, rows, name(p))
	if err != nil {
		return nil, err
	}
	rep.Created, rep.Unchanged = created, existing
	s.audit(ctx, p, "endorsement.import", fmt.Sprintf("%d endorsements", created), fmt.Sprintf("%d already recorded, %d rows skipped", existing, rep.Skipped))
	return rep, nil
}

func (s *Service) readEndorsementCSV(ctx context.Context, p *outreach.Principal, r io.Reader) ([]outreach.Endorsement, *ImportReport, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, nil, outreach.FieldError("csv", "the file is empty: want a header line with at least the column email")
	}
	if err != nil {
		return nil, nil, outreach.FieldError("csv", "line 1: %v", err)
	}
	col := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if h == "name" {
			h = "print_name"
		}
		if !slices.Contains(endorsementColumns, h) {
			return nil, nil, outreach.FieldError("csv", "line 1: unknown column %q (known: %s)", h, strings.Join(endorsementColumns, ", "))
		}
		if _, dup := col[h]; dup {
			return nil, nil, outreach.FieldError("csv", "line 1: column %q appears twice", h)
		}
		col[h] = i
	}
	if _, ok := col["email"]; !ok {
		return nil, nil, outreach.FieldError("csv", "line 1: the column email is required")
	}
	rep := &ImportReport{}
	bad := func(line int, field, format string, args ...any) {
		rep.Skipped++
		if len(rep.Errors) < maxReportedErrors {
			rep.Errors = append(rep.Errors, RowError{Line: line, Field: field, Reason: fmt.Sprintf(format, args...)})
		}
	}
	var rows []outreach.Endorsement
	seen := map[string]int{}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			bad(pe.Line, "", "%v", pe.Err)
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("read CSV: %w", err)
		}
		line, _ := cr.FieldPos(0)
		get := func(name string) string {
			if i, ok := col[name]; ok && i < len(rec) {
				return csvsafe.Unescape(strings.TrimSpace(rec[i]))
			}
			return ""
		}
		if len(rec) == 1 && rec[0] == "" {
			continue
		}
		state := strings.ToLower(get("state"))
		switch state {
		case "", outreach.EndorsementConfirmed:
			state = outreach.EndorsementConfirmed
		case outreach.EndorsementPending:
		case outreach.EndorsementRejected, outreach.EndorsementWithdrawn:
			rep.Skipped++
			continue
		default:
			bad(line, "state", "%q is not confirmed or pending", state)
			continue
		}
		var campaignID uint64
		if v := get("campaign_id"); v != "" {
			if campaignID, err = strconv.ParseUint(v, 10, 64); err != nil {
				bad(line, "campaign_id", "%q is not a number", v)
				continue
			}
		}
		e, err := s.newEndorsement(ctx, p, get("email"), get("print_name"), campaignID)
		if err != nil {
			var oe *outreach.Error
			if errors.As(err, &oe) && oe.Code != outreach.EINTERNAL {
				field := oe.Field
				if field == "" {
					field = "campaign_id"
				}
				bad(line, field, "%s", oe.Message)
				continue
			}
			return nil, nil, fmt.Errorf("line %d: %w", line, err)
		}
		k := fmt.Sprintf("%d/%d", e.CampaignID, e.ContactID)
		if first, dup := seen[k]; dup {
			bad(line, "email", "%s is already on line %d", e.Email, first)
			continue
		}
		seen[k] = line
		if v := get("time"); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				t, err = time.Parse(time.DateOnly, v)
			}
			if err != nil {
				bad(line, "time", "%q is not a date (2025-03-01) or an RFC 3339 time", v)
				continue
			}
			e.Time = t.UTC()
		}
		e.State, e.Source = state, "import"
		e.Evidence = get("evidence")
		if e.Evidence == "" {
			e.Evidence = "imported from CSV"
		}
		rows = append(rows, *e)
	}
	return rows, rep, nil
}

// CountryCount counts a country's endorsements by state.
type CountryCount struct {
	Country   string `json:"country"` // "" for contacts without one
	Pending   int    `json:"pending"`
	Confirmed int    `json:"confirmed"`
}
