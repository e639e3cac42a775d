package web

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/outreach-coalition/outreach/internal/outreach"
	"github.com/outreach-coalition/outreach/internal/service"
	"github.com/outreach-coalition/outreach/internal/store"
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

// Form posts: a bad field comes back next to the field with the form's
// values (422); a done action redirects with what was done; a viewer sees
// no action and is refused one with an error page, never JSON.
func TestPageForms(t *testing.T) {
	f := newUIFixture(t)
	ctx := context.Background()
	admin := &outreach.Principal{Name: "admin", Role: outreach.RoleAdmin}

	code, body := f.fetch(t, "POST", "/contacts/ana@rights.my.test", f.coordMY, url.Values{"name": {"Ana L."}, "country": {"XX"}, "kind": {"partner"}})
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, `id="e-country"`) || !strings.Contains(body, `value="Ana L."`) {
		t.Errorf("a bad country = %d; want 422 with the error next to the field and the values kept", code)
	}
	code, loc := f.fetch(t, "POST", "/contacts/ana@rights.my.test", f.coordMY, url.Values{"name": {"Ana L."}, "country": {"MY"}, "kind": {"partner"}, "tags": {"board, media"}})
	if code != http.StatusSeeOther || !strings.Contains(loc, "done=Contact+saved") {
		t.Fatalf("a good edit = %d %s; want 303 with done", code, loc)
	}
	if c, _ := f.st.Contact(ctx, "ana@rights.my.test"); c.Name != "Ana L." || len(c.Tags) != 2 {
		t.Errorf("contact after the edit: %+v", c)
	}
	if code, _ := f.fetch(t, "POST", "/contacts/dela@phrights.ph.test", f.coordMY, url.Values{"name": {"X"}}); code != http.StatusNotFound {
		t.Errorf("a MY coordinator editing a PH contact = %d; want 404", code)
	}
	if code, loc := f.fetch(t, "POST", "/contacts/budi@aliran.my.test/suppress", f.coordMY, url.Values{}); code != http.StatusSeeOther || !strings.Contains(loc, "suppressed") {
		t.Errorf("suppress = %d %s", code, loc)
	}
	if ok, _ := f.st.Suppressed(ctx, "budi@aliran.my.test"); !ok {
		t.Error("the address is not suppressed")
	}
	if body := f.mustGet(t, "/contacts/budi@aliran.my.test", f.coordMY); !strings.Contains(body, `id="suppressed"`) || strings.Contains(body, `id="forget"`) {
		t.Error("the contact page does not show the suppression, or offers a coordinator to forget")
	}

	// A wave due tomorrow can be paused, resumed and cancelled.
	tomorrow := time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339)
	code, loc = f.fetch(t, "POST", "/waves/new", f.coordMY, url.Values{"name": {"Tomorrow"}, "template": {"call-to-action"}, "filter": {"country = MY"}, "at": {tomorrow}})
	if code != http.StatusSeeOther || !strings.HasPrefix(loc, "/waves/") {
		t.Fatalf("create = %d %s", code, loc)
	}
	wave := strings.SplitN(strings.TrimPrefix(loc, "/waves/"), "?", 2)[0]
	body = f.mustGet(t, "/waves/"+wave, f.coordMY)
	if !strings.Contains(body, `id="pause"`) || !strings.Contains(body, ">scheduled<") {
		t.Error("a scheduled wave's page offers no pause")
	}
	for _, step := range []struct{ action, want string }{{"pause", "paused"}, {"resume", "resumed"}, {"cancel", "cancelled"}} {
		code, loc := f.fetch(t, "POST", "/waves/"+wave+"/"+step.action, f.coordMY, url.Values{"reason": {"checking"}})
		if code != http.StatusSeeOther || !strings.Contains(loc, step.want) {
			t.Errorf("%s = %d %s; want 303 saying %s", step.action, code, loc, step.want)
		}
	}
	if code, loc := f.fetch(t, "POST", "/waves/"+wave+"/cancel", f.coordMY, url.Values{}); code != http.StatusSeeOther || !strings.Contains(loc, "already+cancelled") {
		t.Errorf("cancel twice = %d %s; want the conflict said on the page", code, loc)
	}
	code, body = f.fetch(t, "POST", "/waves/new", f.coordMY, url.Values{"name": {"Bad"}, "template": {"call-to-action"}, "filter": {"country in ("}})
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, `id="e-filter"`) || !strings.Contains(body, `value="country in ("`) {
		t.Errorf("a bad filter = %d; want 422 with the error next to the filter", code)
	}
	code, body = f.fetch(t, "POST", "/waves/new", f.coordMY, url.Values{"name": {"Preview"}, "template": {"call-to-action"}, "filter": {"country = MY"}, "action": {"preview"}})
	// budi is suppressed and the prime minister is a target: two remain.
	if code != http.StatusOK || !strings.Contains(body, "Dry run: 2 recipients") || !strings.Contains(body, "chen@suaram.my.test") {
		t.Errorf("a dry run = %d; want its 2 recipients listed", code)
	}
	if ws, _ := f.svc.Waves(ctx, admin); len(ws) != 1 {
		t.Errorf("%d waves after a dry run and a bad form; want only the one created", len(ws))
	}

	// A viewer reads but cannot act.
	body = f.mustGet(t, "/waves/"+wave, f.viewer)
	if strings.Contains(body, `action="/waves/`+wave+`/`) || strings.Contains(body, `id="new-wave"`) {
		t.Error("a viewer is offered wave actions")
	}
	code, body = f.fetch(t, "GET", "/waves/new", f.viewer, nil)
	if code != http.StatusForbidden || !strings.Contains(body, `id="error-message"`) {
		t.Errorf("a viewer's /waves/new = %d; want 403 as a page", code)
	}
	if body := f.mustGet(t, "/templates/call-to-action", f.viewer); !strings.Contains(body, "readonly") || strings.Contains(body, `id="save-template"`) {
		t.Error("a viewer's template page is editable")
	}
	// A coordinator scoped to a country may preview but not save a
	// template (shared by every country): no Save button, a word why.
	if body := f.mustGet(t, "/templates/call-to-action", f.coordMY); strings.Contains(body, `id="save-template"`) || !strings.Contains(body, `id="save-scoped"`) {
		t.Error("a scoped coordinator's template page offers Save, or does not say why it cannot")
	}
	if body := f.mustGet(t, "/templates/call-to-action", f.admin); !strings.Contains(body, `id="save-template"`) {
		t.Error("an admin's template page offers no Save")
	}

	// A letter: its preview shows the roster and targets; sending it
	// records the frozen roster.
	id := f.reviewReply(t, "e1", "chen@suaram.my.test", "Suaram endorses.")
	if _, err := f.svc.Review(ctx, admin, id, service.ReviewReclassify, service.ReviewInput{Class: outreach.ClassEndorse}); err != nil {
		t.Fatal(err)
	}
	lv, err := f.svc.CreateLetter(ctx, admin, service.LetterInput{Template: "letter", Targets: "kind = head_of_state"})
	if err != nil {
		t.Fatal(err)
	}
	lp := "/letters/" + strconv.FormatUint(lv.ID, 10) + "/MY"
	body = f.mustGet(t, lp, f.coordMY)
	if !strings.Contains(body, "Suaram") || !strings.Contains(body, "pm@gov.my.test") || !strings.Contains(body, `id="send-letter"`) {
		t.Error("the letter preview lacks its roster, its target or the send button")
	}
	if code, loc := f.fetch(t, "POST", lp+"/send", f.coordMY, url.Values{}); code != http.StatusSeeOther || !strings.Contains(loc, "Letter+sent+to+1+targets") {
		t.Fatalf("send = %d %s", code, loc)
	}
	if body := f.mustGet(t, "/letters", f.coordMY); !strings.Contains(body, "1 names") || !strings.Contains(body, "<li>Suaram</li>") {
		t.Error("the letters page does not show the frozen roster of the letter sent")
	}
	if code, loc := f.fetch(t, "POST", lp+"/send", f.coordMY, url.Values{}); code != http.StatusSeeOther || !strings.Contains(loc, "Not+sent") {
		t.Errorf("a second send = %d %s; want it refused on the page", code, loc)
	}
	if code, _ := f.fetch(t, "GET", "/letters/"+strconv.FormatUint(lv.ID, 10)+"/PH", f.coordMY, nil); code != http.StatusNotFound {
		t.Errorf("a MY coordinator's PH letter = %d; want 404", code)
	}
}

// A reply matched to no contact is approved by saying whose it is.
func TestReviewUnmatchedReply(t *testing.T) {
	f := newUIFixture(t)
	ctx := context.Background()
	rec, err := f.st.RecordReply(ctx, &store.Incoming{Key: "u1", Reply: outreach.Reply{MessageID: "u1", From: "director@aliran-mail.test",
		Subject: "Re: Join the call", Class: outreach.ClassOther, Review: true, Text: "Aliran supports the letter.", Reason: "unknown sender", Match: outreach.MatchNone}})
	if err != nil {
		t.Fatal(err)
	}
	id := strconv.FormatUint(rec.Reply.ID, 10)
	body := f.mustGet(t, "/review", f.admin)
	if !strings.Contains(body, `id="email-`+id+`"`) {
		t.Fatal("the review form of an unmatched reply asks for no contact")
	}
	code, loc := f.fetch(t, "POST", "/review/"+id, f.admin, url.Values{"class": {"endorse"}, "name": {"Aliran"}, "email": {"director@aliran-mail.test"}})
	if code != http.StatusSeeOther || !strings.Contains(loc, "not+changed") {
		t.Errorf("approving with an unknown address = %d %s; want it refused on the page", code, loc)
	}
	code, loc = f.fetch(t, "POST", "/review/"+id, f.admin, url.Values{"class": {"endorse"}, "name": {"Aliran"}, "email": {"budi@aliran.my.test"}})
	if code != http.StatusSeeOther || !strings.Contains(loc, "approved") {
		t.Fatalf("approving for budi = %d %s", code, loc)
	}
	es, err := f.st.Endorsements(ctx, store.EndorsementFilter{ContactID: f.contactID(t, "budi@aliran.my.test")})
	if err != nil || len(es) != 1 || es[0].PrintName != "Aliran" || es[0].State != outreach.EndorsementConfirmed {
		t.Errorf("budi's endorsements: %+v %v; want one confirmed as Aliran", es, err)
	}
}

// An address may hold "/", "?" and "#" (RFC 5322 atext): the contact
// page's forms and the links to it escape it as one path segment, so that
// they reach that contact (unescaped, they aimed at no route or at
// another path).
func TestContactLinksEscapeTheAddress(t *testing.T) {
	f := newUIFixture(t)
	ctx := context.Background()
	admin := &outreach.Principal{Name: "admin", Role: outreach.RoleAdmin}
	const odd = "o/b?c#d@rights.my.test"
	if _, err := f.svc.ImportContacts(ctx, admin, strings.NewReader("email,name,kind,country\n"+odd+",Odd,partner,MY\n"), false); err != nil {
		t.Fatal(err)
	}
	escaped := url.PathEscape(odd)
	page := f.mustGet(t, "/contacts/"+escaped, f.admin)
	for _, want := range []string{`action="/contacts/` + escaped + `"`, `action="/contacts/` + escaped + `/suppress"`, `action="/contacts/` + escaped + `/forget"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the contact page of %s has no %s", odd, want)
		}
	}
	if list := f.mustGet(t, "/contacts?filter=name+%3D+Odd", f.admin); !strings.Contains(list, `href="/contacts/`+escaped+`"`) {
		t.Errorf("the contacts list does not link to %s escaped", odd)
	}
	if code, loc := f.fetch(t, "POST", "/contacts/"+escaped+"/suppress", f.admin, url.Values{}); code != http.StatusSeeOther {
		t.Fatalf("suppress = %d %s", code, loc)
	}
	if ok, err := f.st.Suppressed(ctx, odd); err != nil || !ok {
		t.Errorf("%s after its Suppress button: suppressed %t, %v", odd, ok, err)
	}
}
