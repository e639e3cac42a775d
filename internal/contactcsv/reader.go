// Package contactcsv reads and writes contact lists as CSV (RFC 4180), the
// format coordinators keep their partner and target lists in.
//
// The header names the columns, case-insensitively and in any order:
//
//	email,name,organization,kind,country,regions,language,timezone,tags,consent,consent_date,status
//
// Only email is required; organisation is accepted for organization. Regions
// and tags are lists separated by ";" or "|". consent is where consent came
// from and consent_date when (YYYY-MM-DD or RFC 3339). Any other column is a
// free attribute named by its lower-cased header. Files are UTF-8, with or
// without a byte order mark, with LF or CRLF line ends; a header that holds
// no comma but semicolons or tabs (a spreadsheet's regional export) selects
// that separator instead.
package contactcsv

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"github.com/outreach-coalition/outreach/internal/csvsafe"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/outreach-coalition/outreach/internal/outreach"
)

// Standard column names, in the order the Writer writes them.
const (
	colEmail        = "email"
	colName         = "name"
	colOrganization = "organization"
	colKind         = "kind"
	colCountry      = "country"
	colRegions      = "regions"
	colLanguage     = "language"
	colTimeZone     = "timezone"
	colTags         = "tags"
	colConsent      = "consent"
	colConsentDate  = "consent_date"
	colStatus       = "status"
)

var standardColumns = [...]string{
	colEmail, colName, colOrganization, colKind, colCountry, colRegions,
	colLanguage, colTimeZone, colTags, colConsent, colConsentDate, colStatus,
}

// aliases maps accepted spellings to their standard column name.
var aliases = map[string]string{"organisation": colOrganization}

// canonicalColumn returns the standard name for a header cell, or the
// lower-cased, trimmed cell for an attribute column.
func canonicalColumn(h string) string {
	h = strings.ToLower(strings.TrimSpace(h))
	if std, ok := aliases[h]; ok {
		return std
	}
	return h
}

func isStandardColumn(name string) bool {
	for _, s := range standardColumns {
		if s == name {
			return true
		}
	}
	return false
}

// ListSeparators are the separators accepted in the regions and tags
// columns. The Writer joins lists with the first one.
const ListSeparators = ";|"

// RowError is one bad row. Reading continues after it.
type RowError struct {
	// Line is the 1-based physical line where the record starts; the
	// header is line 1 and a quoted field with embedded line breaks
	// advances the count for later records.
	Line int
	// Field is the column at fault, or "" for a malformed record.
	Field  string
	Reason string
}

// Error returns "line: field: reason", e.g. `5: email: "bob@" is not an email address`.
func (e *RowError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("%d: %s", e.Line, e.Reason)
	}
	return fmt.Sprintf("%d: %s: %s", e.Line, e.Field, e.Reason)
}

// column is what one CSV column holds: a standard field or an attribute.
type column struct {
	name string
	attr bool // name is an attribute name
	skip bool // the header cell was empty
}

// Reader streams contacts from CSV. It holds one record at a time, so a
// file of any length is read in constant memory.
type Reader struct {
	csv     *csv.Reader
	cols    []column
	names   []string
	err     error // sticky fatal error
	lastRow int
	zones   map[string]error // time zone name -> Validate's verdict
}

// NewReader reads the header from r. It returns an EINVALID
// *outreach.Error naming the header line if the input is empty, not UTF-8,
// lacks an email column, repeats a column or names an attribute with
// spaces or dots; any other error comes from reading r.
func NewReader(r io.Reader) (*Reader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	comma, err := sniff(br)
	if err != nil {
		return nil, err
	}
	cr := csv.NewReader(br)
	cr.Comma = comma
	cr.ReuseRecord = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, headerError(1, "the file is empty; want a header line naming the columns, with at least email")
	}
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return nil, headerError(pe.StartLine, "%v", pe.Err)
		}
		return nil, fmt.Errorf("read header: %w", err)
	}
	line, _ := cr.FieldPos(0)
	rd := &Reader{csv: cr, lastRow: line, zones: make(map[string]error)}
	seen := make(map[string]int, len(header))
	hasEmail := false
	for i, h := range header {
		if !utf8.ValidString(h) {
			return nil, headerError(line, "column %d is not valid UTF-8", i+1)
		}
		name := canonicalColumn(h)
		col := column{name: name}
		switch {
		case name == "":
			col.skip = true
		case isStandardColumn(name):
			hasEmail = hasEmail || name == colEmail
		case strings.ContainsAny(name, " \t\r\n."):
			return nil, headerError(line, "column %d: attribute name %q must not contain spaces or dots", i+1, name)
		default:
			col.attr = true
		}
		if name != "" {
			if j, dup := seen[name]; dup {
				return nil, headerError(line, "columns %d and %d are both %q", j+1, i+1, name)
			}
			seen[name] = i
		}
		rd.cols = append(rd.cols, col)
		rd.names = append(rd.names, name)
	}
	if !hasEmail {
		return nil, headerError(line, "the header has no email column (columns: %s)", strings.Join(rd.names, ", "))
	}
	cr.FieldsPerRecord = len(header)
	return rd, nil
}

func headerError(line int, format string, args ...any) error {
	return outreach.Errorf(outreach.EINVALID, "line %d: %s", line, fmt.Sprintf(format, args...))
}

// sniff skips a UTF-8 byte order mark, refuses UTF-16, and picks the field
// separator from the first line: a comma unless the line has none but has
// semicolons or tabs.
func sniff(br *bufio.Reader) (rune, error) {
	head, err := peekLine(br)
	if err != nil {
		return 0, fmt.Errorf("read header: %w", err)
	}
	switch {
	case bytes.HasPrefix(head, []byte("\xef\xbb\xbf")):
		_, _ = br.Discard(3)
		head = head[3:]
	case bytes.HasPrefix(head, []byte("\xff\xfe")), bytes.HasPrefix(head, []byte("\xfe\xff")):
		return 0, headerError(1, "the file is UTF-16; save it as CSV UTF-8")
	}
	if i := bytes.IndexByte(head, '\n'); i >= 0 {
		head = head[:i]
	}
	switch {
	case bytes.IndexByte(head, ',') >= 0:
		return ',', nil
	case bytes.IndexByte(head, ';') >= 0:
		return ';', nil
	case bytes.IndexByte(head, '\t') >= 0:
		return '\t', nil
	}
	return ',', nil
}

// peekLine returns the buffered input up to and including the first line
// break, or as much as the buffer holds, reading no further than needed.
func peekLine(br *bufio.Reader) ([]byte, error) {
	for n := 1; ; n = br.Buffered() + 1 {
		head, err := br.Peek(n)
		if errors.Is(err, io.EOF) {
			return head, nil
		}
		if err != nil {
			return nil, err
		}
		head, _ = br.Peek(br.Buffered())
		if bytes.IndexByte(head, '\n') >= 0 || len(head) == br.Size() {
			return head, nil
		}
	}
}

// Columns returns the header's column names, lower-cased, trimmed and with
// aliases resolved ("organisation" becomes "organization").
func (r *Reader) Columns() []string { return append([]string(nil), r.names...) }

// Next returns the next contact, normalised (Contact.Normalize) and
// validated (Contact.Validate), and the line its record starts on. Records
// whose cells are all blank are skipped. A bad record returns a zero
// Contact and a *RowError, and reading may continue; the end of input returns io.EOF; any other
// error is fatal and is returned again by later calls.
func (r *Reader) Next() (c outreach.Contact, line int, err error) {
	if r.err != nil {
		return c, r.lastRow, r.err
	}
	for {
		rec, err := r.csv.Read()
		var pe *csv.ParseError
		switch {
		case err == nil:
			line, _ = r.csv.FieldPos(0)
		case errors.Is(err, io.EOF):
			r.err = io.EOF
			return c, r.lastRow, io.EOF
		case errors.As(err, &pe):
			line = pe.StartLine
		default:
			r.err = fmt.Errorf("read after line %d: %w", r.lastRow, err)
			return c, r.lastRow, r.err
		}
		r.lastRow = line
		if (pe == nil || errors.Is(pe.Err, csv.ErrFieldCount)) && blank(rec) {
			continue
		}
		if pe != nil {
			if errors.Is(pe.Err, csv.ErrFieldCount) {
				return c, line, &RowError{Line: line, Reason: fmt.Sprintf("has %d fields; the header has %d", len(rec), len(r.cols))}
			}
			return c, line, &RowError{Line: line, Reason: pe.Err.Error()}
		}
		c, rowErr := r.contact(rec)
		if rowErr != nil {
			rowErr.Line = line
			return outreach.Contact{}, line, rowErr
		}
		return c, line, nil
	}
}

func blank(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

// contact builds, normalises and validates the contact of one record whose
// length matches the header.
func (r *Reader) contact(rec []string) (outreach.Contact, *RowError) {
	var c outreach.Contact
	for i, v := range rec {
		v = csvsafe.Unescape(v) // what Writer escaped against formulas
		col := r.cols[i]
		if !utf8.ValidString(v) {
			name := col.name
			if col.skip {
				name = fmt.Sprintf("column %d", i+1)
			}
			return c, &RowError{Field: name, Reason: "is not valid UTF-8"}
		}
		switch {
		case col.skip:
			if strings.TrimSpace(v) != "" {
				return c, &RowError{Field: fmt.Sprintf("column %d", i+1), Reason: fmt.Sprintf("%q is under a column with no name in the header", v)}
			}
		case col.attr:
			if v = strings.TrimSpace(v); v != "" {
				if c.Attrs == nil {
					c.Attrs = make(map[string]string)
				}
				c.Attrs[col.name] = v
			}
		default:
			if err := setField(&c, col.name, v); err != nil {
				return c, err
			}
		}
	}
	c.Normalize()
	if err := r.validate(&c); err != nil {
		var oe *outreach.Error
		if errors.As(err, &oe) {
			return c, &RowError{Field: oe.Field, Reason: oe.Message}
		}
		return c, &RowError{Reason: err.Error()}
	}
	return c, nil
}

// validate is c.Validate() with the time zone checked once per distinct
// name: Validate's time.LoadLocation reads the zoneinfo file on every call,
// which otherwise halves the import rate. The zone's verdict is Validate's
// own, obtained on a probe contact carrying only that zone.
func (r *Reader) validate(c *outreach.Contact) error {
	tz := c.TimeZone
	c.TimeZone = ""
	err := c.Validate()
	c.TimeZone = tz
	if err != nil || tz == "" {
		return err
	}
	zerr, ok := r.zones[tz]
	if !ok {
		probe := outreach.Contact{Email: "probe@zone.example", Kind: outreach.KindPartner, Status: outreach.StatusActive, TimeZone: tz}
		zerr = probe.Validate()
		if len(r.zones) < maxCachedZones {
			r.zones[tz] = zerr
		}
	}
	return zerr
}

// maxCachedZones bounds the zone cache against files full of distinct
// garbage zone names; there are about 600 IANA zones.
const maxCachedZones = 1024

func setField(c *outreach.Contact, name, v string) *RowError {
	switch name {
	case colEmail:
		c.Email = v
	case colName:
		c.Name = v
	case colOrganization:
		c.Organization = v
	case colKind:
		c.Kind = v
	case colCountry:
		c.Country = v
	case colRegions:
		c.Regions = splitList(v)
	case colLanguage:
		c.Language = v
	case colTimeZone:
		c.TimeZone = v
	case colTags:
		c.Tags = splitList(v)
	case colConsent:
		c.Consent.Source = strings.TrimSpace(v)
	case colConsentDate:
		t, err := parseDate(v)
		if err != nil {
			return &RowError{Field: colConsentDate, Reason: err.Error()}
		}
		c.Consent.Date = t
	case colStatus:
		c.Status = v
	}
	return nil
}

func splitList(v string) []string {
	if strings.TrimSpace(v) == "" {
		return nil
	}
	return strings.FieldsFunc(v, func(r rune) bool { return strings.ContainsRune(ListSeparators, r) })
}

// parseDate accepts a calendar date (YYYY-MM-DD, taken as midnight UTC) or
// an RFC 3339 timestamp, and returns it in UTC.
func parseDate(v string) (time.Time, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, fmt.Errorf("%q is not a date (YYYY-MM-DD or RFC 3339)", v)
}
