package segment

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/outreach-coalition/outreach/internal/outreach"
)

// maxDepth bounds the nesting of parentheses and not, so that hostile input
// cannot exhaust the stack.
const maxDepth = 100

// Parse parses expr. An empty or all-space expr gives a filter that matches
// every contact. Errors are *outreach.Error with code EINVALID and field
// "filter", whose message starts with the 1-based column (in characters) of
// the fault: `column 14: expected a value after "=", found ")"`. Country,
// status and language values are checked (`country = Malaysia` is an error).
func Parse(expr string) (*Filter, error) {
	if !utf8.ValidString(expr) {
		i := 0
		for i < len(expr) {
			r, size := utf8.DecodeRuneInString(expr[i:])
			if r == utf8.RuneError && size == 1 {
				break
			}
			i += size
		}
		return nil, errorAt(expr, i, "invalid UTF-8")
	}
	p := &parser{src: expr}
	if err := p.advance(); err != nil {
		return nil, err
	}
	if p.tok.kind == tokEOF {
		return &Filter{}, nil
	}
	root, err := p.parseOr("")
	if err != nil {
		return nil, err
	}
	switch p.tok.kind {
	case tokEOF:
		return &Filter{root: root}, nil
	case tokRParen:
		return nil, p.errorf(p.tok.pos, `unmatched ")"`)
	}
	return nil, p.unexpected(`"and", "or" or end of input`)
}

func errorAt(src string, pos int, format string, args ...any) error {
	col := utf8.RuneCountInString(src[:pos]) + 1
	return outreach.FieldError("filter", "column %d: %s", col, fmt.Sprintf(format, args...))
}

type tokKind uint8

const (
	tokEOF tokKind = iota
	tokWord
	tokString
	tokLParen
	tokRParen
	tokComma
	tokEq
	tokNe
)

type token struct {
	kind     tokKind
	text     string // the word, or the quoted string's content
	pos, end int    // byte offsets in the source
}

// describe names the token for an error message.
func (t token) describe(src string) string {
	switch t.kind {
	case tokEOF:
		return "end of input"
	case tokString:
		return src[t.pos:t.end]
	}
	return fmt.Sprintf("%q", src[t.pos:t.end])
}

func (t token) is(keyword string) bool {
	return t.kind == tokWord && strings.EqualFold(t.text, keyword)
}

type parser struct {
	src   string
	off   int   // byte offset of the next token
	tok   token // current token
	depth int
	// afterValue is set when tok directly follows a value, to suggest
	// quoting when a value seems to go on.
	afterValue bool
}

// unexpected returns the error for a token found where one of want was
// expected.
func (p *parser) unexpected(want string) error {
	msg := fmt.Sprintf("expected %s, found %s", want, p.tok.describe(p.src))
	if p.afterValue && (p.tok.kind == tokWord || p.tok.kind == tokString) {
		msg += " (quote a value that contains spaces)"
	}
	return p.errorf(p.tok.pos, "%s", msg)
}

func (p *parser) errorf(pos int, format string, args ...any) error {
	return errorAt(p.src, pos, format, args...)
}

func isWordRune(r rune) bool {
	if r < utf8.RuneSelf {
		return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || strings.ContainsRune("_-.@+/", r)
	}
	return unicode.IsLetter(r) || unicode.IsMark(r) || unicode.IsDigit(r)
}

// advance reads the next token into p.tok.
func (p *parser) advance() error {
	p.afterValue = false
	src := p.src
	for p.off < len(src) {
		r, size := utf8.DecodeRuneInString(src[p.off:])
		if !unicode.IsSpace(r) {
			break
		}
		p.off += size
	}
	start := p.off
	if start == len(src) {
		p.tok = token{kind: tokEOF, pos: start, end: start}
		return nil
	}
	r, size := utf8.DecodeRuneInString(src[start:])
	kind := tokEOF
	switch r {
	case '(':
		kind = tokLParen
	case ')':
		kind = tokRParen
	case ',':
		kind = tokComma
	case '=':
		kind = tokEq
	case '!':
		if !strings.HasPrefix(src[start+1:], "=") {
			return p.errorf(start, `unexpected "!" (did you mean "!="?)`)
		}
		kind, size = tokNe, 2
	case '"', '\'':
		return p.lexString(r)
	}
	if kind != tokEOF {
		p.off = start + size
		p.tok = token{kind: kind, pos: start, end: p.off}
		return nil
	}
	if !isWordRune(r) {
		return p.errorf(start, "unexpected character %q", string(r))
	}
	end := start
	for end < len(src) {
		r, size := utf8.DecodeRuneInString(src[end:])
		if !isWordRune(r) {
			break
		}
		end += size
	}
	p.off = end
	p.tok = token{kind: tokWord, text: src[start:end], pos: start, end: end}
	return nil
}

// lexString reads a string quoted by q, starting at p.off.
func (p *parser) lexString(q rune) error {
	start := p.off
	var b strings.Builder
	i := start + 1
	for i < len(p.src) {
		c := p.src[i]
		switch {
		case rune(c) == q:
			p.off = i + 1
			p.tok = token{kind: tokString, text: b.String(), pos: start, end: p.off}
			return nil
		case c == '\\' && i+1 < len(p.src):
			r, size := utf8.DecodeRuneInString(p.src[i+1:])
			switch r {
			case 'n':
				r = '\n'
			case 'r':
				r = '\r'
			case 't':
				r = '\t'
			}
			b.WriteRune(r)
			i += 1 + size
		default:
			b.WriteByte(c)
			i++
		}
	}
	return p.errorf(start, "unclosed quote (%c)", q)
}

// parseOr parses an or expression; after names what precedes it ("" at the
// start), for error messages, as in parseAnd and parseUnary.
func (p *parser) parseOr(after string) (*node, error) {
	left, err := p.parseAnd(after)
	if err != nil {
		return nil, err
	}
	operands := []*node{left}
	for p.tok.is("or") {
		if err := p.advance(); err != nil {
			return nil, err
		}
		right, err := p.parseAnd(`"or"`)
		if err != nil {
			return nil, err
		}
		operands = append(operands, right)
	}
	return join(nodeOr, operands...), nil
}

func (p *parser) parseAnd(after string) (*node, error) {
	left, err := p.parseUnary(after)
	if err != nil {
		return nil, err
	}
	operands := []*node{left}
	for p.tok.is("and") {
		if err := p.advance(); err != nil {
			return nil, err
		}
		right, err := p.parseUnary(`"and"`)
		if err != nil {
			return nil, err
		}
		operands = append(operands, right)
	}
	return join(nodeAnd, operands...), nil
}

// parseUnary parses a not, a parenthesised expression or a comparison.
func (p *parser) parseUnary(after string) (*node, error) {
	tok := p.tok
	if !tok.is("not") && tok.kind != tokLParen {
		return p.parseComparison(after)
	}
	if p.depth++; p.depth > maxDepth {
		return nil, p.errorf(tok.pos, "nested deeper than %d levels", maxDepth)
	}
	defer func() { p.depth-- }()
	if err := p.advance(); err != nil {
		return nil, err
	}
	if tok.kind == tokLParen {
		n, err := p.parseOr(`"("`)
		if err != nil {
			return nil, err
		}
		switch p.tok.kind {
		case tokRParen:
			return n, p.advance()
		case tokEOF:
			return nil, p.errorf(tok.pos, `unclosed "("`)
		}
		return nil, p.unexpected(`"and", "or" or ")"`)
	}
	kid, err := p.parseUnary(`"not"`)
	if err != nil {
		return nil, err
	}
	return &node{kind: nodeNot, kids: []*node{kid}}, nil
}

func (p *parser) parseComparison(after string) (*node, error) {
	tok := p.tok
	if tok.kind != tokWord || isReserved(tok.text) {
		if after == "" {
			return nil, p.errorf(tok.pos, "expected a field name, found %s", tok.describe(p.src))
		}
		return nil, p.errorf(tok.pos, "expected a field name after %s, found %s", after, tok.describe(p.src))
	}
	n := &node{kind: nodeCmp}
	name := strings.ToLower(tok.text)
	if attr, ok := strings.CutPrefix(name, "attr."); ok {
		if attr == "" || strings.Contains(attr, ".") {
			return nil, p.errorf(tok.pos, "%q is not an attribute: write attr.NAME, where NAME has no dots", tok.text)
		}
		n.field, n.attr = fieldAttr, attr
	} else if f, ok := lookupField(name); ok {
		n.field = f
	} else {
		msg := fmt.Sprintf("unknown field %q (fields: %s)", tok.text, fieldList)
		if s := suggest(name); s != "" {
			msg += fmt.Sprintf("; did you mean %q?", s)
		}
		return nil, p.errorf(tok.pos, "%s", msg)
	}
	fieldName := tok.text
	if err := p.advance(); err != nil {
		return nil, err
	}
	op := p.tok
	switch {
	case op.kind == tokEq || op.kind == tokNe:
		n.op = opEq
		if op.kind == tokNe {
			n.op = opNe
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
		v, err := p.value(n.field, op.describe(p.src))
		if err != nil {
			return nil, err
		}
		n.values = []string{v}
		return n, nil
	case op.is("in"):
		n.op = opIn
		if err := p.advance(); err != nil {
			return nil, err
		}
		if p.tok.kind != tokLParen {
			return nil, p.errorf(p.tok.pos, `expected "(" after "in", found %s`, p.tok.describe(p.src))
		}
		open := p.tok.pos
		if err := p.advance(); err != nil {
			return nil, err
		}
		after := `"("`
		for {
			v, err := p.value(n.field, after)
			if err != nil {
				return nil, err
			}
			n.values = append(n.values, v)
			switch p.tok.kind {
			case tokRParen:
				return n, p.advance()
			case tokComma:
				if err := p.advance(); err != nil {
					return nil, err
				}
				after = `","`
			case tokEOF:
				return nil, p.errorf(open, `unclosed "("`)
			default:
				return nil, p.unexpected(`"," or ")"`)
			}
		}
	}
	return nil, p.errorf(op.pos, `expected "=", "!=" or "in" after %q, found %s`, fieldName, op.describe(p.src))
}

// value reads a value for f, checks it and returns it in canonical case.
func (p *parser) value(f field, after string) (string, error) {
	tok := p.tok
	if tok.kind != tokString && (tok.kind != tokWord || isReserved(tok.text)) {
		if tok.kind == tokWord {
			return "", p.errorf(tok.pos, "expected a value after %s, found %s (quote it to use it as a value)", after, tok.describe(p.src))
		}
		return "", p.errorf(tok.pos, "expected a value after %s, found %s", after, tok.describe(p.src))
	}
	v := tok.text
	switch f {
	case fieldCountry:
		v = strings.ToUpper(v)
		if v != "" && !outreach.ValidCountry(v) {
			return "", p.errorf(tok.pos, "%q is not an ISO 3166-1 alpha-2 country code (e.g. MY, PH, CO)", tok.text)
		}
	case fieldStatus:
		v = strings.ToLower(v)
		if v != "" && !outreach.ValidStatus(v) {
			return "", p.errorf(tok.pos, "%q is not a status (active, unsubscribed, bounced, complained)", tok.text)
		}
	case fieldLanguage:
		v = outreach.CanonicalLanguage(v)
		if v != "" && !outreach.ValidLanguage(v) {
			return "", p.errorf(tok.pos, "%q is not a BCP 47 language tag (e.g. es, pt-BR)", tok.text)
		}
	case fieldKind, fieldDomain, fieldEmail:
		v = strings.ToLower(v)
	}
	err := p.advance()
	p.afterValue = true
	return v, err
}

// suggest returns the field name closest to name: within one edit of a
// short name, two of a longer one.
func suggest(name string) string {
	best, bestDist := "", 2
	if len(name) > 4 {
		bestDist = 3
	}
	for _, f := range strings.Split(fieldList, ", ") {
		if d := editDistance(name, f); d < bestDist {
			best, bestDist = f, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
