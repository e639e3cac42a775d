package smtpout

import (
	"errors"
	"strings"
	"testing"

	"github.com/outreach-coalition/outreach/internal/outreach"
)

func TestParseURL(t *testing.T) {
	good := []struct {
		raw  string
		want Endpoint
		str  string
	}{
		{"smtp://bot:s3cret@mail.example.org", Endpoint{"mail.example.org", 587, StartTLS, "bot", "s3cret", false}, "smtp://bot@mail.example.org:587"},
		{"smtps://bot:s3cret@mail.example.org", Endpoint{"mail.example.org", 465, ImplicitTLS, "bot", "s3cret", false}, "smtps://bot@mail.example.org:465"},
		{"SMTP://mail.example.org:2525", Endpoint{"mail.example.org", 2525, StartTLS, "", "", false}, "smtp://mail.example.org:2525"},
		{"smtp://u%40example.org:p%40ss%3Aw%2Fd%23@mail.example.org:587/", Endpoint{"mail.example.org", 587, StartTLS, "u@example.org", "p@ss:w/d#", false}, "smtp://u%40example.org@mail.example.org:587"},
		{"smtp://user@example.org:pass@mail.example.org", Endpoint{"mail.example.org", 587, StartTLS, "user@example.org", "pass", false}, "smtp://user%40example.org@mail.example.org:587"},
		{"smtp://bot:x@mail.example.org?tls=opportunistic", Endpoint{"mail.example.org", 587, OpportunisticTLS, "bot", "x", false}, "smtp://bot@mail.example.org:587?tls=opportunistic"},
		{"smtp://127.0.0.1:2525?tls=none", Endpoint{"127.0.0.1", 2525, NoTLS, "", "", false}, "smtp://127.0.0.1:2525?tls=none"},
		{"smtp://localhost:25?tls=NONE", Endpoint{"localhost", 25, NoTLS, "", "", false}, "smtp://localhost:25?tls=none"},
		{"smtp://[::1]:2525?tls=none", Endpoint{"::1", 2525, NoTLS, "", "", false}, "smtp://[::1]:2525?tls=none"},
		{"smtp://mail.example.org?tls=starttls", Endpoint{"mail.example.org", 587, StartTLS, "", "", false}, "smtp://mail.example.org:587"},
		{"  smtps://mail.example.org:1465  ", Endpoint{"mail.example.org", 1465, ImplicitTLS, "", "", false}, "smtps://mail.example.org:1465"},
		{"smtp://bot:x@mail.example.org?chunking=off", Endpoint{"mail.example.org", 587, StartTLS, "bot", "x", true}, "smtp://bot@mail.example.org:587?chunking=off"},
		{"smtp://127.0.0.1:2525?tls=none&chunking=OFF", Endpoint{"127.0.0.1", 2525, NoTLS, "", "", true}, "smtp://127.0.0.1:2525?chunking=off&tls=none"},
		{"smtp://mail.example.org?chunking=on", Endpoint{"mail.example.org", 587, StartTLS, "", "", false}, "smtp://mail.example.org:587"},
	}
	for _, tc := range good {
		e, err := ParseURL(tc.raw)
		if err != nil {
			t.Errorf("ParseURL(%q) = %v", tc.raw, err)
			continue
		}
		if *e != tc.want {
			t.Errorf("ParseURL(%q) = %+v; want %+v", tc.raw, *e, tc.want)
		}
		if s := e.String(); s != tc.str {
			t.Errorf("ParseURL(%q).String() = %q; want %q", tc.raw, s, tc.str)
		}
	}

	const secret = "Sup3rS3cret"
	bad := []struct{ raw, want string }{
		{"", "empty"},
		{"mail.example.org:587", "scheme"},
		{"http://bot:" + secret + "@mail.example.org", "scheme"},
		{"smtp://bot:" + secret + "@mail.example.org/path", "path"},
		{"smtp://bot:" + secret + "/x@mail.example.org", "not a valid URL"},
		{"smtp://bot:12/" + secret + "@mail.example.org", "path"},
		{"smtp://bot:" + secret + "#x@mail.example.org", "not a valid URL"},
		{"smtp://bot:12#" + secret + "@mail.example.org", "fragment"},
		{"smtp://bot:" + secret + "@", "host"},
		{"smtp://bot:" + secret + "@mail.example.org:0", "port"},
		{"smtp://bot:" + secret + "@mail.example.org:70000", "port"},
		{"smtp://bot:" + secret + "@mail.example.org:x", "not a valid URL"},
		{"smtp://bot:1234567@mail.example.org:1234567", "port"},
		{"smtp://:" + secret + "@mail.example.org", "user name"},
		{"smtp://bot:" + secret + "@mail.example.org?tls=none", "loopback"},
		{"smtp://bot:" + secret + "@mail.example.org?tls=maybe", "tls="},
		{"smtps://bot:" + secret + "@mail.example.org?tls=none", "contradicts"},
		{"smtp://bot:" + secret + "@mail.example.org?tsl=none", "unknown parameter"},
		{"smtp://bot:" + secret + "@mail.example.org?tls=none&tls=none", "2 times"},
		{"smtp://bot:12?" + secret + "@mail.example.org", "unknown parameter"},
		{"smtp:bot:" + secret + "@mail.example.org", "smtp://"},
		{"smtp://bot:" + secret + "@mail.example.org?tls=%zz", "malformed"},
		{"smtp://bot:" + secret + "@mail.example.org?chunking=no", "is not on or off"},
		{"smtp://bot:" + secret + "@mail.example.org?chunking=on&chunking=off", "chunking is given 2 times"},
	}
	for _, tc := range bad {
		_, err := ParseURL(tc.raw)
		if err == nil {
			t.Errorf("ParseURL(%q) = nil error; want one about %q", tc.raw, tc.want)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, tc.want) || !strings.HasPrefix(msg, "smtp.url: ") {
			t.Errorf("ParseURL(%q) = %q; want smtp.url: ...%s...", tc.raw, msg, tc.want)
		}
		if strings.Contains(msg, secret) || strings.Contains(msg, "1234567") {
			t.Errorf("ParseURL(%q) = %q leaks the password", tc.raw, msg)
		}
		var oe *outreach.Error
		if !errors.As(err, &oe) || oe.Code != outreach.EINVALID || oe.Field != "smtp.url" {
			t.Errorf("ParseURL(%q) error %#v is not an EINVALID smtp.url error", tc.raw, err)
		}
	}
}

func FuzzParseURL(f *testing.F) {
	for _, s := range []string{"s3cret", "p@ss:w/d#", "12?tls=none", "%41%", "a b", "[::1]", ""} {
		f.Add(s, "mail.example.org:587")
	}
	f.Add("x", "127.0.0.1:25?tls=none")
	f.Fuzz(func(t *testing.T, pass, rest string) {
		raw := "smtp://bot:" + pass + "@" + rest
		e, err := ParseURL(raw)
		if err != nil {
			// A password that also appears in the rest of the URL cannot be
			// told apart from it; short ones match by chance.
			if len(pass) >= 6 && !strings.Contains(rest, pass) && !strings.Contains("smtp://bot:@", pass) &&
				strings.Contains(err.Error(), pass) {
				t.Errorf("ParseURL(%q) = %q leaks the password", raw, err)
			}
			return
		}
		if e.Port < 1 || e.Port > 65535 || e.Host == "" {
			t.Errorf("ParseURL(%q) = %+v: bad host or port", raw, e)
		}
		if e.TLS == NoTLS && !isLoopback(e.Host) {
			t.Errorf("ParseURL(%q) allows tls=none to %s", raw, e.Host)
		}
		if e.Password != "" && len(e.Password) >= 6 && strings.Contains(e.String(), e.Password) &&
			!strings.Contains(e.Host+e.Username, e.Password) {
			t.Errorf("ParseURL(%q).String() = %q shows the password", raw, e.String())
		}
	})
}
