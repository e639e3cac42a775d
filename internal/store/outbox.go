package store

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/outreach-coalition/outreach/internal/outreach"
	bolt "go.etcd.io/bbolt"
)

// Recipient is one contact to enqueue in a send.
type Recipient struct {
	ContactID uint64
	Email     string
	NotBefore time.Time // zero: as soon as possible
	Roster    []string  // letters: the roster as sent, kept with the delivery
}

// Mint gives a new delivery its reply token and Message-ID from its id.
type Mint func(deliveryID uint64) (token, messageID string)

// CreateSend stores a send and one delivery per recipient, in one
// transaction, before any SMTP traffic. Enqueueing is idempotent: a
// recipient that already has a delivery in this send is skipped. A
// recipient who is suppressed or not active gets a delivery in state
// suppressed, never sent. It returns the send with its counts.
func (s *Store) CreateSend(ctx context.Context, send *outreach.Send, rcpts []Recipient, mint Mint) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		sends := bucket(tx, "sends")
		if send.ID == 0 {
			send.ID, _ = sends.NextSequence()
			send.Created = s.now().UTC()
			if send.State == "" {
				send.State = outreach.SendRunning
			}
		} else if ok, err := getJSON(sends, u64(send.ID), send); err != nil || !ok {
			return notFound("send", send.ID)
		}
		if err := enqueue(tx, s.now().UTC(), send, rcpts, mint); err != nil {
			return err
		}
		return putJSON(sends, u64(send.ID), send)
	})
}

func enqueue(tx *bolt.Tx, now time.Time, send *outreach.Send, rcpts []Recipient, mint Mint) error {
	deliveries, bySend, byContact := bucket(tx, "deliveries"), bucket(tx, "deliveries_by_send"), bucket(tx, "deliveries_by_contact")
	queue, contacts := bucket(tx, "queue"), bucket(tx, "contacts")
	// Deliveries, their index by send and the queue grow at the end: full
	// pages mean fewer pages to write when a commit touches a run of them.
	deliveries.FillPercent, bySend.FillPercent, queue.FillPercent = appendFill, appendFill, appendFill
	var c outreach.Contact
	for _, r := range rcpts {
		k := key(u64(send.ID), u64(r.ContactID))
		if bySend.Get(k) != nil {
			continue
		}
		id, _ := deliveries.NextSequence()
		token, msgid := mint(id)
		d := outreach.Delivery{ID: id, SendID: send.ID, WaveID: send.WaveID, CampaignID: send.CampaignID, ContactID: r.ContactID,
			Email: r.Email, Template: send.Template, State: outreach.DeliveryQueued, NotBefore: r.NotBefore,
			MessageID: msgid, Token: token, Roster: r.Roster, Created: now, Updated: now}
		if v := contacts.Get(u64(r.ContactID)); v == nil || decodeContact(v, &c, true) != nil || !c.Sendable() || isSuppressed(tx, r.Email) {
			d.State = outreach.DeliverySuppressed
			d.LastError = "suppressed, unsubscribed or bounced: not sent"
		}
		send.Counts.Total++
		send.Counts.Move("", d.State)
		if err := putJSON(deliveries, u64(id), d); err != nil {
			return err
		}
		if err := bySend.Put(k, u64(id)); err != nil {
			return err
		}
		if err := byContact.Put(key(u64(r.ContactID), u64(id)), nil); err != nil {
			return err
		}
		if d.State == outreach.DeliveryQueued {
			due := now
			if r.NotBefore.After(due) {
				due = r.NotBefore
			}
			if err := queue.Put(queueKey(send.ID, due, id), nil); err != nil {
				return err
			}
		}
	}
	return nil
}

func queueKey(sendID uint64, due time.Time, id uint64) []byte {
	return key(u64(sendID), u64(uint64(due.UnixNano())), u64(id))
}

// Claimed is a delivery claimed for sending, with its contact.
type Claimed struct {
	Delivery outreach.Delivery
	Contact  outreach.Contact
}

// Claim durably moves up to limit due deliveries of a running send to
// state sending and returns them. A claimed delivery is one with an entry
// in the inflight bucket (value: the claim time); its stored record keeps
// its state before the claim and the attempts before this one, and the
// readers (see claimedView) show it as sending with this attempt counted. A
// delivery whose address has been suppressed, or whose contact is no
// longer active, since it was queued moves to suppressed instead.
func (s *Store) Claim(ctx context.Context, sendID uint64, now time.Time, limit int) ([]Claimed, error) {
	var out []Claimed
	err := s.db.Update(func(tx *bolt.Tx) error {
		var err error
		out, _, err = claimTx(tx, sendID, now, limit)
		return err
	})
	return out, err
}

// claimTx claims within tx (see Claim) and returns the claimed deliveries
// and the send as it is after the claim.
func claimTx(tx *bolt.Tx, sendID uint64, now time.Time, limit int) ([]Claimed, *outreach.Send, error) {
	var out []Claimed
	sends := bucket(tx, "sends")
	send := &outreach.Send{}
	if ok, err := getJSON(sends, u64(sendID), send); err != nil || !ok {
		return nil, nil, notFound("send", sendID)
	}
	if send.State != outreach.SendRunning || limit <= 0 {
		return nil, send, nil
	}
	err := func() error {
		queue, deliveries, inflight := bucket(tx, "queue"), bucket(tx, "deliveries"), bucket(tx, "inflight")
		contacts := bucket(tx, "contacts")
		prefix := u64(sendID)
		end := key(prefix, u64(uint64(now.UnixNano())+1))
		cur := queue.Cursor()
		var done [][]byte
		for k, _ := cur.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix) && bytes.Compare(k, end) < 0 && len(out) < limit; k, _ = cur.Next() {
			done = append(done, k)
			id := k[16:24]
			var d outreach.Delivery
			if ok, err := getJSON(deliveries, id, &d); err != nil || !ok {
				continue
			}
			var c outreach.Contact
			v := contacts.Get(u64(d.ContactID))
			from := d.State
			if v == nil || decodeContact(v, &c, false) != nil || !c.Sendable() || isSuppressed(tx, d.Email) {
				d.State = outreach.DeliverySuppressed
				d.LastError = "suppressed, unsubscribed or bounced since it was queued: not sent"
				if err := appendLog(tx, &outreach.Attempt{DeliveryID: d.ID, SendID: d.SendID, WaveID: d.WaveID, Email: d.Email, Time: now, Outcome: outreach.DeliverySuppressed, Response: d.LastError}); err != nil {
					return err
				}
			} else {
				// The claim is the inflight entry alone: the stored
				// record is rewritten once, when the answer is recorded.
				d.State = outreach.DeliverySending
				d.Attempts++
				d.Updated = now
				if err := inflight.Put(bytes.Clone(id), u64(uint64(now.UnixNano()))); err != nil {
					return err
				}
				out = append(out, Claimed{Delivery: d, Contact: c})
				send.Counts.Move(from, d.State)
				continue
			}
			send.Counts.Move(from, d.State)
			d.Updated = now
			if err := putJSON(deliveries, id, d); err != nil {
				return err
			}
		}
		for _, k := range done {
			if err := queue.Delete(k); err != nil {
				return err
			}
		}
		if len(done) == 0 {
			return nil
		}
		finishIfDone(send, now)
		return putJSON(sends, u64(sendID), send)
	}()
	if err != nil {
		return nil, nil, err
	}
	return out, send, nil
}

// claimedView shows a claimed delivery as the readers see it: in state
// sending with the claimed attempt counted and updated at the claim. It
// reports whether the delivery is claimed. A record stored in state
// sending (written before claims stopped rewriting records) already
// counts its attempt.
func claimedView(inflight *bolt.Bucket, d *outreach.Delivery) bool {
	v := inflight.Get(u64(d.ID))
	if v == nil {
		return false
	}
	if d.State != outreach.DeliverySending {
		d.State = outreach.DeliverySending
		d.Attempts++
	}
	if len(v) == 8 {
		d.Updated = time.Unix(0, int64(btou(v)))
	}
	return true
}

// touchedSends reads each send a transaction changes once, and writes them
// all back at its end.
type touchedSends struct {
	b *bolt.Bucket
	m map[uint64]*outreach.Send
}

func newTouchedSends(tx *bolt.Tx) *touchedSends {
	return &touchedSends{b: bucket(tx, "sends"), m: map[uint64]*outreach.Send{}}
}

func (t *touchedSends) get(id uint64) (*outreach.Send, error) {
	if s := t.m[id]; s != nil {
		return s, nil
	}
	s := &outreach.Send{}
	if _, err := getJSON(t.b, u64(id), s); err != nil {
		return nil, err
	}
	t.m[id] = s
	return s, nil
}

// save marks done the running sends with nothing left pending, writes
// every send back and returns the ids of those it marked done.
func (t *touchedSends) save(now time.Time) ([]uint64, error) {
	var finished []uint64
	for id, s := range t.m {
		was := s.State
		finishIfDone(s, now)
		if was != s.State {
			finished = append(finished, id)
		}
		if err := putJSON(t.b, u64(id), s); err != nil {
			return nil, err
		}
	}
	return finished, nil
}

func finishIfDone(send *outreach.Send, now time.Time) {
	if send.Counts.Pending() == 0 && send.State == outreach.SendRunning {
		send.State = outreach.SendDone
		send.Finished = now.UTC()
	}
}

// Result is the outcome of one attempt, to record.
type Result struct {
	DeliveryID uint64
	Attempt    outreach.Attempt // Outcome: sent, retrying, failed
	RetryAt    time.Time        // for retrying
	Suppress   string           // non-empty: suppress the address with this reason
	Sent       bool             // the message was handed to SMTP (not recorded; for the engine's bookkeeping)
	Uncertain  bool             // the server may hold the message although the attempt failed
}

// Record durably records a batch of attempt results: the delivery's new
// state, the delivery log entry, the re-queueing of retries, suppressions,
// and each send's counts. It returns the ids of sends that finished.
func (s *Store) Record(ctx context.Context, results []Result) ([]uint64, error) {
	var finished []uint64
	err := s.db.Update(func(tx *bolt.Tx) error {
		var err error
		finished, err = s.recordTx(tx, results)
		return err
	})
	return finished, err
}

// RecordClaim records results as Record does and, in the same
// transaction, claims up to limit due deliveries of send sendID as Claim
// does: one commit instead of two. It returns the sends that finished,
// the claimed deliveries and the send as it is after the claim (nil when
// it does not exist).
func (s *Store) RecordClaim(ctx context.Context, results []Result, sendID uint64, now time.Time, limit int) ([]uint64, []Claimed, *outreach.Send, error) {
	var finished []uint64
	var claimed []Claimed
	var send *outreach.Send
	err := s.db.Update(func(tx *bolt.Tx) error {
		var err error
		if finished, err = s.recordTx(tx, results); err != nil {
			return err
		}
		claimed, send, err = claimTx(tx, sendID, now, limit)
		if outreach.ErrorCode(err) == outreach.ENOTFOUND {
			claimed, send, err = nil, nil, nil
		}
		return err
	})
	if err != nil {
		return nil, nil, nil, err
	}
	return finished, claimed, send, nil
}

func (s *Store) recordTx(tx *bolt.Tx, results []Result) ([]uint64, error) {
	deliveries, inflight, queue := bucket(tx, "deliveries"), bucket(tx, "inflight"), bucket(tx, "queue")
	deliveries.FillPercent = appendFill
	touched := newTouchedSends(tx)
	for i := range results {
		r := &results[i]
		id := u64(r.DeliveryID)
		var d outreach.Delivery
		if ok, err := getJSON(deliveries, id, &d); err != nil || !ok {
			return nil, fmt.Errorf("record delivery %d: %w", r.DeliveryID, notFound("delivery", r.DeliveryID))
		}
		send, err := touched.get(d.SendID)
		if err != nil {
			return nil, err
		}
		claimedView(inflight, &d)
		from := d.State
		d.State = r.Attempt.Outcome
		if r.Uncertain && !d.Uncertain {
			d.Uncertain = true
			send.Counts.Uncertain++
		}
		d.LastError = ""
		if d.State != outreach.DeliverySent {
			d.LastError = r.Attempt.Response
		}
		d.Updated = r.Attempt.Time
		if d.State == outreach.DeliveryRetrying {
			if send.State == outreach.SendCancelled {
				d.State = outreach.DeliveryCancelled
			} else {
				d.NextAttempt = r.RetryAt
				if err := queue.Put(queueKey(d.SendID, r.RetryAt, d.ID), nil); err != nil {
					return nil, err
				}
			}
		}
		send.Counts.Move(from, d.State)
		if err := putJSON(deliveries, id, d); err != nil {
			return nil, err
		}
		if err := inflight.Delete(id); err != nil {
			return nil, err
		}
		a := r.Attempt
		a.DeliveryID, a.SendID, a.WaveID, a.Email = d.ID, d.SendID, d.WaveID, d.Email
		if err := appendLog(tx, &a); err != nil {
			return nil, err
		}
		if r.Suppress != "" {
			if err := suppress(tx, r.Attempt.Time, d.Email, r.Suppress, "smtp"); err != nil {
				return nil, err
			}
		}
	}
	return touched.save(s.now())
}

// RecoverInflight handles deliveries found in state sending at start-up:
// the process stopped between claiming them and recording the server's
// answer, so each may or may not have been accepted. With resend (the
// default, at-least-once) each is queued again and marked uncertain; with
// hold each ends in state uncertain and is not sent again. Every one gets
// a delivery log entry. It returns how many there were.
func (s *Store) RecoverInflight(ctx context.Context, resend bool) (int, error) {
	n := 0
	err := s.db.Update(func(tx *bolt.Tx) error {
		inflight, deliveries, queue := bucket(tx, "inflight"), bucket(tx, "deliveries"), bucket(tx, "queue")
		now := s.now().UTC()
		var ids [][]byte
		inflight.ForEach(func(k, _ []byte) error { ids = append(ids, bytes.Clone(k)); return nil })
		touched := newTouchedSends(tx)
		for _, id := range ids {
			var d outreach.Delivery
			if ok, err := getJSON(deliveries, id, &d); err != nil || !ok {
				inflight.Delete(id)
				continue
			}
			send, err := touched.get(d.SendID)
			if err != nil {
				return err
			}
			claimedView(inflight, &d)
			from := d.State
			d.Uncertain = true
			send.Counts.Uncertain++
			msg := "the daemon stopped while this message was being sent: it may have been delivered"
			if resend && send.State != outreach.SendCancelled {
				d.State = outreach.DeliveryQueued
				msg += "; sending it again (a possible duplicate)"
				if err := queue.Put(queueKey(d.SendID, now, d.ID), nil); err != nil {
					return err
				}
			} else {
				d.State = outreach.DeliveryUncertain
				msg += "; not sent again (outbox.after_crash = hold)"
			}
			send.Counts.Move(from, d.State)
			d.LastError = msg
			d.Updated = now
			if err := putJSON(deliveries, id, d); err != nil {
				return err
			}
			if err := inflight.Delete(id); err != nil {
				return err
			}
			if err := appendLog(tx, &outreach.Attempt{DeliveryID: d.ID, SendID: d.SendID, WaveID: d.WaveID, Email: d.Email, Time: now, Outcome: outreach.DeliveryUncertain, Response: msg}); err != nil {
				return err
			}
			n++
		}
		_, err := touched.save(now)
		return err
	})
	return n, err
}

// Send returns a send by id.
func (s *Store) Send(ctx context.Context, id uint64) (*outreach.Send, error) {
	var send outreach.Send
	err := s.db.View(func(tx *bolt.Tx) error {
		ok, err := getJSON(bucket(tx, "sends"), u64(id), &send)
		if err == nil && !ok {
			err = notFound("send", id)
		}
		return err
	})
	return &send, err
}

// Sends returns sends, optionally only those in one state.
func (s *Store) Sends(ctx context.Context, state string) ([]outreach.Send, error) {
	var out []outreach.Send
	err := s.db.View(func(tx *bolt.Tx) error {
		b := bucket(tx, "sends")
		return b.ForEach(func(k, _ []byte) error {
			var send outreach.Send
			if _, err := getJSON(b, k, &send); err != nil {
				return err
			}
			if state == "" || send.State == state {
				out = append(out, send)
			}
			return nil
		})
	})
	return out, err
}

// SetSendState pauses, resumes or cancels a send. Pausing records who and
// why. Resuming a send a person paused needs a person (by != system).
// Cancelling withdraws every queued delivery (they become cancelled);
// sent ones stay logged. It returns the updated send.
func (s *Store) SetSendState(ctx context.Context, id uint64, state string, pause *outreach.Pause) (*outreach.Send, error) {
	var send outreach.Send
	err := s.db.Update(func(tx *bolt.Tx) error {
		sends := bucket(tx, "sends")
		if ok, err := getJSON(sends, u64(id), &send); err != nil || !ok {
			return notFound("send", id)
		}
		switch state {
		case outreach.SendPaused:
			if send.State != outreach.SendRunning {
				return outreach.Errorf(outreach.ECONFLICT, "send %d is %s, not running", id, send.State)
			}
			send.Pause = pause
		case outreach.SendRunning:
			if send.State != outreach.SendPaused {
				return outreach.Errorf(outreach.ECONFLICT, "send %d is %s, not paused", id, send.State)
			}
			if send.Pause.ByPerson() && (pause == nil || pause.By == outreach.PausedBySystem) {
				return outreach.Errorf(outreach.ECONFLICT, "send %d was paused by %s: only a person may resume it", id, send.Pause.By)
			}
			send.Pause = nil
		case outreach.SendCancelled:
			if send.State == outreach.SendDone || send.State == outreach.SendCancelled {
				return outreach.Errorf(outreach.ECONFLICT, "send %d is already %s", id, send.State)
			}
			if err := cancelQueued(tx, &send, s.now()); err != nil {
				return err
			}
		default:
			return outreach.Errorf(outreach.EINVALID, "unknown send state %q", state)
		}
		send.State = state
		if state == outreach.SendRunning {
			finishIfDone(&send, s.now())
		}
		return putJSON(sends, u64(id), send)
	})
	return &send, err
}

func cancelQueued(tx *bolt.Tx, send *outreach.Send, now time.Time) error {
	queue, deliveries := bucket(tx, "queue"), bucket(tx, "deliveries")
	prefix := u64(send.ID)
	var keys [][]byte
	cur := queue.Cursor()
	for k, _ := cur.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = cur.Next() {
		keys = append(keys, bytes.Clone(k))
	}
	for _, k := range keys {
		id := k[16:24]
		var d outreach.Delivery
		if ok, _ := getJSON(deliveries, id, &d); ok {
			send.Counts.Move(d.State, outreach.DeliveryCancelled)
			d.State = outreach.DeliveryCancelled
			d.Updated = now.UTC()
			if err := putJSON(deliveries, id, d); err != nil {
				return err
			}
		}
		if err := queue.Delete(k); err != nil {
			return err
		}
	}
	send.Finished = now.UTC()
	return nil
}

// NextDue returns the earliest due time among the queued deliveries of a
// send (zero when none).
func (s *Store) NextDue(ctx context.Context, sendID uint64) (time.Time, error) {
	var t time.Time
	err := s.db.View(func(tx *bolt.Tx) error {
		prefix := u64(sendID)
		k, _ := bucket(tx, "queue").Cursor().Seek(prefix)
		if k != nil && bytes.HasPrefix(k, prefix) {
			t = time.Unix(0, int64(btou(k[8:16])))
		}
		return nil
	})
	return t, err
}

// Delivery returns a delivery by id.
func (s *Store) Delivery(ctx context.Context, id uint64) (*outreach.Delivery, error) {
	var d outreach.Delivery
	err := s.db.View(func(tx *bolt.Tx) error {
		ok, err := getJSON(bucket(tx, "deliveries"), u64(id), &d)
		if err == nil && !ok {
			err = notFound("delivery", id)
		}
		claimedView(bucket(tx, "inflight"), &d)
		return err
	})
	return &d, err
}

// SendDeliveries returns the deliveries of a send in contact order.
func (s *Store) SendDeliveries(ctx context.Context, sendID uint64) ([]outreach.Delivery, error) {
	var out []outreach.Delivery
	err := s.db.View(func(tx *bolt.Tx) error {
		prefix := u64(sendID)
		cur := bucket(tx, "deliveries_by_send").Cursor()
		for k, v := cur.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = cur.Next() {
			var d outreach.Delivery
			if _, err := getJSON(bucket(tx, "deliveries"), v, &d); err != nil {
				return err
			}
			claimedView(bucket(tx, "inflight"), &d)
			out = append(out, d)
		}
		return nil
	})
	return out, err
}

// ContactDeliveries returns every delivery to a contact, oldest first.
func (s *Store) ContactDeliveries(ctx context.Context, contactID uint64) ([]outreach.Delivery, error) {
	var out []outreach.Delivery
	err := s.db.View(func(tx *bolt.Tx) error {
		prefix := u64(contactID)
		cur := bucket(tx, "deliveries_by_contact").Cursor()
		for k, _ := cur.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = cur.Next() {
			var d outreach.Delivery
			if _, err := getJSON(bucket(tx, "deliveries"), k[8:16], &d); err != nil {
				return err
			}
			claimedView(bucket(tx, "inflight"), &d)
			out = append(out, d)
		}
		return nil
	})
	return out, err
}

// QueueDepth returns how many deliveries are queued or waiting for a retry.
func (s *Store) QueueDepth() int {
	n := 0
	s.db.View(func(tx *bolt.Tx) error {
		n = bucket(tx, "queue").Stats().KeyN
		return nil
	})
	return n
}
