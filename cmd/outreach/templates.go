package main

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/outreach-coalition/outreach/internal/render"
	"github.com/outreach-coalition/outreach/internal/service"
	"github.com/outreach-coalition/outreach/internal/store"
	"github.com/outreach-coalition/outreach/internal/web"
	"github.com/spf13/cobra"
)

func init() { extraCommands = append(extraCommands, newTemplatesCmd) }

func newTemplatesCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "templates",
		Short: "Check, list, preview, edit and reload mail templates",
		Long: `Mail templates live in templates_dir (or are embedded in the binary); see
templates/mail/README.md for their layout, data and functions. The daemon
stores every change as a new version, and a wave keeps the version it was
validated against, so a reload or an edit never changes a running wave.

"templates check" works offline; every other subcommand talks to the daemon.`,
	}
	cmd.AddCommand(newTemplatesCheckCmd(c), newTemplatesListCmd(c), newTemplatesRenderCmd(c),
		newTemplatesPullCmd(c), newTemplatesPushCmd(c), newTemplatesReloadCmd(c))
	return cmd
}

func newTemplatesCheckCmd(c *cli) *cobra.Command {
	return &cobra.Command{
		Use:   "check [DIR]",
		Short: "Check templates offline: print every problem as file:line: reason",
		Long: `Parse every template file in DIR (default $OUTREACH_TEMPLATES_DIR, else the
embedded templates) and render every language variant with the sample
contact. Every problem is printed as file:line: reason, and the exit status
is non-zero if there is any. No daemon is needed.`,
		Example: `  outreach templates check ./my-templates`,
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := c.env["OUTREACH_TEMPLATES_DIR"]
			if len(args) == 1 {
				dir = args[0]
			}
			if dir != "" {
				if st, err := os.Stat(dir); err != nil {
					return err
				} else if !st.IsDir() {
					return fmt.Errorf("%s is not a directory", dir)
				}
			}
			fsys, where := mailTemplates(dir)
			set, err := render.Load(fsys)
			var probs render.Problems
			if errors.As(err, &probs) {
				for _, p := range probs {
					if dir != "" {
						p.File = filepath.Join(dir, filepath.FromSlash(p.File))
					}
					fmt.Fprintln(c.stderr, p)
				}
				noun := "problems"
				if len(probs) == 1 {
					noun = "problem"
				}
				return &exitError{code: 1, err: fmt.Errorf("%s: %d %s", where, len(probs), noun)}
			}
			if err != nil {
				return err
			}
			for _, name := range set.Names() {
				fmt.Fprintf(c.stdout, "%s: %s\n", name, strings.Join(set.Languages(name), " "))
			}
			fmt.Fprintf(c.stdout, "ok: %d templates in %s\n", len(set.Names()), where)
			return nil
		},
	}
}

func newTemplatesListCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List templates: latest version, languages, who changed it and when",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			list, printed, err := apiCall[[]service.TemplateInfo](cmd.Context(), c, http.MethodGet, "/api/v1/templates", nil, nil)
			if printed || err != nil {
				return err
			}
			tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tVERSION\tLANGUAGES\tBY\tTIME")
			for _, t := range list {
				fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\n", t.Name, t.Version, strings.Join(t.Languages, " "), t.By, t.Time.Format(time.RFC3339))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&c.jsonOut, "json", false, "print JSON")
	return cmd
}

func newTemplatesRenderCmd(c *cli) *cobra.Command {
	var email, lang string
	var sample bool
	var version, campaign uint64
	cmd := &cobra.Command{
		Use:   "render NAME (--email ADDR | --sample) [--lang L]",
		Short: "Print a message exactly as a wave would send it (RFC 5322)",
		Long: `Render template NAME for a contact, or for the sample contact, and print the
whole message as a wave would send it: headers (From, To, Reply-To with a
delivery-like reply address, List-Unsubscribe, Message-ID, Date) and the
MIME body, with CRLF line ends. The language variant used, and the languages
tried to find it, are printed to standard error as
"X-Outreach-Variant: es (tried es-MX, es)"; that line is not part of the
message.`,
		Example: `  outreach templates render call-to-action --email ana@example.org
  outreach templates render endorsement-request --sample --lang pt-BR > preview.eml`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if (email == "") == !sample {
				return errors.New("give --email ADDR or --sample")
			}
			q := url.Values{}
			if email != "" {
				q.Set("email", email)
			}
			if sample {
				q.Set("sample", "true")
			}
			if lang != "" {
				q.Set("lang", lang)
			}
			if version != 0 {
				q.Set("version", strconv.FormatUint(version, 10))
			}
			if campaign != 0 {
				q.Set("campaign", strconv.FormatUint(campaign, 10))
			}
			pv, printed, err := apiCall[service.Preview](cmd.Context(), c, http.MethodGet, "/api/v1/templates/"+url.PathEscape(args[0])+"/render", q, nil)
			if printed || err != nil {
				return err
			}
			fmt.Fprintf(c.stderr, "X-Outreach-Template: %s version %d\nX-Outreach-Variant: %s\n", pv.Template, pv.Version, pv.Variant())
			_, err = fmt.Fprint(c.stdout, pv.Message)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&email, "email", "", "the contact to render for")
	f.BoolVar(&sample, "sample", false, "render for the sample contact")
	f.StringVar(&lang, "lang", "", "use this language instead of the contact's (BCP 47, e.g. es-MX)")
	f.Uint64Var(&version, "version", 0, "template version (default: the latest)")
	f.Uint64Var(&campaign, "campaign", 0, "campaign id (default: the default campaign)")
	f.BoolVar(&c.jsonOut, "json", false, "print JSON: the message, the variant and the languages tried")
	return cmd
}

func newTemplatesPullCmd(c *cli) *cobra.Command {
	var version uint64
	cmd := &cobra.Command{
		Use:   "pull NAME DIR",
		Short: "Write a stored template version's files into DIR, to edit and push",
		Example: `  outreach templates pull call-to-action ./work
  outreach templates check ./work && outreach templates push call-to-action ./work`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			q := url.Values{}
			if version != 0 {
				q.Set("version", strconv.FormatUint(version, 10))
			}
			var tv store.TemplateVersion
			if err := c.call(cmd.Context(), func(cl *web.Client) error {
				return cl.JSON(cmd.Context(), http.MethodGet, "/api/v1/templates/"+url.PathEscape(args[0]), q, nil, &tv)
			}); err != nil {
				return err
			}
			for p, src := range tv.Files {
				if !fs.ValidPath(p) {
					return fmt.Errorf("the daemon sent a file with an unsafe path %q", p)
				}
				dst := filepath.Join(args[1], filepath.FromSlash(p))
				if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
					return err
				}
				if err := os.WriteFile(dst, []byte(src), 0o644); err != nil {
					return err
				}
			}
			fmt.Fprintf(c.stdout, "%s version %d: %d files written to %s\n", tv.Name, tv.Version, len(tv.Files), args[1])
			return nil
		},
	}
	cmd.Flags().Uint64Var(&version, "version", 0, "template version (default: the latest)")
	return cmd
}

// templateFiles reads the files of template name from a template root:
// its own directory, the layouts and the partials.
func templateFiles(dir, name string) (map[string]string, error) {
	files := map[string]string{}
	err := fs.WalkDir(os.DirFS(dir), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == "." {
			return nil
		}
		if strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		top, _, nested := strings.Cut(p, "/")
		if d.IsDir() {
			if !nested && top != name && top != "_partials" {
				return fs.SkipDir
			}
			return nil
		}
		if path.Ext(p) == ".md" {
			return nil
		}
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p)))
		if err != nil {
			return err
		}
		files[p] = string(b)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", dir, err)
	}
	return files, nil
}

func newTemplatesPushCmd(c *cli) *cobra.Command {
	return &cobra.Command{
		Use:   "push NAME DIR",
		Short: "Store template NAME from DIR as a new version (validated first)",
		Long: `Send template NAME's files from the template root DIR (NAME/LANG.subject,
NAME/LANG.txt, NAME/LANG.html, the layouts and the partials; other templates
in DIR are left out) to the daemon, which validates them and stores them as
a new version. Problems are reported as file:line: reason and nothing is
stored. Waves already created keep their version; new waves use this one.`,
		Example: `  outreach templates push call-to-action ./work`,
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			files, err := templateFiles(args[1], args[0])
			if err != nil {
				return err
			}
			var ch service.TemplateChange
			if err := c.call(cmd.Context(), func(cl *web.Client) error {
				return cl.JSON(cmd.Context(), http.MethodPut, "/api/v1/templates/"+url.PathEscape(args[0]), nil, web.TemplateEdit{Files: files}, &ch)
			}); err != nil {
				return err
			}
			if ch.Changed {
				fmt.Fprintf(c.stdout, "%s: version %d stored\n", ch.Name, ch.Version)
			} else {
				fmt.Fprintf(c.stdout, "%s: unchanged (version %d)\n", ch.Name, ch.Version)
			}
			return nil
		},
	}
}

func newTemplatesReloadCmd(c *cli) *cobra.Command {
	return &cobra.Command{
		Use:   "reload",
		Short: "Reload templates_dir (or the embedded templates), as SIGHUP does",
		Long: `Reload the template source. Templates whose files changed since they were
last loaded get a new version; a source with any problem changes nothing.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var load service.TemplateLoad
			if err := c.call(cmd.Context(), func(cl *web.Client) error {
				return cl.JSON(cmd.Context(), http.MethodPost, "/api/v1/templates/reload", nil, nil, &load)
			}); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "reloaded %s\n", load.From)
			for _, ch := range load.Templates {
				state := "unchanged"
				if ch.Changed {
					state = "new version"
				}
				fmt.Fprintf(c.stdout, "  %s: version %d (%s)", ch.Name, ch.Version, state)
				if ch.Supersedes != "" {
					fmt.Fprintf(c.stdout, "; replaces as the latest an edit by %s", ch.Supersedes)
				}
				fmt.Fprintln(c.stdout)
			}
			return nil
		},
	}
}
