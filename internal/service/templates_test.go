package service

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"maps"
	"net/mail"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/outreach-coalition/outreach/internal/outreach"
	"github.com/outreach-coalition/outreach/internal/render"
	"github.com/outreach-coalition/outreach/internal/store"
)

var (
	admin       = &outreach.Principal{Name: "root", Role: outreach.RoleAdmin}
	coordinator = &outreach.Principal{Name: "ana", Role: outreach.RoleCoordinator}
	viewer      = &outreach.Principal{Name: "vic", Role: outreach.RoleViewer}
)

func newTestService(t *testing.T) *Service {
	t.Helper()
	st, err := store.Open(t.TempDir(), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.EnsureDefaultCampaign(context.Background(), &render.SampleData().Campaign); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	return New(st, slog.New(slog.NewTextHandler(io.Discard, nil)), func() time.Time { return now })
}

// source returns a template source with templates t and u.
func source(subject string) fstest.MapFS {
	return fstest.MapFS{
		"t/en.subject":   {Data: []byte(subject + "\n")},
		"t/en.txt":       {Data: []byte("Dear {{.Contact.Name | default \"colleague\"}}\n")},
		"t/en.html":      {Data: []byte("<p>Dear {{.Contact.Name | default \"colleague\"}}</p>\n")},
		"t/es.subject":   {Data: []byte("Hola\n")},
		"t/es.txt":       {Data: []byte("Hola {{.Contact.Name}}\n")},
		"t/es.html":      {Data: []byte("<p>Hola {{.Contact.Name}}</p>\n")},
		"u/en.subject":   {Data: []byte("U\n")},
		"u/en.txt":       {Data: []byte("u {{.Contact.Attrs.sector}}\n")},
		"u/en.html":      {Data: []byte("<p>u</p>\n")},
		"_layout.txt":    {Data: []byte("{{template \"content\" .}}\n--\n{{.Campaign.Name}}\n")},
		"README.md":      {Data: []byte("ignored\n")},
		".hidden/x.txt":  {Data: []byte("ignored\n")},
		"_partials/x.md": {Data: []byte("ignored\n")},
	}
}

func files(fsys fstest.MapFS, tmpl string) map[string]string {
	out := map[string]string{}
	for p, f := range fsys {
		if strings.HasPrefix(p, tmpl+"/") || p == "_layout.txt" {
			out[p] = string(f.Data)
		}
	}
	return out
}

func latest(t *testing.T, s *Service, tmpl string) *store.TemplateVersion {
	t.Helper()
	tv, err := s.Template(context.Background(), viewer, tmpl, 0)
	if err != nil {
		t.Fatalf("Template(%s) = %v", tmpl, err)
	}
	return tv
}

func TestLoadTemplatesVersionsOnlyChangedSources(t *testing.T) {
	ctx := context.Background()
	s := newTestService(t)
	src := source("Hello")
	s.TemplateSource = TemplateSource{FS: src, Name: "testdir"}

	load, err := s.LoadTemplates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(load.Templates) != 2 || !load.Templates[0].Changed || load.Templates[0].Version != 1 {
		t.Fatalf("first load = %+v; want t and u stored as version 1", load.Templates)
	}
	tv := latest(t, s, "t")
	if tv.By != "system (testdir)" || tv.Files["README.md"] != "" || tv.Files["t/en.subject"] != "Hello\n" {
		t.Errorf("stored version = by %q, files %v", tv.By, tv.Files)
	}

	// Same source: nothing new.
	if load, err = s.LoadTemplates(ctx); err != nil || load.Templates[0].Changed {
		t.Fatalf("second load = %+v, %v; want unchanged", load, err)
	}

	// An edit through the API is version 2 ...
	edit := files(src, "t")
	edit["t/en.subject"] = "Edited\n"
	ch, err := s.EditTemplate(ctx, coordinator, "t", edit)
	if err != nil || !ch.Changed || ch.Version != 2 {
		t.Fatalf("EditTemplate = %+v, %v; want version 2", ch, err)
	}
	if tv := latest(t, s, "t"); tv.By != "ana" || tv.Files["t/en.subject"] != "Edited\n" {
		t.Errorf("edited version by %q subject %q", tv.By, tv.Files["t/en.subject"])
	}
	// ... which a reload of the unchanged source (a restart) keeps.
	if load, err = s.LoadTemplates(ctx); err != nil || load.Templates[0].Changed || load.Templates[0].Version != 2 {
		t.Fatalf("reload after edit = %+v, %v; want version 2 kept", load, err)
	}
	// The same files again store nothing.
	if ch, err := s.EditTemplate(ctx, coordinator, "t", edit); err != nil || ch.Changed || ch.Version != 2 {
		t.Errorf("repeated edit = %+v, %v; want unchanged version 2", ch, err)
	}

	// A changed source is newer than the edit: version 3, and says so.
	src["t/en.subject"] = &fstest.MapFile{Data: []byte("Hello again\n")}
	load, err = s.ReloadTemplates(ctx, coordinator)
	if err != nil {
		t.Fatal(err)
	}
	if got := load.Templates[0]; !got.Changed || got.Version != 3 || got.Supersedes != "ana" {
		t.Errorf("reload of a changed source = %+v; want version 3 superseding ana's edit", got)
	}
	if load.Templates[1].Changed {
		t.Errorf("u changed without a change to its files: %+v", load.Templates[1])
	}
	// Every version stays readable.
	if v2, err := s.Template(ctx, viewer, "t", 2); err != nil || v2.Files["t/en.subject"] != "Edited\n" {
		t.Errorf("version 2 = %v, %v", v2, err)
	}

	// A broken source changes nothing.
	src["t/en.txt"] = &fstest.MapFile{Data: []byte("Dear {{.Contact.Nme}}\n")}
	_, err = s.ReloadTemplates(ctx, coordinator)
	var probs render.Problems
	if !errors.As(err, &probs) || outreach.ErrorCode(err) != outreach.EINVALID || !strings.Contains(err.Error(), "t/en.txt:1:") {
		t.Fatalf("reload of a broken source = %v; want Problems naming t/en.txt:1", err)
	}
	if tv := latest(t, s, "t"); tv.Version != 3 {
		t.Errorf("latest after a failed reload = %d; want 3", tv.Version)
	}

	if _, err := s.ReloadTemplates(ctx, viewer); outreach.ErrorCode(err) != outreach.EFORBIDDEN {
		t.Errorf("ReloadTemplates(viewer) = %v; want forbidden", err)
	}
	audit, _ := s.Store.AuditLog(ctx, "", time.Time{}, 100)
	var actions []string
	for _, e := range audit {
		actions = append(actions, e.User+" "+e.Action+" "+e.Object+" "+e.Detail)
	}
	joined := strings.Join(actions, "\n")
	if !strings.Contains(joined, "ana template.edit t version 2") || !strings.Contains(joined, "ana template.reload testdir t v3") {
		t.Errorf("audit trail:\n%s\nwant the edit and the reload", joined)
	}
}

func TestEditTemplateValidation(t *testing.T) {
	ctx := context.Background()
	s := newTestService(t)
	good := files(source("Hello"), "t")
	with := func(path, content string) map[string]string {
		f := maps.Clone(good)
		f[path] = content
		return f
	}
	for _, tc := range []struct {
		name  string
		p     *outreach.Principal
		tmpl  string
		files map[string]string
		code  string
		want  string
	}{
		{"syntax", coordinator, "t", with("t/en.txt", "a\nb {{.Contact.Name}\n"), outreach.EINVALID, "t/en.txt:2: "},
		{"unknown field", coordinator, "t", with("t/en.html", "<p>\n{{.Contact.Organisation}}</p>"), outreach.EINVALID, "t/en.html:2: at <.Contact.Organisation>"},
		{"missing part", coordinator, "t", with("t/fr.txt", "Bonjour"), outreach.EINVALID, "t/fr.html: missing"},
		{"other template", coordinator, "t", with("u/en.txt", "x"), outreach.EINVALID, `u/en.txt: belongs to template "u", not "t"`},
		{"no variant", coordinator, "v", map[string]string{"_layout.txt": good["_layout.txt"]}, outreach.EINVALID, "no variant of v"},
		{"bad name", coordinator, "T x", good, outreach.EINVALID, "not a template name"},
		{"no files", coordinator, "t", nil, outreach.EINVALID, "give the template's files"},
		{"viewer", viewer, "t", good, outreach.EFORBIDDEN, "needs the coordinator role"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.EditTemplate(ctx, tc.p, tc.tmpl, tc.files)
			if outreach.ErrorCode(err) != tc.code || err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("EditTemplate = %v (%s); want %s containing %q", err, outreach.ErrorCode(err), tc.code, tc.want)
			}
		})
	}
	if _, err := s.Template(ctx, viewer, "t", 0); outreach.ErrorCode(err) != outreach.ENOTFOUND {
		t.Errorf("after failed edits Template = %v; want not found", err)
	}
	if ch, err := s.EditTemplate(ctx, admin, "t", good); err != nil || ch.Version != 1 {
		t.Fatalf("EditTemplate(good) = %+v, %v", ch, err)
	}
	list, err := s.Templates(ctx, viewer)
	if err != nil || len(list) != 1 || list[0].Name != "t" || strings.Join(list[0].Languages, ",") != "en,es" || list[0].By != "root" {
		t.Errorf("Templates = %+v, %v; want t in en and es by root", list, err)
	}
}

func TestPreviewTemplate(t *testing.T) {
	ctx := context.Background()
	s := newTestService(t)
	s.TemplateSource = TemplateSource{FS: source("Hello {{.Contact.Name}}"), Name: "testdir"}
	if _, err := s.LoadTemplates(ctx); err != nil {
		t.Fatal(err)
	}
	err := s.Store.ImportContacts(ctx, func(put store.PutFunc) error {
		for _, c := range []outreach.Contact{
			{Email: "mx@example.net", Name: "Ximena", Language: "es-MX", Country: "MX"},
			{Email: "evil@example.net", Name: "Eve\r\nBcc: x@evil.test", Language: "en", Country: "MY"},
			{Email: "far@example.net", Name: "Far", Country: "PH"},
		} {
			if _, err := put(&c); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	pv, err := s.PreviewTemplate(ctx, viewer, PreviewInput{Template: "t", Email: "mx@example.net"})
	if err != nil {
		t.Fatal(err)
	}
	if pv.Variant() != "es (tried es-MX, es)" || !strings.Contains(pv.Message, "Subject: Hola\r\n") || !strings.Contains(pv.Message, "Hola Ximena") {
		t.Errorf("preview for es-MX: variant %q\n%s", pv.Variant(), pv.Message)
	}
	m, err := mail.ReadMessage(strings.NewReader(pv.Message))
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{
		"From":             `"Coalition for the OP-ICESCR" <campaign@example.org>`,
		"To":               `"Ximena" <mx@example.net>`,
		"Reply-To":         "<campaign+preview@example.org>",
		"Message-Id":       "<preview@example.org>",
		"List-Unsubscribe": "<https://unsubscribe.invalid/u/preview>, <mailto:campaign+preview@example.org?subject=unsubscribe>",
		"Date":             "Thu, 26 Nov 2026 09:00:00 +0000",
	} {
		if got := strings.ReplaceAll(m.Header.Get(k), "\r\n ", " "); got != want {
			t.Errorf("preview %s: %q; want %q", k, got, want)
		}
	}

	pv, err = s.PreviewTemplate(ctx, viewer, PreviewInput{Template: "t", Sample: true, Lang: "de"})
	if err != nil || pv.Variant() != "en (tried de, en)" || !strings.Contains(pv.Message, "Subject: Hello Ana Example") {
		t.Errorf("sample in de = %v, %v", pv, err)
	}

	_, err = s.PreviewTemplate(ctx, viewer, PreviewInput{Template: "t", Email: "evil@example.net"})
	if outreach.ErrorCode(err) != outreach.EINVALID || !strings.Contains(err.Error(), "line break") {
		t.Errorf("preview for a name with CRLF = %v; want it refused", err)
	}

	scoped := &outreach.Principal{Name: "my", Role: outreach.RoleViewer, Countries: []string{"MY"}}
	if _, err := s.PreviewTemplate(ctx, scoped, PreviewInput{Template: "t", Email: "far@example.net"}); outreach.ErrorCode(err) != outreach.ENOTFOUND {
		t.Errorf("preview out of scope = %v; want not found", err)
	}
	for _, in := range []PreviewInput{
		{Template: "t"},
		{Template: "t", Sample: true, Email: "mx@example.net"},
		{Template: "t", Sample: true, Lang: "not a tag"},
	} {
		if _, err := s.PreviewTemplate(ctx, viewer, in); outreach.ErrorCode(err) != outreach.EINVALID {
			t.Errorf("PreviewTemplate(%+v) = %v; want invalid", in, err)
		}
	}
	if _, err := s.PreviewTemplate(ctx, viewer, PreviewInput{Template: "nope", Sample: true}); outreach.ErrorCode(err) != outreach.ENOTFOUND {
		t.Errorf("preview of an unknown template = %v; want not found", err)
	}
}

func TestRecipientCheck(t *testing.T) {
	ctx := context.Background()
	s := newTestService(t)
	s.TemplateSource = TemplateSource{FS: source("Hello {{.Contact.Name}}"), Name: "testdir"}
	if _, err := s.LoadTemplates(ctx); err != nil {
		t.Fatal(err)
	}
	camp, _ := s.Store.Campaign(ctx, 1)
	ok := []outreach.Contact{
		{Email: "a@example.net", Name: "A", Language: "en", Attrs: map[string]string{"sector": "health"}},
		{Email: "b@example.net", Name: "B", Language: "es", Attrs: map[string]string{"sector": "housing"}},
		{Email: "c@example.net", Language: "pt-BR", Attrs: map[string]string{"sector": "", "other": "x"}},
	}
	if err := s.CheckRecipients(ctx, camp, "W", "u", 1, ok); err != nil {
		t.Errorf("CheckRecipients(u, good contacts) = %v", err)
	}
	bad := append(ok,
		outreach.Contact{Email: "noattr@example.net", Name: "N", Language: "en"},
		outreach.Contact{Email: "crlf@example.net", Name: "X\r\nBcc: x@evil.test", Language: "en", Attrs: map[string]string{"sector": "s"}},
	)
	err := s.CheckRecipients(ctx, camp, "W", "u", 1, bad)
	if err == nil || !strings.Contains(err.Error(), "contact noattr@example.net does not have") || !strings.Contains(err.Error(), "crlf@example.net") ||
		strings.Contains(err.Error(), "a@example.net") {
		t.Errorf("CheckRecipients(u, bad contacts) = %v; want the two bad contacts named", err)
	}
	// Template t puts the name in the subject: a line break there is caught
	// even after a contact of the same shape passed.
	rc, err := s.NewRecipientCheck(ctx, camp, "W", "t", 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := rc.Check(&outreach.Contact{Email: "a@example.net", Name: "A", Language: "en"}); err != nil {
		t.Errorf("Check(A) = %v", err)
	}
	if err := rc.Check(&outreach.Contact{Email: "a2@example.net", Name: "A\nB", Language: "en"}); err == nil || !strings.Contains(err.Error(), "t/en.subject") {
		t.Errorf("Check(name with LF) = %v; want the subject refused", err)
	}
	if _, err := s.NewRecipientCheck(ctx, camp, "W", "t", 9); outreach.ErrorCode(err) != outreach.ENOTFOUND {
		t.Errorf("NewRecipientCheck(version 9) = %v; want not found", err)
	}
}

func BenchmarkRecipientCheck(b *testing.B) {
	ctx := context.Background()
	st, err := store.Open(b.TempDir(), store.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	camp := &render.SampleData().Campaign
	st.EnsureDefaultCampaign(ctx, camp)
	s := New(st, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	s.TemplateSource = TemplateSource{FS: source("Hello {{.Contact.Name}}"), Name: "bench"}
	if _, err := s.LoadTemplates(ctx); err != nil {
		b.Fatal(err)
	}
	langs := []string{"en", "es", "pt-BR", "fr", "ms"}
	contacts := make([]outreach.Contact, 10000)
	for i := range contacts {
		contacts[i] = outreach.Contact{Email: "c" + string(rune('a'+i%26)) + "@example.net", Name: "Name", Language: langs[i%len(langs)], Country: "MY"}
	}
	b.ResetTimer()
	for b.Loop() {
		if err := s.CheckRecipients(ctx, camp, "W", "t", 0, contacts); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(contacts))/b.Elapsed().Seconds(), "contacts/s")
}
