package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/outreach-coalition/outreach/internal/config"
	"github.com/outreach-coalition/outreach/internal/metrics"
	"github.com/outreach-coalition/outreach/internal/outbox"
	"github.com/outreach-coalition/outreach/internal/outreach"
	"github.com/outreach-coalition/outreach/internal/service"
	"github.com/outreach-coalition/outreach/internal/store"
	"github.com/outreach-coalition/outreach/internal/web"
	"github.com/spf13/cobra"
)

type serveFlags struct {
	config string
	http   string
	demo   bool
}

func newServeCmd(c *cli) *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the outreach daemon",
		Long: `Run the daemon: the store, the outbox, the inbox watcher, the scheduler and
the HTTP API and web UI.

Settings come from defaults, then the TOML file given with --config (see
config/outreach.example.toml), then OUTREACH_* environment variables
(smtp.url -> OUTREACH_SMTP_URL), then these flags. With nothing set it keeps
its data in ./data and listens on 127.0.0.1:8025 only.

On first start it creates the admin principal and writes its API token to
<data>/admin.token (mode 0600); the CLI on the same machine reads it from there.`,
		Example: `  outreach serve
  outreach serve --config /etc/outreach.toml --data /var/lib/outreach --http 127.0.0.1:9000
  OUTREACH_SMTP_URL='smtp://user:pass@smtp.example.org:587' outreach serve`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.serve(cmd.Context(), f)
		},
	}
	cmd.Flags().StringVar(&f.config, "config", "", "TOML configuration file")
	cmd.Flags().StringVar(&f.http, "http", "", "listen address for the API and web UI (overrides http.addr)")
	cmd.Flags().BoolVar(&f.demo, "demo", false, "run the self-contained demo: built-in SMTP and IMAP servers, a demo campaign and simulated partners, in a data directory wiped at each start (default ./data-demo)")
	return cmd
}

// loadConfig applies defaults, file, environment and flags, then validates.
func (c *cli) loadConfig(f serveFlags) (config.Config, error) {
	env := make([]string, 0, len(c.env))
	for k, v := range c.env {
		env = append(env, k+"="+v)
	}
	cfg, err := config.Load(f.config, env)
	if err != nil {
		return cfg, err
	}
	if c.dataDir != "" {
		cfg.DataDir = c.dataDir
	}
	if f.http != "" {
		cfg.HTTP.Addr = f.http
	}
	return cfg, cfg.Validate()
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// daemon is everything serve starts, for the parts that are added by
// other capabilities.
type daemon struct {
	cfg     config.Config
	log     *slog.Logger
	store   *store.Store
	svc     *service.Service
	secret  []byte
	web     *web.Server
	outbox  *outbox.Engine
	metrics *metrics.Metrics
	// httpAddr is the API's listen address; publicURL the base of links.
	httpAddr, publicURL string
	// notices are printed at start and in every status output.
	notices []string
	// starters run after the store opens; each returns a stop function.
	starters []func(ctx context.Context) (func(), error)
	// afterStart run once the API serves.
	afterStart []func(ctx context.Context) error
	// demo is set by serve --demo.
	demo *demoRun
}

// daemonHooks let capability files extend the daemon before it starts.
var daemonHooks []func(d *daemon) error

func (c *cli) serve(ctx context.Context, f serveFlags) error {
	if f.demo && c.dataDir == "" {
		c.dataDir = defaultDemoDir
	}
	cfg, err := c.loadConfig(f)
	if err != nil {
		return err
	}
	log := newLogger(cfg, c.stderr)
	if _, set := os.LookupEnv("GOGC"); !set {
		// The daemon's live heap is small: collecting at twice it, not
		// once, halves the collector's CPU share while sending.
		debug.SetGCPercent(200)
	}
	var demo *demoRun
	if f.demo {
		if demo, err = c.prepareDemo(ctx, &cfg, log); err != nil {
			return err
		}
		defer demo.close()
	}
	st, err := store.Open(cfg.DataDir, store.Options{NoSync: cfg.Outbox.NoSync})
	if err != nil {
		return err
	}
	defer st.Close()
	d := &daemon{cfg: cfg, log: log, store: st, demo: demo}
	if d.secret, err = loadSecret(cfg); err != nil {
		return err
	}
	st.SetAddressKey(d.secret)
	d.svc = service.New(st, log, nil)
	camp, err := st.EnsureDefaultCampaign(ctx, &outreach.Campaign{
		Name: cfg.Campaign.Name, From: cfg.Campaign.From, ReplyTo: cfg.Campaign.ReplyTo,
		DefaultLanguage: cfg.Campaign.DefaultLanguage, PostalAddress: cfg.Campaign.PostalAddress,
		RequireReview: cfg.Campaign.RequireReview, UnattendedLetters: cfg.Campaign.UnattendedLetters, ThankYou: cfg.Campaign.ThankYou,
	})
	if err != nil {
		return fmt.Errorf("default campaign: %w", err)
	}
	d.svc.DefaultCampaign = camp.ID
	tokenFile := filepath.Join(cfg.DataDir, "admin.token")
	if err := firstStart(ctx, st, tokenFile, log); err != nil {
		return err
	}
	if err := adminCredential(ctx, d.svc, c.env["OUTREACH_ADMIN_PASSWORD"], c.stdout, log); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.HTTP.Addr)
	if err != nil {
		return fmt.Errorf("http.addr: %w", err)
	}
	defer ln.Close()
	addr := ln.Addr().String()
	d.httpAddr = addr
	d.publicURL = strings.TrimRight(cfg.HTTP.PublicURL, "/")
	if d.publicURL == "" {
		d.publicURL = "http://" + addr
		log.Warn("http.public_url is not set: unsubscribe links point at the listen address and only work on this machine", "url", d.publicURL)
	}
	d.web = &web.Server{Svc: d.svc, Auth: st, Log: log.With("component", "http")}
	startMetrics(d)
	for _, hook := range daemonHooks {
		if err := hook(d); err != nil {
			return err
		}
	}
	for _, start := range d.starters {
		stop, err := start(ctx)
		if err != nil {
			return err
		}
		defer stop()
	}

	if err := writeFileAtomic(filepath.Join(cfg.DataDir, "serve.addr"), []byte(addr+"\n")); err != nil {
		return err
	}
	defer os.Remove(filepath.Join(cfg.DataDir, "serve.addr"))
	srv := &http.Server{Handler: d.web.Handler(), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	if !isLoopback(addr) {
		log.Warn("the API listens on a non-loopback address: put it behind TLS", "addr", addr)
	}
	fmt.Fprintf(c.stdout, "outreach: API listening on http://%s\noutreach: admin token in %s\n", addr, tokenFile)
	for _, n := range d.notices {
		fmt.Fprintf(c.stdout, "outreach: %s\n", n)
	}
	for _, after := range d.afterStart {
		if err := after(ctx); err != nil {
			return err
		}
	}
	log.Info("daemon started", "http", addr, "data", cfg.DataDir, "campaign", camp.Name)

	select {
	case <-ctx.Done():
	case err := <-errc:
		return fmt.Errorf("http: %w", err)
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	srv.Shutdown(sctx)
	return nil
}

func isLoopback(addr string) bool {
	host, _, _ := net.SplitHostPort(addr)
	ip := net.ParseIP(host)
	return host == "localhost" || (ip != nil && ip.IsLoopback())
}

// firstStart creates the admin principal and its token on an empty store.
func firstStart(ctx context.Context, st *store.Store, tokenFile string, log *slog.Logger) error {
	has, err := st.HasPrincipals(ctx)
	if err != nil || has {
		return err
	}
	secret, _, err := st.CreateToken(ctx, "admin", outreach.RoleAdmin, "system")
	if err != nil {
		return fmt.Errorf("create the admin token: %w", err)
	}
	if err := os.WriteFile(tokenFile, []byte(secret+"\n"), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", tokenFile, err)
	}
	log.Info("first start: created the admin principal", "token_file", tokenFile)
	return nil
}

// loadSecret returns the HMAC key for tokens: secret from the config
// (OUTREACH_SECRET), else <data>/secret, generated on first start.
func loadSecret(cfg config.Config) ([]byte, error) {
	if cfg.Secret != "" {
		if len(cfg.Secret) < 16 {
			return nil, errors.New("config: secret: must be at least 16 characters")
		}
		return []byte(cfg.Secret), nil
	}
	path := filepath.Join(cfg.DataDir, "secret")
	if b, err := os.ReadFile(path); err == nil {
		return []byte(strings.TrimSpace(string(b))), nil
	}
	b := make([]byte, 32)
	rand.Read(b)
	s := hex.EncodeToString(b)
	if err := os.WriteFile(path, []byte(s+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	return []byte(s), nil
}

// writeFileAtomic writes data to path so that readers see all or nothing.
func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
