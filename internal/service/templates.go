package service

import (
	"context"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/outreach-coalition/outreach/internal/outbox"
	"github.com/outreach-coalition/outreach/internal/outreach"
	"github.com/outreach-coalition/outreach/internal/render"
	"github.com/outreach-coalition/outreach/internal/store"
)

// Templates are stored as versions (store.TemplateVersion): every change,
// from the template source or through the API, is a new version, and a
// wave pins the version it was validated against, so neither a reload nor
// an edit changes the text of a wave already running.
//
// The source (templates_dir, or the templates embedded in the binary) is
// loaded at start, on SIGHUP and on POST /api/v1/templates/reload. A
// template gets a new version from the source only when its source files
// changed since they were last loaded, so restarting the daemon never
// undoes an edit made through the API; when the source did change after
// such an edit, the newer change wins and the edit stays as an older
// version.

// TemplateSource is where template loads read: templates_dir or the
// embedded templates.
type TemplateSource struct {
	FS   fs.FS  // read anew on every load (os.DirFS for a directory)
	Name string // the directory, or "embedded templates"
}

// sourceBy is the By of versions loaded from the source. It has a space,
// which no principal's name has, so it cannot be confused with an editor.
func sourceBy(where string) string { return "system (" + where + ")" }

func fromSource(by string) bool { return by == "system" || strings.HasPrefix(by, "system (") }

// TemplateInfo describes a template's latest version.
type TemplateInfo struct {
	Name      string    `json:"name"`
	Version   uint64    `json:"version"`
	Languages []string  `json:"languages"`
	By        string    `json:"by"`
	Time      time.Time `json:"time"`
}

func templateInfo(tv *store.TemplateVersion) TemplateInfo {
	langs := []string{}
	for p := range tv.Files {
		if lang, ok := strings.CutPrefix(p, tv.Name+"/"); ok {
			if lang, ok := strings.CutSuffix(lang, ".subject"); ok && !strings.Contains(lang, "/") {
				langs = append(langs, lang)
			}
		}
	}
	slices.Sort(langs)
	return TemplateInfo{Name: tv.Name, Version: tv.Version, Languages: langs, By: tv.By, Time: tv.Time}
}

// Templates lists every template's latest version.
func (s *Service) Templates(ctx context.Context, p *outreach.Principal) ([]TemplateInfo, error) {
	if err := can(p, outreach.RoleViewer); err != nil {
		return nil, err
	}
	tvs, err := s.Store.Templates(ctx)
	if err != nil {
		return nil, fmt.Errorf("list templates: %w", err)
	}
	out := make([]TemplateInfo, 0, len(tvs))
	for i := range tvs {
		out = append(out, templateInfo(&tvs[i]))
	}
	return out, nil
}

// Template returns version v of a template with its files; v == 0 means
// the latest. Returns ENOTFOUND for an unknown template or version.
func (s *Service) Template(ctx context.Context, p *outreach.Principal, tmpl string, v uint64) (*store.TemplateVersion, error) {
	if err := can(p, outreach.RoleViewer); err != nil {
		return nil, err
	}
	return s.Store.Template(ctx, tmpl, v)
}

// TemplateChange reports what a load or an edit did to one template.
type TemplateChange struct {
	Name    string `json:"name"`
	Version uint64 `json:"version"` // the latest version afterwards
	Changed bool   `json:"changed"` // a new version was stored
	// Supersedes names the editor of an API edit that this version from
	// the source replaces as the latest (the edit stays as a version).
	Supersedes string `json:"supersedes,omitempty"`
}

// TemplateLoad reports a load of the template source.
type TemplateLoad struct {
	From      string           `json:"from"`
	Templates []TemplateChange `json:"templates"`
}

// LoadTemplates loads and validates the whole template source and stores a
// new version of each template whose source files changed since they were
// last loaded. A source with any problem changes nothing and returns
// render.Problems (EINVALID), each "file:line: reason". It is what the
// daemon runs at start and on SIGHUP; ReloadTemplates is the same for a
// person.
func (s *Service) LoadTemplates(ctx context.Context) (*TemplateLoad, error) {
	src := s.TemplateSource
	if src.FS == nil {
		return nil, outreach.Errorf(outreach.EUNAVAILABLE, "no template source is configured")
	}
	set, err := render.Load(src.FS)
	if err != nil {
		return nil, fmt.Errorf("templates (%s):\n%w", src.Name, err)
	}
	load := &TemplateLoad{From: src.Name, Templates: []TemplateChange{}}
	for _, tmpl := range set.Names() {
		ch, err := s.loadTemplate(ctx, tmpl, set.Files(tmpl), src.Name)
		if err != nil {
			return load, err
		}
		load.Templates = append(load.Templates, ch)
	}
	return load, nil
}

func (s *Service) loadTemplate(ctx context.Context, tmpl string, files map[string]string, where string) (TemplateChange, error) {
	ch := TemplateChange{Name: tmpl}
	latest, err := s.Store.Template(ctx, tmpl, 0)
	switch {
	case outreach.ErrorCode(err) == outreach.ENOTFOUND:
		latest = nil
	case err != nil:
		return ch, fmt.Errorf("load template %s: %w", tmpl, err)
	}
	if latest != nil {
		last, err := s.lastFromSource(ctx, latest)
		if err != nil {
			return ch, err
		}
		if last != nil && maps.Equal(last.Files, files) {
			ch.Version = latest.Version
			return ch, nil
		}
	}
	ch.Version, ch.Changed, err = s.Store.SaveTemplate(ctx, tmpl, files, sourceBy(where))
	if err != nil {
		return ch, fmt.Errorf("store template %s: %w", tmpl, err)
	}
	if ch.Changed {
		s.Log.Info("template version stored", "template", tmpl, "version", ch.Version, "from", where)
		if latest != nil && !fromSource(latest.By) {
			ch.Supersedes = latest.By
			s.Log.Warn("the template source changed after an edit through the API: the source's version is now the latest",
				"template", tmpl, "version", ch.Version, "edited_version", latest.Version, "edited_by", latest.By)
		}
	}
	return ch, nil
}

// lastFromSource returns the newest version of latest's template that came
// from the source, or nil when none did.
func (s *Service) lastFromSource(ctx context.Context, latest *store.TemplateVersion) (*store.TemplateVersion, error) {
	if fromSource(latest.By) {
		return latest, nil
	}
	for v := latest.Version - 1; v >= 1; v-- {
		tv, err := s.Store.Template(ctx, latest.Name, v)
		if outreach.ErrorCode(err) == outreach.ENOTFOUND {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("template %s version %d: %w", latest.Name, v, err)
		}
		if fromSource(tv.By) {
			return tv, nil
		}
	}
	return nil, nil
}

// ReloadTemplates is LoadTemplates on a person's request (a coordinator
// without a country scope, or an admin), audited as "template.reload".
func (s *Service) ReloadTemplates(ctx context.Context, p *outreach.Principal) (*TemplateLoad, error) {
	if err := canEverywhere(p, outreach.RoleCoordinator, "a template"); err != nil {
		return nil, err
	}
	load, err := s.LoadTemplates(ctx)
	if err != nil {
		return nil, err
	}
	var changed []string
	for _, ch := range load.Templates {
		if ch.Changed {
			changed = append(changed, ch.Name+" v"+strconv.FormatUint(ch.Version, 10))
		}
	}
	s.audit(ctx, p, "template.reload", load.From, strings.Join(changed, ", "))
	return load, nil
}

// ValidTemplateName reports whether name can name a template: lower-case
// letters, digits, - and _, starting with a letter or digit (it is a
// directory name in the template source).
func ValidTemplateName(name string) bool {
	if name == "" || name[0] == '-' || name[0] == '_' {
		return false
	}
	return !strings.ContainsFunc(name, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_')
	})
}

// loadChecked loads a template's source files (path -> content) and
// renders every variant of tmpl with the sample contact: a problem in any
// file is render.Problems, and files without a variant of tmpl are refused.
func loadChecked(tmpl string, files map[string]string) (*render.Set, error) {
	set, err := render.LoadFiles(files)
	if err != nil {
		return nil, err
	}
	if !set.Has(tmpl) {
		return nil, outreach.FieldError("files", "no variant of %s: give %s/LANG.subject, %s/LANG.txt and %s/LANG.html", tmpl, tmpl, tmpl, tmpl)
	}
	if err := set.Check(tmpl); err != nil {
		return nil, err
	}
	return set, nil
}

// EditTemplate stores files as a new version of template tmpl, made by p
// (a coordinator without a country scope, or an admin: a template is
// shared by every country), audited as "template.edit". files are the
// template's source files as Set.Files gives them (path -> content): its
// variants tmpl/LANG.subject|txt|html, and the layouts and partials it
// uses; files of another template are refused. Every file is parsed and every variant
// rendered with the sample contact first: any problem is returned as
// render.Problems (EINVALID), "file:line: reason" each, and nothing is
// stored. Files equal to the latest version store nothing (Changed false).
// Waves and letters already created keep the version they pinned.
func (s *Service) EditTemplate(ctx context.Context, p *outreach.Principal, tmpl string, files map[string]string) (*TemplateChange, error) {
	if err := canEverywhere(p, outreach.RoleCoordinator, "a template"); err != nil {
		return nil, err
	}
	if !ValidTemplateName(tmpl) {
		return nil, outreach.FieldError("name", "%q is not a template name: use lower-case letters, digits, - and _", tmpl)
	}
	if len(files) == 0 {
		return nil, outreach.FieldError("files", "give the template's files: %s/LANG.subject, %s/LANG.txt and %s/LANG.html for each language, and the layouts and partials it uses", tmpl, tmpl, tmpl)
	}
	var probs render.Problems
	for _, path := range slices.Sorted(maps.Keys(files)) {
		dir, _, nested := strings.Cut(path, "/")
		if nested && dir != tmpl && dir != "_partials" && !strings.HasPrefix(dir, ".") {
			probs = append(probs, render.Problem{File: path, Reason: fmt.Sprintf("belongs to template %q, not %q: edit each template on its own", dir, tmpl)})
		}
	}
	if len(probs) > 0 {
		return nil, probs
	}
	set, err := loadChecked(tmpl, files)
	if err != nil {
		return nil, err
	}
	ch := &TemplateChange{Name: tmpl}
	ch.Version, ch.Changed, err = s.Store.SaveTemplate(ctx, tmpl, set.Files(tmpl), name(p))
	if err != nil {
		return nil, fmt.Errorf("store template %s: %w", tmpl, err)
	}
	if ch.Changed {
		s.audit(ctx, p, "template.edit", tmpl, fmt.Sprintf("version %d", ch.Version))
	}
	return ch, nil
}

// PreviewInput selects a message to preview: a template version, and a
// contact given by address or the sample contact.
type PreviewInput struct {
	Template   string
	Version    uint64 // 0: the latest, the one a new wave would pin
	Email      string // a contact's address, or
	Sample     bool   // the sample contact (render.SampleData)
	Lang       string // replaces the contact's language when set
	CampaignID uint64 // 0: the default campaign
}

// Preview is one message rendered as a wave would send it.
type Preview struct {
	Template string   `json:"template"`
	Version  uint64   `json:"version"`
	Lang     string   `json:"lang"`  // the variant used
	Tried    []string `json:"tried"` // the fallback chain up to Lang
	Message  string   `json:"message"`
}

// Variant returns the variant used and the languages tried, e.g.
// "es (tried es-MX, es)".
func (pv *Preview) Variant() string {
	return pv.Lang + " (tried " + strings.Join(pv.Tried, ", ") + ")"
}

// PreviewTemplate renders and composes a message exactly as a wave would
// send it (RFC 5322, CRLF line ends): the campaign's From, the contact as
// To, a reply address and Message-ID minted like a delivery's (for a
// delivery that does not exist), and List-Unsubscribe. Letters' roster is
// the sample one. A contact outside p's scope is ENOTFOUND; data that
// cannot make a safe message (a line break in the subject or a header) is
// EINVALID, as it would be refused at sending.
func (s *Service) PreviewTemplate(ctx context.Context, p *outreach.Principal, in PreviewInput) (*Preview, error) {
	if err := can(p, outreach.RoleViewer); err != nil {
		return nil, err
	}
	if (in.Email == "") == !in.Sample {
		return nil, outreach.FieldError("email", "give a contact's address or ask for the sample contact, not both")
	}
	tv, err := s.Store.Template(ctx, in.Template, in.Version)
	if err != nil {
		return nil, err
	}
	set, err := render.LoadFiles(tv.Files)
	if err != nil {
		return nil, fmt.Errorf("template %s version %d: %w", tv.Name, tv.Version, err)
	}
	if in.Sample {
		in.Email = ""
	}
	r, msg, err := s.renderPreview(ctx, p, set, tv.Name, in)
	if err != nil {
		return nil, err
	}
	return &Preview{Template: tv.Name, Version: tv.Version, Lang: r.Lang, Tried: r.Tried, Message: msg}, nil
}

// renderPreview renders template tmpl of set for the contact in.Email (the
// sample contact when empty), in in.Lang when set, and composes the whole
// message as a wave of in.CampaignID would send it.
func (s *Service) renderPreview(ctx context.Context, p *outreach.Principal, set *render.Set, tmpl string, in PreviewInput) (*render.Rendered, string, error) {
	if in.CampaignID == 0 {
		in.CampaignID = s.DefaultCampaign
	}
	camp, err := s.Store.Campaign(ctx, in.CampaignID)
	if err != nil {
		return nil, "", err
	}
	data := render.SampleData()
	if in.Email != "" {
		c, err := s.Contact(ctx, p, in.Email)
		if err != nil {
			return nil, "", err
		}
		data.Contact = *c
	}
	if in.Lang != "" {
		lang := outreach.CanonicalLanguage(in.Lang)
		if !outreach.ValidLanguage(lang) {
			return nil, "", outreach.FieldError("lang", "%q is not a BCP 47 language tag", in.Lang)
		}
		data.Contact.Language = lang
	}
	data.Campaign = *camp
	data.Wave = render.WaveInfo{Name: "Preview"}
	data.Now = s.Now()
	env := s.previewEnvelope(camp, &data.Contact, data.Now)
	data.Delivery = render.DeliveryInfo{ReplyTo: env.ReplyTo, UnsubscribeURL: env.ListUnsubscribeURL, MessageID: env.MessageID}
	r, err := set.Render(tmpl, data)
	if err != nil {
		return nil, "", err
	}
	m, err := render.Compose(nil, r, env)
	if err != nil {
		return nil, "", err
	}
	return r, string(m.Data), nil
}

// unsubscribeURLer is the part of the outbox that makes unsubscribe links.
type unsubscribeURLer interface{ UnsubscribeURL(token string) string }

// previewEnvelope addresses a preview like a wave's delivery: a token
// minted for delivery 0, which never exists, gives the reply address,
// Message-ID and unsubscribe link.
func (s *Service) previewEnvelope(camp *outreach.Campaign, c *outreach.Contact, now time.Time) *render.Envelope {
	base, err := outreach.ParseEmail(camp.ReplyTo)
	if err != nil {
		base = camp.ReplyTo
	}
	token := "preview"
	msgID := outbox.MessageID(token, base)
	if s.Outbox != nil {
		token, msgID = s.Outbox.Mint(camp)(0)
	}
	unsub := "https://unsubscribe.invalid/u/" + token
	if u, ok := s.Outbox.(unsubscribeURLer); ok {
		unsub = u.UnsubscribeURL(token)
	}
	reply := outbox.ReplyAddress(base, token)
	return &render.Envelope{From: camp.From, To: c.Email, ToName: c.Name, ReplyTo: reply, MessageID: msgID, Date: now,
		ListUnsubscribeURL: unsub, ListUnsubscribeMailto: "mailto:" + reply + "?subject=unsubscribe"}
}

// RecipientCheck validates one template version for many recipients,
// cheaply enough to run over every recipient of a wave at its creation
// and again before it starts. For each contact it checks that every
// attribute the template uses (.Contact.Attrs.NAME) is present, and it
// renders and composes the whole message only for the first contact of
// each shape (language, country, kind, which of name, organization and
// time zone are empty, the number of tags and regions, the attribute
// names) and for every contact whose data has a control character or
// invalid UTF-8 or whose address is not ASCII, which are what can make a
// message unsafe. A template that branches on other values can still fail
// for one recipient at sending; the outbox then fails that one delivery.
type RecipientCheck struct {
	set    *render.Set
	name   string
	base   render.Data
	env    render.Envelope
	attrs  []string
	shapes map[string]bool
}

// NewRecipientCheck prepares a check of version v of template tmpl for a
// wave called wave of campaign camp.
func (s *Service) NewRecipientCheck(ctx context.Context, camp *outreach.Campaign, wave, tmpl string, v uint64) (*RecipientCheck, error) {
	tv, err := s.Store.Template(ctx, tmpl, v)
	if err != nil {
		return nil, err
	}
	set, err := render.LoadFiles(tv.Files)
	if err != nil {
		return nil, outreach.FieldError("template", "%s version %d does not load: %v", tmpl, tv.Version, err)
	}
	rc := &RecipientCheck{set: set, name: tmpl, attrs: set.Attributes(tmpl), shapes: map[string]bool{}}
	rc.base = render.Data{Campaign: *camp, Wave: render.WaveInfo{Name: wave}, Now: s.Now()}
	rc.env = *s.previewEnvelope(camp, &outreach.Contact{}, rc.base.Now)
	rc.base.Delivery = render.DeliveryInfo{ReplyTo: rc.env.ReplyTo, UnsubscribeURL: rc.env.ListUnsubscribeURL, MessageID: rc.env.MessageID}
	return rc, nil
}

// Check returns an EINVALID error naming the contact, the file and line
// when the template cannot make a message for c, and nil otherwise.
func (rc *RecipientCheck) Check(c *outreach.Contact) error {
	for _, a := range rc.attrs {
		if _, ok := c.Attrs[a]; !ok {
			return outreach.FieldError("template", "%s uses .Contact.Attrs.%s, which contact %s does not have (give it the attribute, or use {{index .Contact.Attrs %q | default \"...\"}})",
				rc.name, a, c.Email, a)
		}
	}
	unsafe := unsafeData(c)
	shape := contactShape(c)
	if !unsafe && rc.shapes[shape] {
		return nil
	}
	d := rc.base
	d.Contact = *c
	r, err := rc.set.Render(rc.name, &d)
	if err == nil {
		env := rc.env
		env.To, env.ToName = c.Email, c.Name
		_, err = render.Compose(nil, r, &env)
	}
	if err != nil {
		return outreach.FieldError("template", "%s does not make a message for %s: %v", rc.name, c.Email, err)
	}
	if !unsafe {
		rc.shapes[shape] = true
	}
	return nil
}

// CheckRecipients runs a RecipientCheck over contacts and returns every
// problem found (up to 20, then a count), or nil.
func (s *Service) CheckRecipients(ctx context.Context, camp *outreach.Campaign, wave, tmpl string, v uint64, contacts []outreach.Contact) error {
	rc, err := s.NewRecipientCheck(ctx, camp, wave, tmpl, v)
	if err != nil {
		return err
	}
	var msgs []string
	n := 0
	for i := range contacts {
		if err := rc.Check(&contacts[i]); err != nil {
			if n++; n <= 20 {
				msgs = append(msgs, outreach.ErrorMessage(err))
			}
		}
	}
	if n == 0 {
		return nil
	}
	if n > len(msgs) {
		msgs = append(msgs, fmt.Sprintf("and %d more", n-len(msgs)))
	}
	return outreach.FieldError("template", "%s", strings.Join(msgs, "\n"))
}

func contactShape(c *outreach.Contact) string {
	var b strings.Builder
	b.WriteString(c.Language)
	for _, s := range []string{c.Country, c.Kind} {
		b.WriteByte('|')
		b.WriteString(s)
	}
	fmt.Fprintf(&b, "|%t%t%t|%d|%d", c.Name == "", c.Organization == "", c.TimeZone == "", len(c.Tags), len(c.Regions))
	for _, k := range slices.Sorted(maps.Keys(c.Attrs)) {
		b.WriteByte('|')
		b.WriteString(k)
	}
	return b.String()
}

// unsafeData reports contact data that could break a message's header: a
// control character other than tab or invalid UTF-8 anywhere, or an
// address that is not ASCII.
func unsafeData(c *outreach.Contact) bool {
	bad := func(s string) bool {
		return !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool { return r != '\t' && unicode.IsControl(r) })
	}
	for _, r := range c.Email {
		if r > 0x7e {
			return true
		}
	}
	for _, s := range []string{c.Email, c.Name, c.Organization, c.Kind, c.Country, c.Language, c.TimeZone} {
		if bad(s) {
			return true
		}
	}
	for _, list := range [][]string{c.Tags, c.Regions} {
		if slices.ContainsFunc(list, bad) {
			return true
		}
	}
	for k, v := range c.Attrs {
		if bad(k) || bad(v) {
			return true
		}
	}
	return false
}
