package service

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/outreach-coalition/outreach/internal/outreach"
	"github.com/outreach-coalition/outreach/internal/store"
)

// Dashboard is the campaign at a glance, as the web UI's first page shows
// it, within the principal's country scope.
type Dashboard struct {
	Campaign *outreach.Campaign `json:"campaign"`
	// Waves are the running, paused and scheduled waves, newest first.
	Waves     []WaveView `json:"waves"`
	Running   int        `json:"running"`
	Paused    int        `json:"paused"`
	Scheduled int        `json:"scheduled"`
	// Today is the start of the current day (UTC) the counts below use.
	Today       time.Time `json:"today"`
	SentToday   int       `json:"sent_today"`
	FailedToday int       `json:"failed_today"`
	// Replies counts every reply by class; Review the replies waiting for
	// a person.
	Replies map[string]int `json:"replies"`
	Review  int            `json:"review"`
	// Countries counts the campaign's endorsements by country, most
	// confirmed first; Days counts new ones per day, oldest first.
	Countries []CountryTally `json:"countries"`
	Days      []DayCount     `json:"days"`
	Confirmed int            `json:"confirmed"`
	Pending   int            `json:"pending"`
}

// CountryTally is a country's pending and confirmed endorsements.
type CountryTally struct {
	Country   string `json:"country"` // "" for contacts without one
	Confirmed int    `json:"confirmed"`
	Pending   int    `json:"pending"`
}

// TallyEndorsements counts pending and confirmed endorsements by country,
// most confirmed first, and new ones by day (UTC), oldest first.
func TallyEndorsements(ends []outreach.Endorsement) ([]CountryTally, []DayCount) {
	d := &Dashboard{Countries: []CountryTally{}, Days: []DayCount{}}
	d.endorsements(ends)
	return d.Countries, d.Days
}

// DayCount is one day of endorsements: those made that day (pending or
// confirmed now) and the running total.
type DayCount struct {
	Day   time.Time `json:"day"`
	New   int       `json:"new"`
	Total int       `json:"total"`
}

// Dashboard gathers the dashboard of the default campaign. Counts of
// sent and failed messages walk index keys only; a scoped principal's
// count is the sum over the waves it may see (a scoped wave only ever
// reaches contacts in scope).
func (s *Service) Dashboard(ctx context.Context, p *outreach.Principal) (*Dashboard, error) {
	if err := can(p, outreach.RoleViewer); err != nil {
		return nil, err
	}
	camp, err := s.Store.Campaign(ctx, s.DefaultCampaign)
	if err != nil {
		return nil, fmt.Errorf("dashboard: %w", err)
	}
	now := s.Now().UTC()
	d := &Dashboard{Campaign: camp, Today: time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC),
		Waves: []WaveView{}, Replies: map[string]int{}, Countries: []CountryTally{}, Days: []DayCount{}}
	waves, err := s.Waves(ctx, p)
	if err != nil {
		return nil, err
	}
	for i := len(waves) - 1; i >= 0; i-- {
		switch waves[i].State {
		case outreach.WaveRunning:
			d.Running++
		case outreach.WavePaused:
			d.Paused++
		case outreach.WaveScheduled:
			d.Scheduled++
		default:
			continue
		}
		d.Waves = append(d.Waves, waves[i])
	}
	if d.SentToday, d.FailedToday, err = s.countToday(ctx, p, waves, d.Today); err != nil {
		return nil, err
	}
	var countries []string
	if len(p.Countries) > 0 {
		countries = p.Countries
	}
	for f := (store.ReplyFilter{Countries: countries, Limit: 1000}); ; {
		list, next, err := s.Store.Replies(ctx, f)
		if err != nil {
			return nil, fmt.Errorf("dashboard replies: %w", err)
		}
		for _, r := range list {
			d.Replies[r.Class]++
			if r.Review {
				d.Review++
			}
		}
		if next == 0 {
			break
		}
		f.After = next
	}
	ends, err := s.Store.Endorsements(ctx, store.EndorsementFilter{CampaignID: camp.ID, Countries: countries})
	if err != nil {
		return nil, fmt.Errorf("dashboard endorsements: %w", err)
	}
	d.endorsements(ends)
	return d, nil
}

func (s *Service) countToday(ctx context.Context, p *outreach.Principal, waves []WaveView, today time.Time) (sent, failed int, err error) {
	ids := []uint64{0}
	if len(p.Countries) > 0 {
		ids = ids[:0]
		for _, w := range waves {
			ids = append(ids, w.ID)
		}
	}
	for _, id := range ids {
		n, err := s.Store.CountLog(ctx, id, outreach.DeliverySent, today)
		if err != nil {
			return 0, 0, fmt.Errorf("dashboard: count sent: %w", err)
		}
		m, err := s.Store.CountLog(ctx, id, outreach.DeliveryFailed, today)
		if err != nil {
			return 0, 0, fmt.Errorf("dashboard: count failed: %w", err)
		}
		sent, failed = sent+n, failed+m
	}
	return sent, failed, nil
}

func (d *Dashboard) endorsements(ends []outreach.Endorsement) {
	byCountry := map[string]*CountryTally{}
	byDay := map[time.Time]int{}
	for _, e := range ends {
		c := byCountry[e.Country]
		if c == nil {
			c = &CountryTally{Country: e.Country}
			byCountry[e.Country] = c
		}
		switch e.State {
		case outreach.EndorsementConfirmed:
			c.Confirmed++
			d.Confirmed++
		case outreach.EndorsementPending:
			c.Pending++
			d.Pending++
		default:
			continue
		}
		t := e.Time.UTC()
		byDay[time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)]++
	}
	for _, c := range byCountry {
		if c.Confirmed+c.Pending > 0 {
			d.Countries = append(d.Countries, *c)
		}
	}
	slices.SortFunc(d.Countries, func(a, b CountryTally) int {
		return cmp.Or(cmp.Compare(b.Confirmed, a.Confirmed), cmp.Compare(b.Pending, a.Pending), cmp.Compare(a.Country, b.Country))
	})
	total := 0
	for _, day := range slices.SortedFunc(maps.Keys(byDay), func(a, b time.Time) int { return a.Compare(b) }) {
		total += byDay[day]
		d.Days = append(d.Days, DayCount{Day: day, New: byDay[day], Total: total})
	}
}

// PreviewTemplateFiles checks unsaved template files as EditTemplate
// would, without storing anything, and renders the message they make for
// in's contact (or the sample contact) as PreviewTemplate does: it is the
// template editor's validation as you type and its live preview. Problems
// come back as render.Problems (EINVALID), "file:line: reason" each.
func (s *Service) PreviewTemplateFiles(ctx context.Context, p *outreach.Principal, tmpl string, files map[string]string, in PreviewInput) (*FilesPreview, error) {
	if err := can(p, outreach.RoleCoordinator); err != nil {
		return nil, err
	}
	if !ValidTemplateName(tmpl) {
		return nil, outreach.FieldError("name", "%q is not a template name: use lower-case letters, digits, - and _", tmpl)
	}
	set, err := loadChecked(tmpl, files)
	if err != nil {
		return nil, err
	}
	r, msg, err := s.renderPreview(ctx, p, set, tmpl, in)
	if err != nil {
		return nil, err
	}
	return &FilesPreview{Preview: Preview{Template: tmpl, Lang: r.Lang, Tried: r.Tried, Message: msg},
		Subject: r.Subject, Text: r.Text, HTML: r.HTML}, nil
}

// FilesPreview is a preview of unsaved files: the composed message and its
// parts as rendered, for display.
type FilesPreview struct {
	Preview
	Subject string `json:"subject"`
	Text    string `json:"text"`
	HTML    string `json:"html"`
}

// ReviewItem is a reply waiting for a person with what a reviewer needs
// to decide: the sender's contact, the delivery it answers and that
// delivery's wave, and the endorsement the reply is evidence of. Any of
// them may be nil (a reply matched to no contact answers nothing known).
type ReviewItem struct {
	Reply       outreach.Reply
	Contact     *outreach.Contact
	Delivery    *outreach.Delivery
	Wave        *outreach.Wave
	Endorsement *outreach.Endorsement
	// PrintName is the name an approval would print: the endorsement's,
	// else the contact's organisation, else its name.
	PrintName string
}

// ReviewQueue returns a page of the review queue, oldest first, within
// p's scope, and the cursor of the next page (0 at the end).
func (s *Service) ReviewQueue(ctx context.Context, p *outreach.Principal, after uint64, limit int) ([]ReviewItem, uint64, error) {
	list, next, err := s.Replies(ctx, p, ReplyQuery{Review: true, After: after, Limit: limit})
	if err != nil {
		return nil, 0, err
	}
	out := make([]ReviewItem, 0, len(list))
	for _, r := range list {
		it := ReviewItem{Reply: r}
		if r.ContactID != 0 {
			if c, err := s.Store.ContactByID(ctx, r.ContactID); err == nil {
				it.Contact = c
				it.PrintName = cmp.Or(c.Organization, c.Name)
			}
		}
		if r.DeliveryID != 0 {
			if d, err := s.Store.Delivery(ctx, r.DeliveryID); err == nil {
				it.Delivery = d
				if d.WaveID != 0 {
					it.Wave, _ = s.Store.Wave(ctx, d.WaveID)
				}
			}
		}
		if it.Endorsement, err = s.Store.ReplyEndorsement(ctx, r.ID); err != nil {
			return nil, 0, err
		}
		if it.Endorsement != nil && it.Endorsement.PrintName != "" {
			it.PrintName = it.Endorsement.PrintName
		}
		out = append(out, it)
	}
	return out, next, nil
}

// ContactHistory is a contact with every message sent to it, every reply
// and every endorsement.
type ContactHistory struct {
	Contact      *outreach.Contact
	Suppressed   bool
	Deliveries   []outreach.Delivery
	Replies      []outreach.Reply
	Endorsements []outreach.Endorsement
}

// ContactHistory returns a contact's history; out of scope is ENOTFOUND.
func (s *Service) ContactHistory(ctx context.Context, p *outreach.Principal, email string) (*ContactHistory, error) {
	c, err := s.Contact(ctx, p, email)
	if err != nil {
		return nil, err
	}
	h := &ContactHistory{Contact: c}
	if h.Suppressed, err = s.Store.Suppressed(ctx, c.Email); err != nil {
		return nil, err
	}
	if h.Deliveries, err = s.Store.ContactDeliveries(ctx, c.ID); err != nil {
		return nil, err
	}
	for f := (store.ReplyFilter{ContactID: c.ID, Limit: 1000}); ; {
		list, next, err := s.Store.Replies(ctx, f)
		if err != nil {
			return nil, err
		}
		h.Replies = append(h.Replies, list...)
		if next == 0 {
			break
		}
		f.After = next
	}
	if h.Endorsements, err = s.Store.Endorsements(ctx, store.EndorsementFilter{ContactID: c.ID}); err != nil {
		return nil, err
	}
	return h, nil
}
