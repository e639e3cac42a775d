package outreach

import "time"

// Wave states.
const (
	WaveDraft     = "draft"
	WaveScheduled = "scheduled"
	WaveRunning   = "running"
	WavePaused    = "paused"
	WaveDone      = "done"
	WaveCancelled = "cancelled"
)

// Wave is a template sent to a segment, once or on a schedule.
type Wave struct {
	ID              uint64        `json:"id"`
	CampaignID      uint64        `json:"campaign_id"`
	Name            string        `json:"name"`
	Template        string        `json:"template"`
	TemplateVersion uint64        `json:"template_version"`
	Filter          string        `json:"filter,omitempty"`
	Segment         string        `json:"segment,omitempty"`
	At              time.Time     `json:"at,omitzero"`    // once
	Cron            string        `json:"cron,omitempty"` // recurring
	TimeZone        string        `json:"timezone,omitempty"`
	LocalHour       *int          `json:"local_hour,omitempty"`
	FollowupOf      uint64        `json:"followup_of,omitempty"`
	After           time.Duration `json:"after_ns,omitempty"`
	Unless          string        `json:"unless,omitempty"` // replied | endorsed
	AllowRepeat     bool          `json:"allow_repeat,omitempty"`
	Rate            float64       `json:"rate,omitempty"` // throttle override, messages/s
	State           string        `json:"state"`
	Pause           *Pause        `json:"pause,omitempty"`
	LastRun         time.Time     `json:"last_run,omitzero"`
	CreatedBy       string        `json:"created_by,omitempty"`
	Scope           []string      `json:"scope,omitempty"` // countries of a scoped creator
	Created         time.Time     `json:"created"`
}

// Segment is a saved filter.
type Segment struct {
	Name   string `json:"name"`
	Filter string `json:"filter"`
}
