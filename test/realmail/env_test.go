package realmail

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

const sampleEnv = `# written by start.sh
OUTREACH_REAL_STATE_DIR=/tmp/om.x
OUTREACH_REAL_SMTP_SUBMISSION=127.0.0.1:10587
OUTREACH_REAL_SMTP_MX=127.0.0.1:10025
export OUTREACH_REAL_IMAP=127.0.0.1:10143
OUTREACH_REAL_IMAPS="127.0.0.1:10993"

OUTREACH_REAL_CA='/tmp/om.x/ca.pem'
OUTREACH_REAL_DOMAIN=example.test
OUTREACH_REAL_USERS=campaign@example.test, sender@example.test,partner1@example.test
OUTREACH_REAL_PASSWORD=a=b
OUTREACH_REAL_POSTFIX_LOG=/tmp/om.x/log/postfix.log
`

func TestParseEnv(t *testing.T) {
	vars, err := parseEnv("env", strings.NewReader(sampleEnv))
	if err != nil {
		t.Fatalf("parseEnv: %v", err)
	}
	s, err := fromVars("env", vars)
	if err != nil {
		t.Fatalf("fromVars: %v", err)
	}
	want := &Servers{
		Submission: "127.0.0.1:10587",
		MX:         "127.0.0.1:10025",
		IMAP:       "127.0.0.1:10143",
		IMAPS:      "127.0.0.1:10993",
		CAFile:     "/tmp/om.x/ca.pem",
		Domain:     "example.test",
		Password:   "a=b",
		PostfixLog: "/tmp/om.x/log/postfix.log",
		StateDir:   "/tmp/om.x",
		Users:      []string{"campaign@example.test", "sender@example.test", "partner1@example.test"},
	}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("servers = %+v\nwant %+v", s, want)
	}
}

func TestParseEnvErrors(t *testing.T) {
	tests := []struct {
		name, text, want string
	}{
		{"no equals", "OUTREACH_REAL_IMAP=x\nnonsense\n", "env:2: want KEY=VALUE"},
		{"bad key", "1KEY=x\n", "env:1: want KEY=VALUE"},
		{"space in key", "A B=x\n", "env:1: want KEY=VALUE"},
	}
	for _, tt := range tests {
		_, err := parseEnv("env", strings.NewReader(tt.text))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: parseEnv(%q) = %v; want error containing %q", tt.name, tt.text, err, tt.want)
		}
	}

	vars, err := parseEnv("env", strings.NewReader(strings.Replace(sampleEnv, "OUTREACH_REAL_DOMAIN=example.test", "", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fromVars("env", vars); err == nil || !strings.Contains(err.Error(), "OUTREACH_REAL_DOMAIN is missing") {
		t.Errorf("fromVars without domain = %v; want OUTREACH_REAL_DOMAIN is missing", err)
	}
	vars, err = parseEnv("env", strings.NewReader(strings.Replace(sampleEnv, "127.0.0.1:10025", "127.0.0.1", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fromVars("env", vars); err == nil || !strings.Contains(err.Error(), `bad address "127.0.0.1"`) {
		t.Errorf("fromVars with port-less MX = %v; want bad address", err)
	}
}

func FuzzParseEnv(f *testing.F) {
	f.Add(sampleEnv)
	f.Add("A='unterminated\nB=\"x\"\n")
	f.Add("export =\n#\n\n=x\n")
	f.Fuzz(func(t *testing.T, text string) {
		vars, err := parseEnv("env", strings.NewReader(text))
		if err != nil {
			return
		}
		for k := range vars {
			if !validKey(k) {
				t.Errorf("parseEnv(%q) accepted key %q", text, k)
			}
		}
		if s, err := fromVars("env", vars); err == nil && s.Domain == "" {
			t.Errorf("fromVars(%q) accepted an empty domain", text)
		}
	})
}

// recorder is a testing.TB that records Skip and Fatal and ends the
// goroutine like the real ones do.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper() {}

func (r *recorder) Skip(args ...any) {
	r.skipped = fmt.Sprint(args...)
	runtime.Goexit()
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func runEnv(t *testing.T) (*Servers, *recorder) {
	r := &recorder{TB: t}
	var s *Servers
	done := make(chan struct{})
	go func() {
		defer close(done)
		s = Env(r)
	}()
	<-done
	return s, r
}

// writeEnv writes an env file whose four listeners are mx, sub, imap, imaps.
func writeEnv(t *testing.T, addrs [4]string) string {
	t.Helper()
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, []byte("not used"), 0o644); err != nil {
		t.Fatal(err)
	}
	text := fmt.Sprintf("OUTREACH_REAL_SMTP_MX=%s\nOUTREACH_REAL_SMTP_SUBMISSION=%s\nOUTREACH_REAL_IMAP=%s\nOUTREACH_REAL_IMAPS=%s\n"+
		"OUTREACH_REAL_CA=%s\nOUTREACH_REAL_DOMAIN=example.test\nOUTREACH_REAL_PASSWORD=pw\nOUTREACH_REAL_USERS=a@example.test\n",
		addrs[0], addrs[1], addrs[2], addrs[3], ca)
	path := filepath.Join(dir, "env")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestEnvSkipsOrFails(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	up := ln.Addr().String()

	// A port that was just free: nothing answers there.
	l2, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := l2.Addr().String()
	l2.Close()

	running := writeEnv(t, [4]string{up, up, up, up})
	imapDown := writeEnv(t, [4]string{up, up, down, up})

	tests := []struct {
		name, required, env string
		wantSkip, wantFail  string
	}{
		{"unset", "", "", SkipMessage, ""},
		{"missing file", "", filepath.Join(t.TempDir(), "env"), SkipMessage, ""},
		{"server down", "0", imapDown, SkipMessage, ""},
		{"required unset", "1", "", "", "OUTREACH_REAL_MAIL_ENV is not set"},
		{"required server down", "1", imapDown, "", "probe " + down},
		{"running", "1", running, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("OUTREACH_REAL_MAIL", tt.required)
			t.Setenv("OUTREACH_REAL_MAIL_ENV", tt.env)
			s, r := runEnv(t)
			if r.skipped != tt.wantSkip {
				t.Errorf("skipped with %q; want %q", r.skipped, tt.wantSkip)
			}
			if (tt.wantFail == "") != (r.failed == "") || !strings.Contains(r.failed, tt.wantFail) {
				t.Errorf("failed with %q; want %q", r.failed, tt.wantFail)
			}
			if tt.wantSkip == "" && tt.wantFail == "" && (s == nil || s.IMAP != up) {
				t.Errorf("Env = %+v; want servers at %s", s, up)
			}
		})
	}
}

func TestSieveString(t *testing.T) {
	got := sieveString(`say "hi" \ bye`)
	want := `"say \"hi\" \\ bye"`
	if got != want {
		t.Errorf("sieveString = %s; want %s", got, want)
	}
}

func TestFindLine(t *testing.T) {
	data := []byte("a b\nc d e\nf\n")
	if got, ok := findLine(data, []string{"d", "c"}); !ok || got != "c d e" {
		t.Errorf("findLine(d, c) = %q, %v; want \"c d e\", true", got, ok)
	}
	if _, ok := findLine(data, []string{"a", "d"}); ok {
		t.Error("findLine(a, d) matched across lines")
	}
}
