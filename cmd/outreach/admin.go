package main

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/outreach-coalition/outreach/internal/outreach"
	"github.com/outreach-coalition/outreach/internal/store"
	"github.com/outreach-coalition/outreach/internal/web"
	"github.com/spf13/cobra"
)

func newSuppressCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "suppress",
		Short: "Manage the suppression list: addresses no wave or letter can reach",
	}
	var reason string
	add := &cobra.Command{
		Use:   "add ADDRESS...",
		Short: "Suppress addresses",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.call(cmd.Context(), func(cl *web.Client) error {
				for _, a := range args {
					if err := cl.JSON(cmd.Context(), http.MethodPost, "/api/v1/suppressions", nil, map[string]string{"address": a, "reason": reason}, nil); err != nil {
						return fmt.Errorf("%s: %w", a, err)
					}
					fmt.Fprintln(c.stdout, "suppressed", a)
				}
				return nil
			})
		},
	}
	add.Flags().StringVar(&reason, "reason", "manual", "why: manual, unsubscribed, bounced, complained")
	remove := &cobra.Command{
		Use:   "remove ADDRESS",
		Short: "Lift a suppression (a contact stays inactive until `contacts reactivate`)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.call(cmd.Context(), func(cl *web.Client) error {
				if err := cl.JSON(cmd.Context(), http.MethodDelete, "/api/v1/suppressions/"+url.PathEscape(args[0]), nil, nil, nil); err != nil {
					return err
				}
				fmt.Fprintln(c.stdout, "removed", args[0])
				return nil
			})
		},
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List suppressed addresses",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			out, printed, err := apiCall[[]outreach.Suppression](cmd.Context(), c, http.MethodGet, "/api/v1/suppressions", nil, nil)
			if printed || err != nil {
				return err
			}
			tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ADDRESS\tREASON\tSOURCE\tTIME")
			for _, s := range out {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Address, s.Reason, s.Source, s.Time.Format(time.RFC3339))
			}
			return tw.Flush()
		},
	}
	list.Flags().BoolVar(&c.jsonOut, "json", false, "print JSON")
	imp := &cobra.Command{
		Use:     "import FILE|-",
		Short:   "Import an existing opt-out list (one address per line, or a CSV whose first column is the address)",
		Example: "  outreach suppress import optouts.txt --reason unsubscribed",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			in, _, err := openInput(c, args[0])
			if err != nil {
				return err
			}
			defer in.Close()
			var out struct{ Added int }
			if err := c.call(cmd.Context(), func(cl *web.Client) error {
				return cl.Do(cmd.Context(), http.MethodPost, "/api/v1/suppressions/import", url.Values{"reason": {reason}}, in, "text/plain", &out)
			}); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "%d new suppressions\n", out.Added)
			return nil
		},
	}
	imp.Flags().StringVar(&reason, "reason", "import", "reason recorded for each address")
	cmd.AddCommand(add, remove, list, imp)
	return cmd
}

func newCampaignsCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{Use: "campaigns", Short: "Manage campaigns (sender, reply address, language, postal address)"}
	var camp outreach.Campaign
	add := &cobra.Command{
		Use:     "add --name N --from ADDR --reply-to ADDR",
		Short:   "Add a campaign",
		Example: "  outreach campaigns add --name 'OP-ICESCR Africa' --from 'Coalition <africa@example.org>' --reply-to africa@example.org --language fr",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.call(cmd.Context(), func(cl *web.Client) error {
				var out outreach.Campaign
				if err := cl.JSON(cmd.Context(), http.MethodPost, "/api/v1/campaigns", nil, camp, &out); err != nil {
					return err
				}
				fmt.Fprintf(c.stdout, "campaign %d: %s\n", out.ID, out.Name)
				return nil
			})
		},
	}
	add.Flags().StringVar(&camp.Name, "name", "", "campaign name")
	add.Flags().StringVar(&camp.From, "from", "", "sender, \"Name <address>\"")
	add.Flags().StringVar(&camp.ReplyTo, "reply-to", "", "reply address (outreach adds +TOKEN to its local part)")
	add.Flags().StringVar(&camp.DefaultLanguage, "language", "en", "default language (BCP 47)")
	add.Flags().StringVar(&camp.PostalAddress, "postal-address", "", "the coalition's postal address, printed in footers")
	list := &cobra.Command{
		Use:   "list",
		Short: "List campaigns",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var out []outreach.Campaign
			if err := c.call(cmd.Context(), func(cl *web.Client) error {
				return cl.JSON(cmd.Context(), http.MethodGet, "/api/v1/campaigns", nil, nil, &out)
			}); err != nil {
				return err
			}
			tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tFROM\tREPLY-TO\tLANGUAGE")
			for _, k := range out {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", k.ID, k.Name, k.From, k.ReplyTo, k.DefaultLanguage)
			}
			return tw.Flush()
		},
	}
	show := &cobra.Command{
		Use:   "show ID",
		Short: "Show a campaign as JSON",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var out outreach.Campaign
			if err := c.call(cmd.Context(), func(cl *web.Client) error {
				return cl.JSON(cmd.Context(), http.MethodGet, "/api/v1/campaigns/"+url.PathEscape(args[0]), nil, nil, &out)
			}); err != nil {
				return err
			}
			return c.printJSON(out)
		},
	}
	cmd.AddCommand(add, list, show)
	return cmd
}

func newSegmentsCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{Use: "segments", Short: "Save named filters to reuse in waves"}
	var filter string
	save := &cobra.Command{
		Use:     "save NAME --filter EXPR",
		Short:   "Save a named filter",
		Example: "  outreach segments save asean-partners --filter 'region = ASEAN and kind = partner'",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.call(cmd.Context(), func(cl *web.Client) error {
				var seg outreach.Segment
				if err := cl.JSON(cmd.Context(), http.MethodPost, "/api/v1/segments", nil, outreach.Segment{Name: args[0], Filter: filter}, &seg); err != nil {
					return err
				}
				var n struct{ Count int }
				cl.JSON(cmd.Context(), http.MethodGet, "/api/v1/contacts/count", url.Values{"filter": {filter}}, nil, &n)
				fmt.Fprintf(c.stdout, "saved %s (%d contacts now)\n", args[0], n.Count)
				return nil
			})
		},
	}
	save.Flags().StringVar(&filter, "filter", "", "filter expression")
	list := &cobra.Command{
		Use:   "list",
		Short: "List saved segments",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var out []outreach.Segment
			if err := c.call(cmd.Context(), func(cl *web.Client) error {
				return cl.JSON(cmd.Context(), http.MethodGet, "/api/v1/segments", nil, nil, &out)
			}); err != nil {
				return err
			}
			for _, s := range out {
				fmt.Fprintf(c.stdout, "%s\t%s\n", s.Name, s.Filter)
			}
			return nil
		},
	}
	del := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a saved segment",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.call(cmd.Context(), func(cl *web.Client) error {
				return cl.JSON(cmd.Context(), http.MethodDelete, "/api/v1/segments/"+url.PathEscape(args[0]), nil, nil, nil)
			})
		},
	}
	cmd.AddCommand(save, list, del)
	return cmd
}

func newTokensCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{Use: "tokens", Short: "Create, list and revoke API tokens (admin)"}
	var name, role string
	create := &cobra.Command{
		Use:     "create --name N --role admin|coordinator|viewer",
		Short:   "Create a token; its secret is printed once",
		Example: "  outreach tokens create --name reporting --role viewer",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var out struct {
				Token string
				Info  outreach.Token
			}
			if err := c.call(cmd.Context(), func(cl *web.Client) error {
				return cl.JSON(cmd.Context(), http.MethodPost, "/api/v1/tokens", nil, map[string]string{"name": name, "role": role}, &out)
			}); err != nil {
				return err
			}
			fmt.Fprintln(c.stdout, out.Token)
			fmt.Fprintf(c.stderr, "token %s for %s (%s): keep it secret, it is not shown again\n", out.Info.ID, out.Info.Principal, out.Info.Role)
			return nil
		},
	}
	create.Flags().StringVar(&name, "name", "", "the principal the token belongs to")
	create.Flags().StringVar(&role, "role", "viewer", "admin, coordinator or viewer")
	list := &cobra.Command{
		Use:   "list",
		Short: "List tokens",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var out []outreach.Token
			if err := c.call(cmd.Context(), func(cl *web.Client) error {
				return cl.JSON(cmd.Context(), http.MethodGet, "/api/v1/tokens", nil, nil, &out)
			}); err != nil {
				return err
			}
			tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tPRINCIPAL\tROLE\tCREATED")
			for _, t := range out {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", t.ID, t.Principal, t.Role, t.Created.Format(time.RFC3339))
			}
			return tw.Flush()
		},
	}
	revoke := &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke a token",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.call(cmd.Context(), func(cl *web.Client) error {
				if err := cl.JSON(cmd.Context(), http.MethodDelete, "/api/v1/tokens/"+url.PathEscape(args[0]), nil, nil, nil); err != nil {
					return err
				}
				fmt.Fprintln(c.stdout, "revoked", args[0])
				return nil
			})
		},
	}
	cmd.AddCommand(create, list, revoke)
	return cmd
}

func newBackupCmd(c *cli) *cobra.Command {
	return &cobra.Command{
		Use:   "backup FILE",
		Short: "Take a consistent hot copy of the database through the running daemon",
		Long: `Take a consistent copy of the database while the daemon runs. To restore:
stop the daemon, copy FILE to <data>/outreach.db, start the daemon.`,
		Example: "  outreach backup /backups/outreach-$(date +%F).db",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			tmp := args[0] + ".partial"
			f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
			if err != nil {
				return err
			}
			err = c.call(cmd.Context(), func(cl *web.Client) error {
				return cl.Do(cmd.Context(), http.MethodGet, "/api/v1/backup", nil, nil, "", f)
			})
			if err == nil {
				err = f.Sync()
			}
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				os.Remove(tmp)
				return err
			}
			if err := os.Rename(tmp, args[0]); err != nil {
				return err
			}
			fi, _ := os.Stat(args[0])
			fmt.Fprintf(c.stdout, "backup written to %s (%s)\n", args[0], humanBytes(fi.Size()))
			return nil
		},
	}
}

func newCompactCmd(c *cli) *cobra.Command {
	return &cobra.Command{
		Use:   "compact",
		Short: "Reclaim free space in the database file (the daemon must be stopped)",
		Long: `bbolt never shrinks its file; compact rewrites it without free pages.
Run it with the daemon stopped; it works on --data directly.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			before, after, err := store.Compact(c.data())
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "%s: %s -> %s\n", filepath.Join(c.data(), store.FileName), humanBytes(before), humanBytes(after))
			return nil
		},
	}
}

func newAuditCmd(c *cli) *cobra.Command {
	var user, since string
	cmd := &cobra.Command{
		Use:     "audit [--user U] [--since T]",
		Short:   "Show the audit trail: who did what and when",
		Example: "  outreach audit --user admin --since 2026-11-01T00:00:00Z --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			q := url.Values{}
			if user != "" {
				q.Set("user", user)
			}
			if since != "" {
				if d, err := time.ParseDuration(since); err == nil {
					since = time.Now().Add(-d).UTC().Format(time.RFC3339)
				}
				q.Set("since", since)
			}
			out, printed, err := apiCall[[]store.AuditEntry](cmd.Context(), c, http.MethodGet, "/api/v1/audit", q, nil)
			if printed || err != nil {
				return err
			}
			tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "TIME\tUSER\tACTION\tOBJECT\tDETAIL")
			for _, e := range out {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", e.Time.Format(time.RFC3339), e.User, e.Action, e.Object, e.Detail)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&user, "user", "", "only this user")
	cmd.Flags().StringVar(&since, "since", "", "RFC 3339 time or a duration ago (24h)")
	cmd.Flags().BoolVar(&c.jsonOut, "json", false, "print JSON")
	return cmd
}
