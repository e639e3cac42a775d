package web

import (
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/outreach-coalition/outreach/internal/outreach"
	"github.com/outreach-coalition/outreach/internal/service"
)

// The sign-in and password pages. They work without JavaScript. The
// sign-in form has no session yet, so its CSRF token is a double submit: a
// random value in a cookie and the same value in the form, which another
// site can neither read nor set.

type loginData struct {
	LoginCSRF string
	Next      string
}

// safeNext returns next when it is a path on this site, else "/". It
// refuses backslashes and control characters anywhere: browsers read "\"
// as "/" and drop tabs and newlines, and http.Redirect cleans dot
// segments, so "/./\evil.example" or "/\t/evil.example" would otherwise
// leave the site.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsFunc(next, func(r rune) bool {
		return r == '\\' || r < 0x20 || r == 0x7f
	}) {
		return "/"
	}
	return next
}

// loginForm renders the sign-in page with a fresh form token.
func (s *Server) loginForm(w http.ResponseWriter, r *http.Request, status int, d *pageData) error {
	tok := rand.Text()
	s.setCookie(w, r, loginCookie, tok, time.Time{})
	if d.Data == nil {
		d.Data = loginData{Next: safeNext(r.FormValue("next"))}
	}
	ld := d.Data.(loginData)
	ld.LoginCSRF = tok
	d.Data = ld
	d.Title = "Sign in"
	return s.page(w, r, nil, status, "login", d)
}

// loginPage shows the sign-in form, or goes on to next when the browser
// is signed in already.
func (s *Server) loginPage(w http.ResponseWriter, r *http.Request, _ *outreach.Principal) error {
	if c, err := r.Cookie(sessionCookie); err == nil {
		if _, _, err := s.Svc.SessionPrincipal(r.Context(), c.Value); err == nil {
			http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
			return nil
		}
	}
	return s.loginForm(w, r, http.StatusOK, &pageData{})
}

// login checks the form and signs in: 401 with the form again for a wrong
// name or password, 429 with Retry-After while the account or the client
// address is locked out, 403 when the form's token does not match its
// cookie.
func (s *Server) login(w http.ResponseWriter, r *http.Request, _ *outreach.Principal) error {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		return outreach.Errorf(outreach.EINVALID, "form: %v", err)
	}
	next := safeNext(r.PostForm.Get("next"))
	d := &pageData{Form: url.Values{"name": {r.PostForm.Get("name")}}, Data: loginData{Next: next}}
	c, err := r.Cookie(loginCookie)
	if err != nil || c.Value == "" || subtle.ConstantTimeCompare([]byte(c.Value), []byte(r.PostForm.Get(csrfField))) != 1 {
		d.Error = "This sign-in form has expired or did not come from outreach: please sign in again."
		return s.loginForm(w, r, http.StatusForbidden, d)
	}
	res, err := s.Svc.Login(r.Context(), r.PostForm.Get("name"), r.PostForm.Get("password"), s.clientAddr(r), r.UserAgent())
	var te *service.ThrottledError
	switch {
	case errors.As(err, &te):
		retryAfter(w, err)
		d.Error = te.Error()
		return s.loginForm(w, r, http.StatusTooManyRequests, d)
	case outreach.ErrorCode(err) == outreach.EUNAUTHORIZED:
		d.Error = outreach.ErrorMessage(err)
		d.Errors = map[string]string{"password": "Check the user name and the password."}
		return s.loginForm(w, r, http.StatusUnauthorized, d)
	case err != nil:
		return err
	}
	s.setCookie(w, r, loginCookie, "", time.Time{})
	s.setCookie(w, r, sessionCookie, res.Secret, res.Session.Expires)
	if res.Session.MustChangePassword {
		next = "/password?next=" + url.QueryEscape(next)
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

// logout ends the browser's session (when the form carries its CSRF
// token) and clears the cookie. A post that carries no cookie clears
// nothing: it is what another site's form sends (SameSite=Lax withholds
// the cookie), and it must not sign the browser out.
func (s *Server) logout(w http.ResponseWriter, r *http.Request, _ *outreach.Principal) error {
	if c, err := r.Cookie(sessionCookie); err == nil {
		if p, sess, err := s.Svc.SessionPrincipal(r.Context(), c.Value); err == nil {
			if !csrfValid(w, r, csrfFor(c.Value)) {
				return outreach.Errorf(outreach.EFORBIDDEN, "this form has expired or did not come from outreach (missing or wrong CSRF token): reload the page and try again")
			}
			if err := s.Svc.Logout(r.Context(), p, sess); err != nil {
				return err
			}
		}
		s.setCookie(w, r, sessionCookie, "", time.Time{})
	}
	http.Redirect(w, r, "/login?done="+url.QueryEscape("You are signed out."), http.StatusSeeOther)
	return nil
}

type passwordData struct {
	MustChange bool
	Next       string
}

// passwordPage shows and handles the form to set one's own password.
func (s *Server) passwordPage(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error {
	info := requestSession(r)
	if info == nil {
		return outreach.Errorf(outreach.EINVALID, "sign in at /login to change your password (an API token cannot)")
	}
	d := &pageData{Title: "Your password", Data: passwordData{MustChange: info.sess.MustChangePassword, Next: safeNext(r.FormValue("next"))}}
	if info.sess.MustChangePassword {
		d.Title = "Choose your password"
	}
	if r.Method != http.MethodPost {
		return s.page(w, r, p, http.StatusOK, "password", d)
	}
	if err := parseForm(w, r); err != nil {
		return err
	}
	f := r.PostForm
	var cerr error
	if f.Get("password") != f.Get("confirm") {
		cerr = outreach.FieldError("confirm", "does not match the new password")
	} else {
		cerr = s.Svc.ChangePassword(r.Context(), p, info.sess, f.Get("current"), f.Get("password"))
	}
	if cerr != nil {
		if ferr := formErrors(cerr, d); ferr != nil {
			return ferr
		}
		return s.page(w, r, p, http.StatusUnprocessableEntity, "password", d)
	}
	return redirect(w, r, d.Data.(passwordData).Next, "Your password is set.")
}
