package main

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"text/tabwriter"

	"github.com/outreach-coalition/outreach/internal/outreach"
	"github.com/outreach-coalition/outreach/internal/service"
	"github.com/outreach-coalition/outreach/internal/web"
	"github.com/spf13/cobra"
)

func init() { extraCommands = append(extraCommands, newEndorsementsCmd) }

func newEndorsementsCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "endorsements",
		Short: "List, confirm, reject, withdraw, add, import and export endorsements",
		Long: `An endorsement records that an organisation endorsed the campaign's letter,
with the reply (or the note) that is its evidence and the name to print.
States: pending (awaiting review), confirmed, rejected, withdrawn. A contact has
at most one pending or confirmed endorsement per campaign.`,
	}
	var q service.EndorsementQuery
	query := func() url.Values {
		v := url.Values{}
		if q.Country != "" {
			v.Set("country", q.Country)
		}
		if q.State != "" {
			v.Set("state", q.State)
		}
		if q.CampaignID != 0 {
			v.Set("campaign", strconv.FormatUint(q.CampaignID, 10))
		}
		return v
	}
	filterFlags := func(sub *cobra.Command) {
		sub.Flags().StringVar(&q.Country, "country", "", "only this country (ISO 3166-1 code)")
		sub.Flags().StringVar(&q.State, "state", "", "only this state: pending, confirmed, rejected, withdrawn")
		sub.Flags().Uint64Var(&q.CampaignID, "campaign", 0, "only this campaign")
	}

	list := &cobra.Command{
		Use:     "list [--country C] [--state S] [--json]",
		Short:   "List endorsements",
		Example: "  outreach endorsements list --country KE --state confirmed\n  outreach endorsements list --state pending --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var out []outreach.Endorsement
			if err := c.call(cmd.Context(), func(cl *web.Client) error {
				return cl.JSON(cmd.Context(), http.MethodGet, "/api/v1/endorsements", query(), nil, &out)
			}); err != nil {
				return err
			}
			if c.jsonOut {
				if out == nil {
					out = []outreach.Endorsement{}
				}
				return c.printJSON(out)
			}
			tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tCOUNTRY\tSTATE\tPRINT NAME\tEMAIL\tSOURCE\tTIME")
			for _, e := range out {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", e.ID, e.Country, e.State, e.PrintName, e.Email, e.Source, e.Time.Local().Format("2006-01-02 15:04"))
			}
			return tw.Flush()
		},
	}
	filterFlags(list)
	list.Flags().BoolVar(&c.jsonOut, "json", false, "print JSON")

	show := &cobra.Command{
		Use:   "show ID",
		Short: "Show an endorsement with its evidence",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			v, printed, err := apiCall[service.EndorsementView](cmd.Context(), c, http.MethodGet, "/api/v1/endorsements/"+url.PathEscape(args[0]), nil, nil)
			if printed || err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "Endorsement %d: %s\nOrganisation: %s\nPrint name:   %s\nEmail:        %s\nCountry:      %s\nSource:       %s\nTime:         %s\nBy:           %s\nReplies:      %v\n\n%s\n",
				v.ID, v.State, v.Organization, v.PrintName, v.Email, v.Country, v.Source, v.Time.Local().Format("2006-01-02 15:04"), v.By, v.Replies, v.Evidence)
			return nil
		},
	}
	show.Flags().BoolVar(&c.jsonOut, "json", false, "print JSON")

	var note string
	action := func(name string) *cobra.Command {
		sub := &cobra.Command{
			Use:   name + " ID [--note TEXT]",
			Short: map[string]string{"confirm": "Confirm a pending (or rejected) endorsement", "reject": "Reject an endorsement", "withdraw": "Withdraw an endorsement at the partner's request"}[name],
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				if _, err := strconv.ParseUint(args[0], 10, 64); err != nil {
					return fmt.Errorf("endorsement id %q is not a number", args[0])
				}
				var e outreach.Endorsement
				if err := c.call(cmd.Context(), func(cl *web.Client) error {
					return cl.JSON(cmd.Context(), http.MethodPost, "/api/v1/endorsements/"+args[0]+"/"+name, nil, map[string]string{"note": note}, &e)
				}); err != nil {
					return err
				}
				fmt.Fprintf(c.stdout, "endorsement %d (%s): %s\n", e.ID, e.PrintName, e.State)
				return nil
			},
		}
		sub.Flags().StringVar(&note, "note", "", "why (kept in the audit trail)")
		return sub
	}

	var in service.EndorsementInput
	add := &cobra.Command{
		Use:   "add --email ADDR --evidence TEXT [--name N]",
		Short: "Record an endorsement received by phone, on paper or through a form",
		Example: `  outreach endorsements add --email info@hr-kenya.org --evidence "phone call with the director, 3 March"
  outreach endorsements add --email info@hr-kenya.org --evidence "signed form" --name "Kenya Human Rights Network"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var e outreach.Endorsement
			if err := c.call(cmd.Context(), func(cl *web.Client) error {
				return cl.JSON(cmd.Context(), http.MethodPost, "/api/v1/endorsements", nil, in, &e)
			}); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "endorsement %d (%s): %s\n", e.ID, e.PrintName, e.State)
			return nil
		},
	}
	add.Flags().StringVar(&in.Email, "email", "", "the endorsing contact's address (required)")
	add.Flags().StringVar(&in.Evidence, "evidence", "", "what was received and how (required)")
	add.Flags().StringVar(&in.Name, "name", "", "the name to print (default: the organisation)")
	add.Flags().Uint64Var(&in.CampaignID, "campaign", 0, "campaign id (default: the default campaign)")

	var skipInvalid bool
	imp := &cobra.Command{
		Use:   "import FILE.csv|-",
		Short: "Import earlier endorsements from CSV (all or nothing unless --skip-invalid)",
		Long: `Import endorsements from CSV. Columns: email (required), print_name (or
name), state (confirmed, the default, or pending), time (2025-03-01 or RFC 3339),
evidence, campaign_id; the other columns of an export (id, organization,
country, source, message_id) are ignored, so an export imports as it is.
Contacts must exist. A contact that already has a pending or confirmed
endorsement is left as it is, so importing a file twice adds nothing.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, _, err := openInput(c, args[0])
			if err != nil {
				return err
			}
			defer f.Close()
			v := url.Values{}
			if skipInvalid {
				v.Set("skip_invalid", "true")
			}
			var rep service.ImportReport
			err = c.call(cmd.Context(), func(cl *web.Client) error {
				return cl.Do(cmd.Context(), http.MethodPost, "/api/v1/endorsements/import", v, f, "text/csv", &rep)
			})
			if ae, ok := apiErrorDetails(err, &rep); ok {
				for _, e := range rep.Errors {
					fmt.Fprintf(c.stderr, "%s:%s\n", args[0], e)
				}
				return &exitError{code: 1, err: errors.New(ae.Message)}
			}
			if err != nil {
				return err
			}
			for _, e := range rep.Errors {
				fmt.Fprintf(c.stderr, "%s:%s (skipped)\n", args[0], e)
			}
			fmt.Fprintf(c.stdout, "created %d, already recorded %d, skipped %d\n", rep.Created, rep.Unchanged, rep.Skipped)
			return nil
		},
	}
	imp.Flags().BoolVar(&skipInvalid, "skip-invalid", false, "import the valid rows and report the invalid ones")

	export := &cobra.Command{
		Use:     "export [--country C] [--state S]",
		Short:   "Write endorsements as CSV to standard output (it imports back unchanged)",
		Example: "  outreach endorsements export --state confirmed > endorsers.csv",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.call(cmd.Context(), func(cl *web.Client) error {
				return cl.Do(cmd.Context(), http.MethodGet, "/api/v1/endorsements/export", query(), nil, "", c.stdout)
			})
		},
	}
	filterFlags(export)

	cmd.AddCommand(list, show, action("confirm"), action("reject"), action("withdraw"), add, imp, export)
	return cmd
}
