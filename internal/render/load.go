package render

import (
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"maps"
	"regexp"
	"slices"
	"strings"
	texttemplate "text/template"
	"text/template/parse"

	"github.com/outreach-coalition/outreach/internal/outreach"
)

// The file layout under a template root (see templates/mail/README.md):
//
//	_layout.txt, _layout.html        optional; wrap every variant's body
//	_partials/NAME.txt|html          a partial for every language
//	_partials/NAME/LANG.txt|html     a partial in one language
//	NAME/LANG.subject|txt|html       one language variant of template NAME
//
// Files and directories whose name begins with "." and files ending in
// ".md" are ignored; anything else is a problem.
const (
	layoutPrefix = "_layout."
	partialsDir  = "_partials"
	contentName  = "content"
)

// Part extensions.
const (
	extSubject = "subject"
	extText    = "txt"
	extHTML    = "html"
)

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// Load reads every file under fsys and returns LoadFiles of them.
func Load(fsys fs.FS) (*Set, error) {
	files := map[string]string{}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != "." && ignored(d.Name(), d.IsDir()) {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		files[p] = string(b)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load templates: %w", err)
	}
	return LoadFiles(files)
}

func ignored(name string, dir bool) bool {
	return strings.HasPrefix(name, ".") || !dir && strings.HasSuffix(name, ".md")
}

// LoadFiles parses and validates templates given as path -> content, paths
// relative to the template root with forward slashes. Every file is parsed
// and every variant rendered with SampleData (with any contact attribute
// the template uses filled in); all problems are returned together as
// Problems.
func LoadFiles(files map[string]string) (*Set, error) {
	s := &Set{files: map[string]string{}, templates: map[string]*tmpl{}}
	lay, probs := classify(files)
	for p, src := range files {
		if !ignoredPath(p) {
			s.files[p] = src
		}
	}
	for _, name := range slices.Sorted(maps.Keys(lay.variants)) {
		t := &tmpl{name: name, variants: map[string]*variant{}}
		for _, lang := range slices.Sorted(maps.Keys(lay.variants[name])) {
			v, ps := s.build(lay, name, lang)
			probs = append(probs, ps...)
			if v != nil {
				t.variants[lang] = v
				t.attrs = append(t.attrs, v.attrs...)
			}
		}
		slices.Sort(t.attrs)
		t.attrs = slices.Compact(t.attrs)
		s.templates[name] = t
	}
	for _, t := range s.templates {
		for _, v := range t.variants {
			d := SampleData()
			d.Contact.Language = v.lang
			d.Contact.Attrs = map[string]string{}
			for _, a := range t.attrs {
				d.Contact.Attrs[a] = "sample " + a
			}
			r, ps := s.renderVariant(t, v, d, nil)
			probs = append(probs, ps...)
			if r != nil && strings.TrimSpace(r.Text) == "" {
				probs = append(probs, Problem{File: v.textFiles[contentName], Reason: "renders to nothing"})
			}
			if r != nil && strings.TrimSpace(r.HTML) == "" {
				probs = append(probs, Problem{File: v.htmlFiles[contentName], Reason: "renders to nothing"})
			}
		}
	}
	if err := probs.errOrNil(); err != nil {
		return nil, err
	}
	return s, nil
}

func ignoredPath(p string) bool {
	for part := range strings.SplitSeq(p, "/") {
		if strings.HasPrefix(part, ".") {
			return true
		}
	}
	return strings.HasSuffix(p, ".md")
}

// layout is the files of a root, sorted by role.
type layout struct {
	files    map[string]string
	layouts  map[string]string                       // ext -> path
	partials map[string]map[string]map[string]string // name -> lang ("" for any) -> ext -> path
	variants map[string]map[string]map[string]string // template -> lang -> ext -> path
}

func classify(files map[string]string) (*layout, Problems) {
	lay := &layout{
		files:    files,
		layouts:  map[string]string{},
		partials: map[string]map[string]map[string]string{},
		variants: map[string]map[string]map[string]string{},
	}
	var probs Problems
	add := func(m map[string]map[string]map[string]string, name, lang, ext, p string) {
		if m[name] == nil {
			m[name] = map[string]map[string]string{}
		}
		if m[name][lang] == nil {
			m[name][lang] = map[string]string{}
		}
		if prev, ok := m[name][lang][ext]; ok {
			probs = append(probs, Problem{File: p, Reason: fmt.Sprintf("same language as %s", prev)})
			return
		}
		m[name][lang][ext] = p
	}
	for _, p := range slices.Sorted(maps.Keys(files)) {
		if ignoredPath(p) {
			continue
		}
		parts := strings.Split(p, "/")
		base := parts[len(parts)-1]
		stem, ext := base, ""
		if i := strings.LastIndexByte(base, '.'); i > 0 {
			stem, ext = base[:i], base[i+1:]
		}
		bad := func(reason string) { probs = append(probs, Problem{File: p, Reason: reason}) }
		switch {
		case !fs.ValidPath(p) || strings.ContainsAny(p, ": \\"):
			bad("not a clean relative path without spaces or colons")
		case len(parts) == 1 && (base == layoutPrefix+extText || base == layoutPrefix+extHTML):
			lay.layouts[ext] = p
		case parts[0] == partialsDir && len(parts) == 2 && nameRE.MatchString(stem) && (ext == extText || ext == extHTML):
			add(lay.partials, stem, "", ext, p)
		case parts[0] == partialsDir && len(parts) == 3 && nameRE.MatchString(parts[1]) && (ext == extText || ext == extHTML):
			if !outreach.ValidLanguage(stem) {
				bad(fmt.Sprintf("%q is not a BCP 47 language tag", stem))
				continue
			}
			add(lay.partials, parts[1], outreach.CanonicalLanguage(stem), ext, p)
		case parts[0] == partialsDir:
			bad("a partial must be _partials/NAME.txt, _partials/NAME.html or _partials/NAME/LANG.txt|html, NAME in lower-case letters, digits, - and _")
		case len(parts) == 2 && nameRE.MatchString(parts[0]) && (ext == extSubject || ext == extText || ext == extHTML):
			if !outreach.ValidLanguage(stem) {
				bad(fmt.Sprintf("%q is not a BCP 47 language tag", stem))
				continue
			}
			add(lay.variants, parts[0], outreach.CanonicalLanguage(stem), ext, p)
		default:
			bad("unexpected file: want NAME/LANG.subject, NAME/LANG.txt, NAME/LANG.html, _layout.txt, _layout.html or _partials/..., NAME in lower-case letters, digits, - and _")
		}
	}
	if _, ok := lay.partials[contentName]; ok {
		probs = append(probs, Problem{File: partialsDir + "/" + contentName, Reason: `"content" is reserved for the variant's body`})
		delete(lay.partials, contentName)
	}
	for name, langs := range lay.variants {
		for lang, exts := range langs {
			for _, ext := range []string{extSubject, extText, extHTML} {
				if _, ok := exts[ext]; !ok {
					probs = append(probs, Problem{
						File:   name + "/" + lang + "." + ext,
						Reason: fmt.Sprintf("missing: every variant needs %s.subject, %s.txt and %s.html", lang, lang, lang),
					})
				}
			}
		}
	}
	return lay, probs
}

// partialFor returns the file of partial name for lang and ext: the
// language's own, its base language's, English, then the one for any
// language.
func (l *layout) partialFor(name, lang, ext string) (string, bool) {
	for _, c := range []string{lang, outreach.BaseLanguage(lang), "en", ""} {
		if p, ok := l.partials[name][c][ext]; ok {
			return p, true
		}
	}
	return "", false
}

// build parses one language variant: its subject on its own, its text and
// HTML bodies each with the layout and partials of their kind.
func (s *Set) build(lay *layout, name, lang string) (*variant, Problems) {
	exts := lay.variants[name][lang]
	if len(exts) != 3 {
		return nil, nil
	}
	v := &variant{lang: lang, subjectPath: exts[extSubject]}
	fm := funcMap(&s.zones)
	var probs Problems

	subject := strings.TrimRight(lay.files[v.subjectPath], "\r\n")
	if strings.ContainsAny(subject, "\r\n") {
		probs = append(probs, Problem{File: v.subjectPath, Line: 2, Reason: "a subject is one line"})
	}
	var err error
	v.subject, err = texttemplate.New(v.subjectPath).Option("missingkey=error").Funcs(fm).Parse(subject)
	if err != nil {
		probs = append(probs, problemFrom(err, nil, v.subjectPath))
	}

	v.text = texttemplate.New("").Option("missingkey=error").Funcs(fm)
	var textTrees, htmlTrees []*parse.Tree
	var ps Problems
	v.textEntry, v.textFiles, textTrees, ps = assemble(lay, lang, exts[extText], extText, func(p, alias string) (*parse.Tree, error) {
		t, err := v.text.New(p).Parse(lay.files[p])
		if err != nil {
			return nil, err
		}
		if alias != "" {
			_, err = v.text.AddParseTree(alias, t.Tree)
		}
		return t.Tree, err
	})
	probs = append(probs, ps...)

	v.html = htmltemplate.New("").Option("missingkey=error").Funcs(fm)
	v.htmlEntry, v.htmlFiles, htmlTrees, ps = assemble(lay, lang, exts[extHTML], extHTML, func(p, alias string) (*parse.Tree, error) {
		t, err := v.html.New(p).Parse(lay.files[p])
		if err != nil {
			return nil, err
		}
		if alias != "" {
			_, err = v.html.AddParseTree(alias, t.Tree)
		}
		return t.Tree, err
	})
	probs = append(probs, ps...)

	if probs != nil {
		return nil, probs
	}
	v.attrs = attributes(append(append(textTrees, htmlTrees...), v.subject.Tree))
	return v, nil
}

// assemble parses a body of kind ext (txt or html) with the layout and the
// partials of its kind for lang, each through add, which parses a file
// under its path and, given an alias, also names it so: partials by their
// name, the body as "content". It returns the template to execute, the
// file behind each template name (for error messages) and the trees.
func assemble(lay *layout, lang, body, ext string, add func(path, alias string) (*parse.Tree, error)) (
	entry string, files map[string]string, trees []*parse.Tree, probs Problems) {
	entry, files = body, map[string]string{contentName: body}
	addOne := func(p, alias string) {
		t, err := add(p, alias)
		if err != nil {
			probs = append(probs, problemFrom(err, nil, p))
			return
		}
		trees = append(trees, t)
	}
	if p, ok := lay.layouts[ext]; ok {
		addOne(p, "")
		entry, files[p] = p, p
		if len(trees) == 1 && !calls(trees[0], contentName) {
			probs = append(probs, Problem{File: p, Reason: `a layout must call {{template "content" .}}, the variant's body`})
		}
	}
	for _, name := range slices.Sorted(maps.Keys(lay.partials)) {
		if p, ok := lay.partialFor(name, lang, ext); ok {
			addOne(p, name)
			files[name] = p
		}
	}
	addOne(body, contentName)
	return entry, files, trees, probs
}

// attributes returns the contact attribute names used as fields
// (.Contact.Attrs.NAME, $.Contact.Attrs.NAME or .Attrs.NAME), so the
// sample contact can carry them.
func attributes(trees []*parse.Tree) []string {
	var out []string
	idents := func(id []string) {
		for i := 0; i+1 < len(id); i++ {
			if id[i] == "Attrs" {
				out = append(out, id[i+1])
			}
		}
	}
	for _, t := range trees {
		walk(t.Root, func(n parse.Node) {
			switch n := n.(type) {
			case *parse.FieldNode:
				idents(n.Ident)
			case *parse.VariableNode:
				idents(n.Ident)
			case *parse.ChainNode:
				idents(n.Field)
			}
		})
	}
	return out
}

// calls reports whether tree calls the template name.
func calls(tree *parse.Tree, name string) bool {
	found := false
	walk(tree.Root, func(n parse.Node) {
		if t, ok := n.(*parse.TemplateNode); ok && t.Name == name {
			found = true
		}
	})
	return found
}

// walk calls visit for n and every node below it.
func walk(n parse.Node, visit func(parse.Node)) {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		visit(n)
		for _, c := range n.Nodes {
			walk(c, visit)
		}
	case *parse.PipeNode:
		if n == nil {
			return
		}
		visit(n)
		for _, c := range n.Cmds {
			walk(c, visit)
		}
	case *parse.ActionNode:
		visit(n)
		walk(n.Pipe, visit)
	case *parse.CommandNode:
		visit(n)
		for _, a := range n.Args {
			walk(a, visit)
		}
	case *parse.ChainNode:
		visit(n)
		walk(n.Node, visit)
	case *parse.IfNode:
		visit(n)
		walk(&n.BranchNode, visit)
	case *parse.RangeNode:
		visit(n)
		walk(&n.BranchNode, visit)
	case *parse.WithNode:
		visit(n)
		walk(&n.BranchNode, visit)
	case *parse.BranchNode:
		walk(n.Pipe, visit)
		walk(n.List, visit)
		walk(n.ElseList, visit)
	case *parse.TemplateNode:
		visit(n)
		walk(n.Pipe, visit)
	case nil:
	default:
		visit(n)
	}
}
