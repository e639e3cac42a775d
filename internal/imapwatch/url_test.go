package imapwatch

import (
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"testing"

	"github.com/outreach-coalition/outreach/internal/outreach"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		raw  string
		want Endpoint
	}{
		{"imaps://bot:pw@mail.example.org/INBOX", Endpoint{SecurityTLS, "mail.example.org", 993, "bot", "pw", "INBOX"}},
		{"imaps://bot:pw@mail.example.org", Endpoint{SecurityTLS, "mail.example.org", 993, "bot", "pw", "INBOX"}},
		{"imaps://bot:pw@mail.example.org/", Endpoint{SecurityTLS, "mail.example.org", 993, "bot", "pw", "INBOX"}},
		{"IMAPS://bot:pw@mail.example.org:1993/Replies", Endpoint{SecurityTLS, "mail.example.org", 1993, "bot", "pw", "Replies"}},
		{"imap://bot:pw@mail.example.org/INBOX", Endpoint{SecurityStartTLS, "mail.example.org", 143, "bot", "pw", "INBOX"}},
		{"imap://bot%40example.org:p%40ss%3Aw%2Frd%23@mail.example.org/Campaign%20Replies",
			Endpoint{SecurityStartTLS, "mail.example.org", 143, "bot@example.org", "p@ss:w/rd#", "Campaign Replies"}},
		{"imap://bot:pw@127.0.0.1:1143/INBOX?tls=none", Endpoint{SecurityNone, "127.0.0.1", 1143, "bot", "pw", "INBOX"}},
		{"imap://bot:pw@[::1]:1143/?tls=none", Endpoint{SecurityNone, "::1", 1143, "bot", "pw", "INBOX"}},
		{"imap://bot:pw@localhost/Lists/Campaign?tls=none", Endpoint{SecurityNone, "localhost", 143, "bot", "pw", "Lists/Campaign"}},
		{"imaps://bot:pw@[2001:db8::1]/INBOX", Endpoint{SecurityTLS, "2001:db8::1", 993, "bot", "pw", "INBOX"}},
	}
	for _, tt := range tests {
		got, err := ParseURL(tt.raw)
		if err != nil {
			t.Errorf("ParseURL(%q) error: %v", tt.raw, err)
			continue
		}
		if *got != tt.want {
			t.Errorf("ParseURL(%q) = %#v; want %+v", tt.raw, *got, tt.want)
		}
	}
}

func TestParseURLErrors(t *testing.T) {
	const pass = "Hunter2Secret"
	tests := []struct {
		raw, want string
	}{
		{"", "missing"},
		{"   ", "missing"},
		{"mail.example.org", "missing scheme"},
		{"pop3://bot:" + pass + "@mail.example.org/", "scheme must be imaps"},
		{"bot:" + pass + "@mail.example.org", "scheme must be imaps"},
		{"imaps://mail.example.org/INBOX", "missing user name"},
		{"imaps://bot@mail.example.org/INBOX", "missing password"},
		{"imaps://bot:@mail.example.org/INBOX", "missing password"},
		{"imaps://bot:" + pass + "@/INBOX", "missing host"},
		{"imaps://bot:" + pass + "@mail.example.org:0/", "port must be"},
		{"imaps://bot:" + pass + "@mail.example.org:70000/", "port must be"},
		{"imaps://bot:Hun#ter2Secret@mail.example.org/", "not a valid URL"},
		{"imaps://bot:Hunter2/Secret@mail.example.org/", "not a valid URL"},
		{"imaps://bot:Hunter2%zzSecret@mail.example.org/", "not a valid URL"},
		{"imaps://bot:" + pass + "@mail.example.org/INBOX#frag", "unexpected \"#\""},
		{"imaps://bot:" + pass + "@mail.example.org/INBOX#", "unexpected \"#\""},
		{"imaps://bot:" + pass + "@mail.example.org/IN*BOX", "mailbox"},
		{"imaps://bot:" + pass + "@mail.example.org/INBOX%0D%0A", "control character"},
		{"imaps://bot:" + pass + "@mail.example.org/INBOX/", "must not end"},
		{"imap://bot:" + pass + "@mail.example.org/?tls=none", "only for a loopback host"},
		{"imap://bot:" + pass + "@127.0.0.2.example.org/?tls=none", "only for a loopback host"},
		{"imaps://bot:" + pass + "@127.0.0.1/?tls=none", "contradicts imaps"},
		{"imap://bot:" + pass + "@127.0.0.1/?tls=off", "must be \"none\""},
		{"imap://bot:" + pass + "@127.0.0.1/?tls=none&tls=none", "must be \"none\""},
		{"imap://bot:" + pass + "@127.0.0.1/?starttls=no", "unknown option"},
		{"imap://bot:" + pass + "@127.0.0.1/?tls=%zz", "query string"},
	}
	for _, tt := range tests {
		_, err := ParseURL(tt.raw)
		if err == nil {
			t.Errorf("ParseURL(%q) = nil error; want %q", tt.raw, tt.want)
			continue
		}
		var oerr *outreach.Error
		if !errors.As(err, &oerr) || oerr.Field != "imap.url" || oerr.Code != outreach.EINVALID {
			t.Errorf("ParseURL(%q) error %#v; want an EINVALID *outreach.Error on imap.url", tt.raw, err)
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseURL(%q) = %q; want it to contain %q", tt.raw, err, tt.want)
		}
		for _, piece := range []string{"Hunter", "Secret", "ter2"} {
			if strings.Contains(err.Error(), piece) {
				t.Errorf("ParseURL(%q) = %q; shows part of the password", tt.raw, err)
			}
		}
	}
}

func TestEndpointNeverShowsPassword(t *testing.T) {
	e, err := ParseURL("imap://bot:Hunter2Secret@127.0.0.1:1143/Campaign?tls=none")
	if err != nil {
		t.Fatal(err)
	}
	var logged strings.Builder
	slog.New(slog.NewTextHandler(&logged, nil)).Info("x", "endpoint", e)
	for _, s := range []string{e.String(), fmt.Sprintf("%v %+v %#v %s", e, e, e, e), logged.String()} {
		if strings.Contains(s, "Hunter2Secret") {
			t.Errorf("%q shows the password", s)
		}
	}
	if want := "imap://bot@127.0.0.1:1143/Campaign?tls=none"; e.String() != want {
		t.Errorf("String() = %q; want %q", e.String(), want)
	}
	back, err := ParseURL(strings.Replace(e.String(), "bot@", "bot:Hunter2Secret@", 1))
	if err != nil || *back != *e {
		t.Errorf("String() does not round-trip: %v, %+v", err, back)
	}
}

// FuzzParseURL checks that ParseURL never panics, that what it accepts is
// usable, and that its errors never show the password.
func FuzzParseURL(f *testing.F) {
	for _, seed := range []struct{ scheme, host, rest, pass string }{
		{"imaps", "mail.example.org", "/INBOX", "pw"},
		{"imap", "127.0.0.1:1143", "/INBOX?tls=none", "p@ss"},
		{"imap", "[::1]", "/?tls=none", "a#b"},
		{"imaps", "mail.example.org:99999", "/", "x/y"},
		{"imap", "mail.example.org", "/IN*BOX", "%zz"},
		{"pop3", "", "#", ":"},
	} {
		f.Add(seed.scheme, seed.host, seed.rest, seed.pass)
	}
	f.Fuzz(func(t *testing.T, scheme, host, rest, pass string) {
		const mark = "Qz7"
		raw := scheme + "://bot:" + mark + pass + "@" + host + rest
		e, err := ParseURL(raw)
		if err != nil {
			var oerr *outreach.Error
			if !errors.As(err, &oerr) || oerr.Field != "imap.url" {
				t.Fatalf("ParseURL(%q) error %#v; want *outreach.Error on imap.url", raw, err)
			}
			if strings.Contains(err.Error(), mark) {
				t.Fatalf("ParseURL(%q) = %q; shows the password", raw, err)
			}
			return
		}
		if e.Host == "" || e.Port < 1 || e.Port > 65535 || e.Username == "" || e.Password == "" || e.Mailbox == "" {
			t.Fatalf("ParseURL(%q) = %+v; want every field set", raw, e)
		}
		if e.Security == SecurityNone && !isLoopback(e.Host) {
			t.Fatalf("ParseURL(%q) allows clear text to %q", raw, e.Host)
		}
		if strings.Contains(e.String(), mark) {
			t.Fatalf("String() = %q shows the password", e.String())
		}
		if _, err := strconv.Atoi(strings.TrimPrefix(e.Addr()[strings.LastIndex(e.Addr(), ":"):], ":")); err != nil {
			t.Fatalf("Addr() = %q", e.Addr())
		}
	})
}
