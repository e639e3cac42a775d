package service

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/outreach-coalition/outreach/internal/outreach"
	"github.com/outreach-coalition/outreach/internal/render"
	"github.com/outreach-coalition/outreach/internal/schedule"
	"github.com/outreach-coalition/outreach/internal/segment"
	"github.com/outreach-coalition/outreach/internal/store"
)

// Outbox is what the service needs of the sending engine.
type Outbox interface {
	Mint(c *outreach.Campaign) store.Mint
	Kick()
}

// WaveScheduler is the daemon's clock for waves (internal/schedule): the
// service tells it about every wave whose schedule starts or ends, and it
// calls RunScheduled when a run is due and WaveMissed when runs were
// missed beyond the grace period.
type WaveScheduler interface {
	ScheduleWave(w *outreach.Wave)
	UnscheduleWave(id uint64)
}

// Follow-up conditions (WaveInput.Unless).
const (
	UnlessReplied  = "replied"
	UnlessEndorsed = "endorsed"
)

// Reasons a run's snapshot leaves a matching contact out (WaveRun.LeftOut,
// DryRun.LeftOut). Contacts that are suppressed, unsubscribed or bounced
// get a delivery in state suppressed instead, counted in the send.
const (
	LeftTarget     = "target"           // targets receive letters, never waves
	LeftRepeat     = "already_received" // has this template in this campaign (no --allow-repeat)
	LeftReplied    = "replied"          // follow-up: answered already
	LeftEndorsed   = "endorsed"         // follow-up: endorsed already (pending or confirmed)
	LeftNotDue     = "not_due_yet"      // follow-up: the earlier message is younger than --after
	LeftTemplate   = "template_error"   // the template cannot make this contact's message
	LeftSuppressed = "suppressed"       // dry run only: would be skipped as suppressed
)

// WaveInput describes a wave to create.
type WaveInput struct {
	Name        string  `json:"name"`
	CampaignID  uint64  `json:"campaign_id,omitempty"`
	Template    string  `json:"template"`
	Filter      string  `json:"filter,omitempty"`
	Segment     string  `json:"segment,omitempty"` // its filter is copied into the wave
	At          string  `json:"at,omitempty"`      // "now" or RFC 3339
	Cron        string  `json:"cron,omitempty"`
	TimeZone    string  `json:"timezone,omitempty"`
	LocalHour   *int    `json:"local_hour,omitempty"`
	FollowupOf  uint64  `json:"followup_of,omitempty"`
	After       string  `json:"after,omitempty"` // 7d, 36h, 1d12h
	Unless      string  `json:"unless,omitempty"`
	AllowRepeat bool    `json:"allow_repeat,omitempty"`
	Rate        float64 `json:"rate,omitempty"` // messages per second, 0: the server's rate
}

// WaveView is a wave with its runs, for display.
type WaveView struct {
	outreach.Wave
	Runs []outreach.Send `json:"runs"`
	// Next is the next scheduled run (zero when none is due).
	Next time.Time `json:"next,omitzero"`
	// LeftOut counts the contacts the latest run's snapshot left out, by reason.
	LeftOut map[string]int `json:"left_out,omitempty"`
	// Replied counts the contacts who answered a message of the wave.
	Replied int `json:"replied"`
}

// DryRun is what a wave's next run would do, computed without changing
// anything.
type DryRun struct {
	Wave       outreach.Wave  `json:"wave"`
	RunAt      time.Time      `json:"run_at"`
	Recipients []DryRecipient `json:"recipients"`
	LeftOut    map[string]int `json:"left_out"`
	// Samples holds one rendered message per language variant used.
	Samples []Sample `json:"samples"`
}

// DryRecipient is one recipient of a dry run.
type DryRecipient struct {
	Email        string    `json:"email"`
	Name         string    `json:"name,omitempty"`
	Organization string    `json:"organization,omitempty"`
	Country      string    `json:"country,omitempty"`
	Language     string    `json:"language"` // the template variant sent
	Zone         string    `json:"zone"`     // the zone of the local hour
	SendAt       time.Time `json:"send_at"`
}

// Sample is one rendered message of a dry run.
type Sample struct {
	Language string `json:"language"`
	Email    string `json:"email"`
	Subject  string `json:"subject"`
	Text     string `json:"text"`
}

// pinTemplate returns the latest stored version of a template and its
// parsed set.
func (s *Service) pinTemplate(ctx context.Context, name string) (uint64, *render.Set, error) {
	tv, err := s.Store.Template(ctx, name, 0)
	if err != nil {
		if outreach.ErrorCode(err) == outreach.ENOTFOUND {
			return 0, nil, outreach.FieldError("template", "no template named %q (outreach templates list)", name)
		}
		return 0, nil, err
	}
	set, err := render.LoadFiles(tv.Files)
	if err != nil {
		return 0, nil, outreach.FieldError("template", "%s version %d does not load: %v", name, tv.Version, err)
	}
	return tv.Version, set, nil
}

var afterRE = regexp.MustCompile(`^(?:(\d+)w)?(?:(\d+)d)?(.*)$`)

// ParseAfter parses a follow-up delay: a Go duration ("36h", "90m") with
// optional leading weeks and days ("7d", "1w", "1d12h").
func ParseAfter(s string) (time.Duration, error) {
	m := afterRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil || (m[1] == "" && m[2] == "" && m[3] == "") {
		return 0, fmt.Errorf("%q is not a delay such as 7d, 36h or 1d12h", s)
	}
	var d time.Duration
	for i, unit := range []time.Duration{7 * 24 * time.Hour, 24 * time.Hour} {
		if m[i+1] != "" {
			n, err := strconv.Atoi(m[i+1])
			if err != nil || n > 3650 {
				return 0, fmt.Errorf("%q is not a delay such as 7d, 36h or 1d12h", s)
			}
			d += time.Duration(n) * unit
		}
	}
	if m[3] != "" {
		rest, err := time.ParseDuration(m[3])
		if err != nil {
			return 0, fmt.Errorf("%q is not a delay such as 7d, 36h or 1d12h", s)
		}
		d += rest
	}
	return d, nil
}

// waveZone returns the wave's zone: TimeZone, or UTC when none was given.
func waveZone(w *outreach.Wave) (*time.Location, error) {
	if w.TimeZone == "" {
		return time.UTC, nil
	}
	return schedule.LoadZone(w.TimeZone)
}

// WaveSchedule returns the schedule of a wave: its cron spec in its zone,
// or its one time.
func WaveSchedule(w *outreach.Wave) (schedule.Schedule, error) {
	if w.Cron != "" {
		return schedule.Parse(w.Cron, w.TimeZone)
	}
	return schedule.Once(w.At), nil
}

// scheduled reports whether a wave still has runs to come.
func scheduled(w *outreach.Wave) bool {
	return w.State != outreach.WaveCancelled && (w.Cron != "" || w.LastRun.IsZero())
}

// newWave validates in and returns the wave it describes, not stored.
func (s *Service) newWave(ctx context.Context, p *outreach.Principal, in WaveInput) (*outreach.Wave, error) {
	if err := can(p, outreach.RoleCoordinator); err != nil {
		return nil, err
	}
	if strings.TrimSpace(in.Name) == "" {
		return nil, outreach.FieldError("name", "is required")
	}
	now := s.Now().UTC()
	var earlier *outreach.Wave
	if in.FollowupOf != 0 {
		var err error
		if earlier, err = s.visibleWave(ctx, p, in.FollowupOf); err != nil {
			return nil, outreach.FieldError("followup_of", "no wave %d", in.FollowupOf)
		}
		if in.CampaignID != 0 && in.CampaignID != earlier.CampaignID {
			return nil, outreach.FieldError("campaign_id", "a follow-up belongs to the campaign of wave %d (%d)", earlier.ID, earlier.CampaignID)
		}
		in.CampaignID = earlier.CampaignID
	} else if in.After != "" || in.Unless != "" {
		return nil, outreach.FieldError("followup_of", "--after and --unless need --followup-of")
	}
	if in.CampaignID == 0 {
		in.CampaignID = s.DefaultCampaign
	}
	if _, err := s.Store.Campaign(ctx, in.CampaignID); err != nil {
		return nil, err
	}
	filter, err := s.ResolveFilter(ctx, in.Filter, in.Segment)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(filter) == "" && in.FollowupOf == 0 {
		return nil, outreach.FieldError("filter", "give --filter or --segment to say who receives the wave (every partner: --filter 'kind = partner')")
	}
	if _, err := segment.Parse(filter); err != nil {
		return nil, err
	}
	if strings.TrimSpace(in.Template) == "" {
		return nil, outreach.FieldError("template", "is required")
	}
	version, _, err := s.pinTemplate(ctx, in.Template)
	if err != nil {
		return nil, err
	}
	w := &outreach.Wave{CampaignID: in.CampaignID, Name: strings.TrimSpace(in.Name), Template: in.Template, TemplateVersion: version,
		Filter: filter, Segment: in.Segment, TimeZone: in.TimeZone, LocalHour: in.LocalHour, AllowRepeat: in.AllowRepeat,
		Rate: in.Rate, State: outreach.WaveScheduled, CreatedBy: name(p), Scope: p.Countries}
	if w.TimeZone != "" {
		if _, err := schedule.LoadZone(w.TimeZone); err != nil {
			return nil, outreach.FieldError("timezone", "%v", err)
		}
	}
	if h := in.LocalHour; h != nil && (*h < 0 || *h > 23) {
		return nil, outreach.FieldError("local_hour", "%d is not an hour from 0 to 23", *h)
	}
	if in.Rate < 0 || in.Rate > 1000 {
		return nil, outreach.FieldError("rate", "%g is not a rate from 0 to 1000 messages per second", in.Rate)
	}
	if earlier != nil {
		w.FollowupOf = earlier.ID
		if w.After, err = ParseAfter(in.After); err != nil || w.After <= 0 {
			if err == nil {
				err = fmt.Errorf("must be positive")
			}
			return nil, outreach.FieldError("after", "%v", err)
		}
		if in.Unless != UnlessReplied && in.Unless != UnlessEndorsed {
			return nil, outreach.FieldError("unless", "%q: want %s or %s", in.Unless, UnlessReplied, UnlessEndorsed)
		}
		w.Unless = in.Unless
	}
	switch {
	case in.Cron != "":
		if in.At != "" {
			return nil, outreach.FieldError("at", "give --at or --cron, not both")
		}
		if in.TimeZone == "" {
			return nil, outreach.FieldError("timezone", "a recurring wave needs an explicit zone (--tz), such as Europe/Paris or UTC")
		}
		sched, err := schedule.Parse(in.Cron, in.TimeZone)
		if err != nil {
			return nil, outreach.FieldError("cron", "%v", err)
		}
		if sched.Next(now).IsZero() {
			return nil, outreach.FieldError("cron", "%q never runs (such as the 31st of February)", in.Cron)
		}
		w.Cron = strings.TrimSpace(in.Cron)
	case in.At == "now" || (in.At == "" && earlier == nil):
		w.At = now
	case in.At == "":
		// A follow-up runs --after the earlier wave's run by default.
		base := earlier.LastRun
		if base.IsZero() && earlier.Cron == "" {
			base = earlier.At
		}
		if base.IsZero() || earlier.Cron != "" {
			return nil, outreach.FieldError("at", "wave %d is recurring: give --at or --cron for the follow-up", earlier.ID)
		}
		w.At = base.Add(w.After)
		if earlier.LocalHour != nil {
			w.At = w.At.Add(24 * time.Hour) // its messages go out over a day
		}
	default:
		t, err := time.Parse(time.RFC3339, in.At)
		if err != nil {
			return nil, outreach.FieldError("at", "%q is not \"now\" or an RFC 3339 time such as 2026-12-01T09:00:00+01:00", in.At)
		}
		w.At = t.UTC()
	}
	return w, nil
}

// CreateWave validates and stores a wave. A wave due now starts its first
// run at once; any other is handed to the scheduler. The template is
// checked against every current recipient before anything is stored.
func (s *Service) CreateWave(ctx context.Context, p *outreach.Principal, in WaveInput) (*WaveView, error) {
	w, err := s.newWave(ctx, p, in)
	if err != nil {
		return nil, err
	}
	now := s.Now()
	pl, err := s.plan(ctx, w, now, true)
	if err != nil {
		return nil, err
	}
	if err := s.Store.CreateWave(ctx, w); err != nil {
		return nil, err
	}
	if w.Cron == "" && !w.At.After(now) {
		if _, err := s.startRun(ctx, w, w.At, pl); err != nil {
			return nil, err
		}
	} else if s.Scheduler != nil {
		s.Scheduler.ScheduleWave(w)
	} else {
		s.Log.Warn("no scheduler: the wave runs after the next start", "wave", w.ID)
	}
	return s.Wave(ctx, p, w.ID)
}

// PreviewWave is the dry run of a wave not yet created: it validates in
// and reports what the first run would do. It changes nothing.
func (s *Service) PreviewWave(ctx context.Context, p *outreach.Principal, in WaveInput) (*DryRun, error) {
	w, err := s.newWave(ctx, p, in)
	if err != nil {
		return nil, err
	}
	return s.dryRun(ctx, w, s.firstRun(w), true)
}

// DryRunWave reports what a wave's next run would do (or, for a wave that
// has run, what running it again now would do). It changes nothing.
func (s *Service) DryRunWave(ctx context.Context, p *outreach.Principal, id uint64) (*DryRun, error) {
	if err := can(p, outreach.RoleViewer); err != nil {
		return nil, err
	}
	w, err := s.visibleWave(ctx, p, id)
	if err != nil {
		return nil, err
	}
	at := s.Now()
	if next := s.nextRun(w); !next.IsZero() {
		at = next
	}
	return s.dryRun(ctx, w, at, false)
}

// firstRun returns when a new wave first runs.
func (s *Service) firstRun(w *outreach.Wave) time.Time {
	now := s.Now()
	if w.Cron == "" {
		return maxTime(w.At, now)
	}
	if sched, err := WaveSchedule(w); err == nil {
		return sched.Next(now)
	}
	return now
}

// nextRun returns when a wave runs next, or zero.
func (s *Service) nextRun(w *outreach.Wave) time.Time {
	if !scheduled(w) || w.Pause != nil {
		return time.Time{}
	}
	if w.Cron == "" {
		return maxTime(w.At, s.Now())
	}
	sched, err := WaveSchedule(w)
	if err != nil {
		return time.Time{}
	}
	return sched.Next(maxTime(w.LastRun, s.Now()))
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// planned is one recipient of a run.
type planned struct {
	contact outreach.Contact
	zone    string
	due     time.Time
}

// plan is a run's snapshot.
type plan struct {
	camp    *outreach.Campaign
	set     *render.Set
	at      time.Time
	rcpts   []planned
	leftOut map[string]int
}

// plan takes the snapshot of a run of w starting at at: the contacts
// matching its filter (for a saved segment, the segment's filter when the
// wave was created: editing the segment later changes none of its runs)
// within its creator's scope, targets left out, for a follow-up only the earlier
// wave's recipients who still qualify, and nobody who has had this
// template in this campaign unless AllowRepeat. Each is checked against
// the pinned template: strict fails on the first problem, otherwise the
// contact is left out and counted. Each gets its send time: at, or the
// next time its own clock shows LocalHour, spaced by Rate.
func (s *Service) plan(ctx context.Context, w *outreach.Wave, at time.Time, strict bool) (*plan, error) {
	f, err := segment.Parse(w.Filter)
	if err != nil {
		return nil, err
	}
	camp, err := s.Store.Campaign(ctx, w.CampaignID)
	if err != nil {
		return nil, err
	}
	_, set, err := s.pinTemplateVersion(ctx, w.Template, w.TemplateVersion)
	if err != nil {
		return nil, err
	}
	check, err := s.NewRecipientCheck(ctx, camp, w.Name, w.Template, w.TemplateVersion)
	if err != nil {
		return nil, err
	}
	pl := &plan{camp: camp, set: set, at: at, leftOut: map[string]int{}}
	var repeat map[uint64]bool
	if !w.AllowRepeat {
		if repeat, err = s.Store.TemplateRecipients(ctx, w.CampaignID, w.Template); err != nil {
			return nil, err
		}
	}
	var followup map[uint64]string // contact -> "" (qualifies) or the reason it does not
	if w.FollowupOf != 0 {
		if followup, err = s.followupCandidates(ctx, w, at); err != nil {
			return nil, err
		}
	}
	scope := &outreach.Principal{Countries: w.Scope}
	var firstErr error
	err = s.Store.EachContact(ctx, func(c *outreach.Contact) bool {
		if !scope.InScope(c.Country) || !f.Match(c) {
			return false
		}
		if followup != nil {
			_, ok := followup[c.ID]
			return ok
		}
		return true
	}, 0, func(c *outreach.Contact) bool {
		switch {
		case outreach.IsTargetKind(c.Kind):
			pl.leftOut[LeftTarget]++
			return true
		case followup != nil && followup[c.ID] != "":
			pl.leftOut[followup[c.ID]]++
			return true
		case repeat[c.ID]:
			pl.leftOut[LeftRepeat]++
			return true
		}
		if err := check.Check(c); err != nil {
			if strict {
				firstErr = err
				return false
			}
			s.Log.Warn("left out of a wave run: the template cannot make the message", "wave", w.ID, "email", c.Email, "err", err)
			pl.leftOut[LeftTemplate]++
			return true
		}
		pl.rcpts = append(pl.rcpts, planned{contact: *c})
		return true
	})
	if err == nil {
		err = firstErr
	}
	if err != nil {
		return nil, err
	}
	if err := s.timeRecipients(w, pl); err != nil {
		return nil, err
	}
	return pl, nil
}

// timeRecipients gives each recipient its send time and sorts them by it.
func (s *Service) timeRecipients(w *outreach.Wave, pl *plan) error {
	fallback, err := waveZone(w)
	if err != nil {
		return err
	}
	zones := map[string]*time.Location{}
	for i := range pl.rcpts {
		r := &pl.rcpts[i]
		r.due = pl.at
		if w.LocalHour == nil {
			continue
		}
		loc, name := fallback, fallback.String()
		for _, z := range []string{r.contact.TimeZone, outreach.CountryTimeZone(r.contact.Country)} {
			if z == "" {
				continue
			}
			l, ok := zones[z]
			if !ok {
				l, _ = time.LoadLocation(z)
				zones[z] = l
			}
			if l != nil {
				loc, name = l, z
				break
			}
		}
		r.zone = name
		r.due = localHour(pl.at, *w.LocalHour, loc)
	}
	slices.SortStableFunc(pl.rcpts, func(a, b planned) int {
		return cmp.Or(a.due.Compare(b.due), cmp.Compare(a.contact.ID, b.contact.ID))
	})
	if w.Rate > 0 {
		gap := time.Duration(float64(time.Second) / w.Rate)
		for i := 1; i < len(pl.rcpts); i++ {
			if earliest := pl.rcpts[i-1].due.Add(gap); pl.rcpts[i].due.Before(earliest) {
				pl.rcpts[i].due = earliest
			}
		}
	}
	return nil
}

// localHour returns the first time at or after at when the clock in loc
// shows hour (any minute of it): at itself when that hour is under way.
func localHour(at time.Time, hour int, loc *time.Location) time.Time {
	l := at.In(loc)
	if l.Hour() == hour {
		return at
	}
	due := schedule.Local(l.Year(), l.Month(), l.Day(), hour, 0, loc)
	if due.Before(at) {
		due = schedule.Local(l.Year(), l.Month(), l.Day()+1, hour, 0, loc)
	}
	return due
}

// followupCandidates returns the contacts the earlier wave reached, each
// mapped to "" when a follow-up starting at at should reach them, or to
// the reason it should not.
func (s *Service) followupCandidates(ctx context.Context, w *outreach.Wave, at time.Time) (map[uint64]string, error) {
	ds, err := s.Store.WaveDeliveries(ctx, w.FollowupOf)
	if err != nil {
		return nil, err
	}
	var replied map[uint64]time.Time
	var endorsed map[uint64]bool
	if w.Unless == UnlessReplied {
		if replied, err = s.Store.RepliedContacts(ctx, w.CampaignID); err != nil {
			return nil, err
		}
	}
	if w.Unless == UnlessEndorsed {
		if endorsed, err = s.Store.EndorsedContacts(ctx, w.CampaignID); err != nil {
			return nil, err
		}
	}
	out := map[uint64]string{}
	for _, d := range ds {
		if d.State != outreach.DeliverySent {
			continue // never reached them
		}
		reason := ""
		_, hasReply := replied[d.ContactID]
		switch {
		case hasReply:
			reason = LeftReplied
		case endorsed[d.ContactID]:
			reason = LeftEndorsed
		case d.Updated.Add(w.After).After(at):
			reason = LeftNotDue
		}
		// A contact reached by several runs qualifies once any run does.
		if prev, seen := out[d.ContactID]; !seen || prev == LeftNotDue {
			out[d.ContactID] = reason
		}
	}
	return out, nil
}

func (s *Service) pinTemplateVersion(ctx context.Context, name string, v uint64) (*store.TemplateVersion, *render.Set, error) {
	tv, err := s.Store.Template(ctx, name, v)
	if err != nil {
		return nil, nil, err
	}
	set, err := render.LoadFiles(tv.Files)
	return tv, set, err
}

// errSkip marks a scheduled run that is not to happen; it is not a failure.
var errSkip = errors.New("skip")

// startRun starts a run of w for slot, from pl (or a fresh snapshot when
// pl is nil), unless the stored wave says the run must not happen (see
// runCheck).
func (s *Service) startRun(ctx context.Context, w *outreach.Wave, slot time.Time, pl *plan) (*outreach.Send, error) {
	if s.Outbox == nil {
		return nil, outreach.Errorf(outreach.EUNAVAILABLE, "the outbox is not running")
	}
	var err error
	if pl == nil {
		if pl, err = s.plan(ctx, w, s.Now(), false); err != nil {
			return nil, err
		}
	}
	rcpts := make([]store.Recipient, len(pl.rcpts))
	for i, r := range pl.rcpts {
		rcpts[i] = store.Recipient{ContactID: r.contact.ID, Email: r.contact.Email}
		if r.due.After(pl.at) {
			rcpts[i].NotBefore = r.due.UTC()
		}
	}
	send := &outreach.Send{Kind: outreach.SendWave, Name: w.Name, CampaignID: w.CampaignID, WaveID: w.ID, Template: w.Template,
		TemplateVersion: w.TemplateVersion, ListHeaders: true, CreatedBy: w.CreatedBy}
	run := &store.WaveRun{Slot: slot, LeftOut: pl.leftOut}
	if _, err := s.Store.StartWaveRun(ctx, w.ID, runCheck(slot), send, rcpts, s.Outbox.Mint(pl.camp), run); err != nil {
		return nil, err
	}
	s.Log.Info("wave run started", "wave", w.ID, "name", w.Name, "slot", slot, "recipients", len(rcpts), "left_out", pl.leftOut, "send", send.ID)
	s.Outbox.Kick()
	return send, nil
}

// runCheck refuses, inside the transaction that would start it, a run of
// a wave that is cancelled or paused, a second run of a once wave, and a
// run of a recurring wave whose slot is not after its last run on the
// wave's wall clock (so the repeated hour of a fall-back day, offered
// twice by any clock, runs once).
func runCheck(slot time.Time) func(w *outreach.Wave) error {
	return func(w *outreach.Wave) error {
		switch {
		case w.State == outreach.WaveCancelled:
			return fmt.Errorf("%w: wave %d is cancelled", errSkip, w.ID)
		case w.Pause != nil:
			return fmt.Errorf("%w: wave %d is paused by %s", errSkip, w.ID, w.Pause.By)
		case w.Cron == "" && !w.LastRun.IsZero():
			return fmt.Errorf("%w: wave %d has run", errSkip, w.ID)
		case w.Cron == "" || w.LastRun.IsZero():
			return nil
		}
		if strings.HasPrefix(w.Cron, "@every") {
			if !slot.After(w.LastRun) {
				return fmt.Errorf("%w: wave %d already ran for %s", errSkip, w.ID, slot.Format(time.RFC3339))
			}
			return nil
		}
		loc, err := waveZone(w)
		if err != nil {
			return err
		}
		if !schedule.Wall(slot, loc).After(schedule.Wall(w.LastRun, loc)) {
			return fmt.Errorf("%w: wave %d already ran for %s local time", errSkip, w.ID, schedule.Wall(slot, loc).Format("2006-01-02 15:04"))
		}
		return nil
	}
}

// RunScheduled starts the run of a wave scheduled for slot; the scheduler
// calls it. A run that must not happen (the wave is paused or cancelled,
// or the slot already ran) is logged and skipped.
func (s *Service) RunScheduled(ctx context.Context, waveID uint64, slot time.Time) error {
	w, err := s.Store.Wave(ctx, waveID)
	if err != nil {
		return err
	}
	_, err = s.startRun(ctx, w, slot, nil)
	if errors.Is(err, errSkip) {
		s.Log.Info("scheduled wave run skipped", "wave", waveID, "slot", slot, "reason", err)
		return nil
	}
	return err
}

// WaveMissed records that a once wave's time passed while the daemon was
// down, beyond the grace period: the wave is cancelled, with the reason in
// the audit trail. A paused once wave is left as it is: its resume starts
// it (ResumeWave). For a recurring wave the scheduler's log is enough.
func (s *Service) WaveMissed(ctx context.Context, waveID uint64, m schedule.Missed) {
	w, err := s.Store.ChangeWave(ctx, waveID, func(w *outreach.Wave) error {
		if w.Cron != "" || !w.LastRun.IsZero() || w.State == outreach.WaveCancelled || w.Pause != nil {
			return errSkip // a paused once wave starts when it is resumed
		}
		w.State = outreach.WaveCancelled
		return nil
	})
	if errors.Is(err, errSkip) {
		return
	}
	if err != nil {
		s.Log.Error("record a missed wave", "wave", waveID, "err", err)
		return
	}
	detail := fmt.Sprintf("missed: due at %s while the daemon was not running, beyond waves.grace; not sent", m.Last.UTC().Format(time.RFC3339))
	s.audit(ctx, nil, "wave.missed", w.Name, detail)
	s.Log.Warn("wave not sent: its time passed while the daemon was not running", "wave", waveID, "due", m.Last)
}

// ScheduleAll hands every wave with runs to come to the scheduler; the
// daemon calls it at start-up.
func (s *Service) ScheduleAll(ctx context.Context) error {
	if s.Scheduler == nil {
		return nil
	}
	ws, err := s.Store.Waves(ctx)
	if err != nil {
		return err
	}
	for i := range ws {
		if scheduled(&ws[i]) {
			s.Scheduler.ScheduleWave(&ws[i])
		}
	}
	return nil
}

// StartRun starts a run of a wave now, as if it were due.
func (s *Service) StartRun(ctx context.Context, waveID uint64) (*outreach.Send, error) {
	w, err := s.Store.Wave(ctx, waveID)
	if err != nil {
		return nil, err
	}
	return s.startRun(ctx, w, s.Now().UTC(), nil)
}

// dryRun computes the run of w starting at at without storing anything.
func (s *Service) dryRun(ctx context.Context, w *outreach.Wave, at time.Time, strict bool) (*DryRun, error) {
	pl, err := s.plan(ctx, w, at, strict)
	if err != nil {
		return nil, err
	}
	out := &DryRun{Wave: *w, RunAt: at.UTC(), Recipients: []DryRecipient{}, LeftOut: pl.leftOut, Samples: []Sample{}}
	variants := pl.set.Languages(w.Template)
	sampled := map[string]bool{}
	data := render.Data{Campaign: *pl.camp, Wave: render.WaveInfo{Name: w.Name}, Now: at,
		Delivery: render.DeliveryInfo{ReplyTo: pl.camp.ReplyTo, UnsubscribeURL: "https://unsubscribe.invalid/dry-run", MessageID: "dry-run@invalid"}}
	for _, r := range pl.rcpts {
		c := &r.contact
		if ok, err := s.Store.Suppressed(ctx, c.Email); err != nil {
			return nil, err
		} else if ok || !c.Sendable() {
			out.LeftOut[LeftSuppressed]++
			continue
		}
		lang := ""
		for _, l := range render.Chain(c.Language, pl.camp.DefaultLanguage) {
			if slices.Contains(variants, l) {
				lang = l
				break
			}
		}
		zone := r.zone
		if zone == "" {
			zone = "UTC"
		}
		out.Recipients = append(out.Recipients, DryRecipient{Email: c.Email, Name: c.Name, Organization: c.Organization,
			Country: c.Country, Language: lang, Zone: zone, SendAt: r.due.UTC()})
		if !sampled[lang] && len(out.Samples) < 8 {
			sampled[lang] = true
			data.Contact = *c
			m, err := pl.set.Render(w.Template, &data)
			if err != nil {
				return nil, err
			}
			out.Samples = append(out.Samples, Sample{Language: m.Lang, Email: c.Email, Subject: m.Subject, Text: m.Text})
		}
	}
	return out, nil
}

// visible reports whether p may see w: an unscoped principal sees every
// wave, a scoped one the waves created within its countries.
func visible(p *outreach.Principal, w *outreach.Wave) bool {
	if p == nil || len(p.Countries) == 0 {
		return true
	}
	if len(w.Scope) == 0 {
		return false
	}
	for _, c := range w.Scope {
		if !slices.Contains(p.Countries, c) {
			return false
		}
	}
	return true
}

// visibleWave returns a wave p may see; others are ENOTFOUND.
func (s *Service) visibleWave(ctx context.Context, p *outreach.Principal, id uint64) (*outreach.Wave, error) {
	w, err := s.Store.Wave(ctx, id)
	if err != nil {
		return nil, err
	}
	if !visible(p, w) {
		return nil, outreach.Errorf(outreach.ENOTFOUND, "wave %d not found", id)
	}
	return w, nil
}

// Wave returns a wave with its runs.
func (s *Service) Wave(ctx context.Context, p *outreach.Principal, id uint64) (*WaveView, error) {
	if err := can(p, outreach.RoleViewer); err != nil {
		return nil, err
	}
	w, err := s.visibleWave(ctx, p, id)
	if err != nil {
		return nil, err
	}
	return s.view(ctx, w, true)
}

func (s *Service) view(ctx context.Context, w *outreach.Wave, detail bool) (*WaveView, error) {
	runs, err := s.Store.WaveSends(ctx, w.ID)
	if err != nil {
		return nil, err
	}
	v := &WaveView{Wave: *w, Runs: runs, Next: s.nextRun(w)}
	if v.Runs == nil {
		v.Runs = []outreach.Send{}
	}
	v.State = waveState(w, runs)
	if detail {
		info, err := s.Store.WaveRuns(ctx, w.ID)
		if err != nil {
			return nil, err
		}
		if len(info) > 0 {
			v.LeftOut = info[len(info)-1].LeftOut
		}
		if v.Replied, err = s.Store.WaveReplied(ctx, w.ID); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// waveState derives a wave's state from its own and its runs'.
func waveState(w *outreach.Wave, runs []outreach.Send) string {
	var last string
	if len(runs) > 0 {
		last = runs[len(runs)-1].State
	}
	switch {
	case w.State == outreach.WaveCancelled:
		return outreach.WaveCancelled
	case last == outreach.SendRunning:
		return outreach.WaveRunning
	case last == outreach.SendPaused || w.Pause != nil:
		return outreach.WavePaused
	case w.Cron != "" || len(runs) == 0:
		return outreach.WaveScheduled
	case last == outreach.SendCancelled:
		return outreach.WaveCancelled
	}
	return outreach.WaveDone
}

// Waves lists the waves p may see with their runs.
func (s *Service) Waves(ctx context.Context, p *outreach.Principal) ([]WaveView, error) {
	if err := can(p, outreach.RoleViewer); err != nil {
		return nil, err
	}
	ws, err := s.Store.Waves(ctx)
	if err != nil {
		return nil, err
	}
	out := []WaveView{}
	for i := range ws {
		if !visible(p, &ws[i]) {
			continue
		}
		v, err := s.view(ctx, &ws[i], false)
		if err != nil {
			return nil, err
		}
		out = append(out, *v)
	}
	return out, nil
}

// live reports whether a run may still send: it is running or paused.
func live(run outreach.Send) bool {
	return run.State == outreach.SendRunning || run.State == outreach.SendPaused
}

// PauseWave pauses a wave: every run of it still sending stops starting
// messages (those already handed to the server finish) and later
// scheduled runs are held. The pause records who paused and why; only a
// person's resume lifts it. The wave and its runs change in one
// transaction, so a scheduled run cannot start in between.
func (s *Service) PauseWave(ctx context.Context, p *outreach.Principal, id uint64, reason string) (*WaveView, error) {
	if err := can(p, outreach.RoleCoordinator); err != nil {
		return nil, err
	}
	w, err := s.visibleWave(ctx, p, id)
	if err != nil {
		return nil, err
	}
	pause := &outreach.Pause{By: name(p), Reason: reason, Time: s.Now().UTC()}
	_, _, err = s.Store.ControlWave(ctx, id, store.WavePause, pause, func(w *outreach.Wave, runs []outreach.Send) error {
		if w.Pause != nil {
			return outreach.Errorf(outreach.ECONFLICT, "wave %d is already paused by %s", id, w.Pause.By)
		}
		if w.State == outreach.WaveCancelled || (!slices.ContainsFunc(runs, live) && !scheduled(w)) {
			return outreach.Errorf(outreach.ECONFLICT, "wave %d is %s: nothing to pause", id, waveState(w, runs))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.audit(ctx, p, "wave.pause", w.Name, reason)
	return s.Wave(ctx, p, id)
}

// ResumeWave lifts a wave's pause: every paused run of it continues
// where it stopped (nothing is sent twice) and a once wave whose time
// passed while it was paused starts now.
func (s *Service) ResumeWave(ctx context.Context, p *outreach.Principal, id uint64) (*WaveView, error) {
	if err := can(p, outreach.RoleCoordinator); err != nil {
		return nil, err
	}
	if _, err := s.visibleWave(ctx, p, id); err != nil {
		return nil, err
	}
	w, _, err := s.Store.ControlWave(ctx, id, store.WaveResume, nil, func(w *outreach.Wave, runs []outreach.Send) error {
		paused := slices.ContainsFunc(runs, func(r outreach.Send) bool { return r.State == outreach.SendPaused })
		if w.State == outreach.WaveCancelled || (w.Pause == nil && !paused) {
			return outreach.Errorf(outreach.ECONFLICT, "wave %d is not paused", id)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.audit(ctx, p, "wave.resume", w.Name, "")
	// The scheduler kept the wave while it was paused (its runs were
	// skipped, not caught up now); only a once wave whose time passed
	// during the pause starts here.
	if w.Cron == "" && w.LastRun.IsZero() && !w.At.After(s.Now()) {
		if _, err := s.startRun(ctx, w, w.At, nil); err != nil && !errors.Is(err, errSkip) {
			return nil, err
		}
	}
	if s.Outbox != nil {
		s.Outbox.Kick()
	}
	return s.Wave(ctx, p, id)
}

// CancelWave cancels a wave: the queued deliveries of every run of it
// become cancelled (sent ones stay logged) and no further run starts. The
// wave and its runs change in one transaction, so a scheduled run cannot
// start in between.
func (s *Service) CancelWave(ctx context.Context, p *outreach.Principal, id uint64) (*WaveView, error) {
	if err := can(p, outreach.RoleCoordinator); err != nil {
		return nil, err
	}
	w, err := s.visibleWave(ctx, p, id)
	if err != nil {
		return nil, err
	}
	_, _, err = s.Store.ControlWave(ctx, id, store.WaveCancel, nil, func(w *outreach.Wave, runs []outreach.Send) error {
		if w.State == outreach.WaveCancelled {
			return outreach.Errorf(outreach.ECONFLICT, "wave %d is already cancelled", id)
		}
		if !slices.ContainsFunc(runs, live) && !scheduled(w) {
			return outreach.Errorf(outreach.ECONFLICT, "wave %d is done: nothing to cancel", id)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if s.Scheduler != nil {
		s.Scheduler.UnscheduleWave(id)
	}
	s.audit(ctx, p, "wave.cancel", w.Name, "")
	return s.Wave(ctx, p, id)
}
