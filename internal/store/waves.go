package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/outreach-coalition/outreach/internal/outreach"
	bolt "go.etcd.io/bbolt"
)

// CreateWave stores a new wave.
func (s *Store) CreateWave(ctx context.Context, w *outreach.Wave) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b := bucket(tx, "waves")
		w.ID, _ = b.NextSequence()
		w.Created = s.now().UTC()
		if err := putJSON(b, u64(w.ID), w); err != nil {
			return err
		}
		return appendAudit(tx, s.now(), w.CreatedBy, "wave.create", w.Name, w.Template)
	})
}

// UpdateWave stores w over the wave with its id.
func (s *Store) UpdateWave(ctx context.Context, w *outreach.Wave) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b := bucket(tx, "waves")
		if b.Get(u64(w.ID)) == nil {
			return notFound("wave", w.ID)
		}
		return putJSON(b, u64(w.ID), w)
	})
}

// ChangeWave loads a wave, lets change modify it and stores it, in one
// transaction; an error from change stores nothing. It returns the wave as
// stored.
func (s *Store) ChangeWave(ctx context.Context, id uint64, change func(w *outreach.Wave) error) (*outreach.Wave, error) {
	var w outreach.Wave
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := bucket(tx, "waves")
		if ok, err := getJSON(b, u64(id), &w); err != nil || !ok {
			if err == nil {
				err = notFound("wave", id)
			}
			return err
		}
		if err := change(&w); err != nil {
			return err
		}
		return putJSON(b, u64(id), &w)
	})
	return &w, err
}

// Wave returns a wave by id.
func (s *Store) Wave(ctx context.Context, id uint64) (*outreach.Wave, error) {
	var w outreach.Wave
	err := s.db.View(func(tx *bolt.Tx) error {
		ok, err := getJSON(bucket(tx, "waves"), u64(id), &w)
		if err == nil && !ok {
			err = notFound("wave", id)
		}
		return err
	})
	return &w, err
}

// Waves lists every wave.
func (s *Store) Waves(ctx context.Context) ([]outreach.Wave, error) {
	var out []outreach.Wave
	err := s.db.View(func(tx *bolt.Tx) error {
		b := bucket(tx, "waves")
		return b.ForEach(func(k, _ []byte) error {
			var w outreach.Wave
			_, err := getJSON(b, k, &w)
			out = append(out, w)
			return err
		})
	})
	return out, err
}

// WaveSends returns the sends (runs) of a wave, oldest first.
func (s *Store) WaveSends(ctx context.Context, waveID uint64) ([]outreach.Send, error) {
	all, err := s.Sends(ctx, "")
	var out []outreach.Send
	for _, send := range all {
		if send.WaveID == waveID && send.Kind == outreach.SendWave {
			out = append(out, send)
		}
	}
	return out, err
}

// WaveRun records how a run of a wave began: the time it was scheduled
// for and the contacts its snapshot left out, by reason.
type WaveRun struct {
	WaveID  uint64         `json:"wave_id"`
	SendID  uint64         `json:"send_id"`
	Slot    time.Time      `json:"slot"`
	Started time.Time      `json:"started"`
	LeftOut map[string]int `json:"left_out,omitempty"`
}

// StartWaveRun starts a run of a wave in one transaction: check sees the
// wave as stored and may refuse the run (its error is returned and nothing
// is stored), then the send and one delivery per recipient are created as
// CreateSend does, the wave's LastRun becomes run.Slot and its state
// running, and run is stored beside the send. A run without a delivery to
// attempt is done at once. Because the check and the run share the
// transaction, a scheduled time runs at most once however often it is
// offered.
func (s *Store) StartWaveRun(ctx context.Context, waveID uint64, check func(w *outreach.Wave) error, send *outreach.Send, rcpts []Recipient, mint Mint, run *WaveRun) (*outreach.Wave, error) {
	var w outreach.Wave
	err := s.db.Update(func(tx *bolt.Tx) error {
		waves := bucket(tx, "waves")
		if ok, err := getJSON(waves, u64(waveID), &w); err != nil || !ok {
			if err == nil {
				err = notFound("wave", waveID)
			}
			return err
		}
		if check != nil {
			if err := check(&w); err != nil {
				return err
			}
		}
		now := s.now().UTC()
		sends := bucket(tx, "sends")
		send.ID, _ = sends.NextSequence()
		send.Created = now
		send.State = outreach.SendRunning
		send.WaveID = w.ID
		if err := enqueue(tx, now, send, rcpts, mint); err != nil {
			return err
		}
		finishIfDone(send, now)
		if err := putJSON(sends, u64(send.ID), send); err != nil {
			return err
		}
		w.LastRun = run.Slot.UTC()
		w.State = outreach.WaveRunning
		if send.State == outreach.SendDone && w.Cron == "" {
			w.State = outreach.WaveDone
		}
		if err := putJSON(waves, u64(w.ID), &w); err != nil {
			return err
		}
		run.WaveID, run.SendID, run.Started = w.ID, send.ID, now
		if err := putJSON(bucket(tx, "wave_runs"), key(u64(w.ID), u64(send.ID)), run); err != nil {
			return err
		}
		return appendAudit(tx, now, w.CreatedBy, "wave.run", w.Name,
			fmt.Sprintf("send %d for %s: %d recipients, %d left out", send.ID, run.Slot.UTC().Format(time.RFC3339), send.Counts.Total, leftOut(run.LeftOut)))
	})
	return &w, err
}

func leftOut(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// WaveRuns returns how each run of a wave began, oldest first.
func (s *Store) WaveRuns(ctx context.Context, waveID uint64) ([]WaveRun, error) {
	var out []WaveRun
	err := s.db.View(func(tx *bolt.Tx) error {
		prefix := u64(waveID)
		c := bucket(tx, "wave_runs").Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			var r WaveRun
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("wave run %d/%d: %w", waveID, btou(k[8:16]), err)
			}
			out = append(out, r)
		}
		return nil
	})
	return out, err
}

// reaching reports whether a delivery in state has reached its recipient
// or still may.
func reaching(state string) bool {
	switch state {
	case outreach.DeliveryQueued, outreach.DeliverySending, outreach.DeliveryRetrying, outreach.DeliverySent, outreach.DeliveryUncertain:
		return true
	}
	return false
}

// TemplateRecipients returns the contacts that have received template in
// a campaign, or are queued to: every delivery of a send of that template
// that was sent or may still be (failed, suppressed and cancelled ones
// never reached anyone).
func (s *Store) TemplateRecipients(ctx context.Context, campaignID uint64, template string) (map[uint64]bool, error) {
	out := map[uint64]bool{}
	err := s.db.View(func(tx *bolt.Tx) error {
		deliveries, bySend := bucket(tx, "deliveries"), bucket(tx, "deliveries_by_send")
		return bucket(tx, "sends").ForEach(func(k, v []byte) error {
			var send outreach.Send
			if err := json.Unmarshal(v, &send); err != nil {
				return err
			}
			if send.CampaignID != campaignID || send.Template != template {
				return nil
			}
			c := bySend.Cursor()
			for dk, id := c.Seek(k); dk != nil && bytes.HasPrefix(dk, k); dk, id = c.Next() {
				var d outreach.Delivery
				if _, err := getJSON(deliveries, id, &d); err != nil {
					return err
				}
				if reaching(d.State) {
					out[d.ContactID] = true
				}
			}
			return nil
		})
	})
	return out, err
}

// WaveDeliveries returns the deliveries of every run of a wave, oldest
// run first.
func (s *Store) WaveDeliveries(ctx context.Context, waveID uint64) ([]outreach.Delivery, error) {
	var out []outreach.Delivery
	err := s.db.View(func(tx *bolt.Tx) error {
		deliveries, bySend := bucket(tx, "deliveries"), bucket(tx, "deliveries_by_send")
		return bucket(tx, "sends").ForEach(func(k, v []byte) error {
			var send outreach.Send
			if err := json.Unmarshal(v, &send); err != nil {
				return err
			}
			if send.WaveID != waveID || send.Kind != outreach.SendWave {
				return nil
			}
			c := bySend.Cursor()
			for dk, id := c.Seek(k); dk != nil && bytes.HasPrefix(dk, k); dk, id = c.Next() {
				var d outreach.Delivery
				if _, err := getJSON(deliveries, id, &d); err != nil {
					return err
				}
				out = append(out, d)
			}
			return nil
		})
	})
	return out, err
}

// answered reports whether a reply is one a person wrote: auto-replies and
// bounces are not answers.
func answered(r *outreach.Reply) bool {
	return r.ContactID != 0 && r.Class != outreach.ClassAutoReply && r.Class != outreach.ClassBounce
}

// RepliedContacts returns, for the contacts who have answered in a
// campaign, the time of their first answer. A reply counts when a person
// wrote it (not an auto-reply or a bounce) and it belongs to the campaign
// or was matched to the contact by its sender alone (campaign unknown).
func (s *Store) RepliedContacts(ctx context.Context, campaignID uint64) (map[uint64]time.Time, error) {
	out := map[uint64]time.Time{}
	err := s.db.View(func(tx *bolt.Tx) error {
		return bucket(tx, "replies").ForEach(func(k, v []byte) error {
			var r outreach.Reply
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("reply %d: %w", btou(k), err)
			}
			if !answered(&r) || (r.CampaignID != campaignID && r.CampaignID != 0) {
				return nil
			}
			if t, ok := out[r.ContactID]; !ok || r.Received.Before(t) {
				out[r.ContactID] = r.Received
			}
			return nil
		})
	})
	return out, err
}

// EndorsedContacts returns the contacts with a pending or confirmed
// endorsement in a campaign (rejected and withdrawn ones do not count).
func (s *Store) EndorsedContacts(ctx context.Context, campaignID uint64) (map[uint64]bool, error) {
	out := map[uint64]bool{}
	err := s.db.View(func(tx *bolt.Tx) error {
		return bucket(tx, "endorsements").ForEach(func(k, v []byte) error {
			var e outreach.Endorsement
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("endorsement %d: %w", btou(k), err)
			}
			if e.CampaignID == campaignID && (e.State == outreach.EndorsementConfirmed || e.State == outreach.EndorsementPending) {
				out[e.ContactID] = true
			}
			return nil
		})
	})
	return out, err
}

// WaveReplied returns how many contacts answered a delivery of the wave
// (auto-replies and bounces are not answers).
func (s *Store) WaveReplied(ctx context.Context, waveID uint64) (int, error) {
	seen := map[uint64]bool{}
	err := s.db.View(func(tx *bolt.Tx) error {
		deliveries := bucket(tx, "deliveries")
		return bucket(tx, "replies").ForEach(func(k, v []byte) error {
			var r outreach.Reply
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("reply %d: %w", btou(k), err)
			}
			if r.DeliveryID == 0 || !answered(&r) || seen[r.ContactID] {
				return nil
			}
			var d struct {
				WaveID uint64 `json:"wave_id"`
			}
			if ok, err := getJSON(deliveries, u64(r.DeliveryID), &d); err != nil || !ok {
				return err
			}
			if d.WaveID == waveID {
				seen[r.ContactID] = true
			}
			return nil
		})
	})
	return len(seen), err
}

// TakeOverPause gives a paused send a person's pause in place of the
// system's, so that the system lifting its own pause (the SMTP server
// answering again) no longer resumes it.
func (s *Store) TakeOverPause(ctx context.Context, sendID uint64, pause *outreach.Pause) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		sends := bucket(tx, "sends")
		var send outreach.Send
		if ok, err := getJSON(sends, u64(sendID), &send); err != nil || !ok {
			return notFound("send", sendID)
		}
		if send.State != outreach.SendPaused {
			return outreach.Errorf(outreach.ECONFLICT, "send %d is %s, not paused", sendID, send.State)
		}
		send.Pause = pause
		return putJSON(sends, u64(sendID), send)
	})
}

// Wave controls (ControlWave).
const (
	WavePause  = "pause"
	WaveResume = "resume"
	WaveCancel = "cancel"
)

// ControlWave pauses, resumes or cancels a wave together with every run
// of it, in one transaction, so that no scheduled run starts in between
// (StartWaveRun reads the same wave) and runs that overlap (retries,
// local-hour and rate spacing) are all reached, not only the latest:
//
//   - pause: the wave gets pause; every running run is paused with it,
//     and every run the system paused takes it over, so that the SMTP
//     server answering again no longer resumes it.
//   - resume: the wave's pause is lifted and every paused run resumes.
//   - cancel: the wave is cancelled and its pause lifted; every run not
//     done or cancelled is cancelled, its queued deliveries with it (sent
//     ones stay logged).
//
// check sees the wave and its runs (oldest first) as stored and may
// refuse: its error is returned and nothing changes. ControlWave returns
// the wave and its runs as stored.
func (s *Store) ControlWave(ctx context.Context, id uint64, control string, pause *outreach.Pause, check func(w *outreach.Wave, runs []outreach.Send) error) (*outreach.Wave, []outreach.Send, error) {
	if control != WavePause && control != WaveResume && control != WaveCancel {
		return nil, nil, outreach.Errorf(outreach.EINVALID, "unknown wave control %q", control)
	}
	var w outreach.Wave
	var runs []outreach.Send
	err := s.db.Update(func(tx *bolt.Tx) error {
		waves, sends := bucket(tx, "waves"), bucket(tx, "sends")
		if ok, err := getJSON(waves, u64(id), &w); err != nil || !ok {
			if err == nil {
				err = notFound("wave", id)
			}
			return err
		}
		err := sends.ForEach(func(k, v []byte) error {
			var send outreach.Send
			if err := json.Unmarshal(v, &send); err != nil {
				return fmt.Errorf("send %d: %w", btou(k), err)
			}
			if send.WaveID == id && send.Kind == outreach.SendWave {
				runs = append(runs, send)
			}
			return nil
		})
		if err != nil {
			return err
		}
		if check != nil {
			if err := check(&w, runs); err != nil {
				return err
			}
		}
		now := s.now().UTC()
		for i := range runs {
			run := &runs[i]
			switch {
			case control == WavePause && (run.State == outreach.SendRunning || run.State == outreach.SendPaused):
				run.State, run.Pause = outreach.SendPaused, pause
			case control == WaveResume && run.State == outreach.SendPaused:
				run.State, run.Pause = outreach.SendRunning, nil
				finishIfDone(run, now)
			case control == WaveCancel && (run.State == outreach.SendRunning || run.State == outreach.SendPaused):
				if err := cancelQueued(tx, run, now); err != nil {
					return err
				}
				run.State = outreach.SendCancelled
			default:
				continue
			}
			if err := putJSON(sends, u64(run.ID), run); err != nil {
				return err
			}
		}
		switch control {
		case WavePause:
			w.Pause = pause
		case WaveResume:
			w.Pause = nil
		case WaveCancel:
			w.State, w.Pause = outreach.WaveCancelled, nil
		}
		return putJSON(waves, u64(id), &w)
	})
	return &w, runs, err
}
