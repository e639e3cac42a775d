package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/http"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/outreach-coalition/outreach/internal/service"
	"github.com/outreach-coalition/outreach/internal/store"
	"github.com/outreach-coalition/outreach/internal/web"
	"github.com/outreach-coalition/outreach/templates"
)

// runOffline runs the CLI with no daemon and no token anywhere.
func runOffline(t *testing.T, env []string, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	args = append([]string{"--data", t.TempDir()}, args...)
	err := run(context.Background(), args, append(env, "OUTREACH_SERVER=http://127.0.0.1:1"), strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), err
}

func TestTemplatesCheckOffline(t *testing.T) {
	out, errs, err := runOffline(t, nil, "templates", "check")
	if err != nil || !strings.Contains(out, "ok: 5 templates in embedded templates") || !strings.Contains(out, "call-to-action: en es fr pt") {
		t.Fatalf("check of the shipped templates: %v\n%s%s", err, out, errs)
	}
	shipped := copyShipped(t)
	if out, errs, err := runOffline(t, []string{"OUTREACH_TEMPLATES_DIR=" + shipped}, "templates", "check"); err != nil || !strings.Contains(out, "ok: 5 templates in "+shipped) {
		t.Errorf("check of $OUTREACH_TEMPLATES_DIR: %v\n%s%s", err, out, errs)
	}

	broken := filepath.Join("..", "..", "internal", "render", "testdata", "broken")
	for _, tc := range []struct{ dir, want string }{
		{"syntax", filepath.Join(broken, "syntax", "call-to-action", "en.txt") + ":4: "},
		{"unknownfield", filepath.Join(broken, "unknownfield", "call-to-action", "en.html") + ":3: at <.Contact.Organisation>"},
	} {
		out, errs, err := runOffline(t, nil, "templates", "check", filepath.Join(broken, tc.dir))
		if err == nil || exitCode(err) != 1 || !strings.Contains(errs, tc.want) || !strings.Contains(err.Error(), "1 problem") {
			t.Errorf("check %s: err %v, stdout %q, stderr %q; want exit 1 and %q", tc.dir, err, out, errs, tc.want)
		}
	}
	if _, _, err := runOffline(t, nil, "templates", "check", filepath.Join(broken, "nonexistent")); err == nil {
		t.Error("check of a missing directory passed")
	}
}

// copyShipped copies the embedded templates into a new directory.
func copyShipped(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	sub, _ := fs.Sub(templates.Mail, "mail")
	if err := os.CopyFS(dir, sub); err != nil {
		t.Fatal(err)
	}
	// CopyFS keeps the embedded files' read-only mode.
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			os.Chmod(p, 0o644)
		}
		return err
	})
	return dir
}

// api returns a client of the daemon with the admin token.
func (d *daemonT) api() *web.Client {
	d.t.Helper()
	addr, err1 := os.ReadFile(filepath.Join(d.data, "serve.addr"))
	tok, err2 := os.ReadFile(filepath.Join(d.data, "admin.token"))
	if err := errors.Join(err1, err2); err != nil {
		d.t.Fatal(err)
	}
	return &web.Client{BaseURL: "http://" + strings.TrimSpace(string(addr)), Token: strings.TrimSpace(string(tok))}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// parsed is a message split into its decoded header and parts.
type parsed struct {
	header  mail.Header
	subject string
	text    string
	html    string
}

func parseMessage(t *testing.T, raw string) parsed {
	t.Helper()
	m, err := mail.ReadMessage(strings.NewReader(raw))
	if err != nil {
		t.Fatalf("parse message: %v\n%s", err, raw)
	}
	p := parsed{header: m.Header}
	if p.subject, err = new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject")); err != nil {
		t.Fatalf("subject: %v", err)
	}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type %q: %v; want multipart/alternative", m.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		var r io.Reader = part
		if part.Header.Get("Content-Transfer-Encoding") == "quoted-printable" {
			r = quotedprintable.NewReader(part)
		}
		b, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		switch ct, _, _ := mime.ParseMediaType(part.Header.Get("Content-Type")); ct {
		case "text/plain":
			p.text = string(b)
		case "text/html":
			p.html = string(b)
		}
	}
	return p
}

func TestTemplatesRender(t *testing.T) {
	d := startDaemon(t, "", "OUTREACH_CAMPAIGN_DEFAULT_LANGUAGE=fr")
	csv := "email,name,organization,kind,country,language\n" +
		"ximena@example.net,Ximena,Red MX,partner,MX,es-MX\n" +
		"dieter@example.net,Dieter,Netz DE,partner,DE,de\n" +
		"script@example.net,<script>alert(1)</script>,Org,partner,MY,en\n" +
		"evil@example.net,Eve,Org,partner,MY,en\n"
	if out, errs, err := d.cliIn(csv, "contacts", "import", "-"); err != nil {
		t.Fatalf("import: %v\n%s%s", err, out, errs)
	}
	d.mustCLI("contacts", "edit", "evil@example.net", "--set", "name=Eve\r\nBcc: x@evil.test")

	render := func(args ...string) (parsed, string) {
		t.Helper()
		out, errs, err := d.cli(append([]string{"templates", "render", "call-to-action"}, args...)...)
		if err != nil {
			t.Fatalf("render %v: %v\n%s", args, err, errs)
		}
		if strings.Contains(out, "X-Outreach-Variant") || !strings.Contains(out, "\r\n") {
			t.Errorf("render %v: the message has the variant line or lacks CRLF line ends", args)
		}
		return parseMessage(t, out), errs
	}
	shipped := func(path string) string {
		b, err := fs.ReadFile(templates.Mail, "mail/"+path)
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}

	m, errs := render("--email", "ximena@example.net")
	if !strings.Contains(errs, "X-Outreach-Variant: es (tried es-MX, es)") {
		t.Errorf("es-MX: stderr %q; want the variant line", errs)
	}
	if want := shipped("call-to-action/es.subject"); m.subject != want {
		t.Errorf("es-MX subject %q; want %q", m.subject, want)
	}
	if to := m.header.Get("To"); to != `"Ximena" <ximena@example.net>` {
		t.Errorf("To: %q", to)
	}
	reply := m.header.Get("Reply-To")
	if !regexp.MustCompile(`^<campaign\+[a-z2-7]+@example\.org>$`).MatchString(reply) {
		t.Errorf("Reply-To %q; want a delivery-like campaign+TOKEN@example.org", reply)
	}
	for _, h := range []string{"From", "Date", "Message-Id", "List-Unsubscribe", "Mime-Version"} {
		if m.header.Get(h) == "" {
			t.Errorf("the rendered message has no %s header", h)
		}
	}
	if !strings.Contains(m.header.Get("List-Unsubscribe"), "/u/") || !strings.Contains(m.html, "/u/") {
		t.Errorf("no unsubscribe link: List-Unsubscribe %q", m.header.Get("List-Unsubscribe"))
	}

	m, errs = render("--email", "dieter@example.net")
	if !strings.Contains(errs, "X-Outreach-Variant: fr (tried de, fr)") || m.subject != shipped("call-to-action/fr.subject") {
		t.Errorf("de with campaign default fr: stderr %q, subject %q", errs, m.subject)
	}
	m, errs = render("--sample", "--lang", "pt-BR")
	if !strings.Contains(errs, "X-Outreach-Variant: pt (tried pt-BR, pt)") || m.subject != shipped("call-to-action/pt.subject") {
		t.Errorf("sample in pt-BR: stderr %q, subject %q", errs, m.subject)
	}

	m, _ = render("--email", "script@example.net")
	if !strings.Contains(m.html, "Dear &lt;script&gt;alert(1)&lt;/script&gt;,") || strings.Contains(m.html, "<script") {
		t.Errorf("the HTML part does not escape the name:\n%s", m.html)
	}
	if !strings.Contains(m.text, "Dear <script>alert(1)</script>,") {
		t.Errorf("the text part should carry the name as it is:\n%s", m.text)
	}

	out, errs, err := d.cli("templates", "render", "call-to-action", "--email", "evil@example.net")
	if regexp.MustCompile(`(?im)^bcc:`).MatchString(out) {
		t.Fatalf("a Bcc header came from a contact's name:\n%s", out)
	}
	var apiErr *web.APIError
	if err == nil || !errors.As(err, &apiErr) || apiErr.Status != http.StatusUnprocessableEntity || !strings.Contains(err.Error(), "line break") {
		t.Errorf("render for a name with CRLF: %v (stderr %q); want it refused with 422", err, errs)
	}

	for _, args := range [][]string{
		{"templates", "render", "call-to-action"},
		{"templates", "render", "call-to-action", "--sample", "--email", "ximena@example.net"},
	} {
		if _, _, err := d.cli(args...); err == nil || !strings.Contains(err.Error(), "--email ADDR or --sample") {
			t.Errorf("%v: %v; want a usage error", args, err)
		}
	}
	if _, _, err := d.cli("templates", "render", "nope", "--sample"); !errors.As(err, &apiErr) || apiErr.Status != http.StatusNotFound {
		t.Errorf("render of an unknown template: %v; want 404", err)
	}

	out = d.mustCLI("templates", "list")
	if !regexp.MustCompile(`(?m)^call-to-action +1 +en es fr pt +system \(embedded templates\) `).MatchString(out) || strings.Count(out, "\n") != 6 {
		t.Errorf("templates list:\n%s", out)
	}
}

func TestTemplatesEditThroughAPI(t *testing.T) {
	d := startDaemon(t, "")
	ctx := context.Background()
	cl := d.api()
	var v1 store.TemplateVersion
	if err := cl.JSON(ctx, http.MethodGet, "/api/v1/templates/call-to-action", nil, nil, &v1); err != nil {
		t.Fatal(err)
	}
	if v1.Version != 1 || v1.Files["call-to-action/en.subject"] == "" || v1.Files["_layout.html"] == "" || v1.Files["thank-you/en.txt"] != "" {
		t.Fatalf("GET template: version %d, %d files", v1.Version, len(v1.Files))
	}
	with := func(path, content string) web.TemplateEdit {
		files := map[string]string{}
		for k, v := range v1.Files {
			files[k] = v
		}
		files[path] = content
		return web.TemplateEdit{Files: files}
	}
	for _, tc := range []struct {
		name string
		edit web.TemplateEdit
		want []string
	}{
		{"syntax", with("call-to-action/en.txt", "Dear,\n\nHello {{.Contact.Name}\n"), []string{"call-to-action/en.txt:3: "}},
		{"unknown field", with("call-to-action/en.html", "<p>Dear</p>\n<p>{{.Contact.Organisation}}</p>\n"), []string{"call-to-action/en.html:2: at <.Contact.Organisation>"}},
		{"two problems", with("call-to-action/es.subject", "{{.Nope}}"), []string{"call-to-action/es.subject:1: at <.Nope>"}},
		{"other template", with("thank-you/en.txt", "x"), []string{`thank-you/en.txt: belongs to template "thank-you"`}},
	} {
		var ch service.TemplateChange
		err := cl.JSON(ctx, http.MethodPut, "/api/v1/templates/call-to-action", nil, tc.edit, &ch)
		var apiErr *web.APIError
		if !errors.As(err, &apiErr) || apiErr.Status != http.StatusUnprocessableEntity {
			t.Errorf("%s: PUT = %v; want 422", tc.name, err)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(apiErr.Message, w) {
				t.Errorf("%s: error %q; want it to name %q", tc.name, apiErr.Message, w)
			}
		}
	}

	// Viewers may look but not edit.
	secret := strings.TrimSpace(d.mustCLI("tokens", "create", "--name", "vic", "--role", "viewer"))
	vc := &web.Client{BaseURL: cl.BaseURL, Token: secret}
	var apiErr *web.APIError
	if err := vc.JSON(ctx, http.MethodPut, "/api/v1/templates/call-to-action", nil, with("call-to-action/en.subject", "x"), nil); !errors.As(err, &apiErr) || apiErr.Status != http.StatusForbidden {
		t.Errorf("viewer PUT = %v; want 403", err)
	}
	if err := vc.JSON(ctx, http.MethodPost, "/api/v1/templates/reload", nil, nil, nil); !errors.As(err, &apiErr) || apiErr.Status != http.StatusForbidden {
		t.Errorf("viewer reload = %v; want 403", err)
	}

	// pull, edit, push through the CLI: version 2 by admin; version 1 stays.
	work := t.TempDir()
	if out := d.mustCLI("templates", "pull", "call-to-action", work); !strings.Contains(out, "call-to-action version 1") {
		t.Errorf("pull: %q", out)
	}
	writeFile(t, filepath.Join(work, "call-to-action", "en.subject"), "Join us now\n")
	writeFile(t, filepath.Join(work, "thank-you", "en.txt"), "not sent: another template\n")
	if out := d.mustCLI("templates", "push", "call-to-action", work); out != "call-to-action: version 2 stored\n" {
		t.Errorf("push: %q", out)
	}
	if out := d.mustCLI("templates", "push", "call-to-action", work); out != "call-to-action: unchanged (version 2)\n" {
		t.Errorf("second push: %q", out)
	}
	writeFile(t, filepath.Join(work, "call-to-action", "fr.html"), "<p>{{.Contact.Nom}}</p>\n")
	if _, _, err := d.cli("templates", "push", "call-to-action", work); err == nil || !strings.Contains(err.Error(), "call-to-action/fr.html:1: at <.Contact.Nom>") {
		t.Errorf("push of a broken file: %v", err)
	}
	if p := parseMessage(t, d.mustCLI("templates", "render", "call-to-action", "--sample")); p.subject != "Join us now" {
		t.Errorf("render after the edit: subject %q", p.subject)
	}
	if p := parseMessage(t, d.mustCLI("templates", "render", "call-to-action", "--sample", "--version", "1")); p.subject == "Join us now" {
		t.Error("version 1 has the edited subject")
	}
	var list []service.TemplateInfo
	if err := json.Unmarshal([]byte(d.mustCLI("templates", "list", "--json")), &list); err != nil {
		t.Fatal(err)
	}
	if list[0].Name != "call-to-action" || list[0].Version != 2 || list[0].By != "admin" {
		t.Errorf("list after the edit: %+v", list[0])
	}
	audit := d.mustCLI("audit")
	if !strings.Contains(audit, "template.edit") {
		t.Errorf("audit has no template.edit:\n%s", audit)
	}
}

func TestTemplatesReloadAndSIGHUP(t *testing.T) {
	src := copyShipped(t)
	data := t.TempDir()
	env := "OUTREACH_TEMPLATES_DIR=" + src
	d := startDaemon(t, data, env)
	version := func(name string) (uint64, string) {
		t.Helper()
		var list []service.TemplateInfo
		if err := json.Unmarshal([]byte(d.mustCLI("templates", "list", "--json")), &list); err != nil {
			t.Fatal(err)
		}
		for _, ti := range list {
			if ti.Name == name {
				return ti.Version, ti.By
			}
		}
		t.Fatalf("no template %s in %+v", name, list)
		return 0, ""
	}
	if v, by := version("thank-you"); v != 1 || by != "system ("+src+")" {
		t.Fatalf("thank-you at start: version %d by %q", v, by)
	}

	writeFile(t, filepath.Join(src, "thank-you", "en.subject"), "Thank you, {{.Contact.Organization | default \"friends\"}}\n")
	out := d.mustCLI("templates", "reload")
	if !strings.Contains(out, "thank-you: version 2 (new version)") || !strings.Contains(out, "call-to-action: version 1 (unchanged)") {
		t.Errorf("reload:\n%s", out)
	}

	writeFile(t, filepath.Join(src, "thank-you", "en.txt"), "Dear {{.Contact.Name}},\n\n{{.Contact.Nme}}\n")
	if _, _, err := d.cli("templates", "reload"); err == nil || !strings.Contains(err.Error(), "thank-you/en.txt:3: at <.Contact.Nme>") {
		t.Errorf("reload of a broken source: %v", err)
	}
	if v, _ := version("thank-you"); v != 2 {
		t.Errorf("thank-you after a failed reload: version %d; want 2", v)
	}

	writeFile(t, filepath.Join(src, "thank-you", "en.txt"), "Dear {{.Contact.Name}},\n\nThank you.\n")
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		if v, _ := version("thank-you"); v == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("SIGHUP did not reload the templates:\n%s", d.logs)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// An edit through the API survives a restart with the same source.
	work := t.TempDir()
	d.mustCLI("templates", "pull", "thank-you", work)
	writeFile(t, filepath.Join(work, "thank-you", "en.txt"), "Dear {{.Contact.Name}},\n\nThank you, edited.\n")
	d.mustCLI("templates", "push", "thank-you", work)
	d.stop()
	d = startDaemon(t, data, env)
	if v, by := version("thank-you"); v != 4 || by != "admin" {
		t.Errorf("after a restart: thank-you version %d by %q; want the edit, 4 by admin", v, by)
	}
}

// capturedMail returns the messages the daemon's development mail server
// holds, by recipient.
func capturedMail(t *testing.T, cl *web.Client) map[string][]parsed {
	t.Helper()
	var msgs []struct {
		To  []string `json:"to"`
		Raw string   `json:"raw"`
	}
	if err := cl.JSON(context.Background(), http.MethodGet, "/api/v1/devmail/messages", map[string][]string{"raw": {"true"}}, nil, &msgs); err != nil {
		t.Fatal(err)
	}
	out := map[string][]parsed{}
	for _, m := range msgs {
		for _, to := range m.To {
			out[to] = append(out[to], parseMessage(t, m.Raw))
		}
	}
	return out
}

// waitWaveDone polls until wave id has finished.
func (d *daemonT) waitWaveDone(id string) {
	d.t.Helper()
	for deadline := time.Now().Add(20 * time.Second); ; {
		var w service.WaveView
		if err := json.Unmarshal([]byte(d.mustCLI("waves", "show", id, "--json")), &w); err != nil {
			d.t.Fatal(err)
		}
		if w.State == "done" {
			return
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("wave %s is still %s: %+v", id, w.State, w.Runs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Acceptance 5: editing a template while a wave using it runs changes
// nothing in that wave's remaining messages; a new wave gets the edit.
func TestTemplateEditLeavesRunningWaveAlone(t *testing.T) {
	// One connection at 100 messages/s claims at most 16 deliveries at a
	// time, so most of the wave is still queued when it is paused.
	d := startDaemon(t, "", "OUTREACH_SMTP_CONNECTIONS=1", "OUTREACH_SMTP_RATE=100")
	ctx := context.Background()
	cl := d.api()
	var csv strings.Builder
	csv.WriteString("email,name,organization,kind,country,language\n")
	const first = 60
	for i := range first {
		csv.WriteString("p" + strings.Repeat("x", i%3) + string(rune('a'+i%26)) + string(rune('a'+i/26)) + "@my.example,Partner,Org,partner,MY,en\n")
	}
	for i := range 5 {
		csv.WriteString("q" + string(rune('a'+i)) + "@co.example,Socio,Org,partner,CO,es\n")
	}
	if out, errs, err := d.cliIn(csv.String(), "contacts", "import", "-"); err != nil || !strings.Contains(out, "created 65") {
		t.Fatalf("import: %v\n%s%s", err, out, errs)
	}

	out := d.mustCLI("waves", "add", "--name", "first", "--template", "call-to-action", "--filter", "country = MY", "--at", "now")
	id := regexp.MustCompile(`^wave (\d+) `).FindStringSubmatch(out)
	if id == nil || !strings.Contains(out, "template call-to-action (version 1)") {
		t.Fatalf("waves add: %q", out)
	}
	d.mustCLI("waves", "pause", id[1])

	var v1 store.TemplateVersion
	if err := cl.JSON(ctx, http.MethodGet, "/api/v1/templates/call-to-action", nil, nil, &v1); err != nil {
		t.Fatal(err)
	}
	edit := web.TemplateEdit{Files: v1.Files}
	for p, src := range v1.Files {
		switch {
		case strings.HasPrefix(p, "call-to-action/") && strings.HasSuffix(p, ".subject"):
			edit.Files[p] = "EDITED " + src
		case strings.HasPrefix(p, "call-to-action/") && strings.HasSuffix(p, ".txt"):
			edit.Files[p] = src + "\nEDITED-BODY\n"
		}
	}
	var ch service.TemplateChange
	if err := cl.JSON(ctx, http.MethodPut, "/api/v1/templates/call-to-action", nil, edit, &ch); err != nil || ch.Version != 2 {
		t.Fatalf("edit: %+v, %v", ch, err)
	}
	sentBeforeEdit := 0
	for rcpt, ms := range capturedMail(t, cl) {
		if strings.HasSuffix(rcpt, "@my.example") {
			sentBeforeEdit += len(ms)
		}
	}
	d.mustCLI("waves", "resume", id[1])
	d.waitWaveDone(id[1])

	out = d.mustCLI("waves", "add", "--name", "second", "--template", "call-to-action", "--filter", "country = CO", "--at", "now")
	id2 := regexp.MustCompile(`^wave (\d+) `).FindStringSubmatch(out)
	if id2 == nil || !strings.Contains(out, "template call-to-action (version 2)") {
		t.Fatalf("second waves add: %q", out)
	}
	d.waitWaveDone(id2[1])

	mail := capturedMail(t, cl)
	firstSent, secondSent := 0, 0
	for rcpt, ms := range mail {
		for _, m := range ms {
			edited := strings.HasPrefix(m.subject, "EDITED ") || strings.Contains(m.text, "EDITED-BODY")
			switch {
			case strings.HasSuffix(rcpt, "@my.example"):
				firstSent++
				if edited {
					t.Errorf("a message of the running wave to %s has the edit: %q", rcpt, m.subject)
				}
			case strings.HasSuffix(rcpt, "@co.example"):
				secondSent++
				if !strings.HasPrefix(m.subject, "EDITED Llamado a la acción") || !strings.Contains(m.text, "EDITED-BODY") {
					t.Errorf("a message of the new wave to %s lacks the edit: %q", rcpt, m.subject)
				}
			}
		}
	}
	if firstSent != first || secondSent != 5 {
		t.Errorf("sent %d messages in the first wave and %d in the second; want %d and 5", firstSent, secondSent, first)
	}
	if sentBeforeEdit >= first {
		t.Errorf("all %d messages of the first wave were sent before the edit: the test proved nothing", sentBeforeEdit)
	}
	t.Logf("first wave: %d of %d messages sent before the edit", sentBeforeEdit, first)
}
