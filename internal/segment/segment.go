// Package segment implements the filter language that picks the contacts a
// wave goes to:
//
//	country in (MY, PH) and kind = partner and not tag = board
//	language = es or region = OAS
//	attr.sector = housing
//
// Grammar (keywords and field names are case-insensitive; not binds tighter
// than and, and tighter than or):
//
//	filter     = [ or ]
//	or         = and { "or" and }
//	and        = unary { "and" unary }
//	unary      = "not" unary | "(" or ")" | comparison
//	comparison = field "=" value | field "!=" value | field "in" "(" value { "," value } ")"
//	field      = "email" | "domain" | "name" | "organization" | "organisation" | "kind"
//	           | "country" | "region" | "language" | "timezone" | "tag" | "status"
//	           | "attr." NAME
//	value      = bare word | '"' chars '"' | "'" chars "'"
//
// A bare word is letters, digits, _ - . @ + / and non-ASCII letters, marks
// and digits; and, or and not must be quoted to be used as values. In a
// quoted string a backslash takes the next character literally, except \n,
// \r and \t.
//
// Semantics: every comparison is case-insensitive. tag = x and region = x
// hold when the contact has that tag or region, != when it has not. domain
// is the domain of the address. language follows RFC 4647 basic filtering:
// language = es matches es and es-MX, language = es-MX matches es-MX only.
// attr.NAME compares the value of attribute NAME (names are case-insensitive;
// a missing attribute equals ""). field in (a, b) holds when field = a or
// field = b. An empty expression matches every contact.
package segment

import (
	"slices"
	"strings"

	"github.com/outreach-coalition/outreach/internal/outreach"
)

// Filter is a parsed filter expression. A nil *Filter, like the empty
// expression, matches every contact. A Filter is immutable and safe for
// concurrent use.
type Filter struct {
	root *node // nil matches all
}

type nodeKind uint8

const (
	nodeCmp nodeKind = iota
	nodeNot
	nodeAnd
	nodeOr
)

type cmpOp uint8

const (
	opEq cmpOp = iota
	opNe
	opIn
)

type field uint8

const (
	fieldEmail field = iota
	fieldDomain
	fieldName
	fieldOrganization
	fieldKind
	fieldCountry
	fieldRegion
	fieldLanguage
	fieldTimeZone
	fieldTag
	fieldStatus
	fieldAttr
)

// fieldList is the list of fields shown in the unknown-field error.
const fieldList = "email, domain, name, organization, kind, country, region, language, timezone, tag, status, attr.NAME"

func (f field) String() string {
	switch f {
	case fieldEmail:
		return "email"
	case fieldDomain:
		return "domain"
	case fieldName:
		return "name"
	case fieldOrganization:
		return "organization"
	case fieldKind:
		return "kind"
	case fieldCountry:
		return "country"
	case fieldRegion:
		return "region"
	case fieldLanguage:
		return "language"
	case fieldTimeZone:
		return "timezone"
	case fieldTag:
		return "tag"
	case fieldStatus:
		return "status"
	}
	return "attr"
}

// lookupField returns the field a lower-cased name denotes.
func lookupField(name string) (field, bool) {
	switch name {
	case "email":
		return fieldEmail, true
	case "domain":
		return fieldDomain, true
	case "name":
		return fieldName, true
	case "organization", "organisation":
		return fieldOrganization, true
	case "kind":
		return fieldKind, true
	case "country":
		return fieldCountry, true
	case "region":
		return fieldRegion, true
	case "language":
		return fieldLanguage, true
	case "timezone":
		return fieldTimeZone, true
	case "tag":
		return fieldTag, true
	case "status":
		return fieldStatus, true
	}
	return 0, false
}

// node is one element of the syntax tree. And and or nodes are n-ary and
// never have a child of their own kind.
type node struct {
	kind   nodeKind
	field  field
	attr   string // attribute name (lower-case) when field is fieldAttr
	op     cmpOp
	values []string // one for = and !=, one or more for in
	kids   []*node  // operands of not (one), and, or
}

// And returns a filter matching the contacts that match both a and b.
// Either may be nil, meaning match all. Neither is modified.
func And(a, b *Filter) *Filter {
	switch {
	case a == nil || a.root == nil:
		if b == nil {
			return &Filter{}
		}
		return b
	case b == nil || b.root == nil:
		return a
	}
	return &Filter{root: join(nodeAnd, a.root, b.root)}
}

// join returns the kind node (and, or) of operands, flattening operands of
// the same kind; a single operand is returned as it is.
func join(kind nodeKind, operands ...*node) *node {
	if len(operands) == 1 {
		return operands[0]
	}
	n := &node{kind: kind}
	for _, k := range operands {
		if k.kind == kind {
			n.kids = append(n.kids, k.kids...)
		} else {
			n.kids = append(n.kids, k)
		}
	}
	return n
}

// Countries returns the country codes, sorted, of which a matching contact
// must have one, when the filter implies such a set: `country in (MY, PH)
// and kind = partner` gives [MY PH]. ok is false when a contact of any
// country (or of none) could match. An empty set with ok true means that no
// contact can match.
func (f *Filter) Countries() (codes []string, ok bool) {
	if f == nil || f.root == nil {
		return nil, false
	}
	return f.root.countries(false)
}

// countries computes Countries for n, or for not n when neg is set.
func (n *node) countries(neg bool) ([]string, bool) {
	switch n.kind {
	case nodeCmp:
		if n.field != fieldCountry || (n.op == opNe) != neg || slices.Contains(n.values, "") {
			return nil, false
		}
		codes := slices.Clone(n.values)
		slices.Sort(codes)
		return slices.Compact(codes), true
	case nodeNot:
		return n.kids[0].countries(!neg)
	}
	if (n.kind == nodeAnd) != neg {
		// Every operand must hold: intersect the sets the operands imply.
		var set []string
		found := false
		for _, k := range n.kids {
			codes, ok := k.countries(neg)
			if !ok {
				continue
			}
			if !found {
				set, found = codes, true
				continue
			}
			set = slices.DeleteFunc(set, func(c string) bool { return !slices.Contains(codes, c) })
		}
		return set, found
	}
	// Some operand holds: every operand must imply a set; unite them.
	var set []string
	for _, k := range n.kids {
		codes, ok := k.countries(neg)
		if !ok {
			return nil, false
		}
		set = append(set, codes...)
	}
	slices.Sort(set)
	return slices.Compact(set), true
}

// String returns the filter in canonical form: lower-case keywords and
// field names, single spaces, no redundant parentheses, values quoted only
// where needed. Parse accepts it back as an equivalent filter.
func (f *Filter) String() string {
	if f == nil || f.root == nil {
		return ""
	}
	var b strings.Builder
	f.root.write(&b)
	return b.String()
}

func (n *node) write(b *strings.Builder) {
	switch n.kind {
	case nodeCmp:
		b.WriteString(n.field.String())
		if n.field == fieldAttr {
			b.WriteByte('.')
			b.WriteString(n.attr)
		}
		switch n.op {
		case opEq:
			b.WriteString(" = ")
			writeValue(b, n.values[0])
		case opNe:
			b.WriteString(" != ")
			writeValue(b, n.values[0])
		case opIn:
			b.WriteString(" in (")
			for i, v := range n.values {
				if i > 0 {
					b.WriteString(", ")
				}
				writeValue(b, v)
			}
			b.WriteByte(')')
		}
	case nodeNot:
		b.WriteString("not ")
		n.kids[0].writeOperand(b, nodeNot)
	case nodeAnd, nodeOr:
		sep := " and "
		if n.kind == nodeOr {
			sep = " or "
		}
		for i, k := range n.kids {
			if i > 0 {
				b.WriteString(sep)
			}
			k.writeOperand(b, n.kind)
		}
	}
}

// writeOperand writes n as an operand of parent, in parentheses where n
// binds more loosely than parent.
func (n *node) writeOperand(b *strings.Builder, parent nodeKind) {
	paren := n.kind == nodeOr && parent != nodeOr || n.kind == nodeAnd && parent == nodeNot
	if paren {
		b.WriteByte('(')
	}
	n.write(b)
	if paren {
		b.WriteByte(')')
	}
}

// writeValue writes v bare where it lexes back as the same bare value,
// quoted otherwise.
func writeValue(b *strings.Builder, v string) {
	if isBareValue(v) {
		b.WriteString(v)
		return
	}
	b.WriteByte('"')
	for _, r := range v {
		switch r {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
}

func isBareValue(v string) bool {
	if v == "" || isReserved(v) {
		return false
	}
	for _, r := range v {
		if !isWordRune(r) {
			return false
		}
	}
	return true
}

// isReserved reports whether a bare word is a keyword that cannot be a bare
// value. "in" can: it is India's country code.
func isReserved(w string) bool {
	return strings.EqualFold(w, "and") || strings.EqualFold(w, "or") || strings.EqualFold(w, "not")
}

// Match reports whether c matches the filter. It does not allocate.
func (f *Filter) Match(c *outreach.Contact) bool {
	if f == nil || f.root == nil {
		return true
	}
	return f.root.match(c)
}

func (n *node) match(c *outreach.Contact) bool {
	switch n.kind {
	case nodeCmp:
		for _, v := range n.values {
			if n.holds(c, v) {
				return n.op != opNe
			}
		}
		return n.op == opNe
	case nodeNot:
		return !n.kids[0].match(c)
	case nodeAnd:
		for _, k := range n.kids {
			if !k.match(c) {
				return false
			}
		}
		return true
	case nodeOr:
		for _, k := range n.kids {
			if k.match(c) {
				return true
			}
		}
	}
	return false
}

// holds reports whether c's field equals v, or has v for tag and region.
func (n *node) holds(c *outreach.Contact, v string) bool {
	switch n.field {
	case fieldEmail:
		return strings.EqualFold(c.Email, v)
	case fieldDomain:
		return strings.EqualFold(domain(c.Email), v)
	case fieldName:
		return strings.EqualFold(c.Name, v)
	case fieldOrganization:
		return strings.EqualFold(c.Organization, v)
	case fieldKind:
		return strings.EqualFold(c.Kind, v)
	case fieldCountry:
		return strings.EqualFold(c.Country, v)
	case fieldRegion:
		return c.InRegion(v)
	case fieldLanguage:
		return languageMatch(c.Language, v)
	case fieldTimeZone:
		return strings.EqualFold(c.TimeZone, v)
	case fieldTag:
		return c.HasTag(v)
	case fieldStatus:
		return strings.EqualFold(c.Status, v)
	case fieldAttr:
		return strings.EqualFold(attribute(c.Attrs, n.attr), v)
	}
	return false
}

// domain returns the part of addr after its last @, or "".
func domain(addr string) string {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return ""
	}
	return addr[at+1:]
}

// languageMatch implements RFC 4647 section 3.3.1 basic filtering: the range
// matches a tag equal to it or starting with it followed by "-". The empty
// range matches only the empty tag.
func languageMatch(tag, rng string) bool {
	if len(tag) < len(rng) || !strings.EqualFold(tag[:len(rng)], rng) {
		return false
	}
	return len(tag) == len(rng) || rng != "" && (tag[len(rng)] == '-' || tag[len(rng)] == '_')
}

// attribute returns the value of attribute name (lower-case), looked up
// exactly and then ignoring case; among keys equal but for case the least
// wins, so the result does not depend on map order.
func attribute(attrs map[string]string, name string) string {
	if v, ok := attrs[name]; ok {
		return v
	}
	var key, val string
	found := false
	for k, v := range attrs {
		if strings.EqualFold(k, name) && (!found || k < key) {
			key, val, found = k, v, true
		}
	}
	return val
}
