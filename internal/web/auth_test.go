package web

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/outreach-coalition/outreach/internal/outreach"
	"github.com/outreach-coalition/outreach/internal/service"
	"github.com/outreach-coalition/outreach/internal/store"
)

func newTestServer(t *testing.T) (*Server, *store.Store, *httptest.Server) {
	t.Helper()
	st, err := store.Open(t.TempDir(), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc := service.New(st, log, nil)
	svc.SignIn.PasswordCost = 4
	s := &Server{Svc: svc, Auth: st, Log: log}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return s, st, ts
}

var pathParam = regexp.MustCompile(`\{[^}]+\}`)

// noRedirect is a client that shows redirects instead of following them.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// call does a request with optional credentials: a token, or a session
// cookie and the CSRF token to send with it. It returns the status and
// the Location or Content-Type header.
func call(t *testing.T, ts *httptest.Server, method, path, token string, cookie *http.Cookie, csrf string) (int, string) {
	t.Helper()
	body := strings.NewReader("{}")
	req, _ := http.NewRequest(method, ts.URL+path, body)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if cookie != nil {
		req.AddCookie(cookie)
	}
	if csrf != "" {
		req.Header.Set("X-CSRF-Token", csrf)
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode == http.StatusSeeOther {
		return resp.StatusCode, resp.Header.Get("Location")
	}
	return resp.StatusCode, resp.Header.Get("Content-Type")
}

// Every route that is not public refuses a request without credentials (401
// JSON for the API; a redirect to the sign-in page for a page) or with a
// bad token (401), and every route above viewer refuses a viewer (403),
// whether the viewer uses a token or a signed-in session with its CSRF
// token. A session's state-changing request without the CSRF token is
// refused (403) whatever the role.
func TestEveryRouteIsGuarded(t *testing.T) {
	s, st, ts := newTestServer(t)
	ctx := context.Background()
	viewerTok, _, err := st.CreateToken(ctx, "v", outreach.RoleViewer, "test")
	if err != nil {
		t.Fatal(err)
	}
	viewerSess, viewerCSRF := signedIn(t, s, "viewer@example.org", outreach.RoleViewer)
	adminSess, _ := signedIn(t, s, "boss@example.org", outreach.RoleAdmin)
	routes := append(s.routes(), s.Extra...)
	if len(routes) < 20 {
		t.Fatalf("only %d routes", len(routes))
	}
	for _, rt := range routes {
		method, pattern, _ := strings.Cut(rt.Pattern, " ")
		path := pathParam.ReplaceAllString(strings.Replace(pattern, "{$}", "", 1), "x")
		if rt.Role == Public {
			continue
		}
		api := strings.HasPrefix(path, "/api/")
		code, hdr := call(t, ts, method, path, "", nil, "")
		switch {
		case api && (code != http.StatusUnauthorized || !strings.HasPrefix(hdr, "application/json")):
			t.Errorf("%s without credentials = %d %s; want 401 JSON", rt.Pattern, code, hdr)
		case !api && (code != http.StatusSeeOther || !strings.HasPrefix(hdr, "/login?next=")):
			t.Errorf("%s without credentials = %d %s; want a redirect to /login", rt.Pattern, code, hdr)
		}
		if code, _ := call(t, ts, method, path, "otk_bad_token", nil, ""); code != http.StatusUnauthorized {
			t.Errorf("%s with a bad token = %d; want 401", rt.Pattern, code)
		}
		if code, _ := call(t, ts, method, path, "", &http.Cookie{Name: sessionCookie, Value: "oss_bad_x"}, ""); code == http.StatusOK || (api && code != http.StatusUnauthorized) {
			t.Errorf("%s with a bad session = %d; want 401 or the sign-in page", rt.Pattern, code)
		}
		if rt.Role != outreach.RoleViewer {
			if code, hdr := call(t, ts, method, path, viewerTok, nil, ""); code != http.StatusForbidden || (api && !strings.HasPrefix(hdr, "application/json")) {
				t.Errorf("%s as a viewer with a token = %d %s; want 403", rt.Pattern, code, hdr)
			}
			if code, _ := call(t, ts, method, path, "", viewerSess, viewerCSRF); code != http.StatusForbidden {
				t.Errorf("%s as a signed-in viewer = %d; want 403", rt.Pattern, code)
			}
		}
		if unsafeMethod(method) {
			if code, _ := call(t, ts, method, path, "", adminSess, ""); code != http.StatusForbidden {
				t.Errorf("%s as a signed-in admin without the CSRF token = %d; want 403", rt.Pattern, code)
			}
		}
	}
	if code, _ := call(t, ts, "GET", "/healthz", "", nil, ""); code != http.StatusOK {
		t.Errorf("/healthz = %d; want 200 without credentials", code)
	}
}
