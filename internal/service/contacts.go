package service

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"runtime/debug"
	"slices"
	"sort"

	"github.com/outreach-coalition/outreach/internal/contactcsv"
	"github.com/outreach-coalition/outreach/internal/outreach"
	"github.com/outreach-coalition/outreach/internal/store"
)

// ImportReport summarises a contact import.
type ImportReport struct {
	Created   int        `json:"created"`
	Updated   int        `json:"updated"`
	Unchanged int        `json:"unchanged"`
	Skipped   int        `json:"skipped"`
	Errors    []RowError `json:"errors,omitempty"`
	DryRun    bool       `json:"dry_run,omitempty"`
}

// RowError is one rejected row.
type RowError struct {
	Line   int    `json:"line"`
	Field  string `json:"field,omitempty"`
	Reason string `json:"reason"`
}

func (e RowError) String() string {
	if e.Field == "" {
		return fmt.Sprintf("%d: %s", e.Line, e.Reason)
	}
	return fmt.Sprintf("%d: %s: %s", e.Line, e.Field, e.Reason)
}

// ImportError is returned when a file is rejected; Report lists every bad
// row.
type ImportError struct{ Report ImportReport }

func (e *ImportError) Error() string {
	return fmt.Sprintf("%d invalid rows: nothing was imported (fix them, or pass --skip-invalid to import the valid rows)", len(e.Report.Errors))
}

// maxReportedErrors bounds the error list of a very bad file.
const maxReportedErrors = 1000

// ImportContacts reads CSV from r and imports it in one transaction. Any
// bad row rejects the whole file (an *ImportError listing every bad row)
// unless skipInvalid is set, in which case the valid rows are imported
// and the bad ones reported. A coordinator scoped to countries may only
// import contacts in scope.
func (s *Service) ImportContacts(ctx context.Context, p *outreach.Principal, r io.Reader, skipInvalid bool) (*ImportReport, error) {
	if err := can(p, outreach.RoleCoordinator); err != nil {
		return nil, err
	}
	cr, err := contactcsv.NewReader(r)
	if err != nil {
		return nil, outreach.Errorf(outreach.EINVALID, "%v", err)
	}
	cols := cr.Columns()
	hasKind, hasStatus := slices.Contains(cols, "kind"), slices.Contains(cols, "status")
	rep := &ImportReport{}
	bad := func(line int, field, reason string) {
		rep.Skipped++
		if len(rep.Errors) < maxReportedErrors {
			rep.Errors = append(rep.Errors, RowError{Line: line, Field: field, Reason: reason})
		}
	}
	errReject := errors.New("rejected")
	next, foreign, err := s.importRows(ctx, p, cr)
	if err != nil {
		return nil, err
	}
	err = s.Store.ImportContacts(ctx, func(put store.PutFunc) error {
		for {
			c, line, err := next()
			var re *contactcsv.RowError
			switch {
			case errors.Is(err, io.EOF):
				if len(rep.Errors) > 0 && !skipInvalid {
					return errReject
				}
				return nil
			case errors.As(err, &re):
				bad(re.Line, re.Field, re.Reason)
				continue
			case err != nil:
				return err
			}
			if !p.InScope(c.Country) {
				bad(line, "country", fmt.Sprintf("%q is outside your countries (%v)", c.Country, p.Countries))
				continue
			}
			if foreign[outreach.EmailKey(c.Email)] {
				bad(line, "email", "is not a contact you may change (it is outside your countries)")
				continue
			}
			// Columns the file lacks must not overwrite stored values
			// with the reader's defaults.
			if !hasKind {
				c.Kind = ""
			}
			if !hasStatus {
				c.Status = ""
			}
			res, err := put(&c)
			if err != nil {
				var oe *outreach.Error
				if errors.As(err, &oe) && oe.Code == outreach.EINVALID {
					bad(line, oe.Field, oe.Message)
					continue
				}
				return fmt.Errorf("line %d: %w", line, err)
			}
			switch res {
			case store.Created:
				rep.Created++
			case store.Updated:
				rep.Updated++
			default:
				rep.Unchanged++
			}
		}
	})
	if errors.Is(err, errReject) {
		rep.Created, rep.Updated, rep.Unchanged = 0, 0, 0
		return rep, &ImportError{Report: *rep}
	}
	if err != nil {
		return nil, fmt.Errorf("import contacts: %w", err)
	}
	s.audit(ctx, p, "contacts.import", "", fmt.Sprintf("created %d, updated %d, skipped %d", rep.Created, rep.Updated, rep.Skipped))
	if rep.Created+rep.Updated+rep.Unchanged > 100000 {
		// A large import's transaction held every new page in memory:
		// give that memory back so the daemon stays small afterwards.
		debug.FreeOSMemory()
	}
	return rep, nil
}

// importRows returns the reader of an import's rows. For a scoped
// principal it reads the whole file first and also returns the addresses
// that belong to existing contacts outside its countries, which the import
// must not change: the store's merge cannot tell, and looking them up
// inside the import's write transaction could deadlock bbolt.
func (s *Service) importRows(ctx context.Context, p *outreach.Principal, cr *contactcsv.Reader) (func() (outreach.Contact, int, error), map[string]bool, error) {
	if len(p.Countries) == 0 {
		return cr.Next, nil, nil
	}
	type row struct {
		c    outreach.Contact
		line int
		err  error
	}
	var rows []row
	foreign := map[string]bool{}
	for {
		c, line, err := cr.Next()
		rows = append(rows, row{c, line, err})
		var re *contactcsv.RowError
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil && !errors.As(err, &re) {
			return nil, nil, err
		}
		if err != nil {
			continue
		}
		if old, err := s.Store.Contact(ctx, c.Email); err == nil && !p.InScope(old.Country) {
			foreign[outreach.EmailKey(c.Email)] = true
		}
	}
	i := 0
	return func() (outreach.Contact, int, error) {
		r := rows[i]
		if i < len(rows)-1 {
			i++
		}
		return r.c, r.line, r.err
	}, foreign, nil
}

// ExportContacts writes the matching contacts as CSV that imports back.
func (s *Service) ExportContacts(ctx context.Context, p *outreach.Principal, filter string, w io.Writer) error {
	if err := can(p, outreach.RoleViewer); err != nil {
		return err
	}
	match, err := scopeMatch(p, filter)
	if err != nil {
		return err
	}
	// Attribute names first (a second pass is cheaper than holding every
	// contact), then the rows.
	attrs := map[string]bool{}
	if err := s.Store.EachContact(ctx, match, 0, func(c *outreach.Contact) bool {
		for k := range c.Attrs {
			attrs[k] = true
		}
		return true
	}); err != nil {
		return err
	}
	names := slices.Collect(maps.Keys(attrs))
	sort.Strings(names)
	cw := contactcsv.NewWriter(w, names)
	var werr error
	err = s.Store.EachContact(ctx, match, 0, func(c *outreach.Contact) bool {
		werr = cw.Write(c)
		return werr == nil
	})
	if err == nil {
		err = werr
	}
	if err == nil {
		err = cw.Flush()
	}
	return err
}

// CountContacts counts the contacts matching filter within p's scope.
func (s *Service) CountContacts(ctx context.Context, p *outreach.Principal, filter string) (int, error) {
	if err := can(p, outreach.RoleViewer); err != nil {
		return 0, err
	}
	match, err := scopeMatch(p, filter)
	if err != nil {
		return 0, err
	}
	return s.Store.CountContacts(ctx, match)
}

// ListContacts returns a page of matching contacts after the cursor.
func (s *Service) ListContacts(ctx context.Context, p *outreach.Principal, filter string, after uint64, limit int) ([]outreach.Contact, uint64, error) {
	if err := can(p, outreach.RoleViewer); err != nil {
		return nil, 0, err
	}
	match, err := scopeMatch(p, filter)
	if err != nil {
		return nil, 0, err
	}
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	return s.Store.ListContacts(ctx, match, after, limit)
}

// Contact returns one contact; out of scope is not found.
func (s *Service) Contact(ctx context.Context, p *outreach.Principal, email string) (*outreach.Contact, error) {
	if err := can(p, outreach.RoleViewer); err != nil {
		return nil, err
	}
	c, err := s.Store.Contact(ctx, email)
	if err != nil {
		return nil, err
	}
	if !p.InScope(c.Country) {
		return nil, outreach.Errorf(outreach.ENOTFOUND, "contact %s not found", email)
	}
	return c, nil
}

// UpdateContact edits a contact.
func (s *Service) UpdateContact(ctx context.Context, p *outreach.Principal, email string, patch store.ContactPatch) (*outreach.Contact, error) {
	if err := can(p, outreach.RoleCoordinator); err != nil {
		return nil, err
	}
	if _, err := s.Contact(ctx, p, email); err != nil {
		return nil, err
	}
	if patch.Country != nil && !p.InScope(*patch.Country) {
		return nil, outreach.FieldError("country", "%q is outside your countries", *patch.Country)
	}
	c, err := s.Store.UpdateContact(ctx, email, patch)
	if err == nil {
		s.audit(ctx, p, "contact.edit", email, "")
	}
	return c, err
}

// DeleteContact deletes a contact.
func (s *Service) DeleteContact(ctx context.Context, p *outreach.Principal, email string) error {
	if err := can(p, outreach.RoleCoordinator); err != nil {
		return err
	}
	if _, err := s.Contact(ctx, p, email); err != nil {
		return err
	}
	if err := s.Store.DeleteContact(ctx, email); err != nil {
		return err
	}
	s.audit(ctx, p, "contact.delete", email, "")
	return nil
}

// ReactivateContact returns a contact to active; reason is required.
func (s *Service) ReactivateContact(ctx context.Context, p *outreach.Principal, email, reason string) (*outreach.Contact, error) {
	if err := can(p, outreach.RoleCoordinator); err != nil {
		return nil, err
	}
	if _, err := s.Contact(ctx, p, email); err != nil {
		return nil, err
	}
	c, err := s.Store.ReactivateContact(ctx, email, reason, name(p))
	if err == nil {
		markAudited(ctx)
		s.Log.Info("contact reactivated", "email", email, "by", name(p), "reason", reason)
	}
	return c, err
}
