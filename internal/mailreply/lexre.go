package mailreply

import (
	"regexp"
	"regexp/syntax"
	"sort"
	"strings"
)

// lexRe is a set of regular expressions over normalised text, each with a
// literal prefilter. The lexicon's long alternations are slow in Go's
// regexp engine, and most sentences contain none of their phrases, so a few
// substring searches for the literal text every match must start with rule
// them out first.
type lexRe struct {
	parts []*lexPart
}

type lexPart struct {
	id       int
	re       *regexp.Regexp
	prefixes []string // nil: no prefilter, always run re
}

// partIndex finds, for a sentence, the parts whose literal prefixes can
// start at one of its words. It is filled while the package's lexicon
// variables are initialised and only read afterwards.
type partIndex struct {
	n      int
	byKey  map[string][]stemRef // by the first one to three bytes of a prefix's first word
	always []int                // parts without a usable prefix
}

// stemRef is the first word of a prefix: whole when the prefix goes on
// past it, so that a sentence's word must equal it rather than start with it.
type stemRef struct {
	part  int
	stem  string
	whole bool
}

var lexIndex = &partIndex{byKey: map[string][]stemRef{}}

func (x *partIndex) add(p *lexPart) {
	p.id = x.n
	x.n++
	if p.prefixes == nil {
		x.always = append(x.always, p.id)
		return
	}
	for _, pre := range p.prefixes {
		n := wordRun(pre)
		if n == 0 {
			x.always = append(x.always, p.id)
			return
		}
	}
	for _, pre := range p.prefixes {
		n := wordRun(pre)
		key := pre[:min(n, 3)]
		x.byKey[key] = append(x.byKey[key], stemRef{part: p.id, stem: pre[:n], whole: n < len(pre)})
	}
}

// wordRun returns the length of the run of ASCII word bytes (what RE2's \b
// counts as word characters) at the start of s.
func wordRun(s string) int {
	n := 0
	for n < len(s) && isWordByte(s[n]) {
		n++
	}
	return n
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c >= 'A' && c <= 'Z'
}

// candidates marks the parts that may match somewhere in s.
func (x *partIndex) candidates(s string) []bool {
	c := make([]bool, x.n)
	for _, id := range x.always {
		c[id] = true
	}
	for i := 0; i < len(s); {
		if !isWordByte(s[i]) {
			i++
			continue
		}
		n := wordRun(s[i:])
		run := s[i : i+n]
		for k := 1; k <= 3 && k <= n; k++ {
			for _, ref := range x.byKey[run[:k]] {
				if ref.whole && run == ref.stem || !ref.whole && strings.HasPrefix(run, ref.stem) {
					c[ref.part] = true
				}
			}
		}
		i += n
	}
	return c
}

// maxPrefixes bounds the literal prefixes kept per pattern.
const maxPrefixes = 256

// mustLex compiles patterns; a match of any of them is a match. Each
// top-level alternative becomes a part of its own, so that only the
// alternatives whose first word occurs in a sentence are run.
func mustLex(patterns ...string) *lexRe {
	l := &lexRe{}
	for _, pattern := range patterns {
		regexp.MustCompile(pattern) // report a bad pattern as written
		parsed, err := syntax.Parse(pattern, syntax.Perl)
		if err != nil {
			panic(err)
		}
		for _, alt := range alternatives(parsed) {
			part := &lexPart{re: regexp.MustCompile(alt.String())}
			if set, _, ok := literalSet(alt.Simplify()); ok && !contains(set, "") {
				part.prefixes = set
			}
			lexIndex.add(part)
			l.parts = append(l.parts, part)
		}
	}
	return l
}

// alternatives splits a|b and \b(?:a|b)\b into their branches, keeping the
// word boundaries around each.
func alternatives(re *syntax.Regexp) []*syntax.Regexp {
	switch {
	case re.Op == syntax.OpAlternate:
		var out []*syntax.Regexp
		for _, sub := range re.Sub {
			out = append(out, alternatives(sub)...)
		}
		return out
	case re.Op == syntax.OpConcat && len(re.Sub) == 3 &&
		re.Sub[0].Op == syntax.OpWordBoundary && re.Sub[2].Op == syntax.OpWordBoundary:
		mid := re.Sub[1]
		for mid.Op == syntax.OpCapture {
			mid = mid.Sub[0]
		}
		if mid.Op != syntax.OpAlternate {
			return []*syntax.Regexp{re}
		}
		var out []*syntax.Regexp
		for _, sub := range mid.Sub {
			out = append(out, &syntax.Regexp{Op: syntax.OpConcat, Flags: re.Flags, Sub: []*syntax.Regexp{re.Sub[0], sub, re.Sub[2]}})
		}
		return out
	}
	return []*syntax.Regexp{re}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// literalSet returns strings one of which every match of re starts with,
// and whether they are whole matches (so a following part may extend them).
func literalSet(re *syntax.Regexp) (set []string, whole, ok bool) {
	switch re.Op {
	case syntax.OpLiteral:
		if re.Flags&syntax.FoldCase != 0 {
			return nil, false, false
		}
		return []string{string(re.Rune)}, true, true
	case syntax.OpEmptyMatch, syntax.OpWordBoundary, syntax.OpBeginText, syntax.OpBeginLine:
		return []string{""}, true, true
	case syntax.OpCapture:
		return literalSet(re.Sub[0])
	case syntax.OpQuest:
		set, whole, ok := literalSet(re.Sub[0])
		if !ok {
			return nil, false, false
		}
		return append(set, ""), whole, true
	case syntax.OpAlternate:
		whole = true
		for _, sub := range re.Sub {
			s, w, ok := literalSet(sub)
			if !ok {
				return nil, false, false
			}
			set = append(set, s...)
			whole = whole && w
		}
		return set, whole, len(set) <= maxPrefixes
	case syntax.OpConcat:
		set = []string{""}
		for i, sub := range re.Sub {
			s, w, ok := literalSet(sub)
			if !ok || len(set)*len(s) > maxPrefixes {
				return set, false, i > 0
			}
			var next []string
			for _, a := range set {
				for _, b := range s {
					next = append(next, a+b)
				}
			}
			set = next
			if !w {
				return set, false, true
			}
		}
		return set, true, true
	}
	return nil, false, false
}

func (p *lexPart) possible(s string) bool {
	if p.prefixes == nil {
		return true
	}
	for _, pre := range p.prefixes {
		if strings.Contains(s, pre) {
			return true
		}
	}
	return false
}

// FindAllStringIndex returns the matches of every pattern, in order of
// their start.
func (l *lexRe) FindAllStringIndex(s string, n int) [][]int {
	return l.find(s, nil, n)
}

// find is FindAllStringIndex with the candidates of s, or nil.
func (l *lexRe) find(s string, cand []bool, n int) [][]int {
	var out [][]int
	for _, p := range l.parts {
		if cand != nil && cand[p.id] || cand == nil && p.possible(s) {
			out = append(out, p.re.FindAllStringIndex(s, n)...)
		}
	}
	if len(l.parts) > 1 {
		sort.SliceStable(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	}
	return out
}

// MatchString reports whether any pattern matches s.
func (l *lexRe) MatchString(s string) bool {
	return l.match(s, nil)
}

// match is MatchString with the candidates of s, or nil.
func (l *lexRe) match(s string, cand []bool) bool {
	for _, p := range l.parts {
		if (cand != nil && cand[p.id] || cand == nil && p.possible(s)) && p.re.MatchString(s) {
			return true
		}
	}
	return false
}
