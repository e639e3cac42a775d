package smtpout

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/outreach-coalition/outreach/internal/outreach"
)

// TLSMode is how a connection to the SMTP server is protected.
type TLSMode int

const (
	// StartTLS upgrades a plain connection with STARTTLS (RFC 3207) and
	// fails if the server does not offer it. The default, port 587.
	StartTLS TLSMode = iota
	// ImplicitTLS speaks TLS from the first byte (RFC 8314), port 465.
	ImplicitTLS
	// OpportunisticTLS uses STARTTLS when offered and plain text otherwise.
	OpportunisticTLS
	// NoTLS never encrypts; only allowed towards a loopback address.
	NoTLS
)

func (m TLSMode) String() string {
	switch m {
	case StartTLS:
		return "starttls"
	case ImplicitTLS:
		return "implicit"
	case OpportunisticTLS:
		return "opportunistic"
	case NoTLS:
		return "none"
	}
	return fmt.Sprintf("TLSMode(%d)", int(m))
}

// Endpoint is a parsed smtp.url: where to submit mail and how.
type Endpoint struct {
	Host               string // host name or IP address, without brackets
	Port               int
	TLS                TLSMode
	Username, Password string // empty: no AUTH
	// NoChunking (?chunking=off) sends with MAIL, RCPT and DATA one at a
	// time even when the server offers PIPELINING and CHUNKING: the way
	// out for a relay that mishandles BDAT.
	NoChunking bool
}

// Addr returns host:port, with brackets around an IPv6 address.
func (e *Endpoint) Addr() string { return net.JoinHostPort(e.Host, strconv.Itoa(e.Port)) }

// String returns the endpoint as a URL without the password, for logs and
// messages.
func (e *Endpoint) String() string {
	u := url.URL{Scheme: "smtp", Host: e.Addr()}
	if e.TLS == ImplicitTLS {
		u.Scheme = "smtps"
	}
	if e.Username != "" {
		u.User = url.User(e.Username)
	}
	q := url.Values{}
	switch e.TLS {
	case OpportunisticTLS, NoTLS:
		q.Set("tls", e.TLS.String())
	}
	if e.NoChunking {
		q.Set("chunking", "off")
	}
	u.RawQuery = q.Encode()
	return u.String()
}

const urlKey = "smtp.url"

// ParseURL parses smtp.url in the mailer-DSN form:
//
//	smtp://user:pass@host:587                  STARTTLS required (default port 587)
//	smtps://user:pass@host:465                 implicit TLS (default port 465)
//	smtp://user:pass@host:587?tls=opportunistic STARTTLS if offered
//	smtp://127.0.0.1:2525?tls=none              plain text, loopback hosts only
//	smtp://user:pass@host:587?chunking=off      no BDAT (see Endpoint.NoChunking)
//
// The user and password are percent-decoded; characters such as '@', ':',
// '/' or '#' in a password must be percent-encoded. Errors are
// *outreach.Error values naming the key "smtp.url"; they never contain the
// password.
func ParseURL(raw string) (*Endpoint, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, outreach.FieldError(urlKey, "is empty; want smtp://user:password@host:587 or smtps://user:password@host:465")
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error quotes the whole input, password included.
		return nil, outreach.FieldError(urlKey, "is not a valid URL; want smtp://user:password@host:587 or smtps://user:password@host:465, with special characters in the password percent-encoded")
	}
	e := &Endpoint{}
	switch strings.ToLower(u.Scheme) {
	case "smtp":
		e.TLS, e.Port = StartTLS, 587
	case "smtps":
		e.TLS, e.Port = ImplicitTLS, 465
	default:
		return nil, outreach.FieldError(urlKey, "scheme %q is not smtp or smtps", u.Scheme)
	}
	if u.Opaque != "" {
		return nil, outreach.FieldError(urlKey, "must start with %s://", u.Scheme)
	}
	if (u.Path != "" && u.Path != "/") || u.Fragment != "" {
		return nil, outreach.FieldError(urlKey, "must not have a path or fragment (a '/' or '#' in the password must be percent-encoded)")
	}
	e.Host = u.Hostname()
	if e.Host == "" {
		return nil, outreach.FieldError(urlKey, "has no host")
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return nil, outreach.FieldError(urlKey, "port is not a number between 1 and 65535")
		}
		e.Port = n
	}
	if u.User != nil {
		e.Username = u.User.Username()
		e.Password, _ = u.User.Password()
		if e.Username == "" {
			return nil, outreach.FieldError(urlKey, "has a password but no user name")
		}
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, outreach.FieldError(urlKey, "has a malformed query")
	}
	for key, vals := range q {
		if key != "tls" && key != "chunking" {
			return nil, outreach.FieldError(urlKey, "unknown parameter %s; only tls and chunking are known", quoteWord(key))
		}
		if len(vals) != 1 {
			return nil, outreach.FieldError(urlKey, "%s is given %d times", key, len(vals))
		}
		if key == "chunking" {
			switch strings.ToLower(vals[0]) {
			case "on":
			case "off":
				e.NoChunking = true
			default:
				return nil, outreach.FieldError(urlKey, "chunking=%s is not on or off", quoteWord(vals[0]))
			}
			continue
		}
		switch v := strings.ToLower(vals[0]); {
		case e.TLS == ImplicitTLS && v != "implicit":
			return nil, outreach.FieldError(urlKey, "tls=%s contradicts smtps://, which is always TLS", quoteWord(vals[0]))
		case v == "starttls" || v == "required":
			e.TLS = StartTLS
		case v == "opportunistic":
			e.TLS = OpportunisticTLS
		case v == "none":
			if !isLoopback(e.Host) {
				return nil, outreach.FieldError(urlKey, "tls=none is only allowed towards a loopback address, not %q", e.Host)
			}
			e.TLS = NoTLS
		case v == "implicit":
		default:
			return nil, outreach.FieldError(urlKey, "tls=%s is not starttls, opportunistic or none", quoteWord(vals[0]))
		}
	}
	return e, nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// quoteWord quotes s for an error message if it is a plain word. Anything
// else may be a piece of a password that ended up in the query by a
// missing percent-encoding, so it is not echoed.
func quoteWord(s string) string {
	if len(s) == 0 || len(s) > 20 {
		return "(not shown)"
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return "(not shown)"
		}
	}
	return strconv.Quote(s)
}
