package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/outreach-coalition/outreach/internal/outreach"
	"github.com/outreach-coalition/outreach/internal/service"
	"github.com/outreach-coalition/outreach/internal/web"
	"github.com/spf13/cobra"
)

func init() {
	extraCommands = append(extraCommands, newUsersCmd, newSessionsCmd)
	daemonHooks = append(daemonHooks, startAccess)
}

// startAccess configures the web UI's session cookies: Secure when the
// public URL is https, and the proxies whose forwarding headers are
// believed (the client address counts for sign-in throttling).
func startAccess(d *daemon) error {
	proxies, err := web.ParseTrustedProxies(d.cfg.HTTP.TrustedProxies)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	d.web.TrustedProxies = proxies
	d.web.SecureCookies = strings.HasPrefix(d.publicURL, "https://")
	return nil
}

// adminCredential gives the admin principal a way to sign in to the web
// UI while no user has a password: OUTREACH_ADMIN_PASSWORD when set, else
// a one-time password printed once on stdout (its first sign-in asks for
// a password). This covers the first start and a store from before users
// existed. An unused one-time password is kept across restarts (a lost
// one is replaced with `outreach users reset-password admin`); one used
// without setting a password is replaced at the next start.
func adminCredential(ctx context.Context, svc *service.Service, password string, stdout io.Writer, log *slog.Logger) error {
	users, err := svc.Store.Users(ctx)
	if err != nil {
		return err
	}
	var admin *outreach.User
	for i, u := range users {
		if u.HasPassword || u.MustChangePassword {
			if password != "" {
				log.Info("OUTREACH_ADMIN_PASSWORD is ignored: a user already has a password (outreach users reset-password changes it)")
			}
			return nil
		}
		if u.Name == "admin" {
			admin = &users[i]
		}
	}
	if admin == nil {
		return nil
	}
	if password != "" {
		cred, err := svc.HashPassword("admin", password)
		if err != nil {
			return fmt.Errorf("OUTREACH_ADMIN_PASSWORD: %w", err)
		}
		if err := svc.Store.SetCredential(ctx, "admin", cred, "", "system"); err != nil {
			return err
		}
		log.Info("the admin's web password is set from OUTREACH_ADMIN_PASSWORD")
		return nil
	}
	otp, cred := service.OneTimePassword()
	if err := svc.Store.SetCredential(ctx, "admin", cred, "", "system"); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "outreach: sign in to the web UI as admin with the one-time password %s (shown once; you then choose a password)\n", otp)
	return nil
}

// readPassword reads a password from the first line of stdin.
func readPassword(c *cli) (string, error) {
	line, err := bufio.NewReader(c.stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", errors.New("--password-stdin: standard input is empty")
	}
	return pw, nil
}

func splitCountries(s string) []string {
	var out []string
	for _, c := range strings.Split(s, ",") {
		if c = strings.TrimSpace(c); c != "" {
			out = append(out, strings.ToUpper(c))
		}
	}
	return out
}

func newUsersCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "users",
		Short: "Manage the people who sign in: roles, country scope, passwords (admin)",
		Long: `Users sign in to the web UI with a password, and hold API tokens
("outreach tokens create --name USER"); both carry the user's role and
countries.

Roles: admin (everything, including users, tokens and settings),
coordinator (contacts, templates, waves, the review queue, endorsements,
letters), viewer (read only). A coordinator or viewer given --countries sees
and acts on those countries' contacts, deliveries, replies, endorsements and
letters only; anything else answers "not found".

A new user, or one whose password is reset, gets a one-time password, shown
once: its first sign-in asks for a password of the user's own.`,
	}
	var role, countries string
	var pwStdin bool
	add := &cobra.Command{
		Use:   "add EMAIL --role admin|coordinator|viewer [--countries MY,PH]",
		Short: "Add a user; prints its one-time password",
		Example: `  outreach users add ana@coalition.org --role coordinator --countries MY,PH
  printf '%s\n' "$PASSWORD" | outreach users add ops@coalition.org --role admin --password-stdin`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			in := service.UserInput{Name: args[0], Role: role, Countries: splitCountries(countries)}
			if pwStdin {
				pw, err := readPassword(c)
				if err != nil {
					return err
				}
				in.Password = pw
			}
			var out web.NewUser
			if err := c.call(cmd.Context(), func(cl *web.Client) error {
				return cl.JSON(cmd.Context(), http.MethodPost, "/api/v1/users", nil, in, &out)
			}); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "user %s added: %s%s\n", out.User.Name, out.User.Role, scopeText(out.User.Countries))
			if out.OneTimePassword != "" {
				fmt.Fprintf(c.stdout, "one-time password: %s\n", out.OneTimePassword)
				fmt.Fprintln(c.stderr, "give it to the user by a safe channel: it is not shown again, and signs in once")
			}
			return nil
		},
	}
	add.Flags().StringVar(&role, "role", "", "admin, coordinator or viewer")
	add.Flags().StringVar(&countries, "countries", "", "ISO country codes the user is limited to, comma separated")
	add.Flags().BoolVar(&pwStdin, "password-stdin", false, "read the password from standard input instead of issuing a one-time password")

	list := &cobra.Command{
		Use:   "list",
		Short: "List users",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			out, printed, err := apiCall[[]outreach.User](cmd.Context(), c, http.MethodGet, "/api/v1/users", nil, nil)
			if printed || err != nil {
				return err
			}
			tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tROLE\tCOUNTRIES\tSTATE\tPASSWORD\tCREATED")
			for _, u := range out {
				state, pw := "enabled", "none (tokens only)"
				if u.Disabled {
					state = "disabled"
				}
				switch {
				case u.HasPassword:
					pw = "set"
				case u.MustChangePassword:
					pw = "one-time"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", u.Name, u.Role, orAll(u.Countries), state, pw, u.Created.Format(time.RFC3339))
			}
			return tw.Flush()
		},
	}
	list.Flags().BoolVar(&c.jsonOut, "json", false, "print JSON")

	patch := func(p web.UserPatch) func(cmd *cobra.Command, args []string) error {
		return func(cmd *cobra.Command, args []string) error {
			var u outreach.User
			if err := c.call(cmd.Context(), func(cl *web.Client) error {
				return cl.JSON(cmd.Context(), http.MethodPatch, "/api/v1/users/"+url.PathEscape(args[0]), nil, p, &u)
			}); err != nil {
				return err
			}
			state := "enabled"
			if u.Disabled {
				state = "disabled"
			}
			fmt.Fprintf(c.stdout, "%s: %s%s, %s\n", u.Name, u.Role, scopeText(u.Countries), state)
			return nil
		}
	}
	yes, no := true, false
	disable := &cobra.Command{
		Use:   "disable EMAIL",
		Short: "Disable a user: its sessions end and its tokens stop working",
		Args:  cobra.ExactArgs(1),
		RunE:  patch(web.UserPatch{Disabled: &yes}),
	}
	enable := &cobra.Command{
		Use:   "enable EMAIL",
		Short: "Enable a disabled user again",
		Args:  cobra.ExactArgs(1),
		RunE:  patch(web.UserPatch{Disabled: &no}),
	}
	var editRole, editCountries string
	edit := &cobra.Command{
		Use:     "edit EMAIL [--role R] [--countries MY,PH|all]",
		Short:   "Change a user's role or countries",
		Example: "  outreach users edit ana@coalition.org --countries MY\n  outreach users edit ana@coalition.org --role viewer --countries all",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var p web.UserPatch
			if cmd.Flags().Changed("role") {
				p.Role = &editRole
			}
			if cmd.Flags().Changed("countries") {
				list := splitCountries(editCountries)
				if strings.EqualFold(strings.TrimSpace(editCountries), "all") {
					list = []string{}
				}
				p.Countries = &list
			}
			if p.Role == nil && p.Countries == nil {
				return errors.New("nothing to change: give --role or --countries")
			}
			return patch(p)(cmd, args)
		},
	}
	edit.Flags().StringVar(&editRole, "role", "", "admin, coordinator or viewer")
	edit.Flags().StringVar(&editCountries, "countries", "", `country codes, comma separated, or "all"`)

	var resetStdin bool
	reset := &cobra.Command{
		Use:   "reset-password EMAIL",
		Short: "Give a user a new one-time password (or --password-stdin); its sessions end",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var body any
			if resetStdin {
				pw, err := readPassword(c)
				if err != nil {
					return err
				}
				body = map[string]string{"password": pw}
			}
			var out struct {
				OneTimePassword string `json:"one_time_password"`
			}
			if err := c.call(cmd.Context(), func(cl *web.Client) error {
				return cl.JSON(cmd.Context(), http.MethodPost, "/api/v1/users/"+url.PathEscape(args[0])+"/password", nil, body, &out)
			}); err != nil {
				return err
			}
			if out.OneTimePassword == "" {
				fmt.Fprintf(c.stdout, "password of %s set\n", args[0])
				return nil
			}
			fmt.Fprintf(c.stdout, "one-time password: %s\n", out.OneTimePassword)
			fmt.Fprintln(c.stderr, "give it to the user by a safe channel: it is not shown again, and signs in once")
			return nil
		},
	}
	reset.Flags().BoolVar(&resetStdin, "password-stdin", false, "read the new password from standard input")
	cmd.AddCommand(add, list, disable, enable, edit, reset)
	return cmd
}

func scopeText(countries []string) string {
	if len(countries) == 0 {
		return ""
	}
	return " in " + strings.Join(countries, ",")
}

func orAll(countries []string) string {
	if len(countries) == 0 {
		return "all"
	}
	return strings.Join(countries, ",")
}

func newSessionsCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{Use: "sessions", Short: "List and end web UI sessions (admin)"}
	var user string
	list := &cobra.Command{
		Use:   "list [--user U]",
		Short: "List open sessions",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var out []outreach.Session
			q := url.Values{}
			if user != "" {
				q.Set("user", user)
			}
			if err := c.call(cmd.Context(), func(cl *web.Client) error {
				return cl.JSON(cmd.Context(), http.MethodGet, "/api/v1/sessions", q, nil, &out)
			}); err != nil {
				return err
			}
			if c.jsonOut {
				return c.printJSON(out)
			}
			tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tUSER\tFROM\tSIGNED IN\tLAST SEEN\tEXPIRES")
			for _, s := range out {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, s.User, s.Addr, s.Created.Format(time.RFC3339), s.LastSeen.Format(time.RFC3339), s.Expires.Format(time.RFC3339))
			}
			return tw.Flush()
		},
	}
	list.Flags().StringVar(&user, "user", "", "only this user's sessions")
	list.Flags().BoolVar(&c.jsonOut, "json", false, "print JSON")
	revoke := &cobra.Command{
		Use:   "revoke ID",
		Short: "End a session at once",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.call(cmd.Context(), func(cl *web.Client) error {
				if err := cl.JSON(cmd.Context(), http.MethodDelete, "/api/v1/sessions/"+url.PathEscape(args[0]), nil, nil, nil); err != nil {
					return err
				}
				fmt.Fprintln(c.stdout, "revoked", args[0])
				return nil
			})
		},
	}
	cmd.AddCommand(list, revoke)
	return cmd
}

// newContactsForgetCmd is `outreach contacts forget`.
func newContactsForgetCmd(c *cli) *cobra.Command {
	return &cobra.Command{
		Use:   "forget EMAIL",
		Short: "Erase a contact's personal data for a data-protection request (admin)",
		Long: `Erase a person's data: the contact is deleted; the text of its replies and
endorsement evidence is erased; its address and name in deliveries, the
delivery log, endorsements and the audit trail are replaced by a keyed hash
(HMAC with the daemon's secret), so the log keeps an anonymised trace. The
address stays suppressed under that hash: importing it again never mails it.
The database file is then compacted while the daemon runs, so the old bytes
are gone from it. This cannot be undone.`,
		Example: "  outreach contacts forget ana@example.org",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var res service.ForgetResult
			err := c.call(cmd.Context(), func(cl *web.Client) error {
				return cl.JSON(cmd.Context(), http.MethodPost, "/api/v1/contacts/"+url.PathEscape(args[0])+"/forget", nil, nil, &res)
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "forgotten: %d records rewritten, %d keys renamed%s; the address is now %s and stays suppressed\n",
				res.Records, res.Keys, map[bool]string{true: ", contact deleted"}[res.Contact], res.Hash)
			fmt.Fprintf(c.stdout, "database compacted: %s -> %s\n", humanBytes(res.FileBefore), humanBytes(res.FileAfter))
			return nil
		},
	}
}
