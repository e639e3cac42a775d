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

	"github.com/outreach-coalition/outreach/internal/outreach"
	"github.com/outreach-coalition/outreach/internal/service"
	"github.com/outreach-coalition/outreach/internal/web"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

func newContactsCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "contacts",
		Short: "Import, export, count, list and edit partner and target contacts",
		Long: `Contacts are partner organisations and targets (heads of state, ministries,
legislators, national human rights institutions, ...). Each has an email
address (unique, compared case-insensitively), a kind, a country (ISO 3166-1
alpha-2), regions, a language (BCP 47), a time zone, tags and free attributes.

Filters select contacts:
  country in (MY, PH) and kind = partner and not tag = board
  language = es or region = OAS
  attr.sector = housing
Fields: email, domain, name, organization, kind, country, region, language,
timezone, tag, status, attr.NAME.`,
	}
	var filter string
	var skipInvalid bool
	imp := &cobra.Command{
		Use:   "import FILE.csv|-",
		Short: "Import contacts from CSV (all or nothing unless --skip-invalid)",
		Long: `Import contacts from a CSV file, or - for standard input. The header names
the fields: email,name,organization,kind,country,regions,language,timezone,
tags,consent,consent_date,status; tags and regions are separated by ; or |;
any other column becomes an attribute. Existing addresses are updated, never
duplicated; an import never reactivates an unsubscribed, bounced or
complained contact.

By default any bad row rejects the whole file and nothing is written; every
bad row is listed as FILE:LINE: field: reason. --skip-invalid imports the valid rows.`,
		Example: "  outreach contacts import partners.csv\n  outreach contacts import --skip-invalid partners.csv",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			in, size, err := openInput(c, args[0])
			if err != nil {
				return err
			}
			defer in.Close()
			var body io.Reader = in
			if f, ok := c.stderr.(*os.File); ok && size > 1<<20 && term.IsTerminal(int(f.Fd())) {
				body = &progressReader{r: in, total: size, w: c.stderr, label: "uploading"}
			}
			q := url.Values{}
			if skipInvalid {
				q.Set("skip_invalid", "true")
			}
			var rep service.ImportReport
			err = c.call(cmd.Context(), func(cl *web.Client) error {
				return cl.Do(cmd.Context(), http.MethodPost, "/api/v1/contacts/import", q, body, "text/csv", &rep)
			})
			if pr, ok := body.(*progressReader); ok {
				pr.done()
			}
			var ae *web.APIError
			if errors.As(err, &ae) && len(ae.Details) > 0 {
				json.Unmarshal(ae.Details, &rep)
				for _, e := range rep.Errors {
					fmt.Fprintf(c.stderr, "%s:%s\n", args[0], e)
				}
				if rep.Skipped > len(rep.Errors) {
					fmt.Fprintf(c.stderr, "... and %d more\n", rep.Skipped-len(rep.Errors))
				}
				return &exitError{code: 1, err: errors.New(ae.Message)}
			}
			if err != nil {
				return err
			}
			for _, e := range rep.Errors {
				fmt.Fprintf(c.stderr, "%s:%s (skipped)\n", args[0], e)
			}
			fmt.Fprintf(c.stdout, "created %d, updated %d, unchanged %d, skipped %d\n", rep.Created, rep.Updated, rep.Unchanged, rep.Skipped)
			return nil
		},
	}
	imp.Flags().BoolVar(&skipInvalid, "skip-invalid", false, "import the valid rows and report the invalid ones")

	export := &cobra.Command{
		Use:     "export",
		Short:   "Write contacts as CSV to standard output (it imports back unchanged)",
		Example: "  outreach contacts export --filter 'country = MY' > my.csv",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.call(cmd.Context(), func(cl *web.Client) error {
				return cl.Do(cmd.Context(), http.MethodGet, "/api/v1/contacts/export", url.Values{"filter": {filter}}, nil, "", c.stdout)
			})
		},
	}
	export.Flags().StringVar(&filter, "filter", "", "only contacts matching this filter")

	count := &cobra.Command{
		Use:     "count",
		Short:   "Print how many contacts match a filter",
		Example: "  outreach contacts count --filter 'country in (MY, PH) and kind = partner'",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var out struct{ Count int }
			err := c.call(cmd.Context(), func(cl *web.Client) error {
				return cl.JSON(cmd.Context(), http.MethodGet, "/api/v1/contacts/count", url.Values{"filter": {filter}}, nil, &out)
			})
			if err != nil {
				return err
			}
			fmt.Fprintln(c.stdout, out.Count)
			return nil
		},
	}
	count.Flags().StringVar(&filter, "filter", "", "filter expression (empty: all contacts)")

	var limit int
	list := &cobra.Command{
		Use:     "list",
		Short:   "List contacts matching a filter",
		Example: "  outreach contacts list --filter 'tag = board'\n  outreach contacts list --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := c.client()
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
			if !c.jsonOut {
				fmt.Fprintln(tw, "EMAIL\tNAME\tORGANIZATION\tKIND\tCOUNTRY\tLANGUAGE\tSTATUS")
			}
			var all []outreach.Contact
			after := ""
			for n := 0; limit == 0 || n < limit; {
				var page web.Page[outreach.Contact]
				q := url.Values{"filter": {filter}, "limit": {"500"}}
				if after != "" {
					q.Set("after", after)
				}
				if err := cl.JSON(cmd.Context(), http.MethodGet, "/api/v1/contacts", q, nil, &page); err != nil {
					return err
				}
				for _, ct := range page.Items {
					if limit > 0 && n >= limit {
						break
					}
					n++
					if c.jsonOut {
						all = append(all, ct)
					} else {
						fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", ct.Email, ct.Name, ct.Organization, ct.Kind, ct.Country, ct.Language, ct.Status)
					}
				}
				if page.Next == "" {
					break
				}
				after = page.Next
			}
			if c.jsonOut {
				if all == nil {
					all = []outreach.Contact{}
				}
				return c.printJSON(all)
			}
			return tw.Flush()
		},
	}
	list.Flags().StringVar(&filter, "filter", "", "filter expression")
	list.Flags().IntVar(&limit, "limit", 0, "at most this many (0: all)")
	list.Flags().BoolVar(&c.jsonOut, "json", false, "print JSON")

	show := &cobra.Command{
		Use:   "show EMAIL",
		Short: "Show one contact as JSON",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var ct outreach.Contact
			if err := c.call(cmd.Context(), func(cl *web.Client) error {
				return cl.JSON(cmd.Context(), http.MethodGet, "/api/v1/contacts/"+url.PathEscape(args[0]), nil, nil, &ct)
			}); err != nil {
				return err
			}
			return c.printJSON(ct)
		},
	}

	var sets []string
	edit := &cobra.Command{
		Use:   "edit EMAIL --set FIELD=VALUE...",
		Short: "Change fields of a contact",
		Long: `Change fields of a contact. Fields: name, organization, kind, country,
language, timezone, regions and tags (separated by ; or |), status (not back
to active: use "contacts reactivate"), attr.NAME (empty value removes it).`,
		Example: "  outreach contacts edit ana@example.org --set name='Ana Ruiz' --set tags='board;press' --set attr.sector=housing",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			patch, err := parseSets(sets)
			if err != nil {
				return err
			}
			var ct outreach.Contact
			if err := c.call(cmd.Context(), func(cl *web.Client) error {
				return cl.JSON(cmd.Context(), http.MethodPatch, "/api/v1/contacts/"+url.PathEscape(args[0]), nil, patch, &ct)
			}); err != nil {
				return err
			}
			return c.printJSON(ct)
		},
	}
	edit.Flags().StringArrayVar(&sets, "set", nil, "FIELD=VALUE to set (repeatable)")

	del := &cobra.Command{
		Use:   "delete EMAIL",
		Short: "Delete a contact (its delivery log stays)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.call(cmd.Context(), func(cl *web.Client) error {
				if err := cl.JSON(cmd.Context(), http.MethodDelete, "/api/v1/contacts/"+url.PathEscape(args[0]), nil, nil, nil); err != nil {
					return err
				}
				fmt.Fprintln(c.stdout, "deleted", args[0])
				return nil
			})
		},
	}
	var reason string
	react := &cobra.Command{
		Use:     "reactivate EMAIL --reason TEXT",
		Short:   "Return an unsubscribed, bounced or complained contact to active (logged)",
		Example: "  outreach contacts reactivate ana@example.org --reason 'asked to rejoin by phone on 3 May'",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.call(cmd.Context(), func(cl *web.Client) error {
				var ct outreach.Contact
				if err := cl.JSON(cmd.Context(), http.MethodPost, "/api/v1/contacts/"+url.PathEscape(args[0])+"/reactivate", nil, map[string]string{"reason": reason}, &ct); err != nil {
					return err
				}
				fmt.Fprintf(c.stdout, "%s is %s\n", ct.Email, ct.Status)
				return nil
			})
		},
	}
	react.Flags().StringVar(&reason, "reason", "", "why (required; kept in the audit trail)")
	cmd.AddCommand(imp, export, count, list, show, edit, del, react, newContactsForgetCmd(c))
	return cmd
}

func parseSets(sets []string) (*web.ContactPatch, error) {
	p := &web.ContactPatch{}
	split := func(v string) *[]string {
		out := []string{}
		for _, s := range strings.FieldsFunc(v, func(r rune) bool { return r == ';' || r == '|' }) {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
		return &out
	}
	for _, kv := range sets {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, fmt.Errorf("--set %q: want FIELD=VALUE", kv)
		}
		v2 := v
		switch k = strings.ToLower(strings.TrimSpace(k)); k {
		case "name":
			p.Name = &v2
		case "organization", "organisation":
			p.Organization = &v2
		case "kind":
			p.Kind = &v2
		case "country":
			p.Country = &v2
		case "language":
			p.Language = &v2
		case "timezone":
			p.TimeZone = &v2
		case "status":
			p.Status = &v2
		case "tags":
			p.Tags = split(v)
		case "regions":
			p.Regions = split(v)
		default:
			name, ok := strings.CutPrefix(k, "attr.")
			if !ok {
				return nil, fmt.Errorf("--set %q: unknown field %q (name, organization, kind, country, language, timezone, status, tags, regions, attr.NAME)", kv, k)
			}
			if p.Attrs == nil {
				p.Attrs = map[string]*string{}
			}
			if v == "" {
				p.Attrs[name] = nil
			} else {
				p.Attrs[name] = &v2
			}
		}
	}
	return p, nil
}

// openInput opens a file, or standard input for "-", and its size if known.
func openInput(c *cli, name string) (io.ReadCloser, int64, error) {
	if name == "-" {
		return io.NopCloser(c.stdin), 0, nil
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, 0, err
	}
	fi, _ := f.Stat()
	return f, fi.Size(), nil
}

// progressReader draws a progress bar on a terminal while a file uploads.
type progressReader struct {
	r     io.Reader
	w     io.Writer
	total int64
	n     int64
	last  int
	label string
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.n += int64(n)
	if pct := int(p.n * 100 / max(p.total, 1)); pct != p.last {
		p.last = pct
		bar := strings.Repeat("#", pct/4) + strings.Repeat(".", 25-pct/4)
		fmt.Fprintf(p.w, "\r%s [%s] %3d%% of %s", p.label, bar, pct, humanBytes(p.total))
	}
	return n, err
}

func (p *progressReader) done() {
	fmt.Fprintln(p.w, "\r\033[K"+p.label+" done; the daemon has checked every row")
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<20:
		return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MiB"
	case n >= 1<<10:
		return strconv.FormatFloat(float64(n)/(1<<10), 'f', 1, 64) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " B"
}
