package main

import (
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/outreach-coalition/outreach/internal/outreach"
	"github.com/outreach-coalition/outreach/internal/service"
	"github.com/outreach-coalition/outreach/internal/web"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

func init() { extraCommands = append(extraCommands, newWavesCmd, newLogCmd) }

func newWavesCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "waves",
		Short: "Send a template to a segment, once or on a schedule: add, list, show, dry-run, watch, pause, resume, cancel",
		Long: `A wave sends one template to the contacts a filter (or saved segment)
selects, once (--at) or on a schedule (--cron with --tz). Recipients are fixed
when a run starts; suppressed, unsubscribed and bounced contacts are left out
and counted as such; targets (heads of state, ministries, legislators, NHRIs)
never receive waves, only letters. Nobody receives the same template twice in
one campaign unless --allow-repeat.

--local-hour 9 sends to each recipient when its own clock shows 9 o'clock (the
contact's zone, else its country's, else --tz), spread over the day.

A follow-up (--followup-of ID --after 7d --unless replied|endorsed) goes to
the recipients of an earlier wave who, --after their message, have not
replied (auto-replies do not count) or have no pending or confirmed
endorsement. Without --at or --cron it runs --after the earlier wave.

Schedules survive restarts; a run missed while the daemon was down runs once
at start-up if younger than waves.grace (default 6h) and is skipped otherwise.
On daylight-saving days a local time that does not exist runs at the first
instant after it, and one that occurs twice runs once.`,
	}
	var in service.WaveInput
	var localHour int
	var dryRun bool
	add := &cobra.Command{
		Use:   "add --name N --template T (--filter EXPR | --segment NAME) [--at TIME|now | --cron SPEC --tz ZONE]",
		Short: "Create a wave (or, with --dry-run, show what it would do)",
		Example: `  outreach waves add --name "ASEAN call" --template call-to-action --filter 'region = ASEAN and kind = partner' --at now
  outreach waves add --name "Requests" --template endorsement-request --segment asean-partners --at 2026-12-01T09:00:00+08:00
  outreach waves add --name "Monday digest" --template call-to-action --segment partners --cron '0 9 * * MON' --tz Europe/Paris
  outreach waves add --name "Morning" --template endorsement-request --segment partners --local-hour 9 --dry-run
  outreach waves add --name "Reminder" --template reminder --followup-of 3 --after 7d --unless endorsed`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("local-hour") {
				in.LocalHour = &localHour
			}
			if dryRun {
				d, printed, err := apiCall[service.DryRun](cmd.Context(), c, http.MethodPost, "/api/v1/waves/dry-run", nil, in)
				if printed || err != nil {
					return err
				}
				printDryRun(c.stdout, &d)
				return nil
			}
			v, printed, err := apiCall[service.WaveView](cmd.Context(), c, http.MethodPost, "/api/v1/waves", nil, in)
			if printed || err != nil {
				return err
			}
			printWave(c.stdout, &v)
			return nil
		},
	}
	f := add.Flags()
	f.StringVar(&in.Name, "name", "", "wave name")
	f.StringVar(&in.Template, "template", "", "template name (outreach templates list)")
	f.StringVar(&in.Filter, "filter", "", "filter expression selecting recipients")
	f.StringVar(&in.Segment, "segment", "", "saved segment selecting recipients (its filter is copied into the wave when it is created)")
	f.StringVar(&in.At, "at", "", `when: "now" (the default) or an RFC 3339 time`)
	f.StringVar(&in.Cron, "cron", "", `recurring: five cron fields ("0 9 * * MON-FRI") or @daily, @weekly, ...; needs --tz`)
	f.StringVar(&in.TimeZone, "tz", "", "IANA zone of --cron, and of --local-hour for recipients without a known zone")
	f.IntVar(&localHour, "local-hour", 0, "send to each recipient at this hour (0-23) of its own time zone")
	f.Uint64Var(&in.FollowupOf, "followup-of", 0, "follow up on this wave's recipients")
	f.StringVar(&in.After, "after", "", "follow-up: how long after the earlier message (7d, 36h)")
	f.StringVar(&in.Unless, "unless", "", "follow-up: leave out those who have: replied or endorsed")
	f.BoolVar(&in.AllowRepeat, "allow-repeat", false, "also send to contacts who already had this template in this campaign")
	f.Float64Var(&in.Rate, "rate", 0, "at most this many messages per second for this wave (0: the server's rate)")
	f.Uint64Var(&in.CampaignID, "campaign", 0, "campaign id (default: the default campaign)")
	f.BoolVar(&dryRun, "dry-run", false, "show who would receive what and when, with a rendered sample; change nothing")
	f.BoolVar(&c.jsonOut, "json", false, "print JSON")

	list := &cobra.Command{
		Use:   "list",
		Short: "List waves with their progress",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			out, printed, err := apiCall[[]service.WaveView](cmd.Context(), c, http.MethodGet, "/api/v1/waves", nil, nil)
			if printed || err != nil {
				return err
			}
			tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tTEMPLATE\tSTATE\tWHEN\tTOTAL\tSENT\tQUEUED\tFAILED\tSUPPRESSED")
			for _, w := range out {
				k := totals(w.Runs)
				fmt.Fprintf(tw, "%d\t%s\t%s@v%d\t%s\t%s\t%d\t%d\t%d\t%d\t%d\n", w.ID, w.Name, w.Template, w.TemplateVersion, w.State, when(&w), k.Total, k.Sent, k.Pending(), k.Failed, k.Suppressed)
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
			v, printed, err := apiCall[service.WaveView](cmd.Context(), c, http.MethodGet, "/api/v1/waves/"+url.PathEscape(args[0]), nil, nil)
			if printed || err != nil {
				return err
			}
			printWave(c.stdout, &v)
			return nil
		},
	}
	show.Flags().BoolVar(&c.jsonOut, "json", false, "print JSON")
	dry := &cobra.Command{
		Use:   "dry-run ID",
		Short: "Show who the wave's next run would reach, when and in which language, with a rendered sample; change nothing",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, printed, err := apiCall[service.DryRun](cmd.Context(), c, http.MethodGet, "/api/v1/waves/"+url.PathEscape(args[0])+"/dry-run", nil, nil)
			if printed || err != nil {
				return err
			}
			printDryRun(c.stdout, &d)
			return nil
		},
	}
	dry.Flags().BoolVar(&c.jsonOut, "json", false, "print JSON")
	cmd.AddCommand(add, list, show, dry, newWatchCmd(c))
	var reason string
	for _, action := range []struct{ name, short string }{
		{"pause", "Pause a wave: no new message starts within a second, later runs are held; only a person's resume lifts it"},
		{"resume", "Resume a paused wave where it stopped"},
		{"cancel", "Cancel a wave: queued messages are withdrawn, no further run starts; sent ones stay logged"},
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

// newWatchCmd follows a wave's progress: a live bar on a terminal, a line
// per change otherwise.
func newWatchCmd(c *cli) *cobra.Command {
	var interval time.Duration
	cmd := &cobra.Command{
		Use:   "watch ID",
		Short: "Follow a wave's progress (queued, sent, failed, replied) until its run ends",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := c.client()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			tty := false
			if f, ok := c.stdout.(*os.File); ok {
				tty = term.IsTerminal(int(f.Fd()))
			}
			last := ""
			for {
				var v service.WaveView
				if err := cl.JSON(ctx, http.MethodGet, "/api/v1/waves/"+url.PathEscape(args[0]), nil, nil, &v); err != nil {
					if tty && last != "" {
						fmt.Fprintln(c.stdout)
					}
					return err
				}
				line := progress(&v, tty)
				switch {
				case tty:
					fmt.Fprintf(c.stdout, "\r%s\x1b[K", line)
				case line != last:
					fmt.Fprintln(c.stdout, line)
				}
				last = line
				if finished(&v) {
					if tty {
						fmt.Fprintln(c.stdout)
					}
					return nil
				}
				select {
				case <-ctx.Done():
					if tty {
						fmt.Fprintln(c.stdout)
					}
					return nil
				case <-time.After(interval):
				}
			}
		},
	}
	cmd.Flags().DurationVar(&interval, "interval", time.Second, "how often to look")
	return cmd
}

// finished reports whether watching a wave can stop: it is done or
// cancelled, or a recurring wave's latest run has ended.
func finished(v *service.WaveView) bool {
	switch v.State {
	case outreach.WaveDone, outreach.WaveCancelled:
		return true
	case outreach.WaveScheduled:
		return v.Cron != "" && len(v.Runs) > 0
	}
	return false
}

// progress renders a wave's counts, with a bar when bar is set.
func progress(v *service.WaveView, bar bool) string {
	k := totals(v.Runs)
	final := k.Sent + k.Failed + k.Suppressed + k.Cancelled
	s := fmt.Sprintf("wave %d %s: %d/%d sent, %d queued, %d failed, %d replied", v.ID, v.State, k.Sent, k.Total, k.Pending(), k.Failed, v.Replied)
	if k.Suppressed > 0 {
		s += fmt.Sprintf(", %d suppressed", k.Suppressed)
	}
	if k.Cancelled > 0 {
		s += fmt.Sprintf(", %d cancelled", k.Cancelled)
	}
	if !bar {
		return s
	}
	const width = 30
	filled := 0
	if k.Total > 0 {
		filled = final * width / k.Total
	}
	return "[" + strings.Repeat("#", filled) + strings.Repeat(".", width-filled) + "] " + s
}

func totals(runs []outreach.Send) outreach.SendCounts {
	var k outreach.SendCounts
	for _, r := range runs {
		k.Add(r.Counts)
	}
	return k
}

// when describes a wave's schedule in a few words.
func when(v *service.WaveView) string {
	s := ""
	switch {
	case v.Cron != "":
		s = fmt.Sprintf("cron %q %s", v.Cron, v.TimeZone)
	case !v.At.IsZero():
		s = "at " + v.At.UTC().Format(time.RFC3339)
	}
	if v.LocalHour != nil {
		s += fmt.Sprintf(", local hour %d", *v.LocalHour)
	}
	return s
}

func printWave(w io.Writer, v *service.WaveView) {
	k := totals(v.Runs)
	fmt.Fprintf(w, "wave %d %q: %s\n", v.ID, v.Name, v.State)
	fmt.Fprintf(w, "  template %s (version %d), filter %q", v.Template, v.TemplateVersion, v.Filter)
	if v.Segment != "" {
		fmt.Fprintf(w, " (segment %s)", v.Segment)
	}
	fmt.Fprintf(w, "\n  %s", when(v))
	if !v.Next.IsZero() {
		fmt.Fprintf(w, "; next run %s", v.Next.UTC().Format(time.RFC3339))
	}
	fmt.Fprintln(w)
	if v.FollowupOf != 0 {
		fmt.Fprintf(w, "  follow-up of wave %d, %s after, unless %s\n", v.FollowupOf, v.After, v.Unless)
	}
	if v.Rate > 0 {
		fmt.Fprintf(w, "  at most %g messages per second\n", v.Rate)
	}
	fmt.Fprintf(w, "  %d recipients: %d sent, %d queued, %d retrying, %d failed, %d suppressed, %d cancelled, %d uncertain; %d replied\n",
		k.Total, k.Sent, k.Queued+k.Sending, k.Retrying, k.Failed, k.Suppressed, k.Cancelled, k.Uncertain, v.Replied)
	if len(v.LeftOut) > 0 {
		fmt.Fprintf(w, "  left out of the latest run: %s\n", leftOut(v.LeftOut))
	}
	if v.Pause != nil {
		fmt.Fprintf(w, "  paused by %s at %s: %s\n", v.Pause.By, v.Pause.Time.Format(time.RFC3339), v.Pause.Reason)
	}
	for _, r := range v.Runs {
		if r.Pause != nil && (v.Pause == nil || *r.Pause != *v.Pause) {
			fmt.Fprintf(w, "  run %d paused by %s at %s: %s\n", r.ID, r.Pause.By, r.Pause.Time.Format(time.RFC3339), r.Pause.Reason)
		}
	}
}

func leftOut(m map[string]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%d %s", m[k], strings.ReplaceAll(k, "_", " ")))
	}
	return strings.Join(parts, ", ")
}

// printDryRun prints a dry run: every recipient with its send time (UTC
// and its own), its language variant, then a rendered sample per variant.
func printDryRun(w io.Writer, d *service.DryRun) {
	fmt.Fprintf(w, "dry run of wave %q: template %s (version %d), run at %s; nothing was changed\n",
		d.Wave.Name, d.Wave.Template, d.Wave.TemplateVersion, d.RunAt.UTC().Format(time.RFC3339))
	fmt.Fprintf(w, "%d recipients\n", len(d.Recipients))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "EMAIL\tORGANIZATION\tCOUNTRY\tLANGUAGE\tSEND AT (UTC)\tLOCAL TIME")
	for _, r := range d.Recipients {
		local := r.SendAt.UTC()
		if loc, err := time.LoadLocation(r.Zone); err == nil {
			local = r.SendAt.In(loc)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s %s\n", r.Email, r.Organization, r.Country, r.Language,
			r.SendAt.UTC().Format("2006-01-02 15:04"), local.Format("2006-01-02 15:04 MST"), r.Zone)
	}
	tw.Flush()
	if len(d.LeftOut) > 0 {
		fmt.Fprintf(w, "left out: %s\n", leftOut(d.LeftOut))
	}
	for _, s := range d.Samples {
		fmt.Fprintf(w, "\n--- sample (%s) for %s\nSubject: %s\n\n%s", s.Language, s.Email, s.Subject, s.Text)
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
