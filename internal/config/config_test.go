package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDefaultsAreValid(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v; want nil", err)
	}
	if !strings.HasPrefix(c.HTTP.Addr, "127.0.0.1:") {
		t.Errorf("default http.addr = %q; want loopback", c.HTTP.Addr)
	}
}

func TestPrecedence(t *testing.T) {
	path := filepath.Join(t.TempDir(), "outreach.toml")
	os.WriteFile(path, []byte("data_dir = \"/file\"\n[smtp]\nurl = \"smtp://file\"\nconnections = 7\ntimeout = \"5s\"\n[http]\ntrusted_proxies = [\"10.0.0.1\"]\n"), 0o600)
	c, err := Load(path, []string{"OUTREACH_SMTP_URL=smtp://env", "OUTREACH_SERVER=http://ignored", "OUTREACH_CAMPAIGN_DEFAULT_LANGUAGE=es", "OUTREACH_HTTP_TRUSTED_PROXIES=127.0.0.1, ::1"})
	if err != nil {
		t.Fatal(err)
	}
	if c.DataDir != "/file" || c.SMTP.URL != "smtp://env" || c.SMTP.Connections != 7 || c.SMTP.Timeout.Duration != 5*time.Second {
		t.Errorf("got data_dir=%q smtp.url=%q connections=%d timeout=%v", c.DataDir, c.SMTP.URL, c.SMTP.Connections, c.SMTP.Timeout)
	}
	if c.Campaign.DefaultLanguage != "es" {
		t.Errorf("campaign.default_language = %q; want es from the environment", c.Campaign.DefaultLanguage)
	}
	if strings.Join(c.HTTP.TrustedProxies, " ") != "127.0.0.1 ::1" {
		t.Errorf("http.trusted_proxies = %q", c.HTTP.TrustedProxies)
	}
}

func TestErrorsNameTheKey(t *testing.T) {
	dir := t.TempDir()
	write := func(s string) string {
		p := filepath.Join(dir, "c.toml")
		os.WriteFile(p, []byte(s), 0o600)
		return p
	}
	for _, tc := range []struct {
		file string
		env  []string
		want string
	}{
		{"[smtp]\nconections = 3\n", nil, `"smtp.conections"`},
		{"[smtp]\ntimeout = \"soon\"\n", nil, "soon"},
		{"", []string{"OUTREACH_SMTP_CONNECTIONS=many"}, "OUTREACH_SMTP_CONNECTIONS (smtp.connections)"},
		{"", []string{"OUTREACH_SMTP_CONNECTIONS=0"}, "smtp.connections"},
		{"", []string{"OUTREACH_CAMPAIGN_REPLY_TO=not-an-address"}, "campaign.reply_to"},
		{"", []string{"OUTREACH_LOG_LEVEL=loud"}, "log_level"},
		{"data_dir = [\n", nil, "line"},
	} {
		c, err := Load(write(tc.file), tc.env)
		if err == nil {
			err = c.Validate()
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("file %q env %q: err = %v; want it to mention %s", tc.file, tc.env, err, tc.want)
		}
	}
}

func TestEnvKeysCoverEveryKey(t *testing.T) {
	keys := EnvKeys()
	for _, want := range []string{"OUTREACH_SMTP_URL", "OUTREACH_IMAP_URL", "OUTREACH_SECRET", "OUTREACH_HTTP_PUBLIC_URL", "OUTREACH_CAMPAIGN_FROM", "OUTREACH_SMTP_CONNECTIONS"} {
		if keys[want] == "" {
			t.Errorf("EnvKeys() lacks %s", want)
		}
	}
	if _, ok := keys["OUTREACH_SERVER"]; ok {
		t.Error("OUTREACH_SERVER must not be a config key")
	}
}
