package imapwatch

import (
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/outreach-coalition/outreach/internal/outreach"
)

// urlField is the configuration key named in every ParseURL error.
const urlField = "imap.url"

// Security says how the connection to the IMAP server is protected.
type Security int

const (
	// SecurityTLS is implicit TLS from the first byte (imaps://, port 993; RFC 8314).
	SecurityTLS Security = iota
	// SecurityStartTLS upgrades a plain connection with STARTTLS before
	// logging in (imap://, port 143; RFC 9051 section 6.2.1). It is required:
	// a server that refuses STARTTLS is an error, never a plaintext login.
	SecurityStartTLS
	// SecurityNone sends everything in clear text. ParseURL allows it only
	// for loopback hosts (imap://...?tls=none).
	SecurityNone
)

func (s Security) String() string {
	switch s {
	case SecurityTLS:
		return "tls"
	case SecurityStartTLS:
		return "starttls"
	case SecurityNone:
		return "none"
	}
	return fmt.Sprintf("Security(%d)", int(s))
}

// Endpoint is a parsed imap.url: where the campaign mailbox is and how to log
// in. Its String, GoString and LogValue methods never show the password.
type Endpoint struct {
	Security Security
	Host     string // host name or IP address, without brackets
	Port     int
	Username string
	Password string
	Mailbox  string // the watched mailbox, INBOX by default
}

// Addr returns host:port for dialing.
func (e *Endpoint) Addr() string { return net.JoinHostPort(e.Host, strconv.Itoa(e.Port)) }

// String returns the endpoint as a URL without the password.
func (e *Endpoint) String() string {
	scheme := "imaps"
	query := ""
	switch e.Security {
	case SecurityStartTLS:
		scheme = "imap"
	case SecurityNone:
		scheme, query = "imap", "?tls=none"
	}
	u := url.URL{Scheme: scheme, User: url.User(e.Username), Host: e.Addr(), Path: "/" + e.Mailbox}
	return u.String() + query
}

// GoString keeps the password out of %#v.
func (e *Endpoint) GoString() string { return "imapwatch.Endpoint(" + e.String() + ")" }

// LogValue keeps the password out of structured logs.
func (e *Endpoint) LogValue() slog.Value { return slog.StringValue(e.String()) }

// ParseURL parses imap.url:
//
//	imaps://user:password@host[:993]/Mailbox     implicit TLS
//	imap://user:password@host[:143]/Mailbox      STARTTLS, required
//	imap://user:password@127.0.0.1:1143/?tls=none  clear text, loopback hosts only
//
// The user name and password are percent-decoded (write "@" in a user name
// as %40). The mailbox defaults to INBOX. Errors are *outreach.Error with
// Field "imap.url"; they never repeat any part of the URL, so they cannot
// leak the password.
func ParseURL(raw string) (*Endpoint, error) {
	const shape = "want imaps://user:password@host/INBOX or imap://user:password@host/INBOX"
	if strings.TrimSpace(raw) == "" {
		return nil, outreach.FieldError(urlField, "missing; %s", shape)
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Parse errors quote the URL or pieces of it, which may be the
		// password (an unescaped "#" or "/" in it), so none of it is shown.
		return nil, outreach.FieldError(urlField,
			"not a valid URL; percent-encode the characters @ : / ? # %% in the user name and password (%s)", shape)
	}
	e := &Endpoint{}
	switch strings.ToLower(u.Scheme) {
	case "imaps":
		e.Security, e.Port = SecurityTLS, 993
	case "imap":
		e.Security, e.Port = SecurityStartTLS, 143
	case "":
		return nil, outreach.FieldError(urlField, "missing scheme; %s", shape)
	default:
		return nil, outreach.FieldError(urlField, "scheme must be imaps (TLS) or imap (STARTTLS); %s", shape)
	}
	if u.Opaque != "" || u.Host == "" {
		return nil, outreach.FieldError(urlField, "missing host; %s", shape)
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return nil, outreach.FieldError(urlField, "unexpected \"#\"; percent-encode it as %%23 in the password")
	}
	e.Host = u.Hostname()
	if e.Host == "" {
		return nil, outreach.FieldError(urlField, "missing host; %s", shape)
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return nil, outreach.FieldError(urlField, "port must be a number from 1 to 65535")
		}
		e.Port = n
	}
	if u.User == nil || u.User.Username() == "" {
		return nil, outreach.FieldError(urlField, "missing user name; %s", shape)
	}
	e.Username = u.User.Username()
	pass, ok := u.User.Password()
	if !ok || pass == "" {
		return nil, outreach.FieldError(urlField, "missing password; %s", shape)
	}
	e.Password = pass
	e.Mailbox = strings.TrimPrefix(u.Path, "/")
	if e.Mailbox == "" {
		e.Mailbox = "INBOX"
	}
	if err := checkMailboxName(e.Mailbox); err != nil {
		return nil, outreach.FieldError(urlField, "mailbox: %s", err)
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, outreach.FieldError(urlField, "query string is not valid; the only option is tls=none")
	}
	for key, vals := range q {
		if key != "tls" {
			return nil, outreach.FieldError(urlField, "unknown option %q; the only option is tls=none", key)
		}
		if len(vals) != 1 || vals[0] != "none" {
			return nil, outreach.FieldError(urlField, "option tls must be \"none\" (clear text, loopback only)")
		}
		if e.Security == SecurityTLS {
			return nil, outreach.FieldError(urlField, "tls=none contradicts imaps://; use imap://...?tls=none")
		}
		if !isLoopback(e.Host) {
			return nil, outreach.FieldError(urlField, "tls=none is allowed only for a loopback host (127.0.0.1, ::1, localhost)")
		}
		e.Security = SecurityNone
	}
	return e, nil
}

// checkMailboxName rejects names no server accepts as a mailbox to select:
// control characters and the LIST wildcards "*" and "%" (RFC 9051 section 6.3.9).
func checkMailboxName(name string) error {
	if strings.HasSuffix(name, "/") {
		return fmt.Errorf("must not end with \"/\"")
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("contains a control character")
		}
		if r == '*' || r == '%' {
			return fmt.Errorf("must not contain %q", r)
		}
	}
	return nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
