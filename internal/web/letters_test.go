package web

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/outreach-coalition/outreach/internal/outreach"
	"github.com/outreach-coalition/outreach/internal/store"
)

func TestLetterRoutes(t *testing.T) {
	ctx := context.Background()
	_, st, ts := newTestServer(t)
	if _, err := st.EnsureDefaultCampaign(ctx, &outreach.Campaign{Name: "C", From: "c@example.test", ReplyTo: "c@example.test", DefaultLanguage: "en"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.SaveTemplate(ctx, "letter", map[string]string{
		"letter/en.subject": "Letter to {{.Contact.Country}}",
		"letter/en.txt":     "{{range .Endorsers}}- {{.Name}}\n{{end}}",
		"letter/en.html":    "<ul>{{range .Endorsers}}<li>{{.Name}}</li>{{end}}</ul>",
	}, "test"); err != nil {
		t.Fatal(err)
	}
	err := st.ImportContacts(ctx, func(put store.PutFunc) error {
		for _, c := range []outreach.Contact{
			{Email: "pm@gov.my.test", Kind: outreach.KindHeadOfState, Country: "MY"},
			{Email: "a@alpha.test", Organization: "Alpha <Network>", Kind: outreach.KindPartner, Country: "MY"},
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
	a, _ := st.Contact(ctx, "a@alpha.test")
	if _, err := st.AddEndorsement(ctx, &outreach.Endorsement{CampaignID: 1, ContactID: a.ID, Email: a.Email, Organization: a.Organization,
		PrintName: a.Organization, Country: "MY", State: outreach.EndorsementConfirmed, Source: "manual"}, "test", nil); err != nil {
		t.Fatal(err)
	}
	admin, _, _ := st.CreateToken(ctx, "root", outreach.RoleAdmin, "test")
	viewer, _, _ := st.CreateToken(ctx, "v", outreach.RoleViewer, "test")
	cl := &Client{BaseURL: ts.URL, Token: admin}
	if err := cl.JSON(ctx, http.MethodPost, "/api/v1/letters", nil, map[string]any{"template": "letter", "targets": "country = MY"}, nil); err != nil {
		t.Fatal(err)
	}

	get := func(path, token string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, ts.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	resp, body := get("/api/v1/letters/latest/export?country=MY&format=csv", viewer)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/csv; charset=utf-8" ||
		resp.Header.Get("Content-Disposition") != `attachment; filename="letter-1-MY.csv"` || body != "name,organization,country\nAlpha <Network>,Alpha <Network>,MY\n" {
		t.Errorf("CSV export: %d %v\n%s", resp.StatusCode, resp.Header, body)
	}
	if resp, body = get("/api/v1/letters/1/export?country=MY&format=html", viewer); !strings.Contains(body, "<li>Alpha &lt;Network&gt;</li>") {
		t.Errorf("HTML export: %d\n%s", resp.StatusCode, body)
	}
	for path, want := range map[string]int{
		"/api/v1/letters/x": http.StatusUnprocessableEntity,
		"/api/v1/letters/0": http.StatusUnprocessableEntity,
		"/api/v1/letters/9": http.StatusNotFound,
		"/api/v1/letters/1/export?country=MY&format=pdf":    http.StatusUnprocessableEntity,
		"/api/v1/letters/1/export?country=MY&as_sent=maybe": http.StatusUnprocessableEntity,
		"/api/v1/letters/1/preview?country=ZZ":              http.StatusUnprocessableEntity,
		"/api/v1/letters/1/preview?country=MY":              http.StatusOK,
	} {
		if resp, body := get(path, viewer); resp.StatusCode != want {
			t.Errorf("GET %s = %d; want %d\n%s", path, resp.StatusCode, want, body)
		}
	}
	vc := &Client{BaseURL: ts.URL, Token: viewer}
	err = vc.JSON(ctx, http.MethodPost, "/api/v1/letters/1/send", nil, map[string]any{"country": "MY"}, nil)
	if e, ok := err.(*APIError); !ok || e.Status != http.StatusForbidden {
		t.Errorf("send as a viewer = %v; want 403", err)
	}
	err = cl.JSON(ctx, http.MethodPost, "/api/v1/letters/1/send", nil, map[string]any{"country": "MY", "bogus": 1}, nil)
	if e, ok := err.(*APIError); !ok || e.Status != http.StatusUnprocessableEntity {
		t.Errorf("send with an unknown field = %v; want 422", err)
	}
}
