package service

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/outreach-coalition/outreach/internal/outreach"
	"github.com/outreach-coalition/outreach/internal/render"
	"github.com/outreach-coalition/outreach/internal/segment"
	"github.com/outreach-coalition/outreach/internal/store"
)

// Outbox is what the service needs of the sending engine.
type Outbox interface {
	Mint(c *outreach.Campaign) store.Mint
	Kick()
}

// WaveInput describes a wave to create.
type WaveInput struct {
	Name        string  `json:"name"`
	CampaignID  uint64  `json:"campaign_id,omitempty"`
	Template    string  `json:"template"`
	Filter      string  `json:"filter,omitempty"`
	Segment     string  `json:"segment,omitempty"`
	At          string  `json:"at,omitempty"` // "now" or RFC 3339
	Cron        string  `json:"cron,omitempty"`
	TimeZone    string  `json:"timezone,omitempty"`
	LocalHour   *int    `json:"local_hour,omitempty"`
	FollowupOf  uint64  `json:"followup_of,omitempty"`
	After       string  `json:"after,omitempty"`
	Unless      string  `json:"unless,omitempty"`
	AllowRepeat bool    `json:"allow_repeat,omitempty"`
	Rate        float64 `json:"rate,omitempty"`
}

// WaveView is a wave with its runs, for display.
type WaveView struct {
	outreach.Wave
	Runs []outreach.Send `json:"runs"`
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

// CreateWave validates and stores a wave and, when it is due now, starts
// its first run.
func (s *Service) CreateWave(ctx context.Context, p *outreach.Principal, in WaveInput) (*WaveView, error) {
	if err := can(p, outreach.RoleCoordinator); err != nil {
		return nil, err
	}
	if strings.TrimSpace(in.Name) == "" {
		return nil, outreach.FieldError("name", "is required")
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
	if _, err := segment.Parse(filter); err != nil {
		return nil, err
	}
	version, _, err := s.pinTemplate(ctx, in.Template)
	if err != nil {
		return nil, err
	}
	w := &outreach.Wave{CampaignID: in.CampaignID, Name: in.Name, Template: in.Template, TemplateVersion: version,
		Filter: filter, Segment: in.Segment, State: outreach.WaveScheduled, CreatedBy: name(p), Scope: p.Countries, Rate: in.Rate}
	switch in.At {
	case "now", "":
		if in.Cron != "" {
			return nil, outreach.FieldError("at", "give --at or --cron, not both")
		}
		w.At = s.Now().UTC()
	default:
		t, err := time.Parse(time.RFC3339, in.At)
		if err != nil {
			return nil, outreach.FieldError("at", "%q is not \"now\" or an RFC 3339 time such as 2026-12-01T09:00:00+01:00", in.At)
		}
		w.At = t.UTC()
	}
	if in.Cron != "" {
		return nil, outreach.FieldError("cron", "recurring waves are not available yet")
	}
	// Validate against every recipient before anything is stored.
	if _, err := s.snapshot(ctx, w); err != nil {
		return nil, err
	}
	if err := s.Store.CreateWave(ctx, w); err != nil {
		return nil, err
	}
	if !w.At.After(s.Now()) {
		if _, err := s.StartRun(ctx, w.ID); err != nil {
			return nil, err
		}
	}
	return s.Wave(ctx, p, w.ID)
}

// snapshot returns the recipients of a wave run: the contacts matching its
// filter within its creator's scope, targets excluded (they receive
// letters, never bulk mail), each checked against the pinned template.
func (s *Service) snapshot(ctx context.Context, w *outreach.Wave) ([]store.Recipient, error) {
	f, err := segment.Parse(w.Filter)
	if err != nil {
		return nil, err
	}
	_, set, err := s.pinTemplateVersion(ctx, w.Template, w.TemplateVersion)
	if err != nil {
		return nil, err
	}
	camp, err := s.Store.Campaign(ctx, w.CampaignID)
	if err != nil {
		return nil, err
	}
	scope := &outreach.Principal{Countries: w.Scope}
	var rcpts []store.Recipient
	var renderErr error
	data := &render.Data{Campaign: *camp, Wave: render.WaveInfo{Name: w.Name}, Delivery: render.DeliveryInfo{ReplyTo: camp.ReplyTo, UnsubscribeURL: "https://example.invalid/u/x", MessageID: "x@example.invalid"}, Now: s.Now()}
	checked := map[string]bool{}
	err = s.Store.EachContact(ctx, func(c *outreach.Contact) bool {
		return !outreach.IsTargetKind(c.Kind) && scope.InScope(c.Country) && f.Match(c)
	}, 0, func(c *outreach.Contact) bool {
		// Render once per language variant and per distinct attribute set
		// is enough to catch missing fields; render all when few.
		sig := c.Language + "|" + fmt.Sprint(len(c.Attrs))
		if !checked[sig] || len(rcpts) < 1000 {
			checked[sig] = true
			data.Contact = *c
			if _, err := set.Render(w.Template, data); err != nil {
				renderErr = outreach.FieldError("template", "%s does not render for %s: %v", w.Template, c.Email, err)
				return false
			}
		}
		rcpts = append(rcpts, store.Recipient{ContactID: c.ID, Email: c.Email})
		return true
	})
	if err == nil {
		err = renderErr
	}
	return rcpts, err
}

func (s *Service) pinTemplateVersion(ctx context.Context, name string, v uint64) (*store.TemplateVersion, *render.Set, error) {
	tv, err := s.Store.Template(ctx, name, v)
	if err != nil {
		return nil, nil, err
	}
	set, err := render.LoadFiles(tv.Files)
	return tv, set, err
}

// StartRun snapshots a wave's recipients and creates its send.
func (s *Service) StartRun(ctx context.Context, waveID uint64) (*outreach.Send, error) {
	w, err := s.Store.Wave(ctx, waveID)
	if err != nil {
		return nil, err
	}
	rcpts, err := s.snapshot(ctx, w)
	if err != nil {
		return nil, err
	}
	camp, err := s.Store.Campaign(ctx, w.CampaignID)
	if err != nil {
		return nil, err
	}
	if s.Outbox == nil {
		return nil, outreach.Errorf(outreach.EUNAVAILABLE, "the outbox is not running")
	}
	send := &outreach.Send{Kind: outreach.SendWave, Name: w.Name, CampaignID: w.CampaignID, WaveID: w.ID, Template: w.Template,
		TemplateVersion: w.TemplateVersion, ListHeaders: true, CreatedBy: w.CreatedBy}
	if err := s.Store.CreateSend(ctx, send, rcpts, s.Outbox.Mint(camp)); err != nil {
		return nil, err
	}
	w.State = outreach.WaveRunning
	w.LastRun = s.Now().UTC()
	if err := s.Store.UpdateWave(ctx, w); err != nil {
		return nil, err
	}
	s.Log.Info("wave run started", "wave", w.ID, "name", w.Name, "recipients", len(rcpts), "send", send.ID)
	s.Outbox.Kick()
	return send, nil
}

// Wave returns a wave with its runs.
func (s *Service) Wave(ctx context.Context, p *outreach.Principal, id uint64) (*WaveView, error) {
	if err := can(p, outreach.RoleViewer); err != nil {
		return nil, err
	}
	w, err := s.Store.Wave(ctx, id)
	if err != nil {
		return nil, err
	}
	runs, err := s.Store.WaveSends(ctx, id)
	if err != nil {
		return nil, err
	}
	v := &WaveView{Wave: *w, Runs: runs}
	if v.Runs == nil {
		v.Runs = []outreach.Send{}
	}
	v.State = waveState(w, runs)
	return v, nil
}

// waveState derives a once-wave's state from its runs.
func waveState(w *outreach.Wave, runs []outreach.Send) string {
	if len(runs) == 0 || w.State == outreach.WaveCancelled || w.Cron != "" {
		return w.State
	}
	switch runs[len(runs)-1].State {
	case outreach.SendRunning:
		return outreach.WaveRunning
	case outreach.SendPaused:
		return outreach.WavePaused
	case outreach.SendCancelled:
		return outreach.WaveCancelled
	}
	return outreach.WaveDone
}

// Waves lists waves with their runs.
func (s *Service) Waves(ctx context.Context, p *outreach.Principal) ([]WaveView, error) {
	if err := can(p, outreach.RoleViewer); err != nil {
		return nil, err
	}
	ws, err := s.Store.Waves(ctx)
	if err != nil {
		return nil, err
	}
	out := []WaveView{}
	for _, w := range ws {
		v, err := s.Wave(ctx, p, w.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, *v)
	}
	return out, nil
}
