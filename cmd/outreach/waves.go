package main

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/outreach-coalition/outreach/internal/outreach"
	"github.com/outreach-coalition/outreach/internal/service"
	"github.com/outreach-coalition/outreach/internal/web"
	"github.com/spf13/cobra"
)

func init() { extraCommands = append(extraCommands, newWavesCmd, newLogCmd) }

func newWavesCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "waves",
		Short: "Send a template to a segment: create, list, show, pause, resume, cancel waves",
		Long: `A wave sends one template to the contacts a filter (or saved segment)
selects. Recipients are fixed when a run starts; suppressed, unsubscribed and
bounced contacts are left out and counted as such; targets (heads of state,
ministries, legislators, NHRIs) never receive waves, only letters.`,
	}
	var in service.WaveInput
	add := &cobra.Command{
		Use:   "add --name N --template T (--filter EXPR | --segment NAME) --at now",
		Short: "Create a wave",
		Example: `  outreach waves add --name "ASEAN call" --template call-to-action --filter 'region = ASEAN and kind = partner' --at now
  outreach waves add --name "Requests" --template endorsement-request --segment asean-partners --at 2026-12-01T09:00:00+08:00`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var v service.WaveView
			if err := c.call(cmd.Context(), func(cl *web.Client) error {
				return cl.JSON(cmd.Context(), http.MethodPost, "/api/v1/waves", nil, in, &v)
			}); err != nil {
				return err
			}
			printWave(c.stdout, &v)
			return nil
		},
	}
	add.Flags().StringVar(&in.Name, "name", "", "wave name")
	add.Flags().StringVar(&in.Template, "template", "", "template name (outreach templates list)")
	add.Flags().StringVar(&in.Filter, "filter", "", "filter expression selecting recipients")
	add.Flags().StringVar(&in.Segment, "segment", "", "saved segment selecting recipients")
	add.Flags().StringVar(&in.At, "at", "now", `when: "now" or an RFC 3339 time`)
	add.Flags().Uint64Var(&in.CampaignID, "campaign", 0, "campaign id (default: the default campaign)")

	list := &cobra.Command{
		Use:   "list",
		Short: "List waves with their progress",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var out []service.WaveView
			if err := c.call(cmd.Context(), func(cl *web.Client) error {
				return cl.JSON(cmd.Context(), http.MethodGet, "/api/v1/waves", nil, nil, &out)
			}); err != nil {
				return err
			}
			if c.jsonOut {
				return c.printJSON(out)
			}
			tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tTEMPLATE\tSTATE\tTOTAL\tSENT\tQUEUED\tFAILED\tSUPPRESSED")
			for _, w := range out {
				k := totals(w.Runs)
				fmt.Fprintf(tw, "%d\t%s\t%s@v%d\t%s\t%d\t%d\t%d\t%d\t%d\n", w.ID, w.Name, w.Template, w.TemplateVersion, w.State, k.Total, k.Sent, k.Pending(), k.Failed, k.Suppressed)
			}
			return tw.Flush()
		},
	}
	list.Flags().BoolVar(&c.jsonOut, "json", false, "print JSON")
	show := &cobra.Command{
		Use:   "show ID",
		Short: "Show a wave and its runs",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var v service.WaveView
			if err := c.call(cmd.Context(), func(cl *web.Client) error {
				return cl.JSON(cmd.Context(), http.MethodGet, "/api/v1/waves/"+url.PathEscape(args[0]), nil, nil, &v)
			}); err != nil {
				return err
			}
			if c.jsonOut {
				return c.printJSON(v)
			}
			printWave(c.stdout, &v)
			return nil
		},
	}
	show.Flags().BoolVar(&c.jsonOut, "json", false, "print JSON")
	cmd.AddCommand(add, list, show)
	var reason string
	for _, action := range []struct{ name, short string }{
		{"pause", "Pause a wave: no new message starts within a second; only a person's resume lifts it"},
		{"resume", "Resume a paused wave"},
		{"cancel", "Cancel a wave: queued messages are withdrawn; sent ones stay logged"},
	} {
		a := action
		sub := &cobra.Command{
			Use:   a.name + " ID",
			Short: a.short,
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				var body any
				if reason != "" {
					body = map[string]string{"reason": reason}
				}
				var v service.WaveView
				if err := c.call(cmd.Context(), func(cl *web.Client) error {
					return cl.JSON(cmd.Context(), http.MethodPost, "/api/v1/waves/"+url.PathEscape(args[0])+"/"+a.name, nil, body, &v)
				}); err != nil {
					return err
				}
				printWave(c.stdout, &v)
				return nil
			},
		}
		if a.name == "pause" {
			sub.Flags().StringVar(&reason, "reason", "", "why (shown in status and the audit trail)")
		}
		cmd.AddCommand(sub)
	}
	return cmd
}

func totals(runs []outreach.Send) outreach.SendCounts {
	var k outreach.SendCounts
	for _, r := range runs {
		k.Total += r.Counts.Total
		k.Queued += r.Counts.Queued
		k.Sending += r.Counts.Sending
		k.Retrying += r.Counts.Retrying
		k.Sent += r.Counts.Sent
		k.Failed += r.Counts.Failed
		k.Suppressed += r.Counts.Suppressed
		k.Cancelled += r.Counts.Cancelled
		k.Uncertain += r.Counts.Uncertain
	}
	return k
}

func printWave(w io.Writer, v *service.WaveView) {
	k := totals(v.Runs)
	fmt.Fprintf(w, "wave %d %q: %s\n", v.ID, v.Name, v.State)
	fmt.Fprintf(w, "  template %s (version %d), filter %q\n", v.Template, v.TemplateVersion, v.Filter)
	fmt.Fprintf(w, "  %d recipients: %d sent, %d queued, %d retrying, %d failed, %d suppressed, %d cancelled, %d uncertain\n",
		k.Total, k.Sent, k.Queued+k.Sending, k.Retrying, k.Failed, k.Suppressed, k.Cancelled, k.Uncertain)
	for _, r := range v.Runs {
		if r.Pause != nil {
			fmt.Fprintf(w, "  paused by %s at %s: %s\n", r.Pause.By, r.Pause.Time.Format(time.RFC3339), r.Pause.Reason)
		}
	}
}

func newLogCmd(c *cli) *cobra.Command {
	var wave uint64
	var status, email, since, domain string
	var limit int
	query := func() (url.Values, error) {
		q := url.Values{}
		if wave != 0 {
			q.Set("wave", strconv.FormatUint(wave, 10))
		}
		for k, v := range map[string]string{"status": status, "email": email, "domain": domain} {
			if v != "" {
				q.Set(k, v)
			}
		}
		if since != "" {
			t, err := parseSince(since)
			if err != nil {
				return nil, err
			}
			q.Set("since", t.Format(time.RFC3339))
		}
		return q, nil
	}
	cmd := &cobra.Command{
		Use:   "log [--wave ID] [--status S] [--email ADDR] [--since T] [--json]",
		Short: "Show the delivery log: every attempt with the server's answer",
		Example: `  outreach log --wave 3 --status failed
  outreach log --email ana@example.org --json
  outreach log --since 24h`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			q, err := query()
			if err != nil {
				return err
			}
			cl, err := c.client()
			if err != nil {
				return err
			}
			var all []outreach.Attempt
			tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
			if !c.jsonOut {
				fmt.Fprintln(tw, "TIME\tWAVE\tEMAIL\tOUTCOME\tCODE\tSERVER\tRESPONSE")
			}
			q.Set("limit", "1000")
			for n := 0; limit == 0 || n < limit; {
				var page web.Page[outreach.Attempt]
				if err := cl.JSON(cmd.Context(), http.MethodGet, "/api/v1/log", q, nil, &page); err != nil {
					return err
				}
				for _, a := range page.Items {
					if limit > 0 && n >= limit {
						break
					}
					n++
					if c.jsonOut {
						all = append(all, a)
						continue
					}
					fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%d\t%s\t%s\n", a.Time.Format(time.RFC3339), a.WaveID, a.Email, a.Outcome, a.Code, a.Server, a.Response)
				}
				if page.Next == "" {
					break
				}
				q.Set("after", page.Next)
			}
			if c.jsonOut {
				if all == nil {
					all = []outreach.Attempt{}
				}
				return c.printJSON(all)
			}
			return tw.Flush()
		},
	}
	f := cmd.PersistentFlags()
	f.Uint64Var(&wave, "wave", 0, "only this wave")
	f.StringVar(&status, "status", "", "only this outcome: sent, retrying, failed, suppressed, uncertain")
	f.StringVar(&email, "email", "", "only this address")
	f.StringVar(&domain, "domain", "", "only this recipient domain")
	f.StringVar(&since, "since", "", "RFC 3339 time or a duration ago (24h)")
	cmd.Flags().IntVar(&limit, "limit", 0, "at most this many entries (0: all)")
	cmd.Flags().BoolVar(&c.jsonOut, "json", false, "print JSON")
	export := &cobra.Command{
		Use:   "export",
		Short: "Write the delivery log as CSV",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			q, err := query()
			if err != nil {
				return err
			}
			return c.call(cmd.Context(), func(cl *web.Client) error {
				return cl.Do(cmd.Context(), http.MethodGet, "/api/v1/log/export", q, nil, "", c.stdout)
			})
		},
	}
	cmd.AddCommand(export)
	return cmd
}

func parseSince(s string) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil {
		return time.Now().Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return t, fmt.Errorf("--since %q: want an RFC 3339 time or a duration such as 24h", s)
	}
	return t, nil
}
