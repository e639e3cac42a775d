package render

import (
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/outreach-coalition/outreach/internal/outreach"
)

// Problem is one thing wrong with a template: a file, a line when it is
// known (0 otherwise) and what is wrong.
type Problem struct {
	File   string
	Line   int
	Reason string
}

// String returns "file:line: reason", or "file: reason" without a line.
func (p Problem) String() string {
	if p.Line > 0 {
		return p.File + ":" + strconv.Itoa(p.Line) + ": " + p.Reason
	}
	return p.File + ": " + p.Reason
}

// Problems is every problem found at once. As an error it prints one
// problem per line; it unwraps to an EINVALID *outreach.Error so the edge
// maps it like any bad input.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns the problems as an EINVALID *outreach.Error.
func (ps Problems) Unwrap() error {
	return &outreach.Error{Code: outreach.EINVALID, Message: ps.Error()}
}

// errOrNil returns the problems sorted and de-duplicated, or nil when there
// are none.
func (ps Problems) errOrNil() error {
	if len(ps) == 0 {
		return nil
	}
	slices.SortStableFunc(ps, func(a, b Problem) int {
		if c := strings.Compare(a.File, b.File); c != 0 {
			return c
		}
		return a.Line - b.Line
	})
	return slices.Compact(ps)
}

// Template errors come as "template: NAME:LINE:COL: executing "T" at <X>: why",
// "template: NAME:LINE: why", "html/template:NAME:LINE:COL: why" or
// "template: NAME: why", where NAME is a parse name (a file path, for the
// trees built here) or a template name.
var (
	templateErrRE = regexp.MustCompile(`^(?:html/)?template: ?([^:\s]+?)(?::(\d+))?(?::\d+)?: (.*)$`)
	executingRE   = regexp.MustCompile(`^executing "[^"]*" at (<.*?>): `)
)

// problemFrom turns a text/template or html/template error into a Problem.
// files maps template names to the files they came from, for errors that
// name a template rather than a file; file is used when nothing better is
// known.
func problemFrom(err error, files map[string]string, file string) Problem {
	msg := err.Error()
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	m := templateErrRE.FindStringSubmatch(msg)
	if m == nil {
		return Problem{File: file, Reason: msg}
	}
	p := Problem{File: m[1], Reason: m[3]}
	if f, ok := files[p.File]; ok {
		p.File = f
	}
	p.Line, _ = strconv.Atoi(m[2])
	p.Reason = executingRE.ReplaceAllString(p.Reason, "at $1: ")
	return p
}
