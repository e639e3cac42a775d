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
	s := &Server{Svc: service.New(st, log, nil), Auth: st, Log: log}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return s, st, ts
}

var pathParam = regexp.MustCompile(`\{[^}]+\}`)

func do(t *testing.T, ts *httptest.Server, method, path, token string) int {
	t.Helper()
	req, _ := http.NewRequest(method, ts.URL+path, strings.NewReader("{}"))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode >= 400 && !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s %s: error with content type %q; want JSON", method, path, ct)
	}
	return resp.StatusCode
}

// Every route that is not public answers 401 without a valid token, and
// every route above viewer answers 403 to a viewer.
func TestEveryRouteIsGuarded(t *testing.T) {
	s, st, ts := newTestServer(t)
	viewerTok, _, err := st.CreateToken(context.Background(), "v", outreach.RoleViewer, "test")
	if err != nil {
		t.Fatal(err)
	}
	routes := append(s.routes(), s.Extra...)
	if len(routes) < 20 {
		t.Fatalf("only %d routes", len(routes))
	}
	for _, rt := range routes {
		method, pattern, _ := strings.Cut(rt.Pattern, " ")
		path := pathParam.ReplaceAllString(strings.TrimSuffix(pattern, "{$}"), "x")
		if rt.Role == Public {
			continue
		}
		if got := do(t, ts, method, path, ""); got != http.StatusUnauthorized {
			t.Errorf("%s without token = %d; want 401", rt.Pattern, got)
		}
		if got := do(t, ts, method, path, "otk_bad_token"); got != http.StatusUnauthorized {
			t.Errorf("%s with a bad token = %d; want 401", rt.Pattern, got)
		}
		if rt.Role != outreach.RoleViewer {
			if got := do(t, ts, method, path, viewerTok); got != http.StatusForbidden {
				t.Errorf("%s as viewer = %d; want 403", rt.Pattern, got)
			}
		}
	}
	if got := do(t, ts, "GET", "/healthz", ""); got != http.StatusOK {
		t.Errorf("/healthz = %d; want 200 without a token", got)
	}
}
