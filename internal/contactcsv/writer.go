package contactcsv

import (
	"encoding/csv"
	"fmt"
	"github.com/outreach-coalition/outreach/internal/csvsafe"
	"io"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/outreach-coalition/outreach/internal/outreach"
)

// Writer writes contacts as CSV that a Reader reads back to the same
// contacts.
type Writer struct {
	csv    *csv.Writer
	header []string
	attrs  []string // the contacts' attribute keys, one per attribute column
	record []string
	err    error // from writing the header
}

// NewWriter writes the header to w: the standard columns, then one column
// per attribute name in attrs, lower-cased and sorted. Names a Reader
// would not read back as that attribute are left out: empty ones, those
// with spaces or dots, those of a standard column (email, organisation,
// ...) and all but the first of names equal but for case. Attributes of a
// contact not named in attrs are not written. An error writing the header
// is returned by Write and Flush.
func NewWriter(w io.Writer, attrs []string) *Writer {
	keys := make(map[string]string, len(attrs))
	var names []string
	for _, a := range attrs {
		name := canonicalColumn(a)
		if _, dup := keys[name]; dup || name == "" || isStandardColumn(name) || strings.ContainsAny(name, " \t\r\n.") {
			continue
		}
		keys[name] = a
		names = append(names, name)
	}
	slices.Sort(names)
	wr := &Writer{csv: csv.NewWriter(w)}
	wr.header = append(wr.header, standardColumns[:]...)
	wr.header = append(wr.header, names...)
	for _, n := range names {
		wr.attrs = append(wr.attrs, keys[n])
	}
	wr.record = make([]string, len(wr.header))
	wr.err = wr.csv.Write(wr.header)
	return wr
}

// Write writes one contact. It returns an EINVALID *outreach.Error, and
// writes nothing, if a value would not read back: text that is not UTF-8,
// or a region or tag containing a list separator (";" or "|").
func (w *Writer) Write(c *outreach.Contact) error {
	if w.err != nil {
		return fmt.Errorf("write header: %w", w.err)
	}
	rec := w.record
	rec[0] = c.Email
	rec[1] = c.Name
	rec[2] = c.Organization
	rec[3] = c.Kind
	rec[4] = c.Country
	rec[5] = strings.Join(c.Regions, ListSeparators[:1])
	rec[6] = c.Language
	rec[7] = c.TimeZone
	rec[8] = strings.Join(c.Tags, ListSeparators[:1])
	rec[9] = c.Consent.Source
	rec[10] = formatDate(c.Consent.Date)
	rec[11] = c.Status
	for i, a := range w.attrs {
		rec[len(standardColumns)+i] = c.Attrs[a]
	}
	for _, l := range [...]struct {
		field string
		list  []string
	}{{colRegions, c.Regions}, {colTags, c.Tags}} {
		for _, v := range l.list {
			if strings.ContainsAny(v, ListSeparators) {
				return outreach.FieldError(l.field, "%q contains a list separator (%s)", v, ListSeparators)
			}
		}
	}
	for i, v := range rec {
		if !utf8.ValidString(v) {
			return outreach.FieldError(w.header[i], "is not valid UTF-8")
		}
	}
	// Names and attributes come from partners: never let a spreadsheet
	// read one as a formula (the Reader undoes this).
	for i, v := range rec {
		rec[i] = csvsafe.Escape(v)
	}
	if err := w.csv.Write(rec); err != nil {
		return fmt.Errorf("write contact %s: %w", c.Email, err)
	}
	return nil
}

// Flush writes buffered data to the underlying writer and returns any
// error from writing so far.
func (w *Writer) Flush() error {
	if w.err != nil {
		return fmt.Errorf("write header: %w", w.err)
	}
	w.csv.Flush()
	if err := w.csv.Error(); err != nil {
		return fmt.Errorf("flush contacts: %w", err)
	}
	return nil
}

// formatDate writes a midnight-UTC time as a calendar date and any other
// time as RFC 3339 with its fraction, so parseDate returns the same instant.
func formatDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	t = t.UTC()
	if t.Equal(t.Truncate(24 * time.Hour)) {
		return t.Format(time.DateOnly)
	}
	return t.Format(time.RFC3339Nano)
}
