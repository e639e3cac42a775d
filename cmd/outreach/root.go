package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/outreach-coalition/outreach/internal/web"
	"github.com/spf13/cobra"
)

// cli holds what every subcommand shares: the environment, the standard
// streams and the client flags.
type cli struct {
	env    map[string]string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer

	server  string
	dataDir string
	jsonOut bool
}

// defaultHTTPAddr is where the daemon listens when nothing is configured.
const defaultHTTPAddr = "127.0.0.1:8025"

func newRoot(c *cli) *cobra.Command {
	root := &cobra.Command{
		Use:   "outreach",
		Short: "Run email campaigns for advocacy coalitions",
		Long: `outreach asks partner organisations to endorse a joint letter, reads their
replies, records who endorsed, and sends the endorsed letter to each
country's heads of state, ministries, legislators and human rights
institutions.

Start the daemon with "outreach serve"; every other command talks to it
over its API. On the daemon's machine, give the CLI the daemon's data
directory (--data, e.g. --data data-demo for "serve --demo"): the daemon's
address and the admin token are read from there. Elsewhere, set --server or
OUTREACH_SERVER, and OUTREACH_TOKEN.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVar(&c.server, "server", "", "daemon URL (default $OUTREACH_SERVER, else the local daemon)")
	root.PersistentFlags().StringVar(&c.dataDir, "data", "", "data directory (default $OUTREACH_DATA_DIR, else ./data)")
	root.AddCommand(
		newServeCmd(c),
		newContactsCmd(c),
		newSuppressCmd(c),
		newCampaignsCmd(c),
		newSegmentsCmd(c),
		newTokensCmd(c),
		newBackupCmd(c),
		newCompactCmd(c),
		newAuditCmd(c),
	)
	for _, add := range extraCommands {
		root.AddCommand(add(c))
	}
	return root
}

// extraCommands lets each capability's file register its commands.
var extraCommands []func(*cli) *cobra.Command

// data returns the data directory the client or daemon uses.
func (c *cli) data() string {
	switch {
	case c.dataDir != "":
		return c.dataDir
	case c.env["OUTREACH_DATA_DIR"] != "":
		return c.env["OUTREACH_DATA_DIR"]
	}
	return "./data"
}

// client returns an API client: --server, OUTREACH_SERVER, or the address
// the local daemon wrote in its data directory; the token from
// OUTREACH_TOKEN or <data>/admin.token.
func (c *cli) client() (*web.Client, error) {
	server := c.server
	if server == "" {
		server = c.env["OUTREACH_SERVER"]
	}
	if server == "" {
		server = "http://" + defaultHTTPAddr
		if b, err := os.ReadFile(filepath.Join(c.data(), "serve.addr")); err == nil {
			server = "http://" + strings.TrimSpace(string(b))
		}
	}
	if !strings.Contains(server, "://") {
		server = "http://" + server
	}
	token := c.env["OUTREACH_TOKEN"]
	if token == "" {
		b, err := os.ReadFile(filepath.Join(c.data(), "admin.token"))
		if err != nil {
			return nil, fmt.Errorf("no API token: %s does not exist. Pass the daemon's data directory with --data DIR (the demo's is data-demo), or set OUTREACH_TOKEN to a token an admin made with `outreach tokens create`", filepath.Join(c.data(), "admin.token"))
		}
		token = strings.TrimSpace(string(b))
	}
	return &web.Client{BaseURL: server, Token: token}, nil
}

func (c *cli) printJSON(v any) error {
	enc := json.NewEncoder(c.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// call runs fn with a client.
// apiCall sends one API request (see web.Client.JSON) and decodes the
// answer into a T. With --json it also prints the answer and reports
// printed: the command has nothing left to do.
func apiCall[T any](ctx context.Context, c *cli, method, path string, query url.Values, in any) (v T, printed bool, err error) {
	if err := c.call(ctx, func(cl *web.Client) error { return cl.JSON(ctx, method, path, query, in, &v) }); err != nil {
		return v, false, err
	}
	if c.jsonOut {
		return v, true, c.printJSON(v)
	}
	return v, false, nil
}

func (c *cli) call(ctx context.Context, fn func(*web.Client) error) error {
	cl, err := c.client()
	if err != nil {
		return err
	}
	return fn(cl)
}
