// Package config loads outreach's configuration: defaults, then a TOML file,
// then OUTREACH_* environment variables, then command-line flags (applied
// by the caller), validated once at start-up.
//
// TOML was chosen over YAML because it has one obvious way to write each
// value (no implicit typing: "NO" stays a string, a country code never
// becomes false), and its tables map one-to-one onto the dotted key paths
// that the environment variables mirror.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/outreach-coalition/outreach/internal/outreach"
)

// Config is the whole configuration. Every field's toml tag is its key;
// the environment variable is OUTREACH_ plus the key path upper-cased and
// joined by "_" (smtp.url -> OUTREACH_SMTP_URL).
type Config struct {
	DataDir      string   `toml:"data_dir"`
	TemplatesDir string   `toml:"templates_dir"`
	LogLevel     string   `toml:"log_level"`
	LogFormat    string   `toml:"log_format"`
	Secret       string   `toml:"secret"` // HMAC key for reply and unsubscribe tokens; generated in data_dir when empty
	HTTP         HTTP     `toml:"http"`
	SMTP         SMTP     `toml:"smtp"`
	IMAP         IMAP     `toml:"imap"`
	Campaign     Campaign `toml:"campaign"`
	Outbox       Outbox   `toml:"outbox"`
	Inbox        Inbox    `toml:"inbox"`
	Waves        Waves    `toml:"waves"`
	Metrics      Metrics  `toml:"metrics"`
}

// HTTP configures the API and web UI listener.
type HTTP struct {
	Addr           string   `toml:"addr"`
	PublicURL      string   `toml:"public_url"`
	TrustedProxies []string `toml:"trusted_proxies"`
}

// SMTP configures outgoing mail.
type SMTP struct {
	URL          string   `toml:"url"`
	CAFile       string   `toml:"ca_file"`
	Connections  int      `toml:"connections"`
	Rate         float64  `toml:"rate"`
	DomainRate   float64  `toml:"domain_rate"`
	Timeout      Duration `toml:"timeout"`
	HELO         string   `toml:"helo"`
	DKIMDomain   string   `toml:"dkim_domain"`
	DKIMSelector string   `toml:"dkim_selector"`
	DKIMKeyFile  string   `toml:"dkim_key_file"`
}

// IMAP configures the campaign mailbox.
type IMAP struct {
	URL             string   `toml:"url"`
	CAFile          string   `toml:"ca_file"`
	ProcessedFolder string   `toml:"processed_folder"`
	PollInterval    Duration `toml:"poll_interval"`
}

// Campaign defines the default campaign, created on first start.
type Campaign struct {
	Name              string `toml:"name"`
	From              string `toml:"from"`
	ReplyTo           string `toml:"reply_to"`
	DefaultLanguage   string `toml:"default_language"`
	PostalAddress     string `toml:"postal_address"`
	RequireReview     bool   `toml:"require_review"`
	UnattendedLetters bool   `toml:"unattended_letters"`
	ThankYou          bool   `toml:"thank_you"`
}

// Outbox tunes sending.
type Outbox struct {
	MaxAttempts   int      `toml:"max_attempts"`
	MaxAge        Duration `toml:"max_age"`
	CommitWindow  Duration `toml:"commit_window"`  // how long state changes may wait to be grouped into one commit
	AfterCrash    string   `toml:"after_crash"`    // resend (at-least-once) or hold (at-most-once)
	NoSync        bool     `toml:"no_sync"`        // skip fsync: only for tests and benchmarks
	InFlight      int      `toml:"in_flight"`      // messages handed to SMTP whose answer is not yet committed (0: 4 per connection, at least 8): at most this many are sent twice after a crash
	RetryBase     Duration `toml:"retry_base"`     // first retry delay; doubles per attempt
	PauseAfter    int      `toml:"pause_after"`    // consecutive unreachable attempts before sends pause
	ProbeInterval Duration `toml:"probe_interval"` // how often a paused outbox checks the server
}

// Inbox tunes reply handling.
type Inbox struct {
	SoftBounceLimit  int      `toml:"soft_bounce_limit"`
	SoftBounceWindow Duration `toml:"soft_bounce_window"`
	MaxMessageBytes  int64    `toml:"max_message_bytes"`
}

// Waves tunes scheduling.
type Waves struct {
	Grace Duration `toml:"grace"` // missed runs younger than this run at start-up
}

// Metrics configures /metrics.
type Metrics struct {
	Public bool `toml:"public"`
}

// Duration is a time.Duration written as "30s", "72h".
type Duration struct{ time.Duration }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("%q is not a duration (examples: 30s, 5m, 72h)", b)
	}
	d.Duration = v
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// Default returns the configuration used when nothing is set.
func Default() Config {
	return Config{
		DataDir:   "./data",
		LogLevel:  "info",
		LogFormat: "text",
		HTTP:      HTTP{Addr: "127.0.0.1:8025"},
		SMTP:      SMTP{Connections: 4, Timeout: Duration{30 * time.Second}},
		IMAP:      IMAP{ProcessedFolder: "Processed", PollInterval: Duration{30 * time.Second}},
		Campaign: Campaign{
			Name:            "OP-ICESCR ratification",
			From:            "Campaign <campaign@example.org>",
			ReplyTo:         "campaign@example.org",
			DefaultLanguage: "en",
			PostalAddress:   "Campaign secretariat, 1 Example Street, Example City",
		},
		Outbox: Outbox{MaxAttempts: 8, MaxAge: Duration{72 * time.Hour}, CommitWindow: Duration{0}, AfterCrash: "resend",
			RetryBase: Duration{time.Minute}, PauseAfter: 10, ProbeInterval: Duration{10 * time.Second}},
		Inbox: Inbox{SoftBounceLimit: 3, SoftBounceWindow: Duration{7 * 24 * time.Hour}, MaxMessageBytes: 10 << 20},
		Waves: Waves{Grace: Duration{6 * time.Hour}},
	}
}

// Load returns the defaults overridden by the TOML file at path (if path
// is not empty) and then by the environment. It does not validate.
func Load(path string, environ []string) (Config, error) {
	c := Default()
	if path != "" {
		md, err := toml.DecodeFile(path, &c)
		if err != nil {
			var perr toml.ParseError
			if errors.As(err, &perr) {
				return c, fmt.Errorf("config %s: line %d: %s", path, perr.Position.Line, perr.Message)
			}
			return c, fmt.Errorf("config %s: %w", path, err)
		}
		if und := md.Undecoded(); len(und) > 0 {
			return c, fmt.Errorf("config %s: unknown key %q", path, und[0].String())
		}
	}
	if err := applyEnv(&c, environ); err != nil {
		return c, err
	}
	return c, nil
}

// notKeys are OUTREACH_ variables that belong to the CLI or to secrets
// handled elsewhere, never config keys.
var notKeys = map[string]bool{"OUTREACH_SERVER": true, "OUTREACH_TOKEN": true, "OUTREACH_ADMIN_PASSWORD": true, "OUTREACH_REAL_MAIL": true, "OUTREACH_REAL_MAIL_ENV": true}

// EnvKeys returns every environment variable name with its key path.
func EnvKeys() map[string]string {
	out := map[string]string{}
	walk(reflect.ValueOf(&Config{}).Elem(), "", func(path string, _ reflect.Value) error {
		out[EnvName(path)] = path
		return nil
	})
	return out
}

// EnvName returns the environment variable for a key path.
func EnvName(path string) string {
	return "OUTREACH_" + strings.ToUpper(strings.ReplaceAll(path, ".", "_"))
}

func applyEnv(c *Config, environ []string) error {
	env := map[string]string{}
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if ok && strings.HasPrefix(k, "OUTREACH_") && !notKeys[k] {
			env[k] = v
		}
	}
	return walk(reflect.ValueOf(c).Elem(), "", func(path string, f reflect.Value) error {
		v, ok := env[EnvName(path)]
		if !ok {
			return nil
		}
		if err := setField(f, v); err != nil {
			return fmt.Errorf("%s (%s): %w", EnvName(path), path, err)
		}
		return nil
	})
}

func walk(v reflect.Value, prefix string, fn func(path string, f reflect.Value) error) error {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		key := sf.Tag.Get("toml")
		if key == "" {
			continue
		}
		path := key
		if prefix != "" {
			path = prefix + "." + key
		}
		f := v.Field(i)
		if f.Kind() == reflect.Struct && f.Type() != reflect.TypeOf(Duration{}) {
			if err := walk(f, path, fn); err != nil {
				return err
			}
			continue
		}
		if err := fn(path, f); err != nil {
			return err
		}
	}
	return nil
}

func setField(f reflect.Value, s string) error {
	switch p := f.Addr().Interface().(type) {
	case *Duration:
		return p.UnmarshalText([]byte(s))
	case *string:
		*p = s
	case *[]string:
		*p = nil
		for _, part := range strings.Split(s, ",") {
			if part = strings.TrimSpace(part); part != "" {
				*p = append(*p, part)
			}
		}
	case *bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("%q is not true or false", s)
		}
		*p = b
	case *int:
		n, err := strconv.Atoi(s)
		if err != nil {
			return fmt.Errorf("%q is not a whole number", s)
		}
		*p = n
	case *int64:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("%q is not a whole number", s)
		}
		*p = n
	case *float64:
		n, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return fmt.Errorf("%q is not a number", s)
		}
		*p = n
	default:
		return fmt.Errorf("unsupported type %s", f.Type())
	}
	return nil
}

// Validate checks every key and returns the first problem, naming the key.
func (c *Config) Validate() error {
	bad := func(key, format string, args ...any) error {
		return fmt.Errorf("config: %s: %s", key, fmt.Sprintf(format, args...))
	}
	if strings.TrimSpace(c.DataDir) == "" {
		return bad("data_dir", "must not be empty")
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return bad("log_level", "%q is not one of debug, info, warn, error", c.LogLevel)
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		return bad("log_format", "%q is not text or json", c.LogFormat)
	}
	if _, _, err := net.SplitHostPort(c.HTTP.Addr); err != nil {
		return bad("http.addr", "%q is not host:port", c.HTTP.Addr)
	}
	if c.HTTP.PublicURL != "" {
		u, err := url.Parse(c.HTTP.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return bad("http.public_url", "%q is not an http(s) URL", c.HTTP.PublicURL)
		}
	}
	for _, p := range c.HTTP.TrustedProxies {
		if _, _, err := net.ParseCIDR(p); err != nil && net.ParseIP(p) == nil {
			return bad("http.trusted_proxies", "%q is not an IP address or CIDR", p)
		}
	}
	if c.SMTP.Connections < 1 || c.SMTP.Connections > 200 {
		return bad("smtp.connections", "%d is not between 1 and 200", c.SMTP.Connections)
	}
	if c.SMTP.Rate < 0 || c.SMTP.DomainRate < 0 {
		return bad("smtp.rate", "must not be negative")
	}
	if c.SMTP.Timeout.Duration <= 0 {
		return bad("smtp.timeout", "must be positive")
	}
	for key, file := range map[string]string{"smtp.ca_file": c.SMTP.CAFile, "imap.ca_file": c.IMAP.CAFile, "smtp.dkim_key_file": c.SMTP.DKIMKeyFile} {
		if file != "" {
			if _, err := os.Stat(file); err != nil {
				return bad(key, "%v", err)
			}
		}
	}
	if (c.SMTP.DKIMKeyFile != "") != (c.SMTP.DKIMDomain != "" && c.SMTP.DKIMSelector != "") {
		return bad("smtp.dkim_key_file", "DKIM needs dkim_domain, dkim_selector and dkim_key_file together")
	}
	if c.IMAP.ProcessedFolder == "" {
		return bad("imap.processed_folder", "must not be empty")
	}
	if c.IMAP.PollInterval.Duration < time.Second {
		return bad("imap.poll_interval", "must be at least 1s")
	}
	camp := outreach.Campaign{Name: c.Campaign.Name, From: c.Campaign.From, ReplyTo: c.Campaign.ReplyTo, DefaultLanguage: c.Campaign.DefaultLanguage}
	if err := camp.Validate(); err != nil {
		var e *outreach.Error
		if errors.As(err, &e) {
			return bad("campaign."+e.Field, "%s", e.Message)
		}
		return bad("campaign", "%v", err)
	}
	if c.Outbox.MaxAttempts < 1 {
		return bad("outbox.max_attempts", "must be at least 1")
	}
	if c.Outbox.CommitWindow.Duration < 0 || c.Outbox.CommitWindow.Duration > time.Second {
		return bad("outbox.commit_window", "must be between 0 and 1s")
	}
	if c.Outbox.RetryBase.Duration <= 0 || c.Outbox.ProbeInterval.Duration <= 0 {
		return bad("outbox.retry_base", "retry_base and probe_interval must be positive")
	}
	if c.Outbox.InFlight < 0 || c.Outbox.InFlight > 10000 {
		return bad("outbox.in_flight", "%d is not between 0 and 10000", c.Outbox.InFlight)
	}
	if c.Outbox.PauseAfter < 1 {
		return bad("outbox.pause_after", "must be at least 1")
	}
	switch c.Outbox.AfterCrash {
	case "resend", "hold":
	default:
		return bad("outbox.after_crash", "%q is not resend or hold", c.Outbox.AfterCrash)
	}
	if c.Inbox.SoftBounceLimit < 1 {
		return bad("inbox.soft_bounce_limit", "must be at least 1")
	}
	if c.Inbox.MaxMessageBytes < 1024 {
		return bad("inbox.max_message_bytes", "must be at least 1024")
	}
	if c.Waves.Grace.Duration < 0 {
		return bad("waves.grace", "must not be negative")
	}
	return nil
}
