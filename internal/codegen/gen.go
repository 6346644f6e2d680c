package codegen

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// ErrUnsupported marks a schema keyword the generator cannot compile. The
// wrapping error names the schema's location in the spec.
var ErrUnsupported = errors.New("codegen: unsupported keyword")

// RuntimeImport is the import path of the runtime the generated code calls.
const RuntimeImport = "github.com/orderguard/orderguard/internal/validate"

// Generator compiles schemas into Go validator functions. One Generator
// produces one Go file; functions are shared between every root that
// reaches the same schema.
type Generator struct {
	doc      *openapi3.T
	names    map[*openapi3.Schema]string // schema -> function name
	used     map[string]bool             // function names taken
	queue    []pending
	funcs    bytes.Buffer
	roots    bytes.Buffer
	matchers bytes.Buffer   // enum matchers of object and array values
	regexps  []string       // patterns, index = variable suffix
	reIndex  map[string]int // pattern -> index
	err      error

	// Business rules (rules.go).
	rules        []ruleDecl
	ruleLoc      []string
	ruleIndex    map[string]int
	ruleMap      map[*openapi3.Schema][]compiledRule
	factBits     map[string]int
	rootFacts    map[string][]rootFact
	patterns     map[string]string
	patternDecls []string
	needBits     bool
	sums         map[string]int
}

type pending struct {
	s    *openapi3.Schema
	name string
	loc  string
}

// New returns a generator for doc.
func New(doc *openapi3.T) *Generator {
	return &Generator{
		doc:      doc,
		names:    map[*openapi3.Schema]string{},
		used:     map[string]bool{},
		reIndex:  map[string]int{},
		patterns: map[string]string{},
	}
}

// Func returns the name of the function validating one value against ref
// (loc is its location in the spec, used in errors), queueing its emission.
func (g *Generator) Func(ref *openapi3.SchemaRef, loc string) string {
	if ref == nil || ref.Value == nil {
		g.fail(fmt.Errorf("%s: unresolved schema reference", loc))
		return "validate.SkipValue"
	}
	s := ref.Value
	if n, ok := g.names[s]; ok {
		return n
	}
	base := loc
	if ref.Ref != "" {
		base = ref.Ref
		loc = ref.Ref
	}
	name := g.unique("v" + ident(base))
	g.names[s] = name
	g.queue = append(g.queue, pending{s: s, name: name, loc: loc})
	return name
}

func (g *Generator) unique(name string) string {
	n := name
	for i := 2; g.used[n]; i++ {
		n = name + strconv.Itoa(i)
	}
	g.used[n] = true
	return n
}

// ident turns a spec location into a Go identifier fragment.
func ident(loc string) string {
	loc = strings.TrimPrefix(loc, "#/components/schemas/")
	loc = strings.TrimPrefix(loc, "#/")
	var b strings.Builder
	up := true
	for _, r := range loc {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			if up && r >= 'a' && r <= 'z' {
				r -= 'a' - 'A'
			}
			b.WriteRune(r)
			up = false
		default:
			if b.Len() > 0 {
				up = true
			}
		}
	}
	if b.Len() == 0 {
		return "Root"
	}
	return b.String()
}

func (g *Generator) fail(err error) {
	if g.err == nil {
		g.err = err
	}
}

// drain emits every queued function.
func (g *Generator) drain() error {
	for len(g.queue) > 0 && g.err == nil {
		p := g.queue[0]
		g.queue = g.queue[1:]
		g.emit(p)
	}
	return g.err
}

func (g *Generator) printf(format string, args ...any) {
	fmt.Fprintf(&g.funcs, format, args...)
}

// check refuses keywords the generator does not compile: a silent skip would
// accept bodies the spec rejects.
func check(s *openapi3.Schema, loc string) error {
	bad := func(kw string) error { return fmt.Errorf("%s: %w %q", loc, ErrUnsupported, kw) }
	switch {
	case s.MultipleOf != nil:
		return bad("multipleOf")
	case s.UniqueItems:
		return bad("uniqueItems")
	case s.ReadOnly:
		return bad("readOnly")
	case s.WriteOnly:
		return bad("writeOnly")
	case s.Const != nil:
		return bad("const")
	case len(s.PrefixItems) > 0:
		return bad("prefixItems")
	case s.Contains != nil:
		return bad("contains")
	case len(s.PatternProperties) > 0:
		return bad("patternProperties")
	case len(s.DependentSchemas) > 0:
		return bad("dependentSchemas")
	case s.PropertyNames != nil:
		return bad("propertyNames")
	case s.If != nil || s.Then != nil || s.Else != nil:
		return bad("if/then/else")
	case len(s.DependentRequired) > 0:
		return bad("dependentRequired")
	case s.Always != nil:
		return bad("boolean schema")
	case s.ExclusiveMin.Value != nil || s.ExclusiveMax.Value != nil:
		return bad("numeric exclusiveMinimum/exclusiveMaximum (OpenAPI 3.1)")
	case s.ExclusiveMin.IsTrue() && s.Min == nil:
		return bad("exclusiveMinimum without minimum")
	case s.ExclusiveMax.IsTrue() && s.Max == nil:
		return bad("exclusiveMaximum without maximum")
	case s.UnevaluatedItems.Has != nil || s.UnevaluatedItems.Schema != nil:
		return bad("unevaluatedItems")
	case s.UnevaluatedProperties.Has != nil || s.UnevaluatedProperties.Schema != nil:
		return bad("unevaluatedProperties")
	}
	if s.Type != nil && len(*s.Type) > 1 {
		return bad("type list")
	}
	if s.Type != nil && len(*s.Type) == 1 {
		switch (*s.Type)[0] {
		case "object", "array", "string", "number", "integer", "boolean":
		default:
			return bad("type " + (*s.Type)[0])
		}
	}
	switch s.Format {
	case "", "email", "ipv4", "ipv6", "date", "date-time", "uri", "int32", "int64", "float", "double":
	default:
		return bad("format " + s.Format)
	}
	if s.Pattern != "" {
		if _, err := regexp.Compile(s.Pattern); err != nil {
			return fmt.Errorf("%s: pattern %q: %w", loc, s.Pattern, err)
		}
	}
	if s.Discriminator != nil && len(s.OneOf) == 0 && len(s.AnyOf) == 0 {
		return bad("discriminator without oneOf/anyOf")
	}
	for _, e := range s.Enum {
		switch e.(type) {
		case string, float64, bool, nil, int, int64, map[string]any, []any:
		default:
			return bad(fmt.Sprintf("enum value of type %T", e))
		}
	}
	for k := range s.Extensions {
		if strings.HasPrefix(k, "x-orderguard") && k != ruleExt && k != panExt {
			return bad(k)
		}
	}
	return nil
}

func typeOf(s *openapi3.Schema) string {
	if s.Type == nil || len(*s.Type) == 0 {
		return ""
	}
	return (*s.Type)[0]
}

// want names the validate.Want constant of each schema type.
var want = map[string]string{
	"object": "WantObject", "array": "WantArray", "string": "WantString", "number": "WantNumber",
	"integer": "WantInteger", "boolean": "WantBoolean",
}

func (g *Generator) emit(p pending) {
	s, loc := p.s, p.loc
	if err := check(s, loc); err != nil {
		g.fail(err)
		return
	}
	comp := len(s.AllOf) > 0 || len(s.AnyOf) > 0 || len(s.OneOf) > 0 || s.Not != nil
	if comp {
		g.emitComposite(p)
		return
	}
	g.printf("\n// %s validates %s.\nfunc %s(s *validate.Scanner) {\n", p.name, comment(loc), p.name)
	g.body(s, loc)
	g.printf("}\n")
}

// emitComposite validates the value against the schema's own keywords and
// then against each composition keyword, rewinding the scanner in between.
func (g *Generator) emitComposite(p pending) {
	s, loc := p.s, p.loc
	own := g.ownKeywords(s)
	var steps []string
	// A composite that allows null lets null through before any branch, as kin-openapi does.
	nullable := s.Nullable
	if hasOwnKeywords(own) {
		name := g.unique(p.name + "Own")
		g.printf("\n// %s validates the keywords of %s beside its composition.\nfunc %s(s *validate.Scanner) {\n", name, comment(loc), name)
		g.body(own, loc)
		g.printf("}\n")
		steps = append(steps, name)
	}
	var allOf []string
	for i, r := range s.AllOf {
		allOf = append(allOf, g.Func(r, fmt.Sprintf("%s/allOf/%d", loc, i)))
	}
	g.printf("\n// %s validates %s.\nfunc %s(s *validate.Scanner) {\n", p.name, comment(loc), p.name)
	g.printf("at := s.Pos()\n_ = at\n")
	if nullable {
		g.printf("if s.Peek() == validate.TypeNull {\ns.Null()\nreturn\n}\n")
	}
	all := append(slices.Clone(steps), allOf...)
	var groups []string
	if len(all) > 0 {
		groups = append(groups, fmt.Sprintf("s.AllOf([]func(*validate.Scanner){%s})", strings.Join(all, ", ")))
	}
	for _, kw := range []string{"oneOf", "anyOf"} {
		refs := s.OneOf
		if kw == "anyOf" {
			refs = s.AnyOf
		}
		if len(refs) == 0 {
			continue
		}
		var fs []string
		for i, r := range refs {
			fs = append(fs, g.Func(r, fmt.Sprintf("%s/%s/%d", loc, kw, i)))
		}
		list := fmt.Sprintf("[]func(*validate.Scanner){%s}", strings.Join(fs, ", "))
		if d := s.Discriminator; d != nil && len(d.Mapping) > 0 {
			// The discriminator picks the branch; its violations are the report.
			keys, picks, err := discriminatorPicks(d, refs, kw, loc)
			if err != nil {
				g.fail(err)
				return
			}
			var cases []string
			for _, k := range keys {
				cases = append(cases, fmt.Sprintf("case %s:\nreturn %d", strconv.Quote(k), picks[k]))
			}
			pick := g.unique(p.name + "Pick")
			groups = append(groups, fmt.Sprintf("s.Discriminated(%s, %s, %s, %s)", strconv.Quote(d.PropertyName), pick, list, strconv.Quote(kw)))
			defer g.printf("\n// %s maps a %s value to its branch.\nfunc %s(v []byte) int {\nswitch string(v) {\n%s\n}\nreturn -1\n}\n", pick, d.PropertyName, pick, strings.Join(cases, "\n"))
			continue
		}
		groups = append(groups, fmt.Sprintf("s.OneOf(%s, %v)", list, kw == "oneOf"))
	}
	if s.Not != nil {
		groups = append(groups, fmt.Sprintf("s.Not(%s)", g.Func(s.Not, loc+"/not")))
	}
	if len(groups) == 1 {
		g.printf("%s\n", groups[0])
	} else {
		// Each group validates the same value: rewind between them.
		g.printf("m := s.Save()\nend := m.Start()\n")
		for i, gr := range groups {
			if i > 0 {
				g.printf("s.Rewind(m, true)\n")
			}
			g.printf("%s\nif s.Failed() {\nreturn\n}\nend = max(end, s.Offset())\n", gr)
		}
		g.printf("s.Seek(end)\n")
	}
	g.printf("}\n")
}

// ownKeywords is s without its composition keywords: what a composite
// validates beside its branches. Its business rules stay with it (they are
// found by schema, and the copy is another schema).
func (g *Generator) ownKeywords(s *openapi3.Schema) *openapi3.Schema {
	own := *s
	own.AllOf, own.AnyOf, own.OneOf, own.Not, own.Discriminator = nil, nil, nil, nil, nil
	if r, ok := g.ruleMap[s]; ok {
		g.ruleMap[&own] = r
	}
	return &own
}

// call validates one value against ref. A plain string, number or boolean
// (no other keyword) is checked inline when the value is of that type; the
// function, which reports the type error, runs otherwise.
func (g *Generator) call(ref *openapi3.SchemaRef, loc string) string {
	fn := g.Func(ref, loc)
	s := ref.Value
	if s == nil {
		return fn + "(s)"
	}
	switch inlineType(s) {
	case "string":
		return "if s.AtString() {\ns.SkipString()\n} else {\n" + fn + "(s)\n}"
	case "number":
		return "if s.AtNumber() {\ns.Number()\n} else {\n" + fn + "(s)\n}"
	case "boolean":
		return "if s.AtBool() {\ns.Bool()\n} else {\n" + fn + "(s)\n}"
	}
	return fn + "(s)"
}

// inlineType is the type of a plain string, number or boolean schema (no
// other keyword), whose values are checked inline when of that type; ""
// when the schema's function must run.
func inlineType(s *openapi3.Schema) string {
	plain := *s
	plain.Type, plain.Description, plain.Title, plain.Example, plain.Default, plain.Deprecated = nil, "", "", nil, nil, false
	plain.Format = ""
	if !plain.IsEmpty() || len(s.Extensions) > 0 {
		return ""
	}
	switch t := typeOf(s); t {
	case "string":
		if s.Format == "" {
			return t
		}
	case "number":
		if s.Format == "" || s.Format == "float" || s.Format == "double" {
			return t
		}
	case "boolean":
		return t
	}
	return ""
}

// discriminatorPicks maps each discriminator value to the index of its
// branch among refs (the oneOf or anyOf list kw); keys are sorted.
func discriminatorPicks(d *openapi3.Discriminator, refs openapi3.SchemaRefs, kw, loc string) ([]string, map[string]int, error) {
	keys := make([]string, 0, len(d.Mapping))
	for k := range d.Mapping {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	picks := map[string]int{}
	for _, k := range keys {
		target := d.Mapping[k].Ref
		if !strings.Contains(target, "/") {
			target = "#/components/schemas/" + target
		}
		idx := -1
		for i, r := range refs {
			if r.Ref == target {
				idx = i
			}
		}
		if idx < 0 {
			return nil, nil, fmt.Errorf("%s/discriminator: mapping %q names %s, which is not one of the %s schemas", loc, k, target, kw)
		}
		picks[k] = idx
	}
	return keys, picks, nil
}

func hasOwnKeywords(s *openapi3.Schema) bool {
	return s.Type != nil || s.Format != "" || len(s.Enum) > 0 || s.Min != nil || s.Max != nil ||
		s.MinLength > 0 || s.MaxLength != nil || s.Pattern != "" || s.MinItems > 0 || s.MaxItems != nil ||
		s.Items != nil || len(s.Required) > 0 || len(s.Properties) > 0 || s.MinProps > 0 || s.MaxProps != nil ||
		s.AdditionalProperties.Has != nil || s.AdditionalProperties.Schema != nil || s.Extensions[ruleExt] != nil ||
		s.Extensions[panExt] != nil
}

// body emits the statements validating one value against s's own keywords.
func (g *Generator) body(s *openapi3.Schema, loc string) {
	t := typeOf(s)
	g.printf("at := s.Pos()\n_ = at\n")
	if eqs := g.structuredEnum(s); len(eqs) > 0 {
		// Objects and arrays in enum: compare the value with each, rewinding,
		// before validating it.
		g.printf("enumOK := false\nif t := s.Peek(); t == validate.TypeObject || t == validate.TypeArray {\nm := s.Save()\nfor _, eq := range []func(*validate.Scanner) bool{%s} {\nok := eq(s)\nif s.Failed() {\nreturn\n}\ns.Rewind(m, false)\nif ok {\nenumOK = true\nbreak\n}\n}\n}\n", strings.Join(eqs, ", "))
	}
	g.printf("switch s.PeekHere() {\n")
	if s.Nullable {
		g.printf("case validate.TypeNull:\ns.Null()\n")
	} else {
		g.printf("case validate.TypeNull:\ns.NotNullable(at)\n")
	}
	types := []string{"object", "array", "string", "number", "boolean"}
	for _, tt := range types {
		allowed := t == "" || t == tt || (tt == "number" && t == "integer")
		if !allowed {
			continue
		}
		switch tt {
		case "object":
			g.printf("case validate.TypeObject:\n")
			g.object(s, loc)
		case "array":
			g.printf("case validate.TypeArray:\n")
			g.array(s, loc)
		case "string":
			g.printf("case validate.TypeString:\n")
			g.str(s, loc)
		case "number":
			g.printf("case validate.TypeNumber:\n")
			g.number(s, loc, t == "integer")
		case "boolean":
			g.printf("case validate.TypeBool:\n")
			g.boolean(s)
		}
	}
	if t != "" {
		g.printf("case validate.TypeInvalid:\ns.Skip()\n")
		g.printf("default:\ns.WrongType(at, validate.%s)\n", want[t])
	} else {
		g.printf("default:\ns.Skip()\n")
	}
	g.printf("}\n")
}

// enumCheck emits the enum test for a value of JSON type jt held in variable v.
func (g *Generator) enumCheck(s *openapi3.Schema, jt string) {
	e := g.enumPlan(s, jt)
	if e == nil {
		return
	}
	fail := fmt.Sprintf("s.Schema(at, \"enum\", %s)\n", strconv.Quote(e.msg))
	if e.never {
		g.printf("%s", fail)
		return
	}
	var cs []string
	switch jt {
	case "string":
		for _, str := range e.strs {
			cs = append(cs, strconv.Quote(str))
		}
		g.printf("switch string(v) {\ncase %s:\ndefault:\n%s}\n", strings.Join(cs, ", "), fail)
		return
	case "number":
		for _, lit := range e.numLits {
			cs = append(cs, "f == "+lit)
		}
	case "boolean":
		for _, b := range e.bools {
			cs = append(cs, "b == "+strconv.FormatBool(b))
		}
	default: // object, array: equal to one of the structured values
		g.printf("if !enumOK {\n%s}\n", fail)
		return
	}
	g.printf("if !(%s) {\n%s}\n", strings.Join(cs, " || "), fail)
}

func (g *Generator) structuredEnumValues(s *openapi3.Schema) []any {
	var out []any
	for _, e := range s.Enum {
		switch e.(type) {
		case map[string]any, []any:
			out = append(out, e)
		}
	}
	return out
}

// structuredEnum emits one matcher per object or array value of s's enum.
func (g *Generator) structuredEnum(s *openapi3.Schema) []string {
	var names []string
	for _, e := range g.structuredEnumValues(s) {
		names = append(names, g.matcher(e))
	}
	return names
}

// matcher emits a function reporting whether the next value equals v (as
// kin-openapi compares: numbers by value, members in any order). It may stop
// early; the caller rewinds.
func (g *Generator) matcher(v any) string {
	name := g.unique("enumEq")
	var b strings.Builder
	fmt.Fprintf(&b, "\nfunc %s(s *validate.Scanner) bool {\n", name)
	switch x := v.(type) {
	case nil:
		b.WriteString("return s.Peek() == validate.TypeNull && s.Null()\n")
	case bool:
		fmt.Fprintf(&b, "if s.Peek() != validate.TypeBool {\nreturn false\n}\nb, ok := s.Bool()\nreturn ok && b == %v\n", x)
	case string:
		fmt.Fprintf(&b, "if s.Peek() != validate.TypeString {\nreturn false\n}\nv, ok := s.String()\nreturn ok && string(v) == %s\n", strconv.Quote(x))
	case float64, int, int64:
		fmt.Fprintf(&b, "if s.Peek() != validate.TypeNumber {\nreturn false\n}\nraw, ok := s.Number()\nreturn ok && validate.Float(raw) == %s\n", floatLit(toFloat(x)))
	case []any:
		b.WriteString("if s.Peek() != validate.TypeArray || !s.EnterArray() {\nreturn false\n}\ni := 0\nfor s.NextElem() {\nswitch i {\n")
		for i, e := range x {
			fmt.Fprintf(&b, "case %d:\nif !%s(s) {\nreturn false\n}\n", i, g.matcher(e))
		}
		fmt.Fprintf(&b, "default:\nreturn false\n}\ni++\n}\nreturn !s.Failed() && i == %d\n", len(x))
	case map[string]any:
		keys := sortedKeys(x)
		if len(keys) > 64 {
			g.fail(fmt.Errorf("enum object value with more than 64 members"))
		}
		b.WriteString("if s.Peek() != validate.TypeObject || !s.EnterObject() {\nreturn false\n}\nvar seen uint64\nfor s.NextMember() {\nswitch string(s.Key()) {\n")
		for i, k := range keys {
			fmt.Fprintf(&b, "case %s:\nif seen&(1<<%d) != 0 || !%s(s) {\nreturn false\n}\nseen |= 1 << %d\n", strconv.Quote(k), i, g.matcher(x[k]), i)
		}
		fmt.Fprintf(&b, "default:\nreturn false\n}\n}\nreturn !s.Failed() && seen == %#x\n", uint64(1)<<len(keys)-1)
	default:
		g.fail(fmt.Errorf("enum value of type %T", v))
	}
	b.WriteString("}\n")
	g.matchers.WriteString(b.String())
	return name
}

func toFloat(v any) float64 {
	switch n := v.(type) {
	case float64:
		return n
	case int:
		return float64(n)
	case int64:
		return float64(n)
	}
	return 0
}

func enumList(vals []any) string {
	var parts []string
	for _, v := range vals {
		switch x := v.(type) {
		case string:
			parts = append(parts, x)
		case nil:
			parts = append(parts, "null")
		default:
			parts = append(parts, fmt.Sprint(x))
		}
	}
	return strings.Join(parts, ", ")
}

func floatLit(f float64) string {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return "0"
	}
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if !strings.ContainsAny(s, ".e") {
		s += ".0"
	}
	return s
}

func (g *Generator) object(s *openapi3.Schema, loc string) {
	p := g.objectPlan(s, loc)
	names, bit, rules := p.names, p.bit, p.rules
	// Every named member has a bit: a set bit seen again is a duplicate name,
	// and the required ones must be set after the loop.
	words := (len(names) + 63) / 64
	counting := p.counting()
	rules.begin(g)
	g.printf("if !s.EnterObject() {\nbreak\n}\n")
	if words > 0 {
		g.printf("var seen [%d]uint64\n", words)
	}
	if counting {
		g.printf("n := 0\n")
	}
	addl := "s.Skip()"
	if p.closed {
		addl = "s.NotAllowed()\ns.Skip()"
	} else if p.addl != nil {
		addl = g.Func(p.addl, loc+"/additionalProperties") + "(s)"
	}
	g.printf("for s.NextMember() {\n")
	if counting {
		g.printf("n++\n")
	}
	if len(names) > 0 {
		g.printf("switch string(s.Key()) {\n")
		for _, name := range names {
			b := bit[name]
			g.printf("case %s:\nif seen[%d]&(1<<%d) != 0 {\ns.Duplicate()\n}\nseen[%d] |= 1 << %d\n", strconv.Quote(name), b/64, b%64, b/64, b%64)
			pre, post := rules.member(name)
			g.printf("%s", pre)
			if ps, ok := s.Properties[name]; ok {
				g.printf("%s\n", g.call(ps, loc+"/properties/"+escapeToken(name)))
			} else {
				g.printf("%s\n", addl)
			}
			g.printf("%s", post)
		}
		g.printf("default:\ns.Unknown()\n%s\n}\n", addl)
	} else {
		g.printf("s.Unknown()\n%s\n", addl)
	}
	g.printf("}\nif s.Failed() {\nbreak\n}\n")
	for _, r := range p.required {
		b := bit[r]
		g.printf("if seen[%d]&(1<<%d) == 0 {\ns.Missing(at, %s)\n}\n", b/64, b%64, strconv.Quote(r))
	}
	g.limit("n < %d", p.minProps)
	g.limit("n > %d", p.maxProps)
	rules.end(g)
	g.enumCheck(s, "object")
}

// comment makes a spec location safe to print in a Go comment.
func comment(loc string) string {
	q := strconv.Quote(loc)
	return q[1 : len(q)-1]
}

// escapeToken escapes a JSON pointer token (RFC 6901).
func escapeToken(s string) string {
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(s)
}

func (g *Generator) array(s *openapi3.Schema, loc string) {
	p := arrayPlanOf(s)
	g.printf("if !s.EnterArray() {\nbreak\n}\n")
	if p.counting() {
		g.printf("n := 0\n")
	}
	g.printf("for s.NextElem() {\n")
	if p.counting() {
		g.printf("n++\n")
	}
	if s.Items != nil {
		g.printf("%s\n", g.call(s.Items, loc+"/items"))
	} else {
		g.printf("s.Skip()\n")
	}
	g.printf("}\nif s.Failed() {\nbreak\n}\n")
	g.limit("n < %d", p.minItems)
	g.limit("n > %d", p.maxItems)
	g.enumCheck(s, "array")
}

// limit prints the test of one size bound; cond has the bound's %d.
func (g *Generator) limit(cond string, l limit) {
	if l.on() {
		g.printf("if "+cond+" {\ns.Schema(at, %q, %s)\n}\n", l.n, l.keyword, strconv.Quote(l.msg))
	}
}

func (g *Generator) str(s *openapi3.Schema, loc string) {
	p := g.stringPlan(s)
	if p.fullCard {
		g.printf("s.AllowCardNumber()\n")
	}
	if !p.needValue {
		g.printf("s.String()\n")
		return
	}
	g.printf("v, ok := s.String()\nif !ok {\nbreak\n}\n_ = v\n")
	if p.minLength.on() || p.maxLength.on() {
		g.printf("ln := validate.RuneCount(v)\n")
	}
	g.limit("ln < %d", p.minLength)
	g.limit("ln > %d", p.maxLength)
	if p.pattern != "" {
		i, ok := g.reIndex[p.pattern]
		if !ok {
			i = len(g.regexps)
			g.regexps = append(g.regexps, p.pattern)
			g.reIndex[p.pattern] = i
		}
		g.printf("if !re%d.Match(v) {\ns.Schema(at, \"pattern\", %s)\n}\n", i, strconv.Quote(p.patternMsg))
	}
	if p.format != "" {
		g.printf("if !validate.%s(v) {\ns.Schema(at, \"format\", %s)\n}\n", p.format, strconv.Quote(p.formatMsg))
	}
	g.enumCheck(s, "string")
}

var formatFuncs = map[string]string{
	"email": "IsEmail", "ipv4": "IsIPv4", "ipv6": "IsIPv6", "date": "IsDate", "date-time": "IsDateTime", "uri": "IsURI",
}

var formatMsgs = map[string]string{
	"email":     "must be an e-mail address: a dot-atom or quoted local part, @, a domain (format email)",
	"ipv4":      "must be an IPv4 address in dotted-quad form (format ipv4)",
	"ipv6":      "must be an IPv6 address without a zone (format ipv6)",
	"date":      "must be an RFC 3339 date such as 2024-01-31, a day its month has (format date)",
	"date-time": "must be an RFC 3339 date-time such as 2024-01-31T13:45:00Z (format date-time)",
	"uri":       "must be an absolute URI (format uri)",
}

func (g *Generator) number(s *openapi3.Schema, loc string, integer bool) {
	p := numberPlanOf(s, integer)
	if !p.needValue {
		g.printf("s.Number()\n")
		return
	}
	g.printf("raw, ok := s.Number()\nif !ok {\nbreak\n}\nf := validate.Float(raw)\n_ = f\n")
	if p.integer {
		g.printf("if !validate.IsInteger(f) {\ns.Schema(at, \"type\", \"expected an integer\")\n}")
		if p.intFormat != "" {
			g.printf(" else if f < %s || f > %s {\ns.Schema(at, \"format\", %s)\n}", p.loLit, p.hiLit, strconv.Quote(p.formatMsg))
		}
		g.printf("\n")
	}
	for _, b := range []struct {
		bound
		op, exOp string
	}{{p.min, "<", "<="}, {p.max, ">", ">="}} {
		if !b.on {
			continue
		}
		op := b.op
		if b.exclusive {
			op = b.exOp
		}
		g.printf("if f %s %s {\ns.Schema(at, %q, %s)\n}\n", op, b.lit, b.keyword, strconv.Quote(b.msg))
	}
	g.enumCheck(s, "number")
}

func (g *Generator) boolean(s *openapi3.Schema) {
	if len(s.Enum) == 0 {
		g.printf("s.Bool()\n")
		return
	}
	g.printf("b, ok := s.Bool()\nif !ok {\nbreak\n}\n_ = b\n")
	g.enumCheck(s, "boolean")
}
