package web

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/outreach-coalition/outreach/internal/outreach"
	"github.com/outreach-coalition/outreach/internal/service"
)

// fetch does a request with a token and returns the status and body.
func (f *uiFixture) fetch(t testing.TB, method, path, token string, form url.Values) (int, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, f.ts.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Authorization", "Bearer "+token)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusSeeOther {
		return resp.StatusCode, resp.Header.Get("Location")
	}
	return resp.StatusCode, string(b)
}

func (f *uiFixture) mustGet(t testing.TB, path, token string) string {
	t.Helper()
	code, body := f.fetch(t, "GET", path, token, nil)
	if code != http.StatusOK {
		t.Fatalf("GET %s = %d; want 200\n%s", path, code, body)
	}
	return body
}

// waitWave waits until a wave's latest run is done.
func (f *uiFixture) waitWave(t testing.TB, id uint64) *service.WaveView {
	t.Helper()
	admin := &outreach.Principal{Name: "admin", Role: outreach.RoleAdmin}
	deadline := time.Now().Add(10 * time.Second)
	for {
		v, err := f.svc.Wave(context.Background(), admin, id)
		if err != nil {
			t.Fatal(err)
		}
		if v.State == outreach.WaveDone {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("wave %d is %s after 10s", id, v.State)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestEveryPageRenders(t *testing.T) {
	f := newUIFixture(t)
	ctx := context.Background()
	admin := &outreach.Principal{Name: "admin", Role: outreach.RoleAdmin}
	v, err := f.svc.CreateWave(ctx, admin, service.WaveInput{Name: "First call", Template: "call-to-action", Filter: "kind = partner"})
	if err != nil {
		t.Fatal(err)
	}
	f.waitWave(t, v.ID)
	f.reviewReply(t, "q1@x", "budi@aliran.my.test", "Can we endorse as a network?\n\n> Join the call")
	pages := []struct{ path, want string }{
		{"/", "OP-ICESCR ratification"},
		{"/waves", "First call"},
		{"/waves/new", "call-to-action"},
		{"/waves/1", "5 of 5 done"},
		{"/waves/1?dry=1", "Dry run"},
		{"/log", "ana@rights.my.test"},
		{"/log?wave=1&status=sent", "250"},
		{"/log?domain=aliran.my.test", "budi@aliran.my.test"},
		{"/log?email=ana@rights.my.test", "ana@rights.my.test"},
		{"/log?since=2000-01-01T00:00&until=2100-01-01T00:00", "chen@suaram.my.test"},
		{"/review", "Can we endorse as a network?"},
		{"/endorsements", "Endorsements"},
		{"/contacts", "dela@phrights.ph.test"},
		{"/contacts?filter=country+%3D+PH", "eli@karapatan.ph.test"},
		{"/contacts/ana@rights.my.test", "Rights Watch Malaysia"},
		{"/templates", "call-to-action"},
		{"/templates/call-to-action", "call-to-action/en.subject"},
		{"/letters", "Letters"},
		{"/mail", "ana@rights.my.test"},
		{"/mail/1", "List-Unsubscribe"},
		{"/static/app.css", "--accent"},
		{"/static/app.js", "reviewKeys"},
	}
	for _, p := range pages {
		body := f.mustGet(t, p.path, f.admin)
		if !strings.Contains(body, p.want) {
			t.Errorf("GET %s: no %q in the page", p.path, p.want)
		}
	}
}

// The editor's check: unsaved files come back rendered for the chosen
// contact, or with each problem tied to its file and line.
func TestTemplatePreviewAPI(t *testing.T) {
	f := newUIFixture(t)
	admin := &outreach.Principal{Name: "admin", Role: outreach.RoleAdmin}
	tv, err := f.svc.Template(context.Background(), admin, "call-to-action", 0)
	if err != nil {
		t.Fatal(err)
	}
	post := func(files map[string]string, email string) (int, map[string]any) {
		t.Helper()
		body, _ := json.Marshal(map[string]any{"files": files, "email": email})
		req, _ := http.NewRequest("POST", f.ts.URL+"/api/v1/templates/call-to-action/preview", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+f.coordMY)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, out
	}
	files := maps.Clone(tv.Files)
	files["call-to-action/en.subject"] = "For {{.Contact.Organization}}"
	code, out := post(files, "ana@rights.my.test")
	if code != http.StatusOK || out["subject"] != "For Rights Watch Malaysia" || !strings.Contains(out["text"].(string), "Rights Watch Malaysia") {
		t.Errorf("preview = %d %v; want the subject and text for Rights Watch Malaysia", code, out["subject"])
	}
	files["call-to-action/en.subject"] = "For {{.Contact.Nmae}}"
	code, out = post(files, "ana@rights.my.test")
	probs, _ := out["error"].(map[string]any)["problems"].([]any)
	if code != http.StatusUnprocessableEntity || len(probs) == 0 {
		t.Fatalf("a bad field = %d %v; want 422 with problems", code, out)
	}
	p := probs[0].(map[string]any)
	if p["file"] != "call-to-action/en.subject" || !strings.Contains(p["reason"].(string), "Nmae") {
		t.Errorf("problem = %v; want one in call-to-action/en.subject naming Nmae", p)
	}
	files["call-to-action/en.subject"] = "Fine"
	if code, _ := post(files, "dela@phrights.ph.test"); code != http.StatusNotFound {
		t.Errorf("previewing for a PH contact as a MY coordinator = %d; want 404", code)
	}
}
