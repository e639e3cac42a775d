package outbox

import (
	"context"
	"time"

	"github.com/outreach-coalition/outreach/internal/outreach"
)

// gateTTL is how stale a worker's view of a send's state may be: a pause
// or cancel stops new messages within this time (plus one SMTP exchange),
// even for deliveries claimed ahead.
const gateTTL = 200 * time.Millisecond

type gateEntry struct {
	running bool
	at      time.Time
}

// stillRunning reports whether a send is still running, from a view at
// most gateTTL old.
func (e *Engine) stillRunning(ctx context.Context, sendID uint64) bool {
	now := time.Now()
	e.mu.Lock()
	g, ok := e.gate[sendID]
	e.mu.Unlock()
	if ok && now.Sub(g.at) < gateTTL {
		return g.running
	}
	s, err := e.st.Send(ctx, sendID)
	running := err != nil || s.State == outreach.SendRunning // on a read error, let the claim stand
	e.mu.Lock()
	if e.gate == nil {
		e.gate = map[uint64]gateEntry{}
	}
	e.gate[sendID] = gateEntry{running: running, at: now}
	e.mu.Unlock()
	return running
}

// unclaim puts a claimed delivery of a paused or cancelled send back.
func (e *Engine) unclaim(ctx context.Context, id uint64) {
	if err := e.st.Unclaim(context.WithoutCancel(ctx), []uint64{id}); err != nil {
		e.log.Error("return a claimed delivery to the queue", "delivery", id, "err", err)
	}
}
