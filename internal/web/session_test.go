package web

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/outreach-coalition/outreach/internal/outreach"
	"github.com/outreach-coalition/outreach/internal/service"
	"github.com/outreach-coalition/outreach/internal/store"
)

const testPassword = "correct horse battery"

// signedIn adds a user with testPassword and signs it in through the
// service; it returns the session cookie and the session's CSRF token.
func signedIn(t *testing.T, s *Server, name, role string) (*http.Cookie, string) {
	t.Helper()
	ctx := context.Background()
	admin := &outreach.Principal{Name: "admin", Role: outreach.RoleAdmin}
	if _, _, err := s.Svc.AddUser(ctx, admin, service.UserInput{Name: name, Role: role, Password: testPassword}); err != nil {
		t.Fatal(err)
	}
	res, err := s.Svc.Login(ctx, name, testPassword, "192.0.2.1", "test")
	if err != nil {
		t.Fatal(err)
	}
	return &http.Cookie{Name: sessionCookie, Value: res.Secret}, csrfFor(res.Secret)
}

// clock is a settable clock for the service.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// client is a client with a cookie jar that does not follow redirects.
type client struct {
	t    *testing.T
	ts   *httptest.Server
	c    *http.Client
	jar  map[string]*http.Cookie
	addr string // X-Forwarded-For, when set
}

func newClient(t *testing.T, ts *httptest.Server) *client {
	return &client{t: t, ts: ts, c: noRedirect, jar: map[string]*http.Cookie{}}
}

type answer struct {
	code int
	hdr  http.Header
	body string
	set  map[string]*http.Cookie
}

func (b *client) do(method, path string, form url.Values, hdr map[string]string) answer {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, b.ts.URL+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	if b.addr != "" {
		req.Header.Set("X-Forwarded-For", b.addr)
	}
	for _, c := range b.jar {
		req.AddCookie(c)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	a := answer{code: resp.StatusCode, hdr: resp.Header, body: string(data), set: map[string]*http.Cookie{}}
	for _, c := range resp.Cookies() {
		a.set[c.Name] = c
		if c.MaxAge < 0 {
			delete(b.jar, c.Name)
		} else {
			b.jar[c.Name] = c
		}
	}
	return a
}

var hiddenCSRF = regexp.MustCompile(`name="csrf" value="([^"]*)"`)

// login fetches the sign-in form and posts it.
func (b *client) login(name, password string) answer {
	b.t.Helper()
	page := b.do("GET", "/login?next=/waves", nil, nil)
	m := hiddenCSRF.FindStringSubmatch(page.body)
	if page.code != http.StatusOK || m == nil {
		b.t.Fatalf("GET /login = %d without a form token:\n%s", page.code, page.body)
	}
	return b.do("POST", "/login", url.Values{"name": {name}, "password": {password}, "csrf": {m[1]}, "next": {"/waves"}}, nil)
}

func newSessionServer(t *testing.T) (*Server, *clock, *httptest.Server) {
	s, _, ts := newTestServer(t)
	clk := &clock{t: time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)}
	s.Svc.Now = clk.Now
	return s, clk, ts
}

func TestSignInSetsAGuardedCookieAndLogoutEndsIt(t *testing.T) {
	s, _, ts := newSessionServer(t)
	admin := &outreach.Principal{Name: "admin", Role: outreach.RoleAdmin}
	if _, _, err := s.Svc.AddUser(context.Background(), admin, service.UserInput{Name: "ana@example.org", Role: outreach.RoleCoordinator, Countries: []string{"MY"}, Password: testPassword}); err != nil {
		t.Fatal(err)
	}
	b := newClient(t, ts)
	if a := b.do("GET", "/waves", nil, nil); a.code != http.StatusSeeOther || a.hdr.Get("Location") != "/login?next=%2Fwaves" {
		t.Fatalf("GET /waves signed out = %d %s; want a redirect to sign in", a.code, a.hdr.Get("Location"))
	}
	a := b.login("Ana@Example.org", testPassword)
	if a.code != http.StatusSeeOther || a.hdr.Get("Location") != "/waves" {
		t.Fatalf("sign-in = %d %s; want 303 to /waves\n%s", a.code, a.hdr.Get("Location"), a.body)
	}
	c := a.set[sessionCookie]
	if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Secure || c.Expires.IsZero() {
		t.Fatalf("session cookie = %+v; want HttpOnly, SameSite=Lax, Path=/, an expiry, not Secure over http", c)
	}
	if !strings.HasPrefix(c.Value, "oss_") {
		t.Errorf("cookie value %q", c.Value)
	}
	if a := b.do("GET", "/api/v1/status", nil, nil); a.code != http.StatusOK || !strings.Contains(a.body, `"countries": [`) {
		t.Errorf("status with the session = %d %s", a.code, a.body)
	}

	// A form post without the CSRF token is refused; with it, it passes.
	if a := b.do("POST", "/api/v1/segments", nil, map[string]string{"Content-Type": "application/json"}); a.code != http.StatusForbidden || !strings.Contains(a.body, "CSRF") {
		t.Errorf("post without a CSRF token = %d %s; want 403", a.code, a.body)
	}
	form := url.Values{"csrf": {"wrong"}}
	if a := b.do("POST", "/logout", form, nil); a.code != http.StatusForbidden {
		t.Errorf("logout with a wrong CSRF token = %d; want 403", a.code)
	}
	csrf := csrfFor(c.Value)
	seg := `{"name":"my-partners","filter":"kind = partner"}`
	req, _ := http.NewRequest("POST", ts.URL+"/api/v1/segments", strings.NewReader(seg))
	req.AddCookie(c)
	req.Header.Set("X-CSRF-Token", csrf)
	// The token lets the request through to the service, which refuses a
	// shared segment to a coordinator scoped to MY.
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || strings.Contains(string(body), "CSRF") || !strings.Contains(string(body), "every country") {
		t.Fatalf("post with the CSRF header = %d %s; want the service's refusal of a shared segment to a scoped coordinator", resp.StatusCode, body)
	}
	page := b.do("GET", "/waves", nil, nil)
	if page.code != http.StatusOK || !strings.Contains(page.body, `name="csrf-token" content="`+csrf+`"`) || !strings.Contains(page.body, "ana@example.org") {
		t.Errorf("the page does not carry the session's CSRF token or user:\n%s", page.body)
	}

	a = b.do("POST", "/logout", url.Values{"csrf": {csrf}}, nil)
	if a.code != http.StatusSeeOther || a.set[sessionCookie] == nil || a.set[sessionCookie].MaxAge >= 0 {
		t.Fatalf("logout = %d %+v; want a redirect that deletes the cookie", a.code, a.set[sessionCookie])
	}
	b.jar[sessionCookie] = c
	if a := b.do("GET", "/api/v1/status", nil, nil); a.code != http.StatusUnauthorized {
		t.Errorf("the old cookie after logout = %d; want 401", a.code)
	}
	// Another site's form posts without the cookie: it deletes nothing.
	if a := newClient(t, ts).do("POST", "/logout", url.Values{}, nil); a.code != http.StatusSeeOther || a.set[sessionCookie] != nil {
		t.Errorf("logout without a cookie = %d, cookie %+v; want a redirect that leaves the cookie alone", a.code, a.set[sessionCookie])
	}
	entries, _ := s.Svc.Store.AuditLog(context.Background(), "ana@example.org", time.Time{}, 100)
	var actions []string
	for _, e := range entries {
		actions = append(actions, e.Action)
	}
	if got := strings.Join(actions, " "); got != "session.login session.logout" {
		t.Errorf("ana's audit trail = %q", got)
	}
}

func TestSecureCookies(t *testing.T) {
	s, _, ts := newSessionServer(t)
	admin := &outreach.Principal{Name: "admin", Role: outreach.RoleAdmin}
	s.Svc.AddUser(context.Background(), admin, service.UserInput{Name: "ana@example.org", Role: outreach.RoleViewer, Password: testPassword})
	proxy := newClient(t, ts)
	if c := proxy.login("ana@example.org", testPassword).set[sessionCookie]; c == nil || c.Secure {
		t.Fatalf("cookie from an untrusted X-Forwarded-Proto = %+v; want not Secure", c)
	}
	s.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	b := newClient(t, ts)
	page := b.do("GET", "/login", nil, map[string]string{"X-Forwarded-Proto": "https"})
	m := hiddenCSRF.FindStringSubmatch(page.body)
	a := b.do("POST", "/login", url.Values{"name": {"ana@example.org"}, "password": {testPassword}, "csrf": {m[1]}}, map[string]string{"X-Forwarded-Proto": "https"})
	if c := a.set[sessionCookie]; c == nil || !c.Secure {
		t.Errorf("cookie behind a trusted https proxy = %+v; want Secure", c)
	}
	s.TrustedProxies = nil
	s.SecureCookies = true
	if c := newClient(t, ts).login("ana@example.org", testPassword).set[sessionCookie]; c == nil || !c.Secure {
		t.Errorf("cookie with an https public URL = %+v; want Secure", c)
	}
}

func TestSignInFormNeedsItsToken(t *testing.T) {
	s, _, ts := newSessionServer(t)
	admin := &outreach.Principal{Name: "admin", Role: outreach.RoleAdmin}
	s.Svc.AddUser(context.Background(), admin, service.UserInput{Name: "ana@example.org", Role: outreach.RoleViewer, Password: testPassword})
	b := newClient(t, ts)
	b.do("GET", "/login", nil, nil)
	a := b.do("POST", "/login", url.Values{"name": {"ana@example.org"}, "password": {testPassword}, "csrf": {"forged"}}, nil)
	if a.code != http.StatusForbidden || a.set[sessionCookie] != nil {
		t.Errorf("sign-in with a forged form token = %d, cookie %v; want 403 and no session", a.code, a.set[sessionCookie])
	}
	for _, next := range []string{"//evil.example/", "https://evil.example/", "/\\evil.example", "/./\\evil.example", "/a/../\\evil.example", "/\t/evil.example", "/\n/evil.example"} {
		b := newClient(t, ts)
		page := b.do("GET", "/login?next="+url.QueryEscape(next), nil, nil)
		m := hiddenCSRF.FindStringSubmatch(page.body)
		a := b.do("POST", "/login", url.Values{"name": {"ana@example.org"}, "password": {testPassword}, "csrf": {m[1]}, "next": {next}}, nil)
		if loc := a.hdr.Get("Location"); loc != "/" {
			t.Errorf("sign-in with next=%q went to %q; want /", next, loc)
		}
	}
}

// After ten failed sign-ins for one account the next attempt gets 429
// with Retry-After, even with the right password; the lockout passes with
// the (injected) clock and grows with further failures. Ten failures from
// one address over several accounts lock that address out too.
func TestFailedSignInsAreThrottled(t *testing.T) {
	s, clk, ts := newSessionServer(t)
	s.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	admin := &outreach.Principal{Name: "admin", Role: outreach.RoleAdmin}
	for _, n := range []string{"ana@example.org", "ben@example.org"} {
		s.Svc.AddUser(context.Background(), admin, service.UserInput{Name: n, Role: outreach.RoleViewer, Password: testPassword})
	}
	b := newClient(t, ts)
	for i := 0; i < 10; i++ {
		b.addr = "198.51.100." + strconv.Itoa(i+1) // a different address each time: the account counts
		if a := b.login("ana@example.org", "wrong password"); a.code != http.StatusUnauthorized || !strings.Contains(a.body, "wrong user name or password") {
			t.Fatalf("failure %d = %d; want 401 with the form", i+1, a.code)
		}
	}
	b.addr = "198.51.100.99"
	a := b.login("ana@example.org", testPassword)
	if a.code != http.StatusTooManyRequests || a.hdr.Get("Retry-After") != "60" || a.set[sessionCookie] != nil {
		t.Fatalf("11th attempt = %d Retry-After %q; want 429 with Retry-After 60 and no session", a.code, a.hdr.Get("Retry-After"))
	}
	clk.Add(30 * time.Second)
	if a := b.login("ana@example.org", testPassword); a.code != http.StatusTooManyRequests || a.hdr.Get("Retry-After") != "30" {
		t.Errorf("30s later = %d Retry-After %q; want 429, 30", a.code, a.hdr.Get("Retry-After"))
	}
	ben := newClient(t, ts)
	ben.addr = b.addr
	if a := ben.login("ben@example.org", testPassword); a.code != http.StatusSeeOther {
		t.Errorf("another account meanwhile = %d; want 303", a.code)
	}
	clk.Add(31 * time.Second)
	if a := b.login("ana@example.org", "wrong again"); a.code != http.StatusUnauthorized {
		t.Errorf("after the lockout = %d; want 401", a.code)
	}
	if a := b.login("ana@example.org", testPassword); a.code != http.StatusTooManyRequests || a.hdr.Get("Retry-After") != "120" {
		t.Errorf("after an 11th failure = %d Retry-After %q; want 429, 120", a.code, a.hdr.Get("Retry-After"))
	}
	clk.Add(2 * time.Minute)
	if a := b.login("ana@example.org", testPassword); a.code != http.StatusSeeOther {
		t.Errorf("after the second lockout with the right password = %d; want 303", a.code)
	}

	b = newClient(t, ts)
	b.addr = "203.0.113.7"
	for i := 0; i < 10; i++ {
		name := "user" + strconv.Itoa(i) + "@example.org"
		s.Svc.AddUser(context.Background(), admin, service.UserInput{Name: name, Role: outreach.RoleViewer, Password: testPassword})
		b.login(name, "guess")
	}
	if a := b.login("ben@example.org", testPassword); a.code != http.StatusTooManyRequests || a.hdr.Get("Retry-After") == "" {
		t.Errorf("after ten failures from one address = %d; want 429", a.code)
	}
	b = newClient(t, ts)
	b.addr = "203.0.113.8"
	if a := b.login("ben@example.org", testPassword); a.code != http.StatusSeeOther {
		t.Errorf("from another address = %d; want 303", a.code)
	}
}

func TestSessionsExpireAndCanBeRevoked(t *testing.T) {
	s, clk, ts := newSessionServer(t)
	cookie, _ := signedIn(t, s, "ana@example.org", outreach.RoleViewer)
	b := newClient(t, ts)
	b.jar[sessionCookie] = cookie
	for i := 0; i < 7; i++ {
		clk.Add(90 * time.Minute)
		if a := b.do("GET", "/api/v1/status", nil, nil); a.code != http.StatusOK {
			t.Fatalf("after %v of use = %d; want 200", time.Duration(i+1)*90*time.Minute, a.code)
		}
	}
	clk.Add(90 * time.Minute) // the 12h lifetime is over, however busy
	if a := b.do("GET", "/api/v1/status", nil, nil); a.code != http.StatusUnauthorized {
		t.Errorf("after 12h = %d; want 401", a.code)
	}
	if a := b.do("GET", "/waves", nil, nil); a.code != http.StatusSeeOther || !strings.HasPrefix(a.hdr.Get("Location"), "/login") {
		t.Errorf("a page after expiry = %d; want the sign-in page", a.code)
	}

	cookie, _ = signedIn(t, s, "ben@example.org", outreach.RoleViewer)
	b.jar[sessionCookie] = cookie
	clk.Add(2*time.Hour + time.Second)
	if a := b.do("GET", "/api/v1/status", nil, nil); a.code != http.StatusUnauthorized {
		t.Errorf("after 2h idle = %d; want 401", a.code)
	}

	cookie, _ = signedIn(t, s, "cat@example.org", outreach.RoleViewer)
	b.jar[sessionCookie] = cookie
	admin := &outreach.Principal{Name: "admin", Role: outreach.RoleAdmin}
	list, _ := s.Svc.Sessions(context.Background(), admin, "cat@example.org")
	if len(list) != 1 {
		t.Fatalf("cat's sessions: %+v", list)
	}
	if err := s.Svc.RevokeSession(context.Background(), admin, list[0].ID); err != nil {
		t.Fatal(err)
	}
	if a := b.do("GET", "/api/v1/status", nil, nil); a.code != http.StatusUnauthorized {
		t.Errorf("a revoked session = %d; want 401", a.code)
	}
	cookie, _ = signedIn(t, s, "dan@example.org", outreach.RoleViewer)
	b.jar[sessionCookie] = cookie
	yes := true
	if _, err := s.Svc.UpdateUser(context.Background(), admin, "dan@example.org", store.UserPatch{Disabled: &yes}); err != nil {
		t.Fatal(err)
	}
	if a := b.do("GET", "/api/v1/status", nil, nil); a.code != http.StatusUnauthorized {
		t.Errorf("the session of a disabled user = %d; want 401", a.code)
	}
}

// A one-time password signs in once, and that session can do nothing but
// set a password.
func TestOneTimePasswordSession(t *testing.T) {
	s, _, ts := newSessionServer(t)
	admin := &outreach.Principal{Name: "admin", Role: outreach.RoleAdmin}
	_, otp, err := s.Svc.AddUser(context.Background(), admin, service.UserInput{Name: "ana@example.org", Role: outreach.RoleCoordinator})
	if err != nil || otp == "" {
		t.Fatalf("AddUser = %q, %v", otp, err)
	}
	b := newClient(t, ts)
	a := b.login("ana@example.org", otp)
	if a.code != http.StatusSeeOther || a.hdr.Get("Location") != "/password?next=%2Fwaves" {
		t.Fatalf("one-time sign-in = %d %s; want the password page", a.code, a.hdr.Get("Location"))
	}
	if a := b.do("GET", "/waves", nil, nil); a.code != http.StatusSeeOther || !strings.HasPrefix(a.hdr.Get("Location"), "/password") {
		t.Errorf("a page before setting a password = %d %s", a.code, a.hdr.Get("Location"))
	}
	if a := b.do("GET", "/api/v1/status", nil, nil); a.code != http.StatusForbidden {
		t.Errorf("the API before setting a password = %d; want 403", a.code)
	}
	page := b.do("GET", "/password", nil, nil)
	m := hiddenCSRF.FindStringSubmatch(page.body)
	if page.code != http.StatusOK || m == nil || strings.Contains(page.body, `name="current"`) {
		t.Fatalf("password page = %d:\n%s", page.code, page.body)
	}
	if a := b.do("POST", "/password", url.Values{"csrf": {m[1]}, "password": {"short"}, "confirm": {"short"}}, nil); a.code != http.StatusUnprocessableEntity || !strings.Contains(a.body, "at least 10") {
		t.Errorf("a short password = %d; want 422 with the problem", a.code)
	}
	a = b.do("POST", "/password", url.Values{"csrf": {m[1]}, "password": {"a new passphrase"}, "confirm": {"a new passphrase"}, "next": {"/waves"}}, nil)
	if a.code != http.StatusSeeOther || !strings.HasPrefix(a.hdr.Get("Location"), "/waves") {
		t.Fatalf("setting the password = %d %s\n%s", a.code, a.hdr.Get("Location"), a.body)
	}
	if a := b.do("GET", "/api/v1/status", nil, nil); a.code != http.StatusOK {
		t.Errorf("the session after setting a password = %d; want 200", a.code)
	}
	if a := newClient(t, ts).login("ana@example.org", otp); a.code != http.StatusUnauthorized {
		t.Errorf("the one-time password a second time = %d; want 401", a.code)
	}
	if a := newClient(t, ts).login("ana@example.org", "a new passphrase"); a.code != http.StatusSeeOther {
		t.Errorf("the new password = %d; want 303", a.code)
	}
}

// A state-changing API request that no operation audited still leaves an
// entry with the user's name.
func TestUnauditedChangesGetAGenericEntry(t *testing.T) {
	s, st, ts := newTestServer(t)
	tok, _, _ := st.CreateToken(context.Background(), "ops", outreach.RoleAdmin, "test")
	s.Extra = nil
	ts.Config.Handler = (&Server{Svc: s.Svc, Auth: st, Log: s.Log, Extra: []Route{
		{"POST /api/v1/test/quiet", outreach.RoleCoordinator, func(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error {
			writeJSON(w, http.StatusOK, "ok")
			return nil
		}},
	}}).Handler()
	if code, _ := call(t, ts, "POST", "/api/v1/test/quiet", tok, nil, ""); code != http.StatusOK {
		t.Fatalf("quiet route = %d", code)
	}
	if code, _ := call(t, ts, "POST", "/api/v1/segments", tok, nil, ""); code == http.StatusOK {
		t.Fatal("an empty segment was saved")
	}
	entries, _ := st.AuditLog(context.Background(), "ops", time.Time{}, 100)
	if len(entries) != 1 || entries[0].Action != "POST /api/v1/test/quiet" || entries[0].Object != "/api/v1/test/quiet" {
		t.Errorf("audit = %+v; want one generic entry for the quiet route and none for the failed request", entries)
	}
}

// Through the API, a coordinator scoped to MY gets 404 for every contact
// route on a PH contact, as for a contact that does not exist; the same
// calls on a MY contact pass.
func TestOutOfScopeIsNotFound(t *testing.T) {
	s, st, ts := newTestServer(t)
	ctx := context.Background()
	admin := &outreach.Principal{Name: "admin", Role: outreach.RoleAdmin}
	csv := "email,name,organization,kind,country\nana@rights.my.test,Ana,Rights MY,partner,MY\ndela@rights.ph.test,Dela,Rights PH,partner,PH\n"
	if _, err := s.Svc.ImportContacts(ctx, admin, strings.NewReader(csv), false); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Svc.AddUser(ctx, admin, service.UserInput{Name: "coord@example.org", Role: outreach.RoleCoordinator, Countries: []string{"MY"}, Password: testPassword}); err != nil {
		t.Fatal(err)
	}
	tok, _, _ := st.CreateToken(ctx, "coord@example.org", outreach.RoleCoordinator, "admin")
	do := func(method, path, body string) (int, string) {
		req, _ := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, c := range []struct{ method, path, body string }{
		{"GET", "/api/v1/contacts/%s", ""},
		{"PATCH", "/api/v1/contacts/%s", `{"name":"X"}`},
		{"POST", "/api/v1/contacts/%s/reactivate", `{"reason":"x"}`},
		{"POST", "/api/v1/suppressions", `{"address":"%s"}`},
		{"DELETE", "/api/v1/suppressions/%s", ""},
		{"DELETE", "/api/v1/contacts/%s", ""},
		{"GET", "/contacts/%s", ""},
	} {
		path, body := c.path, c.body
		if strings.Contains(path, "%s") {
			path = strings.Replace(path, "%s", "dela@rights.ph.test", 1)
		} else {
			body = strings.Replace(body, "%s", "dela@rights.ph.test", 1)
		}
		if code, out := do(c.method, path, body); code != http.StatusNotFound || strings.Contains(out, "Rights PH") {
			t.Errorf("%s %s on a PH contact = %d %s; want 404", c.method, path, code, out)
		}
	}
	if code, out := do("GET", "/api/v1/contacts/ana@rights.my.test", ""); code != http.StatusOK || !strings.Contains(out, "Rights MY") {
		t.Errorf("GET a MY contact = %d %s", code, out)
	}
	if code, out := do("GET", "/api/v1/contacts", ""); code != http.StatusOK || strings.Contains(out, "dela@") {
		t.Errorf("the list shows PH: %d %s", code, out)
	}
	if code, _ := do("POST", "/api/v1/contacts/ana@rights.my.test/forget", ""); code != http.StatusForbidden {
		t.Errorf("a coordinator forgetting = %d; want 403 (admin only)", code)
	}
}

// The contact page's Forget button erases the contact and says so.
func TestForgetFromThePage(t *testing.T) {
	s, st, ts := newTestServer(t)
	st.SetAddressKey([]byte("a key of at least sixteen bytes"))
	ctx := context.Background()
	admin := &outreach.Principal{Name: "admin", Role: outreach.RoleAdmin}
	if _, err := s.Svc.ImportContacts(ctx, admin, strings.NewReader("email,name,country\nana@rights.my.test,Ana Lim,MY\n"), false); err != nil {
		t.Fatal(err)
	}
	cookie, csrf := signedIn(t, s, "boss@example.org", outreach.RoleAdmin)
	b := newClient(t, ts)
	b.jar[sessionCookie] = cookie
	a := b.do("POST", "/contacts/ana@rights.my.test/forget", url.Values{"csrf": {csrf}}, nil)
	if a.code != http.StatusSeeOther || !strings.HasPrefix(a.hdr.Get("Location"), "/contacts?done=") || !strings.Contains(a.hdr.Get("Location"), "hash%3A") {
		t.Fatalf("forget = %d %s\n%s", a.code, a.hdr.Get("Location"), a.body)
	}
	if _, err := st.Contact(ctx, "ana@rights.my.test"); outreach.ErrorCode(err) != outreach.ENOTFOUND {
		t.Errorf("the contact after forget: %v", err)
	}
	if ok, _ := st.Suppressed(ctx, "ana@rights.my.test"); !ok {
		t.Error("the forgotten address is not suppressed")
	}
	entries, _ := st.AuditLog(ctx, "boss@example.org", time.Time{}, 10)
	if last := entries[len(entries)-1]; last.Action != "contact.forget" {
		t.Errorf("last audit entry = %+v", last)
	}
}
