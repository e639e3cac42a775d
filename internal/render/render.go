// Package render turns a campaign's mail templates into messages: it loads
// and validates template sets (a subject, a plain-text body and an HTML
// body per language variant, with a shared layout and partials), renders
// one message per recipient with a language fallback chain, and composes
// the MIME message (Compose) in one pass into a reusable buffer, byte for
// byte what go-mail's message builder wrote, at a seventh of its cost.
//
// Templates are strict: a missing field or map key is an error naming the
// file and line, never "<no value>"; HTML is escaped by html/template; a
// line break reaching a subject or any header from the data is refused.
// Load renders every variant once, so a broken template is caught before
// a wave starts; Check renders for the actual recipients.
package render

import (
	"fmt"
	htmltemplate "html/template"
	"maps"
	"slices"
	"strings"
	"sync"
	texttemplate "text/template"
	"unicode"
	"unicode/utf8"

	"github.com/outreach-coalition/outreach/internal/outreach"
)

// Set is a validated collection of templates. It is safe for concurrent
// use.
type Set struct {
	files     map[string]string
	templates map[string]*tmpl
	zones     sync.Map // IANA name -> *time.Location, for date
}

type tmpl struct {
	name     string
	variants map[string]*variant // by canonical language tag
	attrs    []string            // contact attributes used as fields
}

type variant struct {
	lang        string
	subject     *texttemplate.Template
	subjectPath string
	text        *texttemplate.Template
	textEntry   string
	textFiles   map[string]string // template name -> file, for errors
	html        *htmltemplate.Template
	htmlEntry   string
	htmlFiles   map[string]string
	attrs       []string
}

// Names returns the template names, sorted.
func (s *Set) Names() []string { return slices.Sorted(maps.Keys(s.templates)) }

// Has reports whether the set has a template called name.
func (s *Set) Has(name string) bool { _, ok := s.templates[name]; return ok }

// Languages returns the language tags of name's variants, sorted, or nil
// for an unknown template.
func (s *Set) Languages(name string) []string {
	t, ok := s.templates[name]
	if !ok {
		return nil
	}
	return slices.Sorted(maps.Keys(t.variants))
}

// Attributes returns the contact attributes name uses as fields
// (.Contact.Attrs.NAME): every recipient must have them, which Check
// verifies.
func (s *Set) Attributes(name string) []string {
	if t, ok := s.templates[name]; ok {
		return slices.Clone(t.attrs)
	}
	return nil
}

// Files returns the source files template name needs, path -> content: its
// variants, the layouts and every partial. LoadFiles of the result gives a
// set with that one template. An unknown name gives nil.
func (s *Set) Files(name string) map[string]string {
	if !s.Has(name) {
		return nil
	}
	out := map[string]string{}
	for p, src := range s.files {
		if strings.HasPrefix(p, name+"/") || !strings.Contains(p, "/") || strings.HasPrefix(p, partialsDir+"/") {
			out[p] = src
		}
	}
	return out
}

// Rendered is one message rendered for one recipient.
type Rendered struct {
	Template string
	Lang     string   // the variant used
	Tried    []string // the fallback chain, up to and including Lang
	Subject  string   // one line, no control characters
	Text     string
	HTML     string
}

// Chain returns the languages to try for a contact, in order and without
// repeats: the contact's language ("pt-BR"), its base ("pt"), the campaign
// default and its base, then "en". Tags that are not BCP 47 are skipped.
func Chain(contactLang, campaignDefault string) []string {
	var out []string
	contactLang, campaignDefault = outreach.CanonicalLanguage(contactLang), outreach.CanonicalLanguage(campaignDefault)
	for _, c := range []string{
		contactLang, outreach.BaseLanguage(contactLang),
		campaignDefault, outreach.BaseLanguage(campaignDefault), "en",
	} {
		if c != "" && outreach.ValidLanguage(c) && !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

// Render renders template name for d.Contact, choosing the variant by
// Chain(d.Contact.Language, d.Campaign.DefaultLanguage). d is not
// modified; the template sees a copy with Lang set to the variant. An
// unknown template is ENOTFOUND; any other failure is Problems.
func (s *Set) Render(name string, d *Data) (*Rendered, error) {
	t, ok := s.templates[name]
	if !ok {
		return nil, outreach.Errorf(outreach.ENOTFOUND, "template %q not found", name)
	}
	if d == nil {
		return nil, fmt.Errorf("render %s: no data", name)
	}
	var tried []string
	for _, lang := range Chain(d.Contact.Language, d.Campaign.DefaultLanguage) {
		tried = append(tried, lang)
		if v, ok := t.variants[lang]; ok {
			r, probs := s.renderVariant(t, v, d, tried)
			if probs != nil {
				return nil, probs.errOrNil()
			}
			return r, nil
		}
	}
	return nil, Problems{{File: name, Reason: fmt.Sprintf("no variant for any of %s (have %s)",
		strings.Join(tried, ", "), strings.Join(s.Languages(name), ", "))}}
}

func (s *Set) renderVariant(t *tmpl, v *variant, d *Data, tried []string) (*Rendered, Problems) {
	dd := *d
	dd.Lang = v.lang
	r := &Rendered{Template: t.name, Lang: v.lang, Tried: tried}
	var probs Problems
	var b strings.Builder
	if err := v.subject.Execute(&b, &dd); err != nil {
		probs = append(probs, problemFrom(err, nil, v.subjectPath))
	} else {
		r.Subject = validUTF8(strings.TrimSpace(b.String()))
		switch {
		case strings.ContainsAny(r.Subject, "\r\n"):
			probs = append(probs, Problem{File: v.subjectPath, Reason: "the data put a line break in the subject; a subject is one line"})
		case strings.ContainsFunc(r.Subject, isControl):
			probs = append(probs, Problem{File: v.subjectPath, Reason: "the data put a control character in the subject"})
		case r.Subject == "":
			probs = append(probs, Problem{File: v.subjectPath, Reason: "the subject is empty"})
		}
	}
	b.Reset()
	b.Grow(4096)
	if err := v.text.ExecuteTemplate(&b, v.textEntry, &dd); err != nil {
		probs = append(probs, problemFrom(err, v.textFiles, v.textFiles[contentName]))
	} else {
		r.Text = validUTF8(strings.TrimSpace(b.String())) + "\n"
	}
	b.Reset()
	b.Grow(8192)
	if err := v.html.ExecuteTemplate(&b, v.htmlEntry, &dd); err != nil {
		probs = append(probs, problemFrom(err, v.htmlFiles, v.htmlFiles[contentName]))
	} else {
		r.HTML = validUTF8(strings.TrimSpace(b.String())) + "\n"
	}
	if probs != nil {
		return nil, probs
	}
	return r, nil
}

// validUTF8 replaces invalid UTF-8 in s with U+FFFD. Checking first is
// several times faster than ToValidUTF8 on the valid text it nearly always
// gets.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// isControl reports a control character other than tab.
func isControl(r rune) bool { return r != '\t' && unicode.IsControl(r) }

// Check renders name for every contact given, or for the sample contact
// when none is, with SampleData for everything else, and returns every
// failure as Problems whose reasons name the contact. Call it before a
// wave starts.
func (s *Set) Check(name string, contacts ...outreach.Contact) error {
	return s.CheckData(name, SampleData(), contacts...)
}

// CheckData is Check with base supplying the campaign, wave, delivery,
// roster and clock.
func (s *Set) CheckData(name string, base *Data, contacts ...outreach.Contact) error {
	if !s.Has(name) {
		return outreach.Errorf(outreach.ENOTFOUND, "template %q not found", name)
	}
	if len(contacts) == 0 {
		contacts = []outreach.Contact{base.Contact}
	}
	var probs Problems
	for _, c := range contacts {
		d := *base
		d.Contact = c
		_, err := s.Render(name, &d)
		if ps, ok := err.(Problems); ok {
			for _, p := range ps {
				p.Reason = "contact " + contactLabel(&c) + ": " + p.Reason
				probs = append(probs, p)
			}
		} else if err != nil {
			return fmt.Errorf("check %s: %w", name, err)
		}
	}
	return probs.errOrNil()
}

func contactLabel(c *outreach.Contact) string {
	if c.Email != "" {
		return c.Email
	}
	return fmt.Sprintf("#%d", c.ID)
}
