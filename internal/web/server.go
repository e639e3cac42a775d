// Package web serves outreach's HTTP surface: the JSON API under /api/,
// the public routes (health, unsubscribe) and, later, the web UI. Every
// route and the role it needs is in routes.go. It also provides Client,
// the typed client the CLI uses.
package web

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/outreach-coalition/outreach/internal/outreach"
	"github.com/outreach-coalition/outreach/internal/service"
)

// Authenticator resolves an API token to its principal.
type Authenticator interface {
	Authenticate(ctx context.Context, secret string) (*outreach.Principal, error)
}

// Server is the HTTP handler of the daemon.
type Server struct {
	Svc    *service.Service
	Auth   Authenticator
	Log    *slog.Logger
	Status func(ctx context.Context) any // extra fields for GET /api/v1/status
	Ready  func(ctx context.Context) map[string]string
	// Captured is the development mail server, when mail is captured.
	Captured Captured
	// Extra lets other parts of the daemon add routes (outbox, inbox, ...).
	Extra []Route
	// SecureCookies marks session cookies Secure even on plain-http
	// requests: set it when http.public_url is https behind a proxy.
	SecureCookies bool
	// TrustedProxies are the reverse proxies whose X-Forwarded-For and
	// X-Forwarded-Proto are believed (ParseTrustedProxies).
	TrustedProxies []netip.Prefix

	mux *http.ServeMux
}

// Role requirements of a route.
const (
	Public = ""
)

// Route is one line of the route table.
type Route struct {
	Pattern string // "GET /api/v1/contacts"
	Role    string // Public, outreach.RoleViewer, RoleCoordinator, RoleAdmin
	Handler func(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error
}

// Handler returns the server's http.Handler.
func (s *Server) Handler() http.Handler {
	s.mux = http.NewServeMux()
	for _, rt := range append(s.routes(), s.Extra...) {
		s.mux.Handle(rt.Pattern, s.wrap(rt))
	}
	return s.mux
}

// wrap applies a route's access policy and then its handler: credentials
// (an API token, else the session cookie: session.go), the CSRF token of a
// state-changing request made with the cookie, the role the route table
// asks for, and, for a session opened with a one-time password, nothing
// but setting a password. After a state-changing request that succeeded
// and wrote nothing to the audit trail, it writes a generic entry (the
// method, path and status under the user's name), so that no change made
// through the API escapes the trail even where an operation lacks its own
// entry. Failures answer JSON under /api/ and an error page elsewhere; a
// page asked for without credentials redirects to /login.
func (s *Server) wrap(rt Route) http.Handler {
	_, path, _ := strings.Cut(rt.Pattern, " ")
	passwordRoute := path == "/password" || path == "/logout"
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		var p *outreach.Principal
		if rt.Role != Public {
			var info *sessionInfo
			var err error
			p, info, err = s.authenticate(r)
			if err != nil {
				if _, token := bearer(r); isPage(r) && !token {
					s.toLogin(w, r)
					return
				}
				s.fail(w, r, nil, err)
				return
			}
			if info != nil {
				if unsafeMethod(r.Method) && !csrfValid(w, r, info.csrf) {
					s.fail(w, r, p, outreach.Errorf(outreach.EFORBIDDEN, "this form has expired or did not come from outreach (missing or wrong CSRF token): reload the page and try again"))
					return
				}
				if info.sess.MustChangePassword && !passwordRoute {
					if isPage(r) && r.Method == http.MethodGet {
						http.Redirect(w, r, "/password?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
						return
					}
					s.fail(w, r, p, outreach.Errorf(outreach.EFORBIDDEN, "you signed in with a one-time password: set your own password first (/password)"))
					return
				}
				r = withSession(r, info)
			}
			if !outreach.RoleAtLeast(p.Role, rt.Role) {
				s.fail(w, r, p, outreach.Errorf(outreach.EFORBIDDEN, "%s %q may not do this: it needs the %s role", p.Role, p.Name, rt.Role))
				return
			}
		}
		audit := p != nil && unsafeMethod(r.Method)
		var seq uint64
		if audit {
			r = r.WithContext(service.WithAuditMark(r.Context()))
			seq = s.Svc.Store.AuditSeq()
		}
		sw := &statusWriter{ResponseWriter: w}
		if err := rt.Handler(sw, r, p); err != nil {
			if outreach.ErrorCode(err) == outreach.EINTERNAL {
				s.Log.Error("request failed", "route", rt.Pattern, "err", err)
			}
			writeError(sw, err)
		}
		if audit && sw.code() < 400 && !service.Audited(r.Context()) && s.Svc.Store.AuditSeq() == seq {
			if err := s.Svc.Store.Audit(r.Context(), p.Name, r.Method+" "+path, r.URL.Path, http.StatusText(sw.code())); err != nil {
				s.Log.Error("audit", "route", rt.Pattern, "err", err)
			}
		}
		s.Log.Debug("request", "route", rt.Pattern, "status", sw.code(), "duration", time.Since(start))
	})
}

// isPage reports whether a request is for the web UI rather than the API.
func isPage(r *http.Request) bool {
	return !strings.HasPrefix(r.URL.Path, "/api/") && r.URL.Path != "/metrics"
}

// toLogin sends a browser without a session to the sign-in page, back
// here afterwards.
func (s *Server) toLogin(w http.ResponseWriter, r *http.Request) {
	next := "/"
	if r.Method == http.MethodGet {
		next = r.URL.RequestURI()
	}
	http.Redirect(w, r, "/login?next="+url.QueryEscape(next), http.StatusSeeOther)
}

// fail answers an error found before the handler ran: JSON for the API, an
// error page for the web UI.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, p *outreach.Principal, err error) {
	if isPage(r) {
		s.ui(func(http.ResponseWriter, *http.Request, *outreach.Principal) error { return err })(w, r, p)
		return
	}
	writeError(w, err)
}

// statusWriter remembers the status a handler answered.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) code() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

// Unwrap lets http.ResponseController reach the connection (flushing a
// long export).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush sends buffered data to the client.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	return strings.TrimSpace(tok), ok && tok != ""
}

// statusOf maps error codes to HTTP statuses: the one table of it.
var statusOf = map[string]int{
	outreach.ECONFLICT:     http.StatusConflict,
	outreach.EINTERNAL:     http.StatusInternalServerError,
	outreach.EINVALID:      http.StatusUnprocessableEntity,
	outreach.ENOTFOUND:     http.StatusNotFound,
	outreach.EUNAUTHORIZED: http.StatusUnauthorized,
	outreach.EFORBIDDEN:    http.StatusForbidden,
	outreach.EUNAVAILABLE:  http.StatusServiceUnavailable,
	outreach.ETOOMANY:      http.StatusTooManyRequests,
}

// errorBody is the JSON of every error response.
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field,omitempty"`
		Details any    `json:"details,omitempty"`
	} `json:"error"`
}

func writeError(w http.ResponseWriter, err error) {
	retryAfter(w, err)
	var body errorBody
	body.Error.Code = outreach.ErrorCode(err)
	body.Error.Message = outreach.ErrorMessage(err)
	var oe *outreach.Error
	if errors.As(err, &oe) {
		body.Error.Field = oe.Field
		body.Error.Message = oe.Message
	}
	var ie *service.ImportError
	if errors.As(err, &ie) {
		body.Error.Code = outreach.EINVALID
		body.Error.Message = ie.Error()
		body.Error.Details = ie.Report
	}
	if errors.Is(err, context.Canceled) {
		body.Error.Code, body.Error.Message = outreach.EUNAVAILABLE, "request cancelled"
	}
	writeJSON(w, statusOf[body.Error.Code], body)
}

// retryAfter sets Retry-After (RFC 9110 section 10.2.3) on a throttled
// answer.
func retryAfter(w http.ResponseWriter, err error) {
	var te *service.ThrottledError
	if errors.As(err, &te) {
		w.Header().Set("Retry-After", strconv.Itoa(int((te.RetryAfter+time.Second-1)/time.Second)))
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// Bounds of request bodies that are not JSON: a list of addresses or
// endorsements, and a contacts CSV (a million contacts is about 150 MB).
const (
	maxListBody     = 64 << 20
	maxContactsBody = 1 << 30
)

// limitBody bounds r's body at n bytes. Reading past the bound fails
// with EINVALID naming it (a 422, not a 500 logged as a failure).
func limitBody(w http.ResponseWriter, r *http.Request, n int64) io.Reader {
	return limitedBody{http.MaxBytesReader(w, r.Body, n)}
}

type limitedBody struct{ r io.Reader }

func (l limitedBody) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	var mb *http.MaxBytesError
	if errors.As(err, &mb) {
		err = outreach.Errorf(outreach.EINVALID, "the request body is larger than %d MiB: split it", mb.Limit>>20)
	}
	return n, err
}

func readJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return outreach.Errorf(outreach.EINVALID, "request body: %v", err)
	}
	return nil
}
