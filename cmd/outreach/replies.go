package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/outreach-coalition/outreach/internal/mailreply"
	"github.com/outreach-coalition/outreach/internal/outreach"
	"github.com/outreach-coalition/outreach/internal/service"
	"github.com/outreach-coalition/outreach/internal/web"
	"github.com/spf13/cobra"
)

func init() { extraCommands = append(extraCommands, newRepliesCmd, newReviewCmd) }

func newRepliesCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "replies",
		Short: "Classify reply files offline, list the replies the daemon has read",
		Long: `The daemon reads the campaign mailbox (imap.url), matches each reply to the
message it answers and classifies it: endorse, decline, unsubscribe, auto_reply,
bounce or other. Anything not clearly understood waits in the review queue
(outreach review list).`,
	}
	var asJSON bool
	classify := &cobra.Command{
		Use:   "classify [--json] FILE.eml...",
		Short: "Classify saved messages offline (no daemon needed)",
		Long: `Parse and classify each file as the daemon would, from its content only: no
daemon, no token and no database are used, so nothing is matched or recorded.
Prints one line per file, or with --json one JSON object per line:
{"file": ..., "class": ..., "review": true|false, "reason": ...}.`,
		Example: "  outreach replies classify reply.eml\n  outreach replies classify --json testdata/*.eml",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return classifyFiles(c, args, asJSON)
		},
	}
	classify.Flags().BoolVar(&asJSON, "json", false, "print one JSON object per file")

	var q service.ReplyQuery
	list := &cobra.Command{
		Use:     "list [--class C] [--review]",
		Short:   "List recorded replies, oldest first",
		Example: "  outreach replies list --class endorse\n  outreach replies list --review --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return listReplies(c, cmd, "/api/v1/replies", q)
		},
	}
	list.Flags().StringVar(&q.Class, "class", "", "only this class: "+strings.Join(service.Classes, ", "))
	list.Flags().BoolVar(&q.Review, "review", false, "only replies waiting for a person")
	list.Flags().BoolVar(&c.jsonOut, "json", false, "print JSON")

	show := &cobra.Command{
		Use:   "show ID",
		Short: "Show a reply: its new text, how it was matched and classified, its endorsement",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			v, printed, err := apiCall[service.ReplyView](cmd.Context(), c, http.MethodGet, "/api/v1/replies/"+url.PathEscape(args[0]), nil, nil)
			if printed || err != nil {
				return err
			}
			printReply(c.stdout, &v)
			return nil
		},
	}
	show.Flags().BoolVar(&c.jsonOut, "json", false, "print JSON")
	cmd.AddCommand(classify, list, show)
	return cmd
}

// classified is one line of `replies classify --json`.
type classified struct {
	File   string `json:"file"`
	Class  string `json:"class"`
	Review bool   `json:"review"`
	Reason string `json:"reason"`
}

// classifyFiles classifies each file; a file that cannot be read is
// reported and the others are still classified.
func classifyFiles(c *cli, files []string, asJSON bool) error {
	enc := json.NewEncoder(c.stdout)
	failed := 0
	for _, name := range files {
		res, err := classifyFile(name)
		if err != nil {
			fmt.Fprintf(c.stderr, "outreach: %v\n", err)
			failed++
			continue
		}
		if asJSON {
			if err := enc.Encode(res); err != nil {
				return err
			}
			continue
		}
		verdict := "sure"
		if res.Review {
			verdict = "review"
		}
		fmt.Fprintf(c.stdout, "%s: %s (%s): %s\n", res.File, res.Class, verdict, res.Reason)
	}
	if failed > 0 {
		return &exitError{code: 1, err: fmt.Errorf("%d of %d files could not be read", failed, len(files))}
	}
	return nil
}

func classifyFile(name string) (*classified, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m, err := mailreply.Parse(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	r := mailreply.Classify(m)
	return &classified{File: name, Class: r.Class, Review: r.Review, Reason: r.Reason}, nil
}

// listReplies prints every page of a reply list.
func listReplies(c *cli, cmd *cobra.Command, path string, q service.ReplyQuery) error {
	var all []outreach.Reply
	err := c.call(cmd.Context(), func(cl *web.Client) error {
		v := url.Values{}
		if q.Class != "" {
			v.Set("class", q.Class)
		}
		if q.Review {
			v.Set("review", "true")
		}
		for {
			var page web.Page[outreach.Reply]
			if err := cl.JSON(cmd.Context(), http.MethodGet, path, v, nil, &page); err != nil {
				return err
			}
			all = append(all, page.Items...)
			if page.Next == "" {
				return nil
			}
			v.Set("after", page.Next)
		}
	})
	if err != nil {
		return err
	}
	if c.jsonOut {
		if all == nil {
			all = []outreach.Reply{}
		}
		return c.printJSON(all)
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tRECEIVED\tFROM\tCLASS\tMATCH\tREVIEW\tREASON")
	for _, r := range all {
		review := ""
		switch {
		case r.Review:
			review = "waiting"
		case r.Resolved != "":
			review = "by " + r.Resolved
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Received.Local().Format("2006-01-02 15:04"), r.From, r.Class, r.Match, review, oneLine(r.Reason, 100))
	}
	return tw.Flush()
}

func printReply(w io.Writer, v *service.ReplyView) {
	fmt.Fprintf(w, "Reply %d  received %s\n", v.ID, v.Received.Local().Format(time.RFC1123))
	fmt.Fprintf(w, "From:       %s\nSubject:    %s\nMessage-ID: %s\n", v.From, v.Subject, v.MessageID)
	fmt.Fprintf(w, "Match:      %s", v.Match)
	if v.DeliveryID != 0 {
		fmt.Fprintf(w, " (delivery %d)", v.DeliveryID)
	}
	fmt.Fprintf(w, "\nClass:      %s\nReason:     %s\n", v.Class, v.Reason)
	switch {
	case v.Review:
		fmt.Fprintln(w, "Review:     waiting (outreach review approve|reject|reclassify "+strconv.FormatUint(v.ID, 10)+")")
	case v.Resolved != "":
		fmt.Fprintf(w, "Review:     decided by %s\n", v.Resolved)
	}
	if b := v.Bounce; b != nil {
		fmt.Fprintf(w, "Bounce:     %s %s %s %s\n", b.Recipient, b.Action, b.Status, b.Diagnostic)
	}
	if e := v.Endorsement; e != nil {
		fmt.Fprintf(w, "Endorsement %d: %s, printed as %q\n", e.ID, e.State, e.PrintName)
	}
	fmt.Fprintf(w, "\n%s\n", v.Text)
}

// oneLine flattens s to one line of at most n runes.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

func newReviewCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "review",
		Short: "Decide the replies the inbox was not sure about",
		Long: `The review queue holds replies a person must look at: endorsements that are
not certain (matched by sender only, a condition, a question, a reply from a
target, a campaign that requires review), replies matched to nothing,
unclear text. Every decision is recorded in the audit trail.

  approve ID     accept the class: an endorsement is confirmed (--name sets the
                 name to print; --email links a reply matched to no contact)
  reject ID      not what it seemed: what the reply did is undone (an
                 endorsement it created is rejected; one it confirmed goes
                 back to pending)
  reclassify ID CLASS   set the class (endorse, decline, unsubscribe,
                 auto_reply, bounce, other) and act on it as approve does

Approving a reply classed other (a question, a condition) records nothing;
if it is in fact a yes, "reclassify ID endorse --name N" confirms it.

A decline from a partner who has an endorsement puts that endorsement back
to pending at once (no letter carries it meanwhile) and waits here: approving
the decline withdraws the endorsement; rejecting it leaves the endorsement
pending for a person to confirm.`,
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List the replies waiting for a person",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return listReplies(c, cmd, "/api/v1/review", service.ReplyQuery{})
		},
	}
	list.Flags().BoolVar(&c.jsonOut, "json", false, "print JSON")

	var in service.ReviewInput
	decide := func(action string) func(cmd *cobra.Command, args []string) error {
		return func(cmd *cobra.Command, args []string) error {
			if _, err := strconv.ParseUint(args[0], 10, 64); err != nil {
				return fmt.Errorf("reply id %q is not a number", args[0])
			}
			body := in
			if action == service.ReviewReclassify {
				body.Class = args[1]
			}
			res, printed, err := apiCall[service.ReviewResult](cmd.Context(), c, http.MethodPost, "/api/v1/review/"+args[0]+"/"+action, nil, body)
			if printed || err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "reply %d: %s, decided by %s\n", res.Reply.ID, res.Reply.Class, res.Reply.Resolved)
			if e := res.Endorsement; e != nil {
				fmt.Fprintf(c.stdout, "endorsement %d: %s, printed as %q\n", e.ID, e.State, e.PrintName)
			}
			if res.ThankYouSend != 0 {
				fmt.Fprintf(c.stdout, "thank-you queued (send %d)\n", res.ThankYouSend)
			}
			return nil
		}
	}
	approve := &cobra.Command{Use: "approve ID [--name N] [--email ADDR]", Short: "Accept a reply's class", Args: cobra.ExactArgs(1), RunE: decide(service.ReviewApprove),
		Example: "  outreach review approve 12\n  outreach review approve 12 --name \"Kenya Human Rights Network\""}
	reject := &cobra.Command{Use: "reject ID", Short: "Reject a reply: its endorsement, if any, is rejected", Args: cobra.ExactArgs(1), RunE: decide(service.ReviewReject)}
	reclassify := &cobra.Command{Use: "reclassify ID CLASS", Short: "Set a reply's class and act on it", Args: cobra.ExactArgs(2), RunE: decide(service.ReviewReclassify),
		Example: "  outreach review reclassify 12 endorse --name \"Derechos Ya\"\n  outreach review reclassify 13 unsubscribe"}
	for _, sub := range []*cobra.Command{approve, reject, reclassify} {
		sub.Flags().StringVar(&in.Note, "note", "", "why (kept in the audit trail)")
		sub.Flags().BoolVar(&c.jsonOut, "json", false, "print JSON")
	}
	for _, sub := range []*cobra.Command{approve, reclassify} {
		sub.Flags().StringVar(&in.Name, "name", "", "the name to print on the letter")
		sub.Flags().StringVar(&in.Email, "email", "", "the contact a reply matched to no one is from")
	}
	cmd.AddCommand(list, approve, reject, reclassify)
	return cmd
}

// apiErrorDetails decodes an API error's details into v, reporting whether
// there were any.
func apiErrorDetails(err error, v any) (*web.APIError, bool) {
	var ae *web.APIError
	if errors.As(err, &ae) && len(ae.Details) > 0 {
		return ae, json.Unmarshal(ae.Details, v) == nil
	}
	return nil, false
}
