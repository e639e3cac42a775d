package service

import (
	"bytes"
	"cmp"
	"context"
	"encoding/csv"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/cases"
	"golang.org/x/text/collate"
	"golang.org/x/text/language"
	"golang.org/x/text/unicode/norm"

	"github.com/outreach-coalition/outreach/internal/csvsafe"
	"github.com/outreach-coalition/outreach/internal/outreach"
	"github.com/outreach-coalition/outreach/internal/render"
	"github.com/outreach-coalition/outreach/internal/segment"
	"github.com/outreach-coalition/outreach/internal/store"
)

// Letters (issue 8). A letter is a campaign's joint letter, sent per
// country to that country's targets (contacts of the kinds in
// outreach.TargetKinds matching the letter's filter) with the roster of
// that country's endorsing organisations.
//
// Readiness: a letter with neither MinEndorsements nor Deadline is sent by
// hand. Otherwise a rule prepares each country's letter (CheckLetters):
// when the country has MinEndorsements confirmed organisations, or at the
// deadline. Preparing marks it ready, with an audit entry and a log line
// for the coordinators. A ready letter goes out when a coordinator has
// approved it (before or after it became ready), or at once when the
// campaign allows unattended letters. `letters send` is a coordinator
// sending by hand, which is approving.
//
// A country gets a letter once: a second send is refused unless it is an
// explicit resend, which the audit trail records with who did it.
//
// No letter goes, by hand or by a rule, while a reply of one of its
// confirmed endorsers waits in the review queue (bounces aside): it may
// take the endorsement back, and a decline the inbox recognised has put
// the endorsement on hold already.

// Letter states per country, in LetterCountryView.State.
const (
	LetterStateCollecting = "collecting" // no rule has prepared it, nobody approved it
	LetterStateReady      = "ready"      // a rule prepared it; waiting for approval
	LetterStateApproved   = "approved"   // approved; goes out when ready
	LetterStateSent       = "sent"
)

// systemUser is who acts when a readiness rule sends a letter.
const systemUser = "system"

// LetterInput describes a letter to create.
type LetterInput struct {
	CampaignID      uint64 `json:"campaign_id,omitempty"`
	Template        string `json:"template"`
	Targets         string `json:"targets"`
	MinEndorsements int    `json:"min_endorsements,omitempty"`
	// Deadline is an RFC 3339 time or a date (YYYY-MM-DD, midnight UTC).
	Deadline      string `json:"deadline,omitempty"`
	International bool   `json:"international,omitempty"`
}

// RosterEntry is one organisation on a letter's roster.
type RosterEntry struct {
	Name         string   `json:"name"` // as printed
	Organization string   `json:"organization,omitempty"`
	Country      string   `json:"country,omitempty"` // empty: an international endorser
	Endorsements []uint64 `json:"endorsements"`      // the confirmed endorsements behind it
	key          string
}

// LetterTarget is one recipient of a country's letter.
type LetterTarget struct {
	Email        string `json:"email"`
	Name         string `json:"name,omitempty"`
	Organization string `json:"organization,omitempty"`
	Kind         string `json:"kind"`
	Sendable     bool   `json:"sendable"` // false: suppressed, unsubscribed or bounced
}

// LetterCountryView is one country's letter.
type LetterCountryView struct {
	Country     string                `json:"country"`
	State       string                `json:"state"`
	Targets     int                   `json:"targets"`
	Endorsers   int                   `json:"endorsers"` // the country's organisations on the roster now
	Roster      []RosterEntry         `json:"roster"`    // as it would be sent now
	Ready       time.Time             `json:"ready,omitzero"`
	ReadyReason string                `json:"ready_reason,omitempty"`
	Approved    time.Time             `json:"approved,omitzero"`
	ApprovedBy  string                `json:"approved_by,omitempty"`
	Sends       []outreach.LetterSend `json:"sends,omitempty"`
	// WithdrawnAfterSending names the organisations on the latest sent
	// roster that have withdrawn since; the sent roster is not changed.
	WithdrawnAfterSending []string `json:"withdrawn_after_sending,omitempty"`
}

// LetterView is a letter with its countries (those of the principal's
// scope that have targets, endorsers or a record).
type LetterView struct {
	outreach.Letter
	Rule      string              `json:"rule"`
	Countries []LetterCountryView `json:"countries"`
}

// LetterSendInput selects the countries of a send or an approval.
type LetterSendInput struct {
	Country string `json:"country,omitempty"`
	All     bool   `json:"all,omitempty"`
	// MinEndorsements skips countries with fewer organisations on the roster.
	MinEndorsements int `json:"min_endorsements,omitempty"`
	// Resend sends again to countries that were sent the letter (send only).
	Resend bool `json:"resend,omitempty"`
}

// LetterReport is what a send or an approval did, per country.
type LetterReport struct {
	LetterID uint64          `json:"letter_id"`
	Sent     []LetterSent    `json:"sent"`
	Waiting  []LetterSkipped `json:"waiting,omitempty"` // approved, goes out when ready
	Skipped  []LetterSkipped `json:"skipped"`
}

// LetterSent is one country's letter that went to the outbox.
type LetterSent struct {
	Country    string   `json:"country"`
	SendID     uint64   `json:"send_id"`
	Targets    int      `json:"targets"`
	Suppressed int      `json:"suppressed"`
	Roster     []string `json:"roster"`
	Resend     bool     `json:"resend,omitempty"`
}

// LetterSkipped is a country left alone, and why.
type LetterSkipped struct {
	Country string `json:"country"`
	Reason  string `json:"reason"`
}

// LetterPreview is a country's letter rendered as it would be sent now,
// for one of its targets.
type LetterPreview struct {
	LetterID uint64         `json:"letter_id"`
	Country  string         `json:"country"`
	State    string         `json:"state"`
	Roster   []RosterEntry  `json:"roster"`
	Targets  []LetterTarget `json:"targets"`
	To       string         `json:"to,omitempty"` // the target it is rendered for
	Template string         `json:"template"`
	Version  uint64         `json:"version"`
	Lang     string         `json:"lang"`
	Subject  string         `json:"subject"`
	Text     string         `json:"text"`
	HTML     string         `json:"html"`
	Problems []string       `json:"problems,omitempty"` // what would stop it being sent now
}

// LetterExport is a file made from a country's letter.
type LetterExport struct {
	Name        string // a file name, e.g. letter-1-MY.csv
	ContentType string
	Body        []byte
}

// Export formats.
const (
	ExportCSV      = "csv"
	ExportHTML     = "html"
	ExportMarkdown = "md"
)

// ParseDeadline parses a letter's deadline: an RFC 3339 time, or a date
// (YYYY-MM-DD) meaning midnight UTC at its start.
func ParseDeadline(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is not a date (2026-12-01) or an RFC 3339 time (2026-12-01T09:00:00+08:00)", s)
}

// letterRule describes a letter's readiness rule.
func letterRule(l *outreach.Letter) string {
	var parts []string
	if l.MinEndorsements > 0 {
		parts = append(parts, fmt.Sprintf("ready at %d confirmed organisations", l.MinEndorsements))
	}
	if !l.Deadline.IsZero() {
		parts = append(parts, "ready at "+l.Deadline.Format(time.RFC3339))
	}
	if len(parts) == 0 {
		return "by hand"
	}
	return strings.Join(parts, " or ")
}

func letterByHand(l *outreach.Letter) bool { return l.MinEndorsements == 0 && l.Deadline.IsZero() }

// letterTargetMatch returns the matcher of a letter's targets: its filter,
// restricted to target kinds and to contacts with a country.
func letterTargetMatch(filter string) (store.Match, error) {
	f, err := segment.Parse(filter)
	if err != nil {
		return nil, outreach.FieldError("targets", "%v", outreach.ErrorMessage(err))
	}
	return func(c *outreach.Contact) bool {
		return outreach.IsTargetKind(c.Kind) && c.Country != "" && f.Match(c)
	}, nil
}

// CreateLetter validates and stores a letter. It pins the latest version
// of its template: previews, sends and exports use that version, whatever
// edits come later. Its targets filter must select at least one target
// contact; a letter covers every country, so a principal scoped to
// countries may not create one.
func (s *Service) CreateLetter(ctx context.Context, p *outreach.Principal, in LetterInput) (*LetterView, error) {
	if err := can(p, outreach.RoleCoordinator); err != nil {
		return nil, err
	}
	if len(p.Countries) > 0 {
		return nil, outreach.Errorf(outreach.EFORBIDDEN, "a letter covers every country: %q is scoped to %s; ask a coordinator without a country scope", p.Name, strings.Join(p.Countries, ", "))
	}
	if in.CampaignID == 0 {
		in.CampaignID = s.DefaultCampaign
	}
	if _, err := s.Store.Campaign(ctx, in.CampaignID); err != nil {
		return nil, err
	}
	if strings.TrimSpace(in.Template) == "" {
		return nil, outreach.FieldError("template", "is required")
	}
	version, _, err := s.pinTemplate(ctx, in.Template)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(in.Targets) == "" {
		return nil, outreach.FieldError("targets", "is required: a filter such as \"kind in (head_of_state, ministry, nhri)\"")
	}
	match, err := letterTargetMatch(in.Targets)
	if err != nil {
		return nil, err
	}
	if n, err := s.Store.CountContacts(ctx, match); err != nil {
		return nil, err
	} else if n == 0 {
		return nil, outreach.FieldError("targets", "%q selects no target: a letter goes to contacts of kinds %s that have a country",
			in.Targets, strings.Join(outreach.TargetKinds, ", "))
	}
	if in.MinEndorsements < 0 {
		return nil, outreach.FieldError("min_endorsements", "%d is negative", in.MinEndorsements)
	}
	l := &outreach.Letter{CampaignID: in.CampaignID, Template: in.Template, TemplateVersion: version, Targets: strings.TrimSpace(in.Targets),
		MinEndorsements: in.MinEndorsements, International: in.International}
	if in.Deadline != "" {
		if l.Deadline, err = ParseDeadline(in.Deadline); err != nil {
			return nil, outreach.FieldError("deadline", "%v", err)
		}
	}
	if err := s.Store.CreateLetter(ctx, l, name(p)); err != nil {
		return nil, err
	}
	s.Log.Info("letter created", "letter", l.ID, "template", l.Template, "targets", l.Targets, "rule", letterRule(l))
	return s.Letter(ctx, p, l.ID)
}

// letterTemplate returns the template version a letter pinned at its
// creation (the latest for a letter made before letters pinned one), so
// that a later edit of the template changes neither its preview nor what
// it sends.
func (s *Service) letterTemplate(ctx context.Context, l *outreach.Letter) (uint64, *render.Set, error) {
	if l.TemplateVersion == 0 {
		return s.pinTemplate(ctx, l.Template)
	}
	tv, set, err := s.pinTemplateVersion(ctx, l.Template, l.TemplateVersion)
	if err != nil {
		return 0, nil, fmt.Errorf("letter %d template %s version %d: %w", l.ID, l.Template, l.TemplateVersion, err)
	}
	return tv.Version, set, nil
}

// visibleLetter returns letter id, or with id 0 the latest letter of the
// default campaign.
func (s *Service) visibleLetter(ctx context.Context, id uint64) (*outreach.Letter, error) {
	if id != 0 {
		return s.Store.Letter(ctx, id)
	}
	list, err := s.Store.Letters(ctx, s.DefaultCampaign)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, outreach.Errorf(outreach.ENOTFOUND, "there is no letter yet: create one with `outreach letters add`")
	}
	return &list[len(list)-1], nil
}

// letterState is everything known about a letter's countries at one time.
type letterState struct {
	letter    *outreach.Letter
	camp      *outreach.Campaign
	targets   map[string][]outreach.Contact
	national  map[string][]RosterEntry
	intl      []RosterEntry
	withdrawn []outreach.Endorsement
	records   map[string]*store.LetterCountry
	// unsettled lists, per country ("" for international endorsers), the
	// replies of confirmed endorsers that wait for review.
	unsettled map[string][]string
}

func (st *letterState) roster(country string) []RosterEntry {
	out := slices.Clone(st.national[country])
	if st.letter.International {
		out = append(out, st.intl...)
	}
	return out
}

func (st *letterState) record(country string) *store.LetterCountry {
	if lc := st.records[country]; lc != nil {
		return lc
	}
	return &store.LetterCountry{LetterID: st.letter.ID, Country: country}
}

// countries returns the countries with targets, endorsers or a record
// that p may see, sorted.
func (st *letterState) countries(p *outreach.Principal) []string {
	set := map[string]bool{}
	for _, m := range []map[string]bool{letterKeySet(st.targets), letterKeySet(st.national), letterKeySet(st.records)} {
		maps.Copy(set, m)
	}
	var out []string
	for c := range set {
		if c != "" && p.InScope(c) {
			out = append(out, c)
		}
	}
	slices.Sort(out)
	return out
}

func letterKeySet[V any](m map[string]V) map[string]bool {
	out := make(map[string]bool, len(m))
	for k := range m {
		out[k] = true
	}
	return out
}

// loadLetter gathers a letter's state.
func (s *Service) loadLetter(ctx context.Context, l *outreach.Letter) (*letterState, error) {
	camp, err := s.Store.Campaign(ctx, l.CampaignID)
	if err != nil {
		return nil, err
	}
	st := &letterState{letter: l, camp: camp, targets: map[string][]outreach.Contact{}, records: map[string]*store.LetterCountry{}}
	match, err := letterTargetMatch(l.Targets)
	if err != nil {
		return nil, err
	}
	if err := s.Store.EachContact(ctx, match, 0, func(c *outreach.Contact) bool {
		st.targets[c.Country] = append(st.targets[c.Country], *c)
		return true
	}); err != nil {
		return nil, err
	}
	for _, list := range st.targets {
		slices.SortFunc(list, func(a, b outreach.Contact) int {
			return cmp.Or(cmp.Compare(slices.Index(outreach.TargetKinds, a.Kind), slices.Index(outreach.TargetKinds, b.Kind)), cmp.Compare(a.ID, b.ID))
		})
	}
	es, err := s.Store.Endorsements(ctx, store.EndorsementFilter{CampaignID: l.CampaignID})
	if err != nil {
		return nil, err
	}
	var confirmed []outreach.Endorsement
	for _, e := range es {
		switch e.State {
		case outreach.EndorsementConfirmed:
			confirmed = append(confirmed, e)
		case outreach.EndorsementWithdrawn:
			st.withdrawn = append(st.withdrawn, e)
		}
	}
	if st.unsettled, err = s.unsettledEndorsers(ctx, l.CampaignID, confirmed); err != nil {
		return nil, err
	}
	all := BuildRoster(confirmed)
	st.national = map[string][]RosterEntry{}
	for _, r := range all {
		if r.Country == "" {
			st.intl = append(st.intl, r)
		} else {
			st.national[r.Country] = append(st.national[r.Country], r)
		}
	}
	recs, err := s.Store.LetterCountries(ctx, l.ID)
	if err != nil {
		return nil, err
	}
	for i := range recs {
		st.records[recs[i].Country] = &recs[i]
	}
	return st, nil
}

// unsettledEndorsers finds the replies in the review queue from the
// contacts behind confirmed endorsements of a campaign, by the endorsement's
// country. Bounces do not count: they say nothing about an endorsement.
// Anything else may take it back (a decline the classifier did not
// recognise, "please disregard my last email"), so the letter waits for a
// person to settle it (the send gate of blocked).
func (s *Service) unsettledEndorsers(ctx context.Context, campaignID uint64, confirmed []outreach.Endorsement) (map[string][]string, error) {
	byContact := map[uint64]*outreach.Endorsement{}
	for i := range confirmed {
		byContact[confirmed[i].ContactID] = &confirmed[i]
	}
	out := map[string][]string{}
	if len(byContact) == 0 {
		return out, nil
	}
	for after := uint64(0); ; {
		page, next, err := s.Store.Replies(ctx, store.ReplyFilter{Review: true, After: after, Limit: 1000})
		if err != nil {
			return nil, err
		}
		for _, r := range page {
			e := byContact[r.ContactID]
			if e == nil || r.Class == outreach.ClassBounce || (r.CampaignID != 0 && r.CampaignID != campaignID) {
				continue
			}
			out[e.Country] = append(out[e.Country], fmt.Sprintf("reply %d from %s (%s), endorsement %d", r.ID, e.Email, r.Class, e.ID))
		}
		if next == 0 {
			return out, nil
		}
		after = next
	}
}

// waiting returns the replies of country's endorsers (and, for an
// international letter, of international ones) that wait for review.
func (st *letterState) waiting(country string) []string {
	out := slices.Clone(st.unsettled[country])
	if st.letter.International && country != "" {
		out = append(out, st.unsettled[""]...)
	}
	return out
}

// foldName folds an organisation name for comparison: Unicode
// compatibility forms unified (NFKC), case folded, and runs of spaces made
// one space.
func foldName(s string) string {
	return strings.Join(strings.Fields(cases.Fold().String(norm.NFKC.String(s))), " ")
}

// nameWords returns the words of a folded name, punctuation dropped.
func nameWords(folded string) []string {
	return strings.FieldsFunc(folded, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsNumber(r) })
}

// sameOrganisation reports whether two folded names name the same
// organisation: equal, or the words of one appear in a row in the other
// ("Sample Legal Aid Centre" and "Sample Legal Aid Centre (SLAC)").
func sameOrganisation(a, b string) bool {
	if a == b {
		return true
	}
	wa, wb := nameWords(a), nameWords(b)
	if len(wa) == 0 || len(wb) == 0 {
		return false
	}
	if len(wa) < len(wb) {
		wa, wb = wb, wa
	}
	for i := 0; i+len(wb) <= len(wa); i++ {
		if slices.Equal(wa[i:i+len(wb)], wb) {
			return true
		}
	}
	return false
}

// rosterKey is the organisation an endorsement counts for: its
// organisation's folded name, unless its print name names another
// organisation (then the print name's), or the print name when it has no
// organisation.
func rosterKey(e *outreach.Endorsement) string {
	org, printed := foldName(e.Organization), foldName(e.PrintName)
	if org == "" || (printed != "" && !sameOrganisation(org, printed)) {
		return printed
	}
	return org
}

// explicitName reports whether an endorsement asks for a print name other
// than its organisation's name.
func explicitName(e *outreach.Endorsement) bool {
	return strings.TrimSpace(e.PrintName) != "" && foldName(e.PrintName) != foldName(e.Organization)
}

// BuildRoster makes a roster from confirmed endorsements: one entry per
// organisation and country (rosterKey), printed with the name the
// organisation asked for (the earliest endorsement asking for a name other
// than its organisation's, else the earliest endorsement's print name or
// organisation), sorted by country, then folded printed name in the
// Unicode collation order (so "Émile" sorts with "E"), then key. Endorsements
// with neither organisation nor print name are left out. The caller
// selects the endorsements (confirmed ones only).
func BuildRoster(confirmed []outreach.Endorsement) []RosterEntry {
	es := slices.Clone(confirmed)
	slices.SortFunc(es, func(a, b outreach.Endorsement) int { return cmp.Compare(a.ID, b.ID) })
	groups := map[[2]string]*RosterEntry{}
	explicit := map[[2]string]bool{}
	var order [][2]string
	for i := range es {
		e := &es[i]
		k := rosterKey(e)
		if k == "" {
			continue
		}
		gk := [2]string{e.Country, k}
		r := groups[gk]
		if r == nil {
			r = &RosterEntry{Country: e.Country, Organization: strings.TrimSpace(e.Organization), key: k}
			r.Name = cmp.Or(strings.Join(strings.Fields(e.PrintName), " "), r.Organization)
			groups[gk] = r
			order = append(order, gk)
		}
		if explicitName(e) && !explicit[gk] {
			explicit[gk] = true
			r.Name = strings.Join(strings.Fields(e.PrintName), " ")
		}
		r.Endorsements = append(r.Endorsements, e.ID)
	}
	out := make([]RosterEntry, 0, len(order))
	for _, gk := range order {
		out = append(out, *groups[gk])
	}
	col := collate.New(language.Und)
	slices.SortStableFunc(out, func(a, b RosterEntry) int {
		return cmp.Or(cmp.Compare(a.Country, b.Country), col.CompareString(foldName(a.Name), foldName(b.Name)), cmp.Compare(a.key, b.key))
	})
	return out
}

func rosterNames(r []RosterEntry) []string {
	out := make([]string, len(r))
	for i, e := range r {
		out[i] = e.Name
	}
	return out
}

// withdrawnAfter names the organisations on the latest roster sent to
// country that withdrew after it went, and are not on the roster now.
func (st *letterState) withdrawnAfter(country string, last *outreach.LetterSend) []string {
	if last == nil {
		return nil
	}
	now := st.roster(country)
	var out []string
	for i := range st.withdrawn {
		e := &st.withdrawn[i]
		if !e.Updated.After(last.Time) || (e.Country != country && !(st.letter.International && e.Country == "")) {
			continue
		}
		k := rosterKey(e)
		if slices.ContainsFunc(now, func(r RosterEntry) bool { return r.Country == e.Country && r.key == k }) {
			continue
		}
		for _, n := range last.Roster {
			if f := foldName(n); (k != "" && sameOrganisation(f, k)) || f == foldName(e.PrintName) {
				if !slices.Contains(out, n) {
					out = append(out, n)
				}
				break
			}
		}
	}
	return out
}

func (st *letterState) view(country string) LetterCountryView {
	lc := st.record(country)
	roster := st.roster(country)
	v := LetterCountryView{Country: country, Targets: len(st.targets[country]), Endorsers: len(st.national[country]), Roster: roster,
		Ready: lc.Ready, ReadyReason: lc.ReadyReason, Approved: lc.Approved, ApprovedBy: lc.ApprovedBy, Sends: lc.Sends}
	if v.Roster == nil {
		v.Roster = []RosterEntry{}
	}
	switch {
	case lc.LastSend() != nil:
		v.State = LetterStateSent
	case !lc.Approved.IsZero():
		v.State = LetterStateApproved
	case !lc.Ready.IsZero():
		v.State = LetterStateReady
	default:
		v.State = LetterStateCollecting
	}
	v.WithdrawnAfterSending = st.withdrawnAfter(country, lc.LastSend())
	return v
}

func (s *Service) letterView(ctx context.Context, p *outreach.Principal, l *outreach.Letter) (*LetterView, error) {
	st, err := s.loadLetter(ctx, l)
	if err != nil {
		return nil, err
	}
	v := &LetterView{Letter: *l, Rule: letterRule(l), Countries: []LetterCountryView{}}
	for _, c := range st.countries(p) {
		v.Countries = append(v.Countries, st.view(c))
	}
	return v, nil
}

// Letter returns a letter (id 0: the latest of the default campaign) with
// the countries p may see.
func (s *Service) Letter(ctx context.Context, p *outreach.Principal, id uint64) (*LetterView, error) {
	if err := can(p, outreach.RoleViewer); err != nil {
		return nil, err
	}
	l, err := s.visibleLetter(ctx, id)
	if err != nil {
		return nil, err
	}
	return s.letterView(ctx, p, l)
}

// Letters lists every letter with the countries p may see.
func (s *Service) Letters(ctx context.Context, p *outreach.Principal) ([]LetterView, error) {
	if err := can(p, outreach.RoleViewer); err != nil {
		return nil, err
	}
	ls, err := s.Store.Letters(ctx, 0)
	if err != nil {
		return nil, err
	}
	out := []LetterView{}
	for i := range ls {
		v, err := s.letterView(ctx, p, &ls[i])
		if err != nil {
			return nil, err
		}
		out = append(out, *v)
	}
	return out, nil
}

// letterCountry validates a country code in p's scope; out of scope is
// ENOTFOUND.
// countryLetter is what a viewer's look at one country of a letter needs:
// letter id (0: the latest) checked visible to p, country checked within
// p's scope and canonicalised, and the letter's state.
func (s *Service) countryLetter(ctx context.Context, p *outreach.Principal, id uint64, country string) (*letterState, string, error) {
	if err := can(p, outreach.RoleViewer); err != nil {
		return nil, "", err
	}
	l, err := s.visibleLetter(ctx, id)
	if err != nil {
		return nil, "", err
	}
	if country, err = letterCountry(p, l, country); err != nil {
		return nil, "", err
	}
	st, err := s.loadLetter(ctx, l)
	if err != nil {
		return nil, "", err
	}
	return st, country, nil
}

func letterCountry(p *outreach.Principal, l *outreach.Letter, country string) (string, error) {
	c := strings.ToUpper(strings.TrimSpace(country))
	if !outreach.ValidCountry(c) {
		return "", outreach.FieldError("country", "%q is not an ISO 3166-1 alpha-2 country code", country)
	}
	if !p.InScope(c) {
		return "", outreach.Errorf(outreach.ENOTFOUND, "letter %d has no country %s", l.ID, c)
	}
	return c, nil
}

// letterData is what the template sees for one target, as the outbox
// will render it (internal/outbox compose): the roster's names, each with
// the target's country.
func letterData(camp *outreach.Campaign, c *outreach.Contact, roster []string, sendName string, now time.Time) *render.Data {
	d := &render.Data{Contact: *c, Campaign: *camp, Wave: render.WaveInfo{Name: sendName}, Now: now}
	for _, n := range roster {
		d.Endorsers = append(d.Endorsers, render.Endorser{Name: n, Country: c.Country})
	}
	return d
}

func letterSendName(l *outreach.Letter, country string) string {
	return fmt.Sprintf("letter %d to %s", l.ID, country)
}

// renderLetter renders and composes a country's letter for c, addressed
// like a delivery (without list headers).
func (s *Service) renderLetter(set *render.Set, st *letterState, c *outreach.Contact, roster []string) (*render.Rendered, error) {
	now := s.Now()
	env := s.previewEnvelope(st.camp, c, now)
	env.ListUnsubscribeURL, env.ListUnsubscribeMailto = "", ""
	d := letterData(st.camp, c, roster, letterSendName(st.letter, c.Country), now)
	d.Delivery = render.DeliveryInfo{ReplyTo: env.ReplyTo, MessageID: env.MessageID}
	r, err := set.Render(st.letter.Template, d)
	if err != nil {
		return nil, err
	}
	if c.Email != "" {
		if _, err := render.Compose(nil, r, env); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// PreviewLetter renders a country's letter as it would be sent now, for
// its first target (heads of state first), with its roster and targets.
// lang, when set, replaces the target's language. It changes nothing.
func (s *Service) PreviewLetter(ctx context.Context, p *outreach.Principal, id uint64, country, lang string) (*LetterPreview, error) {
	st, country, err := s.countryLetter(ctx, p, id, country)
	if err != nil {
		return nil, err
	}
	l := st.letter
	version, set, err := s.letterTemplate(ctx, l)
	if err != nil {
		return nil, err
	}
	v := st.view(country)
	pv := &LetterPreview{LetterID: l.ID, Country: country, State: v.State, Roster: v.Roster, Targets: []LetterTarget{}, Template: l.Template, Version: version}
	for _, c := range st.targets[country] {
		pv.Targets = append(pv.Targets, LetterTarget{Email: c.Email, Name: c.Name, Organization: c.Organization, Kind: c.Kind, Sendable: c.Sendable()})
	}
	to := outreach.Contact{Country: country}
	if len(st.targets[country]) > 0 {
		to = st.targets[country][0]
		pv.To = to.Email
	} else {
		pv.Problems = append(pv.Problems, fmt.Sprintf("no targets in %s: the filter %q selects none", country, l.Targets))
	}
	if len(v.Roster) == 0 {
		pv.Problems = append(pv.Problems, fmt.Sprintf("no confirmed endorsements in %s: the roster is empty", country))
	}
	for _, w := range st.waiting(country) {
		pv.Problems = append(pv.Problems, "waits for review: "+w)
	}
	if lang != "" {
		if to.Language = outreach.CanonicalLanguage(lang); !outreach.ValidLanguage(to.Language) {
			return nil, outreach.FieldError("lang", "%q is not a BCP 47 language tag", lang)
		}
	}
	r, err := s.renderLetter(set, st, &to, rosterNames(v.Roster))
	if err != nil {
		return nil, outreach.FieldError("template", "%s version %d does not make the letter for %s: %v", l.Template, version, cmp.Or(to.Email, country), err)
	}
	pv.Lang, pv.Subject, pv.Text, pv.HTML = r.Lang, r.Subject, r.Text, r.HTML
	return pv, nil
}

// letterCountries returns the countries in selects, in p's scope.
func letterCountries(p *outreach.Principal, l *outreach.Letter, st *letterState, in LetterSendInput) ([]string, error) {
	if in.Country == "" && !in.All {
		return nil, outreach.FieldError("country", "give a country (--country C) or --all")
	}
	if in.Country != "" && in.All {
		return nil, outreach.FieldError("country", "give a country (--country C) or --all, not both")
	}
	if in.MinEndorsements < 0 {
		return nil, outreach.FieldError("min_endorsements", "%d is negative", in.MinEndorsements)
	}
	if in.All {
		return st.countries(p), nil
	}
	c, err := letterCountry(p, l, in.Country)
	if err != nil {
		return nil, err
	}
	return []string{c}, nil
}

// blocked returns why country's letter cannot go now, or "".
func (st *letterState) blocked(country string, min int) string {
	n := len(st.national[country])
	switch {
	case min > 0 && n < min:
		return fmt.Sprintf("below the threshold: %d confirmed organisations, %d needed", n, min)
	case len(st.targets[country]) == 0:
		return fmt.Sprintf("no targets: the filter %q selects none in %s", st.letter.Targets, country)
	case len(st.roster(country)) == 0:
		return "no confirmed endorsements: the roster is empty"
	}
	if w := st.waiting(country); len(w) > 0 {
		return fmt.Sprintf("an endorser's reply waits for review, and it may take the endorsement back: %s; settle it first (outreach review approve|reject ID)", strings.Join(w, "; "))
	}
	return ""
}

func letterAlreadySent(lc *store.LetterCountry) string {
	last := lc.LastSend()
	return fmt.Sprintf("already sent on %s by %s (send %d): nothing sent; resend it on purpose with --resend",
		last.Time.Format(time.RFC3339), last.By, last.SendID)
}

// sendCountry sends a country's letter to its targets with the roster as
// it is now.
func (s *Service) sendCountry(ctx context.Context, st *letterState, country, by string, resend, approve bool) (*LetterSent, error) {
	if s.Outbox == nil {
		return nil, outreach.Errorf(outreach.EUNAVAILABLE, "the outbox is not running")
	}
	l := st.letter
	version, set, err := s.letterTemplate(ctx, l)
	if err != nil {
		return nil, err
	}
	entries := st.roster(country)
	roster := rosterNames(entries)
	var behind []uint64
	for _, e := range entries {
		behind = append(behind, e.Endorsements...)
	}
	req := &store.LetterSendRequest{LetterID: l.ID, Country: country, Roster: roster, Endorsements: behind, By: by, Resend: resend, Approve: approve,
		Send: &outreach.Send{Name: letterSendName(l, country), CampaignID: l.CampaignID, Template: l.Template,
			TemplateVersion: version, ListHeaders: false, CreatedBy: by}}
	var problems []string
	for i := range st.targets[country] {
		c := &st.targets[country][i]
		if _, err := s.renderLetter(set, st, c, roster); err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", c.Email, err))
		}
		req.Recipients = append(req.Recipients, store.Recipient{ContactID: c.ID, Email: c.Email})
	}
	if len(problems) > 0 {
		return nil, outreach.FieldError("template", "%s version %d does not make the letter to %s, nothing sent:\n%s", l.Template, version, country, strings.Join(problems, "\n"))
	}
	ls, err := s.Store.SendLetter(ctx, req, s.Outbox.Mint(st.camp))
	if err != nil {
		return nil, err
	}
	send, err := s.Store.Send(ctx, ls.SendID)
	if err != nil {
		return nil, err
	}
	s.Outbox.Kick()
	s.Log.Info("letter sent", "letter", l.ID, "country", country, "send", ls.SendID, "targets", send.Counts.Total, "roster", len(roster), "by", by, "resend", ls.Resend)
	return &LetterSent{Country: country, SendID: ls.SendID, Targets: send.Counts.Total, Suppressed: send.Counts.Suppressed, Roster: roster, Resend: ls.Resend}, nil
}

// singleCountry turns a one-country report that sent nothing into an error.
func singleCountry(in LetterSendInput, rep *LetterReport) (*LetterReport, error) {
	if in.All || len(rep.Skipped) == 0 {
		return rep, nil
	}
	sk := rep.Skipped[0]
	return nil, outreach.Errorf(outreach.ECONFLICT, "letter %d to %s: %s", rep.LetterID, sk.Country, sk.Reason)
}

// SendLetter sends a letter by hand to one country or to every country in
// p's scope: each gets its targets' deliveries with the roster frozen as
// it is now. Sending is approving. A country already sent the letter is
// skipped unless Resend; with MinEndorsements, so is a country with fewer
// organisations on its roster; so is one without targets or endorsers.
// For one country, a skip is an ECONFLICT error saying why.
func (s *Service) SendLetter(ctx context.Context, p *outreach.Principal, id uint64, in LetterSendInput) (*LetterReport, error) {
	if err := can(p, outreach.RoleCoordinator); err != nil {
		return nil, err
	}
	l, st, list, err := s.letterCountriesFor(ctx, p, id, in)
	if err != nil {
		return nil, err
	}
	rep := &LetterReport{LetterID: l.ID, Sent: []LetterSent{}, Skipped: []LetterSkipped{}}
	for _, c := range list {
		lc := st.record(c)
		reason := st.blocked(c, in.MinEndorsements)
		if reason == "" && lc.LastSend() != nil && !in.Resend {
			reason = letterAlreadySent(lc)
		}
		if reason != "" {
			rep.Skipped = append(rep.Skipped, LetterSkipped{Country: c, Reason: reason})
			continue
		}
		sent, err := s.sendCountry(ctx, st, c, name(p), in.Resend, true)
		if outreach.ErrorCode(err) == outreach.ECONFLICT {
			rep.Skipped = append(rep.Skipped, LetterSkipped{Country: c, Reason: outreach.ErrorMessage(err)})
			continue
		}
		if err != nil {
			return nil, err
		}
		rep.Sent = append(rep.Sent, *sent)
	}
	if len(rep.Skipped) > 0 {
		s.Log.Info("letter countries skipped", "letter", l.ID, "skipped", rep.Skipped)
	}
	return singleCountry(in, rep)
}

// letterCountriesFor loads a letter visible to p, its state, and the
// countries in says (one, or all in p's scope).
func (s *Service) letterCountriesFor(ctx context.Context, p *outreach.Principal, id uint64, in LetterSendInput) (*outreach.Letter, *letterState, []string, error) {
	l, err := s.visibleLetter(ctx, id)
	if err != nil {
		return nil, nil, nil, err
	}
	st, err := s.loadLetter(ctx, l)
	if err != nil {
		return nil, nil, nil, err
	}
	list, err := letterCountries(p, l, st, in)
	return l, st, list, err
}

// ApproveLetter records p's approval of a letter for one country or every
// country in p's scope. A country whose letter is ready (a rule prepared
// it; a letter sent by hand is ready when approved) is sent at once; any
// other goes when its rule prepares it. Countries already sent, below
// MinEndorsements, or without targets are skipped, as by SendLetter.
func (s *Service) ApproveLetter(ctx context.Context, p *outreach.Principal, id uint64, in LetterSendInput) (*LetterReport, error) {
	if err := can(p, outreach.RoleCoordinator); err != nil {
		return nil, err
	}
	if in.Resend {
		return nil, outreach.FieldError("resend", "approving never resends: use `letters send --resend`")
	}
	l, st, list, err := s.letterCountriesFor(ctx, p, id, in)
	if err != nil {
		return nil, err
	}
	rep := &LetterReport{LetterID: l.ID, Sent: []LetterSent{}, Skipped: []LetterSkipped{}}
	for _, c := range list {
		lc := st.record(c)
		reason := ""
		if lc.LastSend() != nil {
			reason = letterAlreadySent(lc)
		} else if min := in.MinEndorsements; min > 0 && len(st.national[c]) < min {
			reason = st.blocked(c, min)
		} else if len(st.targets[c]) == 0 {
			reason = st.blocked(c, 0)
		}
		if reason != "" {
			rep.Skipped = append(rep.Skipped, LetterSkipped{Country: c, Reason: reason})
			continue
		}
		if lc.Approved.IsZero() {
			if lc, err = s.Store.ApproveLetter(ctx, l.ID, c, name(p)); err != nil {
				return nil, err
			}
			st.records[c] = lc
			s.Log.Info("letter approved", "letter", l.ID, "country", c, "by", name(p))
		}
		ready := !lc.Ready.IsZero() || letterByHand(l)
		if !ready {
			if ready, err = s.markReady(ctx, st, c, s.Now()); err != nil {
				return nil, err
			}
		}
		if !ready {
			rep.Waiting = append(rep.Waiting, LetterSkipped{Country: c, Reason: fmt.Sprintf("approved by %s; it goes when ready (%s)", lc.ApprovedBy, letterRule(l))})
			continue
		}
		if reason := st.blocked(c, 0); reason != "" {
			rep.Skipped = append(rep.Skipped, LetterSkipped{Country: c, Reason: "approved, but " + reason})
			continue
		}
		sent, err := s.sendCountry(ctx, st, c, name(p), false, true)
		if outreach.ErrorCode(err) == outreach.ECONFLICT {
			rep.Skipped = append(rep.Skipped, LetterSkipped{Country: c, Reason: outreach.ErrorMessage(err)})
			continue
		}
		if err != nil {
			return nil, err
		}
		rep.Sent = append(rep.Sent, *sent)
	}
	return singleCountry(in, rep)
}

// ruleReason returns why the letter's rule makes country's letter ready
// at now, or "" when it does not.
func (st *letterState) ruleReason(country string, now time.Time) string {
	l := st.letter
	if n := len(st.national[country]); l.MinEndorsements > 0 && n >= l.MinEndorsements {
		return fmt.Sprintf("%d confirmed organisations (the rule asks for %d)", n, l.MinEndorsements)
	}
	if !l.Deadline.IsZero() && !now.Before(l.Deadline) {
		return fmt.Sprintf("the deadline %s has passed", l.Deadline.Format(time.RFC3339))
	}
	return ""
}

// markReady marks country's letter ready when its rule says so, telling
// the coordinators (audit entry, log line), and reports whether it is.
func (s *Service) markReady(ctx context.Context, st *letterState, country string, now time.Time) (bool, error) {
	reason := st.ruleReason(country, now)
	if reason == "" {
		return false, nil
	}
	marked, err := s.Store.MarkLetterReady(ctx, st.letter.ID, country, reason, systemUser)
	if err != nil || !marked {
		return err == nil, err
	}
	lc := st.record(country)
	next := fmt.Sprintf("a coordinator must approve it: outreach letters approve --letter %d --country %s", st.letter.ID, country)
	switch {
	case st.camp.UnattendedLetters:
		next = "the campaign allows unattended letters: sending it"
	case !lc.Approved.IsZero():
		next = "approved by " + lc.ApprovedBy + ": sending it"
	}
	s.Log.Warn("letter ready", "letter", st.letter.ID, "country", country, "reason", reason, "next", next)
	return true, nil
}

// CheckLetters applies the letters' readiness rules; the daemon calls it
// periodically. A country's letter that reaches its rule (MinEndorsements
// confirmed organisations, or the deadline) is marked ready, audited and
// logged for the coordinators. A ready letter that a coordinator approved,
// or of a campaign with unattended letters, is sent (by "system").
func (s *Service) CheckLetters(ctx context.Context) error {
	ls, err := s.Store.Letters(ctx, 0)
	if err != nil {
		return err
	}
	now := s.Now()
	for i := range ls {
		l := &ls[i]
		if letterByHand(l) {
			continue
		}
		st, err := s.loadLetter(ctx, l)
		if err != nil {
			return fmt.Errorf("letter %d: %w", l.ID, err)
		}
		for _, c := range st.countries(nil) {
			lc := st.record(c)
			if lc.LastSend() != nil || len(st.targets[c]) == 0 {
				continue
			}
			if lc.Ready.IsZero() {
				ready, err := s.markReady(ctx, st, c, now)
				if err != nil {
					return err
				}
				if !ready {
					continue
				}
			}
			if !st.camp.UnattendedLetters && lc.Approved.IsZero() {
				continue
			}
			if reason := st.blocked(c, 0); reason != "" {
				s.Log.Debug("ready letter not sent", "letter", l.ID, "country", c, "reason", reason)
				continue
			}
			by := systemUser
			if !lc.Approved.IsZero() {
				by = "system (approved by " + lc.ApprovedBy + ")"
			}
			if _, err := s.sendCountry(ctx, st, c, by, false, false); err != nil && outreach.ErrorCode(err) != outreach.ECONFLICT {
				s.Log.Error("send a ready letter", "letter", l.ID, "country", c, "err", err)
			}
		}
	}
	return nil
}

// ExportLetter makes a file of a country's letter: its roster as CSV
// (name, organization, country), or the letter as HTML or Markdown for
// printing, addressed to no one in particular, in lang (default: the
// campaign's language). asSent uses the roster of the latest send instead
// of the roster as it is now.
func (s *Service) ExportLetter(ctx context.Context, p *outreach.Principal, id uint64, country, format, lang string, asSent bool) (*LetterExport, error) {
	st, country, err := s.countryLetter(ctx, p, id, country)
	if err != nil {
		return nil, err
	}
	l := st.letter
	roster := st.roster(country)
	if asSent {
		last := st.record(country).LastSend()
		if last == nil {
			return nil, outreach.Errorf(outreach.ENOTFOUND, "letter %d has not been sent to %s: export the roster as it is now (without --as-sent)", l.ID, country)
		}
		roster = sentRoster(last.Roster, roster, country)
	}
	base := fmt.Sprintf("letter-%d-%s", l.ID, country)
	switch format {
	case ExportCSV:
		var b bytes.Buffer
		w := csv.NewWriter(&b)
		w.Write([]string{"name", "organization", "country"})
		for _, r := range roster {
			w.Write(csvsafe.Row(r.Name, r.Organization, r.Country))
		}
		w.Flush()
		return &LetterExport{Name: base + ".csv", ContentType: "text/csv; charset=utf-8", Body: b.Bytes()}, w.Error()
	case ExportHTML, ExportMarkdown:
	default:
		return nil, outreach.FieldError("format", "%q is not csv, html or md", format)
	}
	_, set, err := s.letterTemplate(ctx, l)
	if err != nil {
		return nil, err
	}
	to := outreach.Contact{Country: country, Language: st.camp.DefaultLanguage}
	if lang != "" {
		if to.Language = outreach.CanonicalLanguage(lang); !outreach.ValidLanguage(to.Language) {
			return nil, outreach.FieldError("lang", "%q is not a BCP 47 language tag", lang)
		}
	}
	r, err := s.renderLetter(set, st, &to, rosterNames(roster))
	if err != nil {
		return nil, outreach.FieldError("template", "%s does not make the letter for %s: %v", l.Template, country, err)
	}
	if format == ExportHTML {
		return &LetterExport{Name: base + ".html", ContentType: "text/html; charset=utf-8", Body: []byte(r.HTML)}, nil
	}
	return &LetterExport{Name: base + ".md", ContentType: "text/markdown; charset=utf-8", Body: []byte(Markdown(r.Subject, r.Text))}, nil
}

// sentRoster returns a sent roster's names as entries, with the
// organisation and country of the current entry of the same name when
// there is one.
func sentRoster(names []string, now []RosterEntry, country string) []RosterEntry {
	out := make([]RosterEntry, len(names))
	for i, n := range names {
		out[i] = RosterEntry{Name: n, Country: country}
		if j := slices.IndexFunc(now, func(r RosterEntry) bool { return foldName(r.Name) == foldName(n) }); j >= 0 {
			out[i] = now[j]
		}
	}
	return out
}

// Markdown turns a plain-text letter into Markdown: the subject as a
// heading, lines starting with "- " as list items, every other line kept
// as its own line (hard breaks), and the characters Markdown would read
// as markup escaped.
func Markdown(subject, text string) string {
	var b strings.Builder
	b.WriteString("# " + mdEscape(subject) + "\n\n")
	lines := strings.Split(strings.TrimRight(lineEnds.Replace(text), "\n"), "\n")
	isItem := func(l string) bool { return strings.HasPrefix(strings.TrimLeft(l, " "), "- ") }
	for i, l := range lines {
		switch {
		case strings.TrimSpace(l) == "":
			b.WriteString("\n")
			continue
		case isItem(l):
			b.WriteString("- " + mdEscape(strings.TrimSpace(strings.TrimLeft(l, " ")[2:])))
		default:
			b.WriteString(mdLine(strings.TrimSpace(l)))
			if i+1 < len(lines) && strings.TrimSpace(lines[i+1]) != "" && !isItem(lines[i+1]) {
				b.WriteString("\\")
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

// mdLine escapes a line's text and anything at its start that Markdown
// would read as a heading, quote, list, rule or setext underline.
func mdLine(s string) string {
	s = mdEscape(s)
	if s != "" && strings.ContainsRune("-+=>|~", rune(s[0])) {
		return "\\" + s
	}
	if i := strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' }); i > 0 && (s[i] == '.' || s[i] == ')') {
		return s[:i] + "\\" + s[i:]
	}
	return s
}

var lineEnds = strings.NewReplacer("\r\n", "\n", "\r", "\n")

var mdEscaper = strings.NewReplacer(`\`, `\\`, "`", "\\`", `*`, `\*`, `_`, `\_`, `[`, `\[`, `]`, `\]`, `<`, `\<`, `>`, `\>`, `#`, `\#`, `|`, `\|`, `&`, `\&`)

func mdEscape(s string) string { return mdEscaper.Replace(s) }
