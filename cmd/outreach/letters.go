package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/outreach-coalition/outreach/internal/service"
	"github.com/outreach-coalition/outreach/internal/web"
	"github.com/spf13/cobra"
)

func init() {
	extraCommands = append(extraCommands, newLettersCmd)
	daemonHooks = append(daemonHooks, startLetters)
}

// letterCheckEvery is how often the daemon applies the letters' readiness
// rules (a deadline passing, a country reaching its endorsements).
const letterCheckEvery = 30 * time.Second

// startLetters applies the readiness rules at start and every
// letterCheckEvery until shutdown.
func startLetters(d *daemon) error {
	d.starters = append(d.starters, func(ctx context.Context) (func(), error) {
		ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		done := make(chan struct{})
		go func() {
			defer close(done)
			t := time.NewTicker(letterCheckEvery)
			defer t.Stop()
			for {
				if err := d.svc.CheckLetters(ctx); err != nil && ctx.Err() == nil {
					d.log.Error("apply the letters' readiness rules", "err", err)
				}
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
			}
		}()
		return func() { cancel(); <-done }, nil
	})
	return nil
}

func letterPath(id uint64, action string) string {
	p := "/api/v1/letters/latest"
	if id != 0 {
		p = "/api/v1/letters/" + strconv.FormatUint(id, 10)
	}
	if action != "" {
		p += "/" + action
	}
	return p
}

func newLettersCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "letters",
		Short: "Send the endorsed letter to each country's targets: add, list, show, preview, approve, send, export",
		Long: `A letter is the campaign's joint letter, sent per country to that country's
targets (heads of state, ministries, legislators, national human rights
institutions selected by --targets) with the roster of the country's endorsing
organisations: confirmed endorsements only, one line per organisation, each
under the name it asked to be printed, in a stable order.

A letter without --min-endorsements or --deadline is sent by hand ("send").
With a rule, a country's letter becomes ready when it has that many confirmed
organisations or at the deadline; the coordinators are told (audit trail and
log), and it goes out once a coordinator approves it ("approve", before or
after it is ready), or at once if the campaign allows unattended letters.

A country is sent a letter once; "send --resend" sends it again on purpose
and is recorded in the audit trail. The roster is frozen with each delivery;
an endorsement withdrawn later is shown against the letter.

Commands that take --letter default to the latest letter of the campaign.`,
	}
	var in service.LetterInput
	add := &cobra.Command{
		Use:   "add --template T --targets EXPR [--min-endorsements N] [--deadline T] [--international]",
		Short: "Create a letter",
		Example: `  outreach letters add --template letter --targets 'kind in (head_of_state, ministry, nhri)'
  outreach letters add --template letter --targets 'region = ASEAN' --min-endorsements 5 --deadline 2026-12-10 --international`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			v, printed, err := apiCall[service.LetterView](cmd.Context(), c, http.MethodPost, "/api/v1/letters", nil, in)
			if printed || err != nil {
				return err
			}
			printLetter(c.stdout, &v)
			return nil
		},
	}
	add.Flags().StringVar(&in.Template, "template", "letter", "template name (outreach templates list)")
	add.Flags().StringVar(&in.Targets, "targets", "", "filter selecting the targets; only contacts of kinds head_of_state, ministry, legislator, nhri count")
	add.Flags().IntVar(&in.MinEndorsements, "min-endorsements", 0, "a country's letter is ready at this many confirmed organisations")
	add.Flags().StringVar(&in.Deadline, "deadline", "", "every country's letter is ready at this date (2026-12-10, midnight UTC) or RFC 3339 time")
	add.Flags().BoolVar(&in.International, "international", false, "add the international endorsers (partners with no country) to every roster")
	add.Flags().Uint64Var(&in.CampaignID, "campaign", 0, "campaign id (default: the default campaign)")
	add.Flags().BoolVar(&c.jsonOut, "json", false, "print JSON")

	list := &cobra.Command{
		Use:   "list",
		Short: "List letters with each country's state, roster size and sends",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			out, printed, err := apiCall[[]service.LetterView](cmd.Context(), c, http.MethodGet, "/api/v1/letters", nil, nil)
			if printed || err != nil {
				return err
			}
			if len(out) == 0 {
				fmt.Fprintln(c.stdout, "no letters: create one with `outreach letters add`")
			}
			for i := range out {
				printLetter(c.stdout, &out[i])
			}
			return nil
		},
	}
	list.Flags().BoolVar(&c.jsonOut, "json", false, "print JSON")

	show := &cobra.Command{
		Use:   "show [ID]",
		Short: "Show a letter: each country's state, current roster, sends and the rosters they carried",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var id uint64
			if len(args) == 1 {
				var err error
				if id, err = strconv.ParseUint(args[0], 10, 64); err != nil {
					return fmt.Errorf("%q is not a letter id", args[0])
				}
			}
			v, printed, err := apiCall[service.LetterView](cmd.Context(), c, http.MethodGet, letterPath(id, ""), nil, nil)
			if printed || err != nil {
				return err
			}
			printLetter(c.stdout, &v)
			printLetterDetail(c.stdout, &v)
			return nil
		},
	}
	show.Flags().BoolVar(&c.jsonOut, "json", false, "print JSON")

	var letter uint64
	var country, lang string
	var html bool
	preview := &cobra.Command{
		Use:   "preview --country C [--letter ID] [--lang L] [--html]",
		Short: "Show a country's letter as it would be sent now, with its roster and targets; changes nothing",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var pv service.LetterPreview
			q := url.Values{"country": {country}}
			if lang != "" {
				q.Set("lang", lang)
			}
			if err := c.call(cmd.Context(), func(cl *web.Client) error {
				return cl.JSON(cmd.Context(), http.MethodGet, letterPath(letter, "preview"), q, nil, &pv)
			}); err != nil {
				return err
			}
			if c.jsonOut {
				return c.printJSON(pv)
			}
			printPreview(c.stdout, &pv, html)
			return nil
		},
	}
	preview.Flags().StringVar(&country, "country", "", "country code (ISO 3166-1 alpha-2)")
	preview.Flags().StringVar(&lang, "lang", "", "render in this language instead of the target's")
	preview.Flags().BoolVar(&html, "html", false, "print the HTML part instead of the text")
	preview.Flags().BoolVar(&c.jsonOut, "json", false, "print JSON")

	var sel service.LetterSendInput
	action := func(name, short string) *cobra.Command {
		sub := &cobra.Command{
			Use:   name + " (--country C | --all) [--min-endorsements N] [--letter ID]",
			Short: short,
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, args []string) error {
				rep, printed, err := apiCall[service.LetterReport](cmd.Context(), c, http.MethodPost, letterPath(letter, name), nil, sel)
				if printed || err != nil {
					return err
				}
				printReport(c.stdout, &rep)
				return nil
			},
		}
		sub.Flags().StringVar(&sel.Country, "country", "", "country code (ISO 3166-1 alpha-2)")
		sub.Flags().BoolVar(&sel.All, "all", false, "every country (of your scope)")
		sub.Flags().IntVar(&sel.MinEndorsements, "min-endorsements", 0, "skip countries with fewer confirmed organisations on the roster")
		sub.Flags().BoolVar(&c.jsonOut, "json", false, "print JSON")
		return sub
	}
	approve := action("approve", "Approve a country's letter: sent now if it is ready, else when its rule makes it ready")
	send := action("send", "Send a country's letter now, by hand (sending is approving); never twice unless --resend")
	send.Flags().BoolVar(&sel.Resend, "resend", false, "send again to countries that were sent the letter (recorded in the audit trail)")

	var format, output string
	var asSent bool
	export := &cobra.Command{
		Use:   "export --country C --format csv|html|md [--as-sent] [-o FILE]",
		Short: "Export a country's roster as CSV, or its letter as HTML or Markdown for printing or hand delivery",
		Example: `  outreach letters export --country MY --format csv > roster-MY.csv
  outreach letters export --country MY --format html --lang ms -o letter-MY.html
  outreach letters export --country MY --format md --as-sent`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			q := url.Values{"country": {country}, "format": {format}}
			if lang != "" {
				q.Set("lang", lang)
			}
			if asSent {
				q.Set("as_sent", "true")
			}
			var w io.Writer = c.stdout
			if output != "" && output != "-" {
				f, err := os.Create(output)
				if err != nil {
					return err
				}
				defer f.Close()
				w = f
			}
			return c.call(cmd.Context(), func(cl *web.Client) error {
				return cl.Do(cmd.Context(), http.MethodGet, letterPath(letter, "export"), q, nil, "", w)
			})
		},
	}
	export.Flags().StringVar(&country, "country", "", "country code (ISO 3166-1 alpha-2)")
	export.Flags().StringVar(&format, "format", "csv", "csv (the roster), html or md (the letter)")
	export.Flags().StringVar(&lang, "lang", "", "the letter's language (default: the campaign's)")
	export.Flags().BoolVar(&asSent, "as-sent", false, "use the roster of the latest send instead of the roster as it is now")
	export.Flags().StringVarP(&output, "output", "o", "", "write to this file instead of standard output")

	for _, sub := range []*cobra.Command{preview, approve, send, export} {
		sub.Flags().Uint64Var(&letter, "letter", 0, "letter id (default: the latest)")
	}
	cmd.AddCommand(add, list, show, preview, approve, send, export)
	return cmd
}

func printLetter(w io.Writer, v *service.LetterView) {
	extra := ""
	if v.International {
		extra = ", with the international endorsers"
	}
	fmt.Fprintf(w, "letter %d: template %s, targets %q, %s%s\n", v.ID, v.Template, v.Targets, v.Rule, extra)
	if len(v.Countries) == 0 {
		fmt.Fprintln(w, "  no country has targets or endorsers yet")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  COUNTRY\tSTATE\tTARGETS\tENDORSERS\tSENT")
	for _, c := range v.Countries {
		sent := "-"
		if n := len(c.Sends); n > 0 {
			last := c.Sends[n-1]
			sent = fmt.Sprintf("%s by %s (send %d)", last.Time.Format(time.RFC3339), last.By, last.SendID)
			if n > 1 {
				sent += fmt.Sprintf(", %d times", n)
			}
		}
		fmt.Fprintf(tw, "  %s\t%s\t%d\t%d\t%s\n", c.Country, c.State, c.Targets, c.Endorsers, sent)
	}
	tw.Flush()
	for _, c := range v.Countries {
		for _, org := range c.WithdrawnAfterSending {
			fmt.Fprintf(w, "  %s: withdrawn after sending: %s\n", c.Country, org)
		}
	}
}

func printLetterDetail(w io.Writer, v *service.LetterView) {
	for _, c := range v.Countries {
		fmt.Fprintf(w, "\n%s: %s\n", c.Country, c.State)
		if !c.Ready.IsZero() {
			fmt.Fprintf(w, "  ready %s: %s\n", c.Ready.Format(time.RFC3339), c.ReadyReason)
		}
		if !c.Approved.IsZero() {
			fmt.Fprintf(w, "  approved %s by %s\n", c.Approved.Format(time.RFC3339), c.ApprovedBy)
		}
		fmt.Fprintf(w, "  roster now (%d):\n", len(c.Roster))
		for _, r := range c.Roster {
			fmt.Fprintf(w, "    %s\n", rosterLine(r))
		}
		for _, s := range c.Sends {
			verb := "sent"
			if s.Resend {
				verb = "resent"
			}
			fmt.Fprintf(w, "  %s %s by %s (send %d), roster as sent: %s\n", verb, s.Time.Format(time.RFC3339), s.By, s.SendID, strings.Join(s.Roster, "; "))
		}
		for _, org := range c.WithdrawnAfterSending {
			fmt.Fprintf(w, "  withdrawn after sending: %s\n", org)
		}
	}
}

func rosterLine(r service.RosterEntry) string {
	s := r.Name
	if r.Organization != "" && !strings.EqualFold(r.Organization, r.Name) {
		s += " (organisation: " + r.Organization + ")"
	}
	if r.Country == "" {
		s += " [international]"
	}
	return s
}

func printPreview(w io.Writer, pv *service.LetterPreview, html bool) {
	fmt.Fprintf(w, "letter %d to %s (%s), template %s version %d, variant %s\n", pv.LetterID, pv.Country, pv.State, pv.Template, pv.Version, pv.Lang)
	if pv.To != "" {
		fmt.Fprintf(w, "rendered for %s\n", pv.To)
	}
	for _, p := range pv.Problems {
		fmt.Fprintf(w, "PROBLEM: %s\n", p)
	}
	fmt.Fprintf(w, "roster (%d):\n", len(pv.Roster))
	for _, r := range pv.Roster {
		fmt.Fprintf(w, "  %s\n", rosterLine(r))
	}
	fmt.Fprintf(w, "targets (%d):\n", len(pv.Targets))
	for _, t := range pv.Targets {
		note := ""
		if !t.Sendable {
			note = " (not sendable: unsubscribed, bounced or complained)"
		}
		fmt.Fprintf(w, "  %s  %s%s\n", t.Email, t.Kind, note)
	}
	fmt.Fprintf(w, "\nSubject: %s\n\n", pv.Subject)
	if html {
		fmt.Fprintln(w, pv.HTML)
		return
	}
	fmt.Fprintln(w, pv.Text)
}

func printReport(w io.Writer, rep *service.LetterReport) {
	for _, s := range rep.Sent {
		verb := "sent"
		if s.Resend {
			verb = "resent"
		}
		fmt.Fprintf(w, "%s %s: send %d to %d targets", verb, s.Country, s.SendID, s.Targets)
		if s.Suppressed > 0 {
			fmt.Fprintf(w, " (%d suppressed, not sent)", s.Suppressed)
		}
		fmt.Fprintf(w, ", roster of %d: %s\n", len(s.Roster), strings.Join(s.Roster, "; "))
	}
	for _, s := range rep.Waiting {
		fmt.Fprintf(w, "waiting %s: %s\n", s.Country, s.Reason)
	}
	for _, s := range rep.Skipped {
		fmt.Fprintf(w, "skipped %s: %s\n", s.Country, s.Reason)
	}
	if len(rep.Sent) == 0 {
		fmt.Fprintf(w, "letter %d: nothing sent\n", rep.LetterID)
	}
}
