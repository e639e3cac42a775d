// Package inbox is the reply pipeline: every message the campaign mailbox
// receives is parsed (mailreply.Parse), matched to the delivery it answers,
// classified (mailreply.Classify) and recorded with everything it changes,
// and with the mailbox checkpoint, in one store transaction
// (store.RecordReply). A message is recorded once: replies are keyed by
// their Message-ID (or a digest of the raw bytes when they have none), so a
// restart, a dropped connection or a UIDVALIDITY change that hands mail
// over again records nothing twice.
//
// # Matching
//
// Most certain first: the reply token in a recipient address
// (LOCAL+TOKEN@domain in To, Cc, Delivered-To or X-Original-To), then a
// delivery's Message-ID in In-Reply-To, References or, for bounces and
// auto-replies, the returned message's own header, then the sender's
// address against the contacts (lower confidence). Tokens carry an HMAC,
// so a match by token or Message-ID cannot be forged. Mail matched to
// nothing is kept for review.
//
// # Decisions
//
// A false endorsement is the worst failure outreach can have, so an
// endorsement is confirmed without a person only when all of these hold:
// the classifier is sure; the mail is not automated; it is matched by token
// or Message-ID to a delivery of an endorsement request ("endorsement-request"
// or "reminder") sent to a partner; it comes from the address the request
// went to or from its domain (only the very address at a public mail
// service such as gmail.com); it asks for no other name to print than the
// organisation's; the campaign does not require review; and the contact has
// no pending endorsement in the campaign and none rejected or withdrawn.
// Anything else that reads as an endorsement is recorded pending (or
// attached to the pending one) and goes to the review queue: only a person
// confirms a pending endorsement.
//
// Mail matched by token or Message-ID only may suppress an address by
// itself, since anyone can write a From line. An unsubscribe request so
// matched suppresses the delivery's address at once; any other goes to
// review. A DSN so matched whose Action is "failed" for the delivery's
// address suppresses it as bounced (the contact becomes bounced); a delay
// notice is only counted, and Config.SoftBounceLimit of them within
// Config.SoftBounceWindow suppress the address. A DSN about another
// address, or matched otherwise, goes to review.
//
// An unsubscribe request from a contact with an endorsement goes to review
// too ("remove us" may mean from the letter), which keeps the country's
// letter waiting until a person settles it.
//
// A decline or a withdrawal from a contact with a pending or confirmed
// endorsement puts it on hold at once (store.Incoming.Withdraws): a
// confirmed one is pending again, so no letter carries it, and the reply
// goes to review, where approving it withdraws the endorsement. This fails
// safe whoever sent the decline: at worst an endorsement waits for a
// person.
//
// Auto-replies are recorded and change nothing. A confirmed endorsement in
// a campaign with ThankYou set gets a thank-you send, created in the same
// transaction.
package inbox

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/outreach-coalition/outreach/internal/imapwatch"
	"github.com/outreach-coalition/outreach/internal/mailreply"
	"github.com/outreach-coalition/outreach/internal/outreach"
	"github.com/outreach-coalition/outreach/internal/store"
)

// Templates whose deliveries are endorsement requests: a sure endorsement
// answering one of them may be confirmed without a person.
var requestTemplates = map[string]bool{"endorsement-request": true, "reminder": true}

// Size limits on what is stored of a reply.
const (
	maxText = 16 << 10 // Reply.Text
)

// Tokens maps an address or Message-ID carrying a reply token to its
// delivery (outbox.Tokens).
type Tokens interface {
	FromAddress(addr string) (uint64, bool)
}

// Outbox mints reply tokens for new deliveries and wakes the sender
// (outbox.Engine).
type Outbox interface {
	Mint(c *outreach.Campaign) store.Mint
	Kick()
}

// Config tunes the inbox.
type Config struct {
	// DefaultCampaign is the campaign of replies matched to a contact who
	// has no delivery.
	DefaultCampaign uint64
	// SoftBounceLimit delay notices within SoftBounceWindow suppress an
	// address; 0 never suppresses on delays.
	SoftBounceLimit  int
	SoftBounceWindow time.Duration
}

// Inbox records replies. It is safe for concurrent use, though the watcher
// hands it one message at a time.
type Inbox struct {
	// OnRecord, if set, is called after each new reply is committed (for
	// metrics).
	OnRecord func(*store.Recorded)

	cfg    Config
	st     *store.Store
	tokens Tokens
	outbox Outbox
	log    *slog.Logger
	now    func() time.Time
}

// New returns an Inbox. outbox may be nil: no thank-yous are sent then. A
// nil log discards logs; a nil now is time.Now.
func New(cfg Config, st *store.Store, tokens Tokens, outbox Outbox, log *slog.Logger, now func() time.Time) *Inbox {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	if cfg.DefaultCampaign == 0 {
		cfg.DefaultCampaign = 1
	}
	return &Inbox{cfg: cfg, st: st, tokens: tokens, outbox: outbox, log: log.With("component", "inbox"), now: now}
}

// Source says where a message was read: the mailbox checkpoint to advance
// with it (Mailbox "" advances none), and whether the reader cut it short.
type Source struct {
	Mailbox          string
	UIDValidity, UID uint32
	Truncated        bool
}

// MailboxKey names a mailbox in checkpoints: the account and the mailbox,
// so that pointing imap.url at another server or user starts afresh
// (replies already recorded are still recognised by their Message-ID).
func MailboxKey(e *imapwatch.Endpoint, mailbox string) string {
	if strings.EqualFold(mailbox, "INBOX") {
		mailbox = "INBOX"
	}
	if e == nil {
		return "/" + mailbox
	}
	return e.Username + "@" + strings.ToLower(e.Host) + "/" + mailbox
}

// Watcher returns an imapwatch.Watcher that hands every message of
// cfg.Endpoint's mailbox to the inbox, with the checkpoint kept in the
// store.
func (in *Inbox) Watcher(cfg imapwatch.Config) *imapwatch.Watcher {
	w := &watched{in: in, endpoint: cfg.Endpoint}
	if cfg.Endpoint != nil {
		w.mailbox = cfg.Endpoint.Mailbox
	}
	return imapwatch.New(cfg, w, w.handle, in.log)
}

type watched struct {
	in       *Inbox
	endpoint *imapwatch.Endpoint
	mailbox  string
}

func (w *watched) Last(ctx context.Context, mailbox string, uidValidity uint32) (uint32, error) {
	return w.in.st.MailboxLast(ctx, MailboxKey(w.endpoint, mailbox), uidValidity)
}

func (w *watched) handle(ctx context.Context, m imapwatch.Message) error {
	src := Source{Mailbox: MailboxKey(w.endpoint, w.mailbox), UIDValidity: m.UIDValidity, UID: m.UID, Truncated: m.Truncated}
	_, err := w.in.Process(ctx, m.Raw, src)
	return err
}

// Process parses, matches, classifies and records one raw message. It
// returns an error only when the store fails: mail that cannot be read is
// recorded as such, for review.
func (in *Inbox) Process(ctx context.Context, raw []byte, src Source) (*store.Recorded, error) {
	m, err := mailreply.Parse(bytes.NewReader(raw))
	var res mailreply.Result
	if err != nil {
		m = &mailreply.Message{}
		res = mailreply.Result{Class: outreach.ClassOther, Review: true, Reason: "unreadable message: " + err.Error()}
	} else {
		res = mailreply.Classify(m)
	}
	m.Truncated = m.Truncated || src.Truncated
	mt, err := in.match(ctx, m)
	if err != nil {
		return nil, err
	}
	inc := &store.Incoming{
		Key:     dedupKey(m, raw),
		Mailbox: src.Mailbox, UIDValidity: src.UIDValidity, UID: src.UID,
		SoftBounceLimit: in.cfg.SoftBounceLimit, SoftBounceWindow: in.cfg.SoftBounceWindow,
		Reply: outreach.Reply{
			MessageID: m.MessageID, From: m.From, Subject: m.Subject, Date: m.Date, Received: in.now().UTC(),
			Text: outreach.Clip(m.NewText, maxText), Match: mt.how, Class: res.Class, Review: res.Review, Reason: res.Reason,
		},
	}
	if mt.delivery != nil {
		inc.Reply.DeliveryID = mt.delivery.ID
	}
	if mt.contact != nil {
		inc.Reply.ContactID = mt.contact.ID
	}
	if mt.campaign != nil {
		inc.Reply.CampaignID = mt.campaign.ID
	}
	if err := in.decide(ctx, m, res, mt, inc); err != nil {
		return nil, err
	}
	rec, err := in.st.RecordReply(ctx, inc)
	if err != nil {
		return nil, err
	}
	in.logRecord(rec, src)
	if rec.ThankYouSend != 0 && in.outbox != nil {
		in.outbox.Kick()
	}
	return rec, nil
}

func (in *Inbox) logRecord(rec *store.Recorded, src Source) {
	r := &rec.Reply
	if in.OnRecord != nil && !rec.Duplicate {
		in.OnRecord(rec)
	}
	if rec.Duplicate {
		in.log.Info("reply already recorded", "reply", r.ID, "message_id", r.MessageID, "uid", src.UID, "uidvalidity", src.UIDValidity)
		return
	}
	attrs := []any{"reply", r.ID, "class", r.Class, "match", r.Match, "review", r.Review, "contact", r.ContactID, "uid", src.UID}
	if e := rec.Endorsement; e != nil {
		attrs = append(attrs, "endorsement", e.ID, "state", e.State, "change", rec.Change)
	}
	if len(rec.Suppressed) > 0 {
		attrs = append(attrs, "suppressed", rec.Suppressed)
	}
	if rec.ThankYouSend != 0 {
		attrs = append(attrs, "thank_you_send", rec.ThankYouSend)
	}
	in.log.Info("reply recorded", attrs...)
}

// dedupKey is the Message-ID, or a digest of the raw message.
func dedupKey(m *mailreply.Message, raw []byte) string {
	if id := strings.TrimSpace(m.MessageID); id != "" {
		return id
	}
	sum := sha256.Sum256(raw)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// matched is what a message was matched to.
type matched struct {
	how      string // outreach.MatchToken, MatchMessageID, MatchSender, MatchNone
	delivery *outreach.Delivery
	send     *outreach.Send
	contact  *outreach.Contact
	campaign *outreach.Campaign
}

func (in *Inbox) match(ctx context.Context, m *mailreply.Message) (*matched, error) {
	for _, list := range [][]string{m.To, m.Cc, m.DeliveredTo} {
		for _, addr := range list {
			if id, ok := in.tokens.FromAddress(addr); ok {
				if mt, err := in.byDelivery(ctx, id, outreach.MatchToken); mt != nil || err != nil {
					return mt, err
				}
			}
		}
	}
	ids := append([]string{}, m.InReplyTo...)
	for i := len(m.References) - 1; i >= 0; i-- {
		ids = append(ids, m.References[i])
	}
	if m.OriginalMessageID != "" {
		ids = append(ids, m.OriginalMessageID)
	}
	for _, msgid := range ids {
		if id, ok := in.tokens.FromAddress(msgid); ok {
			if mt, err := in.byDelivery(ctx, id, outreach.MatchMessageID); mt != nil || err != nil {
				return mt, err
			}
		}
	}
	if m.From != "" {
		c, err := in.st.Contact(ctx, m.From)
		switch {
		case outreach.ErrorCode(err) == outreach.ENOTFOUND:
		case err != nil:
			return nil, fmt.Errorf("match sender: %w", err)
		default:
			return in.bySender(ctx, c)
		}
	}
	return &matched{how: outreach.MatchNone}, nil
}

func (in *Inbox) byDelivery(ctx context.Context, id uint64, how string) (*matched, error) {
	d, err := in.st.Delivery(ctx, id)
	if outreach.ErrorCode(err) == outreach.ENOTFOUND {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("match delivery %d: %w", id, err)
	}
	mt := &matched{how: how, delivery: d}
	send, err := in.st.Send(ctx, d.SendID)
	switch {
	case err == nil:
		mt.send = send
	case outreach.ErrorCode(err) != outreach.ENOTFOUND:
		return nil, fmt.Errorf("match delivery %d: %w", id, err)
	}
	if c, err := in.st.ContactByID(ctx, d.ContactID); err == nil {
		mt.contact = c
	} else if outreach.ErrorCode(err) != outreach.ENOTFOUND {
		return nil, fmt.Errorf("match delivery %d: %w", id, err)
	}
	return mt, in.campaign(ctx, mt, d.CampaignID)
}

// bySender matches a contact found by the sender's address, with its
// latest delivery when it has one.
func (in *Inbox) bySender(ctx context.Context, c *outreach.Contact) (*matched, error) {
	mt := &matched{how: outreach.MatchSender, contact: c}
	ds, err := in.st.ContactDeliveries(ctx, c.ID)
	if err != nil {
		return nil, fmt.Errorf("match sender: %w", err)
	}
	camp := in.cfg.DefaultCampaign
	if len(ds) > 0 {
		mt.delivery = &ds[len(ds)-1]
		camp = mt.delivery.CampaignID
		if send, err := in.st.Send(ctx, mt.delivery.SendID); err == nil {
			mt.send = send
		}
	}
	return mt, in.campaign(ctx, mt, camp)
}

func (in *Inbox) campaign(ctx context.Context, mt *matched, id uint64) error {
	c, err := in.st.Campaign(ctx, id)
	switch {
	case err == nil:
		mt.campaign = c
	case outreach.ErrorCode(err) != outreach.ENOTFOUND:
		return fmt.Errorf("campaign %d: %w", id, err)
	}
	return nil
}

// decide fills in what the reply changes: its endorsement, suppressions,
// delay notices, the thank-you, and whether a person must look.
func (in *Inbox) decide(ctx context.Context, m *mailreply.Message, res mailreply.Result, mt *matched, inc *store.Incoming) error {
	r := &inc.Reply
	note := func(review bool, format string, args ...any) {
		r.Review = r.Review || review
		r.Reason += "; " + fmt.Sprintf(format, args...)
	}
	if mt.how == outreach.MatchNone && !(res.Sure && (res.Class == outreach.ClassAutoReply || res.Class == outreach.ClassBounce)) {
		note(true, "matched to no delivery or contact")
	}
	switch res.Class {
	case outreach.ClassEndorse:
		if mt.contact == nil || mt.campaign == nil {
			note(true, "no contact to record an endorsement for")
			return nil
		}
		e := in.endorsement(m, mt)
		if why := in.holdBack(m, res, mt, e); why != "" {
			note(true, "pending: %s", why)
		} else {
			e.State = outreach.EndorsementConfirmed
			if mt.campaign.ThankYou && in.outbox != nil {
				inc.ThankYou = in.outbox.Mint(mt.campaign)
			}
		}
		inc.Endorse = e
	case outreach.ClassDecline:
		inc.Withdraws = mt.contact != nil && mt.campaign != nil
	case outreach.ClassUnsubscribe:
		if mt.contact != nil && mt.campaign != nil {
			e, err := in.st.ActiveEndorsement(ctx, mt.contact.ID, mt.campaign.ID)
			if err != nil {
				return fmt.Errorf("unsubscribe: %w", err)
			}
			if e != nil {
				note(true, "the contact has endorsement %d (%s): does this withdraw it too? (outreach endorsements withdraw %d)", e.ID, e.State, e.ID)
			}
		}
		if !authentic(mt) {
			note(true, "unsubscribe request not suppressed: it answers no message of ours (reply token or Message-ID), and anyone can write a From line")
			return nil
		}
		inc.Suppress = append(inc.Suppress, store.SuppressRequest{Address: mt.delivery.Email, Reason: outreach.StatusUnsubscribed})
	case outreach.ClassBounce:
		for i := range m.Bounces {
			b := &m.Bounces[i]
			if r.Bounce == nil || (b.Hard && !r.Bounce.Hard) {
				cp := *b
				r.Bounce = &cp
			}
			if !b.Hard && !strings.EqualFold(b.Action, "delayed") {
				continue
			}
			switch {
			case !authentic(mt):
				note(true, "bounce for %s not acted on: it returns no message of ours (reply token or Message-ID)", b.Recipient)
				continue
			case outreach.EmailKey(b.Recipient) != outreach.EmailKey(mt.delivery.Email):
				note(true, "bounce for %s not acted on: the message it returns went to %s", b.Recipient, mt.delivery.Email)
				continue
			}
			if b.Hard {
				inc.Suppress = append(inc.Suppress, store.SuppressRequest{Address: mt.delivery.Email, Reason: outreach.StatusBounced})
			} else {
				inc.Delayed = append(inc.Delayed, mt.delivery.Email)
			}
		}
	}
	return nil
}

// authentic reports whether mail is matched to a delivery by its reply
// token or by the delivery's Message-ID, which only the delivery's
// recipient (or a server handling it) has seen. A From line proves
// nothing: only authentic mail may suppress an address by itself.
func authentic(mt *matched) bool {
	return mt.delivery != nil && (mt.how == outreach.MatchToken || mt.how == outreach.MatchMessageID)
}

// endorsement returns the pending endorsement a reply makes.
func (in *Inbox) endorsement(m *mailreply.Message, mt *matched) *outreach.Endorsement {
	c := mt.contact
	e := &outreach.Endorsement{
		CampaignID: mt.campaign.ID, ContactID: c.ID, Email: c.Email, Organization: c.Organization, Country: c.Country,
		State: outreach.EndorsementPending, Evidence: outreach.EvidenceOf(m.NewText), Source: "reply",
	}
	e.PrintName = c.Organization
	if e.PrintName == "" {
		e.PrintName = c.Name
	}
	if name, ok := mailreply.PrintName(m); ok {
		e.PrintName = name
	}
	return e
}

// holdBack returns why an endorsement must wait for a person, or "" when
// it may be confirmed at once.
func (in *Inbox) holdBack(m *mailreply.Message, res mailreply.Result, mt *matched, e *outreach.Endorsement) string {
	c := mt.contact
	switch {
	case !res.Sure:
		return "the classifier is not sure"
	case m.Automated != "" || len(m.Bounces) > 0:
		return "automated mail"
	case m.Truncated:
		return "the message was cut short"
	case mt.how != outreach.MatchToken && mt.how != outreach.MatchMessageID:
		return "matched by the sender's address only"
	case mt.send == nil || !requestTemplates[mt.send.Template]:
		tmpl := "an unknown message"
		if mt.send != nil {
			tmpl = fmt.Sprintf("%q", mt.send.Template)
		}
		return "a reply to " + tmpl + ", not to an endorsement request"
	case c.Kind != outreach.KindPartner:
		return fmt.Sprintf("the contact is a %s, not a partner", c.Kind)
	case mt.campaign.RequireReview:
		return "the campaign requires a person to confirm every endorsement"
	case !sameSender(m.From, mt.delivery.Email):
		return fmt.Sprintf("sent from %s, not from the address the request went to", m.From)
	case e.PrintName == "":
		return "no organisation or name to print"
	case c.Organization != "" && !strings.EqualFold(strings.TrimSpace(e.PrintName), c.Organization):
		return fmt.Sprintf("asks to be listed as %q, not %q", e.PrintName, c.Organization)
	}
	return ""
}

// sameSender reports whether from is the address a request went to, or
// an address at its organisation's domain. At a public mail service
// (publicMailDomain) anyone can have an address, so only the very address
// counts there.
func sameSender(from, to string) bool {
	if from == "" || to == "" {
		return false
	}
	if outreach.EmailKey(from) == outreach.EmailKey(to) {
		return true
	}
	d := outreach.EmailDomain(to)
	return d != "" && outreach.EmailDomain(from) == d && !publicMailDomain(d)
}

// publicMailDomains and publicMailLabels are mail services where anyone can open an address: by
// domain, and by the first label of services with a domain per country
// (yahoo.co.uk, hotmail.fr, gmx.de, yandex.ru).
var (
	publicMailDomains = map[string]bool{
		"gmail.com": true, "googlemail.com": true, "icloud.com": true, "me.com": true, "mac.com": true, "msn.com": true,
		"proton.me": true, "pm.me": true, "protonmail.com": true, "protonmail.ch": true, "tutanota.com": true, "tuta.io": true,
		"aol.com": true, "aim.com": true, "mail.com": true, "email.com": true, "fastmail.com": true, "hushmail.com": true,
		"mail.ru": true, "inbox.ru": true, "list.ru": true, "bk.ru": true, "rambler.ru": true, "ya.ru": true, "ukr.net": true,
		"qq.com": true, "163.com": true, "126.com": true, "yeah.net": true, "sina.com": true, "sina.cn": true, "sohu.com": true, "aliyun.com": true,
		"zoho.com": true, "zohomail.com": true, "naver.com": true, "daum.net": true, "hanmail.net": true, "rediffmail.com": true,
		"web.de": true, "t-online.de": true, "freenet.de": true, "orange.fr": true, "wanadoo.fr": true, "free.fr": true,
		"laposte.net": true, "sfr.fr": true, "libero.it": true, "virgilio.it": true, "tiscali.it": true, "alice.it": true,
		"terra.com.br": true, "bol.com.br": true, "uol.com.br": true, "ig.com.br": true, "btinternet.com": true,
		"comcast.net": true, "verizon.net": true, "att.net": true, "sbcglobal.net": true, "seznam.cz": true, "wp.pl": true,
		"o2.pl": true, "interia.pl": true, "abv.bg": true, "mail.bg": true, "posteo.de": true, "mailbox.org": true,
		"gmx.com": true, "gmx.net": true, "yahoo.com": true, "hotmail.com": true, "outlook.com": true, "live.com": true,
	}
	publicMailLabels = map[string]bool{"yahoo": true, "ymail": true, "rocketmail": true, "hotmail": true, "outlook": true,
		"live": true, "windowslive": true, "gmx": true, "yandex": true, "aol": true, "gmail": true, "protonmail": true}
)

// publicMailDomain reports whether domain is a public mail service.
func publicMailDomain(domain string) bool {
	domain = strings.TrimSuffix(strings.ToLower(domain), ".")
	if publicMailDomains[domain] {
		return true
	}
	first, _, _ := strings.Cut(domain, ".")
	return publicMailLabels[first]
}
