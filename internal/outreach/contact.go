package outreach

import (
	"net/mail"
	"slices"
	"strings"
	"sync"
	"time"
)

// Contact kinds. Kinds are open-ended: any lower-case word is accepted;
// these are the ones the product knows.
const (
	KindPartner     = "partner"
	KindHeadOfState = "head_of_state"
	KindMinistry    = "ministry"
	KindLegislator  = "legislator"
	KindNHRI        = "nhri"
	KindParty       = "party"
	KindOther       = "other"
)

// TargetKinds are the kinds that receive letters, never bulk mail.
var TargetKinds = []string{KindHeadOfState, KindMinistry, KindLegislator, KindNHRI}

// IsTargetKind reports whether kind is one of TargetKinds.
func IsTargetKind(kind string) bool { return slices.Contains(TargetKinds, kind) }

// Contact statuses. Only an active contact can be sent to, and only an
// explicit reactivation returns a contact to active.
const (
	StatusActive       = "active"
	StatusUnsubscribed = "unsubscribed"
	StatusBounced      = "bounced"
	StatusComplained   = "complained"
)

// ValidStatus reports whether s is a contact status.
func ValidStatus(s string) bool {
	switch s {
	case StatusActive, StatusUnsubscribed, StatusBounced, StatusComplained:
		return true
	}
	return false
}

// Consent records where and when a contact agreed to be contacted.
type Consent struct {
	Source string    `json:"source,omitempty"`
	Date   time.Time `json:"date,omitzero"`
}

// Contact is a partner organisation or a target (head of state, ministry,
// legislator, national human rights institution, ...).
type Contact struct {
	ID           uint64            `json:"id"`
	Email        string            `json:"email"` // as given, for display
	Name         string            `json:"name,omitempty"`
	Organization string            `json:"organization,omitempty"`
	Kind         string            `json:"kind"`
	Country      string            `json:"country,omitempty"` // ISO 3166-1 alpha-2
	Regions      []string          `json:"regions,omitempty"`
	Language     string            `json:"language,omitempty"` // BCP 47
	TimeZone     string            `json:"timezone,omitempty"` // IANA
	Tags         []string          `json:"tags,omitempty"`
	Attrs        map[string]string `json:"attributes,omitempty"`
	Consent      Consent           `json:"consent,omitzero"`
	Status       string            `json:"status"`
	Created      time.Time         `json:"created,omitzero"`
	Updated      time.Time         `json:"updated,omitzero"`
}

// Key returns the contact's identity for de-duplication.
func (c *Contact) Key() string { return EmailKey(c.Email) }

// Domain returns the lower-cased domain of the contact's address.
func (c *Contact) Domain() string { return EmailDomain(c.Email) }

// HasTag reports whether the contact carries tag (case-insensitive).
func (c *Contact) HasTag(tag string) bool { return containsFold(c.Tags, tag) }

// InRegion reports whether the contact belongs to region (case-insensitive).
func (c *Contact) InRegion(region string) bool { return containsFold(c.Regions, region) }

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

// ParseEmail parses a single RFC 5322 address, with or without a display
// name, and returns the bare address trimmed of spaces. Addresses must have
// a local part and a domain with a dot or be a domain literal; a CR or LF
// anywhere is refused.
func ParseEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", FieldError("email", "is empty")
	}
	if strings.ContainsAny(s, "\r\n") {
		return "", FieldError("email", "%q contains a line break", s)
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return "", FieldError("email", "%q is not an email address", s)
	}
	at := strings.LastIndexByte(a.Address, '@')
	if at <= 0 || at == len(a.Address)-1 {
		return "", FieldError("email", "%q is not an email address", s)
	}
	domain := a.Address[at+1:]
	if !strings.Contains(domain, ".") && !strings.HasPrefix(domain, "[") {
		return "", FieldError("email", "%q has no top-level domain", s)
	}
	return a.Address, nil
}

// EmailKey is the de-duplication key of an address: the whole address
// lower-cased, local part included, as every major provider treats it.
func EmailKey(addr string) string { return strings.ToLower(strings.TrimSpace(addr)) }

// EmailDomain returns the lower-cased domain of addr, or "".
func EmailDomain(addr string) string {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return ""
	}
	return strings.ToLower(addr[at+1:])
}

// Normalize fills derived fields and canonicalises case: the address is
// parsed and trimmed, the country upper-cased, regions and time zone derived
// from the country where the contact has none, the language tag's case
// canonicalised, tags trimmed and de-duplicated. It does not validate;
// call Validate afterwards.
func (c *Contact) Normalize() {
	if addr, err := ParseEmail(c.Email); err == nil {
		c.Email = addr
	} else {
		c.Email = strings.TrimSpace(c.Email)
	}
	c.Name = strings.TrimSpace(c.Name)
	c.Organization = strings.TrimSpace(c.Organization)
	c.Kind = strings.ToLower(strings.TrimSpace(c.Kind))
	if c.Kind == "" {
		c.Kind = KindPartner
	}
	c.Country = strings.ToUpper(strings.TrimSpace(c.Country))
	c.Regions = cleanList(c.Regions)
	if len(c.Regions) == 0 && c.Country != "" {
		c.Regions = slices.Clone(CountryRegions(c.Country))
	}
	c.Language = CanonicalLanguage(c.Language)
	c.TimeZone = strings.TrimSpace(c.TimeZone)
	if c.TimeZone == "" && c.Country != "" {
		c.TimeZone = CountryTimeZone(c.Country)
	}
	c.Tags = cleanList(c.Tags)
	c.Status = strings.ToLower(strings.TrimSpace(c.Status))
	if c.Status == "" {
		c.Status = StatusActive
	}
}

func cleanList(in []string) []string {
	var out []string
	for _, v := range in {
		v = strings.TrimSpace(v)
		if v != "" && !containsFold(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// Validate checks every field and returns the first problem as an
// EINVALID *Error naming the field.
func (c *Contact) Validate() error {
	if _, err := ParseEmail(c.Email); err != nil {
		return err
	}
	if c.Kind == "" || strings.ContainsFunc(c.Kind, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r == '_' || r >= '0' && r <= '9')
	}) {
		return FieldError("kind", "%q is not a kind (lower-case letters, digits and _; e.g. partner, head_of_state, ministry, legislator, nhri)", c.Kind)
	}
	if c.Country != "" && !ValidCountry(c.Country) {
		return FieldError("country", "%q is not an ISO 3166-1 alpha-2 country code", c.Country)
	}
	if c.Country == "" && IsTargetKind(c.Kind) {
		return FieldError("country", "is required for a %s", c.Kind)
	}
	if c.Language != "" && !ValidLanguage(c.Language) {
		return FieldError("language", "%q is not a BCP 47 language tag", c.Language)
	}
	if c.TimeZone != "" {
		if !ValidTimeZone(c.TimeZone) {
			return FieldError("timezone", "%q is not an IANA time zone", c.TimeZone)
		}
	}
	if !ValidStatus(c.Status) {
		return FieldError("status", "%q is not one of active, unsubscribed, bounced, complained", c.Status)
	}
	for k := range c.Attrs {
		if k == "" || strings.ContainsAny(k, " \t\r\n.") {
			return FieldError("attributes", "attribute name %q must be non-empty without spaces or dots", k)
		}
	}
	for _, s := range [...]struct{ field, v string }{{"name", c.Name}, {"organization", c.Organization}} {
		if strings.ContainsAny(s.v, "\x00") {
			return FieldError(s.field, "contains a NUL byte")
		}
	}
	return nil
}

// Sendable reports whether bulk mail may go to the contact at all
// (suppressions are checked separately).
func (c *Contact) Sendable() bool { return c.Status == StatusActive }

// CanonicalLanguage returns tag with BCP 47 case conventions: language
// lower-case, script title-case, region upper-case ("pt-br" -> "pt-BR").
func CanonicalLanguage(tag string) string {
	tag = strings.ReplaceAll(strings.TrimSpace(tag), "_", "-")
	if tag == "" {
		return ""
	}
	parts := strings.Split(tag, "-")
	for i, p := range parts {
		switch {
		case i == 0:
			parts[i] = strings.ToLower(p)
		case len(p) == 4 && isAlpha(p):
			parts[i] = strings.ToUpper(p[:1]) + strings.ToLower(p[1:])
		case len(p) == 2 && isAlpha(p), len(p) == 3 && isDigit(p):
			parts[i] = strings.ToUpper(p)
		default:
			parts[i] = strings.ToLower(p)
		}
	}
	return strings.Join(parts, "-")
}

// ValidLanguage reports whether tag is a well-formed BCP 47 tag in its
// common forms: a 2–3 letter language, then optional script, region and
// variant subtags.
func ValidLanguage(tag string) bool {
	parts := strings.Split(tag, "-")
	if l := len(parts[0]); l < 2 || l > 3 || !isAlpha(parts[0]) {
		return false
	}
	for _, p := range parts[1:] {
		if len(p) < 2 || len(p) > 8 || !isAlnum(p) {
			return false
		}
	}
	return true
}

// BaseLanguage returns the language subtag of tag ("pt-BR" -> "pt").
func BaseLanguage(tag string) string {
	base, _, _ := strings.Cut(tag, "-")
	return strings.ToLower(base)
}

func isAlpha(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return s != ""
}

func isDigit(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

func isAlnum(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return s != ""
}

// zoneCache memoises ValidTimeZone: time.LoadLocation reads the zone file
// from disk on every call, which dominated a large import. The zone
// database does not change while the process runs, so the cache is never
// invalidated; it holds at most the few hundred IANA names.
var zoneCache sync.Map // string -> bool

// ValidTimeZone reports whether name is an IANA time zone this machine
// knows ("Local" and "" are not).
func ValidTimeZone(name string) bool {
	if name == "" || name == "Local" {
		return false
	}
	if ok, hit := zoneCache.Load(name); hit {
		return ok.(bool)
	}
	_, err := time.LoadLocation(name)
	if len(name) <= 64 {
		zoneCache.Store(name, err == nil)
	}
	return err == nil
}
