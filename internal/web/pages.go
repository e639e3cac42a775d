package web

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/outreach-coalition/outreach/internal/outreach"
	"github.com/outreach-coalition/outreach/internal/render"
	"github.com/outreach-coalition/outreach/templates"
)

// The web UI: server-rendered pages from templates/web (html/template),
// readable without JavaScript; the small script in static/app.js only
// adds live progress, live counts, the template editor's live preview and
// keyboard shortcuts. Every page goes through the route table like the
// API, so the same roles and the same service calls (with their country
// scope) apply. Forms post back to the page; a bad field re-renders the
// form with the problem next to the field (422), a done action redirects
// (303) to a page that says what was done.

// pageSet holds one parsed template per page: the layout, the partials
// and the page's own file. It is built once and never changed.
type pageSet map[string]*template.Template

// webPages is parsed from the embedded templates at start; a template
// that does not parse is a build error caught by every test.
var webPages = mustParsePages(templates.Web)

func mustParsePages(fsys fs.FS) pageSet {
	ps, err := parsePages(fsys)
	if err != nil {
		panic(err)
	}
	return ps
}

// parsePages parses web/*.html: files whose name begins with _ are the
// layout and partials shared by every page.
func parsePages(fsys fs.FS) (pageSet, error) {
	names, err := fs.Glob(fsys, "web/*.html")
	if err != nil {
		return nil, err
	}
	var shared, pages []string
	for _, n := range names {
		if strings.HasPrefix(path.Base(n), "_") {
			shared = append(shared, n)
		} else {
			pages = append(pages, n)
		}
	}
	base, err := template.New("").Funcs(pageFuncs).ParseFS(fsys, shared...)
	if err != nil {
		return nil, fmt.Errorf("web templates: %w", err)
	}
	ps := pageSet{}
	for _, n := range pages {
		t, err := template.Must(base.Clone()).ParseFS(fsys, n)
		if err != nil {
			return nil, fmt.Errorf("web templates: %w", err)
		}
		ps[strings.TrimSuffix(path.Base(n), ".html")] = t
	}
	return ps, nil
}

var pageFuncs = template.FuncMap{
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04:05 UTC")
	},
	"day": func(t time.Time) string { return t.UTC().Format("2006-01-02") },
	"pct": func(n, total int) int {
		if total <= 0 {
			return 0
		}
		return n * 100 / total
	},
	"add":        func(a, b int) int { return a + b },
	"country":    outreach.CountryName,
	"ms":         func(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/1e6) },
	"lastRun":    lastRun,
	"splitQuote": splitQuote,
	"navItem": func(d *pageData, section, href, label string) navLink {
		return navLink{Href: href, Label: label, Current: d.Section == section}
	},
	"dict": func(kv ...any) (map[string]any, error) {
		m := map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			k, ok := kv[i].(string)
			if !ok {
				return nil, fmt.Errorf("dict: key %v is not a string", kv[i])
			}
			m[k] = kv[i+1]
		}
		return m, nil
	},
	"query": func(kv ...string) template.URL {
		q := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] != "" {
				q.Set(kv[i], kv[i+1])
			}
		}
		return template.URL(q.Encode())
	},
	// path escapes one path segment: an address may hold "/", "?" and
	// "#" (RFC 5322 atext, or quoted), which html/template leaves as they
	// are in a URL, and which would aim a link or a form elsewhere.
	"path": url.PathEscape,
}

type navLink struct {
	Href, Label string
	Current     bool
}

// pageData is what every page template gets.
type pageData struct {
	Title   string
	Section string // the navigation entry to mark current
	User    *outreach.Principal
	CSRF    string
	// Notice says what the last action did (?done=...).
	Notice string
	// Error is a problem not tied to one field; Errors maps a form field
	// to its problem.
	Error  string
	Errors map[string]string
	// Form holds the values a form is shown with (a failed post's).
	Form url.Values
	// Captured is set when the development mail server keeps the mail.
	Captured bool
	// Refresh, when set, makes the page reload itself every so many
	// seconds when JavaScript is off (a running wave).
	Refresh int
	Data    any
}

// Can reports whether the user has at least role.
func (d *pageData) Can(role string) bool {
	return d.User != nil && outreach.RoleAtLeast(d.User.Role, role)
}

// CanEverywhere reports whether the user has at least role and may act
// for every country (an admin, or no country scope): what changing a
// shared thing, a template or a saved segment, needs.
func (d *pageData) CanEverywhere(role string) bool {
	return d.Can(role) && (d.User.Role == outreach.RoleAdmin || len(d.User.Countries) == 0)
}

// Val returns the form value of field.
func (d *pageData) Val(field string) string { return d.Form.Get(field) }

// Err returns the problem with field, or "".
func (d *pageData) Err(field string) string { return d.Errors[field] }

// page renders page name with d into w. It renders to a buffer first so
// that a template error gives a clean 500, and sets the headers every
// page has: no caching, and a content security policy that allows only
// this origin's script and styles (mail previews sit in a sandboxed
// frame).
func (s *Server) page(w http.ResponseWriter, r *http.Request, p *outreach.Principal, status int, name string, d *pageData) error {
	t, ok := webPages[name]
	if !ok {
		return fmt.Errorf("no page template %q", name)
	}
	d.User = p
	d.CSRF = s.csrfToken(r)
	d.Captured = s.Captured != nil
	if d.Notice == "" {
		d.Notice = r.URL.Query().Get("done")
	}
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, "layout", d); err != nil {
		return fmt.Errorf("render page %s: %w", name, err)
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-src 'self'; base-uri 'none'; form-action 'self'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "SAMEORIGIN")
	h.Set("Referrer-Policy", "same-origin")
	w.WriteHeader(status)
	_, err := w.Write(b.Bytes())
	return err
}

// ui adapts a page handler to the route table: an error it returns is
// shown as an error page with the status the API would give, never as
// JSON.
func (s *Server) ui(h func(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error) func(http.ResponseWriter, *http.Request, *outreach.Principal) error {
	return func(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error {
		err := h(w, r, p)
		if err == nil {
			return nil
		}
		code := outreach.ErrorCode(err)
		if code == outreach.EINTERNAL {
			s.Log.Error("page failed", "path", r.URL.Path, "err", err)
		}
		status := statusOf[code]
		if status == 0 {
			status = http.StatusInternalServerError
		}
		d := &pageData{Title: http.StatusText(status), Error: outreach.ErrorMessage(err), Data: status}
		if perr := s.page(w, r, p, status, "error", d); perr != nil {
			s.Log.Error("error page failed", "err", perr)
			http.Error(w, d.Error, status)
		}
		return nil
	}
}

// redirect answers a form post with 303 See Other to target, carrying
// what was done.
func redirect(w http.ResponseWriter, r *http.Request, target, done string) error {
	if done != "" {
		sep := "?"
		if strings.Contains(target, "?") {
			sep = "&"
		}
		target += sep + "done=" + url.QueryEscape(done)
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
	return nil
}

// formErrors splits err into field problems for a form: an
// *outreach.Error with a field goes next to that field, template problems
// next to their file, anything else EINVALID to the top of the form.
// Errors that are not bad input are returned for the error page.
func formErrors(err error, d *pageData) error {
	var probs render.Problems
	var oe *outreach.Error
	switch {
	case errors.As(err, &probs):
		d.Errors = map[string]string{}
		for _, p := range probs {
			if d.Errors[p.File] != "" {
				d.Errors[p.File] += "\n"
			}
			d.Errors[p.File] += p.String()
		}
		d.Error = "The template has problems: see below each file."
	case errors.As(err, &oe) && oe.Code == outreach.EINVALID && oe.Field != "":
		d.Errors = map[string]string{oe.Field: oe.Message}
		d.Error = "Check the field marked below."
	case outreach.ErrorCode(err) == outreach.EINVALID || outreach.ErrorCode(err) == outreach.ECONFLICT:
		d.Error = outreach.ErrorMessage(err)
	default:
		return err
	}
	return nil
}

// parseForm reads a small urlencoded form.
func parseForm(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, 4<<20)
	if err := r.ParseForm(); err != nil {
		return outreach.Errorf(outreach.EINVALID, "form: %v", err)
	}
	return nil
}

// staticFiles serves web/static (CSS, script) from the binary.
func (s *Server) staticFiles() http.Handler {
	sub, err := fs.Sub(templates.Web, "web/static")
	if err != nil {
		panic(err)
	}
	fsrv := http.StripPrefix("/static/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		fsrv.ServeHTTP(w, r)
	})
}

func (s *Server) static(w http.ResponseWriter, r *http.Request, _ *outreach.Principal) error {
	s.staticFiles().ServeHTTP(w, r)
	return nil
}
