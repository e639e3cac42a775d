package web

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/outreach-coalition/outreach/internal/outreach"
	"github.com/outreach-coalition/outreach/internal/service"
)

// The public unsubscribe page: GET only asks; a tampered token, or a post
// without the page's confirmation, changes nothing; the page's button and
// a one-click post (RFC 8058) each unsubscribe their own address only.
func TestUnsubscribePage(t *testing.T) {
	ctx := context.Background()
	f := newUIFixture(t)
	admin := &outreach.Principal{Name: "admin", Role: outreach.RoleAdmin}
	v, err := f.svc.CreateWave(ctx, admin, service.WaveInput{Name: "call", Template: "call-to-action", Filter: "kind = partner"})
	if err != nil {
		t.Fatal(err)
	}
	f.waitWave(t, v.ID)
	token := func(email string) string {
		ds, err := f.st.ContactDeliveries(ctx, f.contactID(t, email))
		if err != nil || len(ds) == 0 || ds[0].Token == "" {
			t.Fatalf("deliveries of %s: %v, %v", email, ds, err)
		}
		return ds[0].Token
	}
	do := func(method, tok string, form url.Values) (int, string) {
		t.Helper()
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, _ := http.NewRequest(method, f.ts.URL+"/u/"+url.PathEscape(tok), body)
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	suppressed := func(email string) bool {
		ok, err := f.st.Suppressed(ctx, email)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}

	ana, budi := token("ana@rights.my.test"), token("budi@aliran.my.test")
	if code, page := do("GET", ana, nil); code != http.StatusOK || !strings.Contains(page, "ana@rights.my.test") || !strings.Contains(page, `method="post"`) {
		t.Errorf("GET the page = %d; want the confirmation form for ana@", code)
	}
	if suppressed("ana@rights.my.test") {
		t.Fatal("GET unsubscribed")
	}
	last := ana[len(ana)-1:]
	flip := map[string]string{"A": "B"}[last]
	if flip == "" {
		flip = "A"
	}
	for _, bad := range []string{ana[:len(ana)-1] + flip, ana + "x", "x" + ana, strings.ToUpper(ana), budi[:len(budi)/2] + ana[len(ana)/2:]} {
		if code, _ := do("POST", bad, url.Values{"confirm": {"yes"}}); code != http.StatusNotFound {
			t.Errorf("POST with the tampered token %q = %d; want 404", bad, code)
		}
		if code, _ := do("POST", bad, url.Values{"List-Unsubscribe": {"One-Click"}}); code != http.StatusNotFound {
			t.Errorf("one-click with the tampered token %q = %d; want 404", bad, code)
		}
	}
	if code, _ := do("POST", ana, url.Values{}); code == http.StatusOK {
		t.Errorf("POST without the page's confirmation = %d; want it refused", code)
	}
	if suppressed("ana@rights.my.test") {
		t.Fatal("a tampered token or an unconfirmed post unsubscribed")
	}
	if code, page := do("POST", ana, url.Values{"confirm": {"yes"}}); code != http.StatusOK || !strings.Contains(page, "You are unsubscribed") {
		t.Errorf("the page's button = %d; want the done page", code)
	}
	if code, _ := do("POST", budi, url.Values{"List-Unsubscribe": {"One-Click"}}); code != http.StatusOK {
		t.Errorf("one-click = %d; want 200", code)
	}
	if !suppressed("ana@rights.my.test") || !suppressed("budi@aliran.my.test") || suppressed("chen@suaram.my.test") {
		t.Error("want ana@ and budi@ unsubscribed, and chen@ not")
	}
}
