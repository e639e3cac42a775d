// Package web serves outreach's HTTP surface: the JSON API under /api/,
// the public routes (health, unsubscribe) and, later, the web UI. Every
// route and the role it needs is in routes.go. It also provides Client,
// the typed client the CLI uses.
package web

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
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

func (s *Server) wrap(rt Route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		var p *outreach.Principal
		if rt.Role != Public {
			tok, ok := bearer(r)
			if !ok {
				writeError(w, outreach.Errorf(outreach.EUNAUTHORIZED, "this route needs an API token: pass it as \"Authorization: Bearer TOKEN\" (the CLI reads OUTREACH_TOKEN or <data>/admin.token)"))
				return
			}
			var err error
			if p, err = s.Auth.Authenticate(r.Context(), tok); err != nil {
				writeError(w, err)
				return
			}
			if !outreach.RoleAtLeast(p.Role, rt.Role) {
				writeError(w, outreach.Errorf(outreach.EFORBIDDEN, "%s %q may not do this: it needs the %s role", p.Role, p.Name, rt.Role))
				return
			}
		}
		if err := rt.Handler(w, r, p); err != nil {
			if outreach.ErrorCode(err) == outreach.EINTERNAL {
				s.Log.Error("request failed", "route", rt.Pattern, "err", err)
			}
			writeError(w, err)
			return
		}
		s.Log.Debug("request", "route", rt.Pattern, "duration", time.Since(start))
	})
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

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func readJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return outreach.Errorf(outreach.EINVALID, "request body: %v", err)
	}
	return nil
}
