package mailreply

import (
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// htmlToText renders HTML as plain text: script, style and head are
// dropped, block elements start new lines (paragraph-like ones leave a
// blank line), table cells are separated by spaces, whitespace is collapsed
// outside pre, and lines inside blockquote are prefixed with "> " per level
// so that quote stripping treats them like quoted plain text.
func htmlToText(src string) string {
	doc, err := html.Parse(strings.NewReader(src))
	if err != nil {
		return ""
	}
	var t textWriter
	t.node(doc)
	t.newline()
	return strings.Join(t.lines, "\n")
}

type textWriter struct {
	lines    []string
	cur      strings.Builder
	curDepth int // quote depth of the line being built
	depth    int // current blockquote depth
	pre      int
	space    bool // a collapsed space is pending
}

var paragraphTags = map[atom.Atom]bool{
	atom.P: true, atom.H1: true, atom.H2: true, atom.H3: true, atom.H4: true, atom.H5: true, atom.H6: true,
	atom.Table: true, atom.Ul: true, atom.Ol: true, atom.Dl: true, atom.Hr: true, atom.Pre: true,
	atom.Blockquote: true, atom.Address: true, atom.Figure: true,
}

var lineTags = map[atom.Atom]bool{
	atom.Div: true, atom.Li: true, atom.Tr: true, atom.Dt: true, atom.Dd: true, atom.Section: true,
	atom.Article: true, atom.Header: true, atom.Footer: true, atom.Nav: true, atom.Aside: true,
	atom.Main: true, atom.Center: true, atom.Form: true, atom.Fieldset: true, atom.Caption: true,
	atom.Figcaption: true, atom.Tbody: true, atom.Thead: true, atom.Tfoot: true, atom.Body: true,
}

var skipTags = map[atom.Atom]bool{
	atom.Script: true, atom.Style: true, atom.Head: true, atom.Title: true, atom.Noscript: true,
	atom.Template: true, atom.Svg: true, atom.Object: true, atom.Iframe: true,
}

func (t *textWriter) node(n *html.Node) {
	switch n.Type {
	case html.TextNode:
		t.text(n.Data)
		return
	case html.ElementNode:
		if skipTags[n.DataAtom] {
			return
		}
	case html.DocumentNode:
	default:
		return
	}
	a := n.DataAtom
	switch {
	case a == atom.Br:
		t.newline()
		return
	case paragraphTags[a]:
		t.paragraph()
	case lineTags[a]:
		t.newline()
	case a == atom.Td || a == atom.Th:
		t.space = true
	}
	if a == atom.Blockquote {
		t.depth++
	}
	if a == atom.Pre {
		t.pre++
	}
	if a == atom.Li {
		t.write("- ")
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		t.node(c)
	}
	if a == atom.Pre {
		t.pre--
	}
	if a == atom.Blockquote {
		t.paragraph()
		t.depth--
	}
	switch {
	case paragraphTags[a]:
		t.paragraph()
	case lineTags[a]:
		t.newline()
	}
}

func (t *textWriter) text(s string) {
	if t.pre > 0 {
		for i, line := range strings.Split(s, "\n") {
			if i > 0 {
				t.newline()
			}
			t.write(line)
		}
		return
	}
	for _, r := range s {
		if isHTMLSpace(r) {
			t.space = true
			continue
		}
		if t.space && t.cur.Len() > 0 {
			t.cur.WriteByte(' ')
		}
		t.space = false
		if t.cur.Len() == 0 {
			t.curDepth = t.depth
		}
		t.cur.WriteRune(r)
	}
}

func isHTMLSpace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\f' || r == '\u00a0'
}

func (t *textWriter) write(s string) {
	if s == "" {
		return
	}
	if t.cur.Len() == 0 {
		t.curDepth = t.depth
	}
	t.cur.WriteString(s)
}

func (t *textWriter) newline() {
	t.space = false
	if t.cur.Len() == 0 {
		return
	}
	line := strings.TrimSpace(t.cur.String())
	t.cur.Reset()
	if line == "" {
		return
	}
	t.lines = append(t.lines, strings.Repeat("> ", t.curDepth)+line)
}

func (t *textWriter) paragraph() {
	t.newline()
	if n := len(t.lines); n > 0 && t.lines[n-1] != "" {
		t.lines = append(t.lines, "")
	}
}
