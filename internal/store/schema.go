package store

// The bbolt schema. Every bucket, its keys and its values are listed here;
// no other file creates a bucket. Integers in keys are 8-byte big-endian so
// that byte order is numeric order; "|" below means concatenation, not a
// separator byte.
//
//	meta                 "schema" -> uint64 schema version (see migrations)
//	campaigns            id -> JSON outreach.Campaign
//	contacts             id -> binary contact (codec.go)
//	contacts_by_email    outreach.EmailKey(email) -> id
//	suppressions         EmailKey(address) or "hash:"+keyed hash -> JSON outreach.Suppression
//	segments             name -> JSON outreach.Segment
//	principals           name -> JSON principal: a user (role, countries, bcrypt password hash
//	                     or SHA-256 of a one-time password, disabled)
//	tokens               token id -> JSON outreach.Token with its SHA-256 hash
//	sessions             session id -> JSON outreach.Session with the SHA-256 hash of its secret
//	templates            name|0x00|version -> JSON templateVersion (files, author, time)
//	waves                id -> JSON outreach.Wave
//	wave_runs            wave id|send id -> JSON store.WaveRun: the slot a run was scheduled for
//	                     and the contacts its snapshot left out, by reason
//	sends                id -> JSON outreach.Send
//	deliveries           id -> JSON outreach.Delivery
//	deliveries_by_send   send id|contact id -> delivery id (one delivery per send and contact)
//	deliveries_by_contact contact id|delivery id -> nil
//	queue                send id|due time (unix ns)|delivery id -> nil: queued and retrying
//	                     deliveries; reply tokens and Message-IDs carry the delivery id, so
//	                     they need no index (see internal/outbox/token.go)
//	inflight             delivery id -> claim time (unix ns): deliveries claimed and not yet recorded;
//	                     the delivery record keeps its pre-claim state and readers show it as sending
//	log                  time (unix ns)|seq -> JSON outreach.Attempt (the delivery log)
//	log_index            the log's four indexes in one B-tree (one leaf and branch path written
//	                     per commit instead of four), each key a tag byte and the index's key,
//	                     -> nil (schema 2; the four were buckets log_by_* before):
//	                     'w'|wave id|time|seq                   entries of a wave
//	                     'x'|wave id|outcome|0x00|time|seq      entries of a wave by outcome
//	                     's'|outcome|0x00|time|seq              entries by outcome
//	                     'e'|EmailKey|0x00|time|seq             entries by address (Forget
//	                                                            looks for the address after the tag)
//	replies              id -> JSON outreach.Reply
//	replies_by_msgid     de-duplication key: Message-ID without <>, or "sha256:"+hex digest of
//	                     the raw message when it has none -> reply id
//	review               reply id -> nil: replies waiting for a person (Review set, not Resolved)
//	mailboxes            "user@host/mailbox" -> JSON store.MailboxCheckpoint {uid_validity, last_uid}
//	soft_bounces         EmailKey|0x00|time (unix ns)|reply id -> nil: delivery delay notices,
//	                     counted over inbox.soft_bounce_window (older ones are dropped)
//	endorsements         id -> JSON outreach.Endorsement
//	endorsements_by_contact contact id|campaign id|endorsement id -> nil (at most one pending or
//	                     confirmed per contact and campaign)
//	endorsement_replies  endorsement id|reply id -> the reply's role: nil for evidence, "confirmed"
//	                     for the reply whose reading or approval confirmed it (while it is
//	                     confirmed), "held" for a decline or withdrawal that put it on hold
//	reply_endorsement    reply id -> endorsement id
//	letters              id -> JSON outreach.Letter
//	letter_sends         letter id|country -> JSON store.LetterCountry: when a readiness rule
//	                     prepared the country's letter, who approved it, and its sends
//	                     ([]outreach.LetterSend, each with the roster frozen at send time)
//	audit                time (unix ns)|seq -> JSON audit entry (append-only)
var buckets = []string{
	"meta", "campaigns", "contacts", "contacts_by_email", "suppressions", "segments",
	"principals", "tokens", "templates", "waves", "sends", "deliveries", "deliveries_by_send",
	"deliveries_by_contact", "queue", "inflight",
	"log", "log_index", "replies", "replies_by_msgid",
	"mailboxes", "endorsements", "letters", "letter_sends", "audit",
	"review", "soft_bounces", "endorsements_by_contact", "endorsement_replies", "reply_endorsement",
	"wave_runs",
	"sessions",
}
