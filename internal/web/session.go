package web

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/outreach-coalition/outreach/internal/outreach"
)

// Web UI sessions. Signing in (login.go) sets a session cookie holding the
// session's secret; the store keeps only its hash. The cookie is HttpOnly
// (no script reads it), SameSite=Lax (other sites' forms and scripts do
// not carry it) and Secure when the request came over https, directly or
// through a trusted proxy, or when http.public_url is https.
//
// Every state-changing request made with the cookie must carry the
// session's CSRF token, in the "csrf" form field or the X-CSRF-Token
// header: a token derived from the session's secret, so that only a page
// that holds the cookie can know it. Requests with an API token carry no
// ambient credential and need none; the public unsubscribe page is
// protected by its signed URL instead.
const (
	sessionCookie = "outreach_session"
	loginCookie   = "outreach_login" // the sign-in form's double-submit CSRF token
	csrfField     = "csrf"
	csrfHeader    = "X-CSRF-Token"
)

// ParseTrustedProxies parses http.trusted_proxies: IP addresses or CIDR
// prefixes of reverse proxies whose X-Forwarded-For and X-Forwarded-Proto
// headers are believed.
func ParseTrustedProxies(list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range list {
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("http.trusted_proxies: %q is not an IP address or CIDR", s)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

// sessionInfo is the session a request was signed in with.
type sessionInfo struct {
	sess *outreach.Session
	csrf string
}

type sessionKey struct{}

// requestSession returns the session of a request signed in with a
// cookie, or nil (a token, or a public route).
func requestSession(r *http.Request) *sessionInfo {
	info, _ := r.Context().Value(sessionKey{}).(*sessionInfo)
	return info
}

// csrfToken returns the CSRF token pages put in their forms ("" for a
// request made with an API token, which needs none).
func (s *Server) csrfToken(r *http.Request) string {
	if info := requestSession(r); info != nil {
		return info.csrf
	}
	return ""
}

// csrfFor derives a session's CSRF token from its secret (HMAC-SHA-256
// keyed with the secret), so that nothing more is stored.
func csrfFor(secret string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("outreach csrf v1"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// authenticate resolves a request's credentials: an API token in the
// Authorization header, else the session cookie. It returns the session
// for a cookie, nil for a token.
func (s *Server) authenticate(r *http.Request) (*outreach.Principal, *sessionInfo, error) {
	if tok, ok := bearer(r); ok {
		p, err := s.Auth.Authenticate(r.Context(), tok)
		return p, nil, err
	}
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return nil, nil, outreach.Errorf(outreach.EUNAUTHORIZED, "this route needs an API token: pass it as \"Authorization: Bearer TOKEN\" (the CLI reads OUTREACH_TOKEN or <data>/admin.token), or sign in at /login")
	}
	p, sess, err := s.Svc.SessionPrincipal(r.Context(), c.Value)
	if err != nil {
		return nil, nil, err
	}
	return p, &sessionInfo{sess: sess, csrf: csrfFor(c.Value)}, nil
}

// unsafeMethod reports whether a method may change state (RFC 9110
// section 9.2.1).
func unsafeMethod(m string) bool {
	return m != http.MethodGet && m != http.MethodHead && m != http.MethodOptions
}

// csrfValid reports whether a request carries want, in the header or the
// form. It parses the form (bounded) only when the header is absent.
func csrfValid(w http.ResponseWriter, r *http.Request, want string) bool {
	got := r.Header.Get(csrfHeader)
	if got == "" {
		ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		switch ct {
		case "application/x-www-form-urlencoded":
			r.Body = http.MaxBytesReader(w, r.Body, 4<<20)
			if r.ParseForm() != nil {
				return false
			}
		case "multipart/form-data":
			r.Body = http.MaxBytesReader(w, r.Body, 32<<20)
			if r.ParseMultipartForm(8<<20) != nil {
				return false
			}
		default:
			return false
		}
		got = r.PostFormValue(csrfField)
	}
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// trusted reports whether the request came through a trusted proxy.
func (s *Server) trusted(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	return s.isProxy(a.Unmap())
}

func (s *Server) isProxy(a netip.Addr) bool {
	for _, p := range s.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// clientAddr returns the address of the client: the peer, or, through
// trusted proxies, the last address in X-Forwarded-For that is not one of
// them (earlier ones are the client's word).
func (s *Server) clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if !s.trusted(r) {
		return host
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		if !s.isProxy(a.Unmap()) {
			return a.Unmap().String()
		}
	}
	return host
}

// secure reports whether cookies must be Secure: the request came over
// https (directly or, per a trusted proxy, X-Forwarded-Proto), or the
// public URL is https.
func (s *Server) secure(r *http.Request) bool {
	return s.SecureCookies || r.TLS != nil || (s.trusted(r) && strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https"))
}

func (s *Server) setCookie(w http.ResponseWriter, r *http.Request, name, value string, expires time.Time) {
	c := &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.secure(r)}
	switch {
	case value == "":
		c.MaxAge = -1
	case !expires.IsZero():
		c.Expires = expires
	}
	http.SetCookie(w, c)
}

// withSession returns r carrying its session.
func withSession(r *http.Request, info *sessionInfo) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), sessionKey{}, info))
}
