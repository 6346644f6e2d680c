package codegen

import (
	"fmt"
	"regexp"
	"slices"
	"sort"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/orderguard/orderguard/internal/validate"
)

// The compiler: the same validators as GenerateOperations renders as Go,
// built in-process as closures over internal/validate's scanner, for a spec
// given at run time. It shares with the renderer everything that decides
// what a schema means: the refusal of unsupported keywords (check), the
// operations and their body schemas (operationBodies), the business rules
// and their analysis (collectRules, objectRules, messageOf), the patterns
// (compileDFA, parsePattern) and every message text. Each function below
// mirrors the renderer's function of the same name (emit, body, object,
// array, str, number, ...) statement by statement; the agreement tests of
// internal/compiled hold the two to identical reports.

// Compiled is a spec compiled in-process.
type Compiled struct {
	Operations []validate.Operation // sorted by ID, as gen.Operations
	Rules      []validate.RuleInfo  // sorted by ID, as gen.Rules
}

// compiler builds closures; g holds the shared analysis.
type compiler struct {
	g     *Generator
	nodes map[*openapi3.Schema]*node
	queue []cpending
}

// node is one schema's validator. Calls go through the node so that a
// recursive schema can refer to itself before its closure exists.
type node struct{ fn func(*validate.Scanner) }

type cpending struct {
	s   *openapi3.Schema
	n   *node
	loc string
}

// maxMemberBits bounds the member names one object schema may name: the
// seen-member bit set lives on the stack of each object's validation.
const maxMemberBits = 8 * 64

// maxSpans bounds the member values the rules of one object look at.
const maxSpans = 32

// CompileOperations compiles every operation's request, 2xx and 4xx body
// schemas of doc (as GenerateOperations does). A keyword the renderer
// refuses is refused here with the same error.
func CompileOperations(doc *openapi3.T) (*Compiled, error) {
	c := &compiler{g: New(doc), nodes: map[*openapi3.Schema]*node{}}
	c.g.collectRules()
	if c.g.err != nil {
		return nil, c.g.err
	}
	ops, err := operationBodies(doc)
	if err != nil {
		return nil, err
	}
	out := &Compiled{}
	for _, op := range ops {
		o := validate.Operation{ID: op.ID, Method: op.Method, Path: op.Path, Name: op.Name, Fallback: op.Fallback,
			Request: validate.AnyJSON, Response: validate.AnyJSON, Error: validate.AnyJSON}
		for _, slot := range []struct {
			f    *validate.Func
			body *opBody
		}{{&o.Request, op.Request}, {&o.Response, op.Response}, {&o.Error, op.Error}} {
			if slot.body != nil {
				*slot.f = rootFunc(c.fn(slot.body.Ref, slot.body.Loc))
			}
		}
		out.Operations = append(out.Operations, o)
	}
	if err := c.drain(); err != nil {
		return nil, err
	}
	sort.SliceStable(out.Operations, func(i, j int) bool { return out.Operations[i].ID < out.Operations[j].ID })
	for _, r := range c.g.rules {
		out.Rules = append(out.Rules, validate.RuleInfo{ID: r.ID, Severity: severity(r.Severity), Description: r.Description, Source: r.Source, Reason: r.Reason})
	}
	return out, nil
}

// CompileSchemas compiles the named component schemas (the suite's tests).
func CompileSchemas(doc *openapi3.T, names []string) (map[string]validate.Func, error) {
	c := &compiler{g: New(doc), nodes: map[*openapi3.Schema]*node{}}
	c.g.collectRules()
	out := map[string]validate.Func{}
	for _, n := range names {
		ref := doc.Components.Schemas[n]
		if ref == nil {
			return nil, fmt.Errorf("schema %q: not in components", n)
		}
		out[n] = rootFunc(c.fn(&openapi3.SchemaRef{Ref: "#/components/schemas/" + n, Value: ref.Value}, "#/components/schemas/"+n))
	}
	if err := c.drain(); err != nil {
		return nil, err
	}
	return out, nil
}

func rootFunc(n *node) validate.Func {
	return func(body []byte, r *validate.Report) {
		s := r.Begin(body)
		n.fn(s)
		s.End()
	}
}

func severity(s string) validate.Severity {
	if s == "Warning" {
		return validate.SeverityWarning
	}
	return validate.SeverityError
}

func (c *compiler) fail(err error) { c.g.fail(err) }

// fn is Generator.Func: the node validating one value against ref.
func (c *compiler) fn(ref *openapi3.SchemaRef, loc string) *node {
	if ref == nil || ref.Value == nil {
		c.fail(fmt.Errorf("%s: unresolved schema reference", loc))
		return &node{fn: validate.SkipValue}
	}
	s := ref.Value
	if n, ok := c.nodes[s]; ok {
		return n
	}
	if ref.Ref != "" {
		loc = ref.Ref
	}
	n := &node{}
	c.nodes[s] = n
	c.queue = append(c.queue, cpending{s: s, n: n, loc: loc})
	return n
}

func (c *compiler) drain() error {
	for len(c.queue) > 0 && c.g.err == nil {
		p := c.queue[0]
		c.queue = c.queue[1:]
		c.emit(p)
	}
	return c.g.err
}

func (c *compiler) emit(p cpending) {
	if err := check(p.s, p.loc); err != nil {
		c.fail(err)
		return
	}
	if len(p.s.AllOf) > 0 || len(p.s.AnyOf) > 0 || len(p.s.OneOf) > 0 || p.s.Not != nil {
		p.n.fn = c.composite(p.s, p.loc)
		return
	}
	p.n.fn = c.body(p.s, p.loc)
}

// composite is emitComposite.
func (c *compiler) composite(s *openapi3.Schema, loc string) func(*validate.Scanner) {
	own := c.g.ownKeywords(s)
	var all []*node
	if hasOwnKeywords(own) {
		all = append(all, &node{fn: c.body(own, loc)})
	}
	for i, r := range s.AllOf {
		all = append(all, c.fn(r, fmt.Sprintf("%s/allOf/%d", loc, i)))
	}
	var groups []func(*validate.Scanner)
	if len(all) > 0 {
		fs := calls(all)
		groups = append(groups, func(sc *validate.Scanner) { sc.AllOf(fs) })
	}
	for _, kw := range []string{"oneOf", "anyOf"} {
		refs := s.OneOf
		if kw == "anyOf" {
			refs = s.AnyOf
		}
		if len(refs) == 0 {
			continue
		}
		var ns []*node
		for i, r := range refs {
			ns = append(ns, c.fn(r, fmt.Sprintf("%s/%s/%d", loc, kw, i)))
		}
		fs := calls(ns)
		if d := s.Discriminator; d != nil && len(d.Mapping) > 0 {
			_, pick, err := discriminatorPicks(d, refs, kw, loc)
			if err != nil {
				c.fail(err)
				return validate.SkipValue
			}
			prop, kw := d.PropertyName, kw
			pf := func(v []byte) int {
				if i, ok := pick[string(v)]; ok {
					return i
				}
				return -1
			}
			groups = append(groups, func(sc *validate.Scanner) { sc.Discriminated(prop, pf, fs, kw) })
			continue
		}
		exactly := kw == "oneOf"
		groups = append(groups, func(sc *validate.Scanner) { sc.OneOf(fs, exactly) })
	}
	if s.Not != nil {
		n := c.fn(s.Not, loc+"/not")
		groups = append(groups, func(sc *validate.Scanner) { sc.Not(n.fn) })
	}
	nullable := s.Nullable
	return func(sc *validate.Scanner) {
		sc.Pos()
		if nullable && sc.Peek() == validate.TypeNull {
			sc.Null()
			return
		}
		if len(groups) == 1 {
			groups[0](sc)
			return
		}
		m := sc.Save()
		end := m.Start()
		for i, gr := range groups {
			if i > 0 {
				sc.Rewind(m, true)
			}
			gr(sc)
			if sc.Failed() {
				return
			}
			end = max(end, sc.Offset())
		}
		sc.Seek(end)
	}
}

// calls turns nodes into the functions the scanner's composition takes;
// each calls through its node, which may not be compiled yet.
func calls(ns []*node) []func(*validate.Scanner) {
	fs := make([]func(*validate.Scanner), len(ns))
	for i, n := range ns {
		fs[i] = func(sc *validate.Scanner) { n.fn(sc) }
	}
	return fs
}

// call is Generator.call: the inline fast path of a plain string, number
// or boolean property.
func (c *compiler) call(ref *openapi3.SchemaRef, loc string) func(*validate.Scanner) {
	n := c.fn(ref, loc)
	s := ref.Value
	full := func(sc *validate.Scanner) { n.fn(sc) }
	if s == nil {
		return full
	}
	switch inlineType(s) {
	case "string":
		return func(sc *validate.Scanner) {
			if sc.AtString() {
				sc.SkipString()
			} else {
				n.fn(sc)
			}
		}
	case "number":
		return func(sc *validate.Scanner) {
			if sc.AtNumber() {
				sc.Number()
			} else {
				n.fn(sc)
			}
		}
	case "boolean":
		return func(sc *validate.Scanner) {
			if sc.AtBool() {
				sc.Bool()
			} else {
				n.fn(sc)
			}
		}
	}
	return full
}

var wantOf = map[string]validate.Want{
	"object": validate.WantObject, "array": validate.WantArray, "string": validate.WantString,
	"number": validate.WantNumber, "integer": validate.WantInteger, "boolean": validate.WantBoolean,
}

// valueFunc validates a value whose type the switch of body has decided;
// at is its offset, enumOK whether it equals an object or array of enum.
type valueFunc func(sc *validate.Scanner, at int, enumOK bool)

// body is Generator.body.
func (c *compiler) body(s *openapi3.Schema, loc string) func(*validate.Scanner) {
	t := typeOf(s)
	var eqs []func(*validate.Scanner) bool
	for _, e := range c.g.structuredEnumValues(s) {
		eqs = append(eqs, c.matcher(e))
	}
	allowed := func(tt string) bool { return t == "" || t == tt || (tt == "number" && t == "integer") }
	var byType [validate.TypeObject + 1]valueFunc
	if allowed("object") {
		byType[validate.TypeObject] = c.object(s, loc)
	}
	if allowed("array") {
		byType[validate.TypeArray] = c.array(s, loc)
	}
	if allowed("string") {
		byType[validate.TypeString] = c.str(s)
	}
	if allowed("number") {
		byType[validate.TypeNumber] = c.number(s, t == "integer")
	}
	if allowed("boolean") {
		byType[validate.TypeBool] = c.boolean(s)
	}
	nullable, typed, want := s.Nullable, t != "", wantOf[t]
	return func(sc *validate.Scanner) {
		at := sc.Pos()
		enumOK := false
		if len(eqs) > 0 {
			if tt := sc.Peek(); tt == validate.TypeObject || tt == validate.TypeArray {
				m := sc.Save()
				for _, eq := range eqs {
					ok := eq(sc)
					if sc.Failed() {
						return
					}
					sc.Rewind(m, false)
					if ok {
						enumOK = true
						break
					}
				}
			}
		}
		tt := sc.PeekHere()
		switch {
		case tt == validate.TypeNull:
			if nullable {
				sc.Null()
			} else {
				sc.NotNullable(at)
			}
		case byType[tt] != nil:
			byType[tt](sc, at, enumOK)
		case tt == validate.TypeInvalid || !typed:
			sc.Skip()
		default:
			sc.WrongType(at, want)
		}
	}
}

func (e *enumPlan) fail(sc *validate.Scanner, at int) { sc.Schema(at, "enum", e.msg) }

// matcher is Generator.matcher: whether the next value equals v.
func (c *compiler) matcher(v any) func(*validate.Scanner) bool {
	switch x := v.(type) {
	case nil:
		return func(sc *validate.Scanner) bool { return sc.Peek() == validate.TypeNull && sc.Null() }
	case bool:
		return func(sc *validate.Scanner) bool {
			if sc.Peek() != validate.TypeBool {
				return false
			}
			b, ok := sc.Bool()
			return ok && b == x
		}
	case string:
		return func(sc *validate.Scanner) bool {
			if sc.Peek() != validate.TypeString {
				return false
			}
			v, ok := sc.String()
			return ok && string(v) == x
		}
	case float64, int, int64:
		f := literalFloat(toFloat(x))
		return func(sc *validate.Scanner) bool {
			if sc.Peek() != validate.TypeNumber {
				return false
			}
			raw, ok := sc.Number()
			return ok && validate.Float(raw) == f
		}
	case []any:
		elems := make([]func(*validate.Scanner) bool, len(x))
		for i, e := range x {
			elems[i] = c.matcher(e)
		}
		return func(sc *validate.Scanner) bool {
			if sc.Peek() != validate.TypeArray || !sc.EnterArray() {
				return false
			}
			i := 0
			for sc.NextElem() {
				if i >= len(elems) || !elems[i](sc) {
					return false
				}
				i++
			}
			return !sc.Failed() && i == len(elems)
		}
	case map[string]any:
		keys := sortedKeys(x)
		if len(keys) > 64 {
			c.fail(fmt.Errorf("enum object value with more than 64 members"))
		}
		members := map[string]int{}
		fs := make([]func(*validate.Scanner) bool, len(keys))
		for i, k := range keys {
			members[k] = i
			fs[i] = c.matcher(x[k])
		}
		all := uint64(1)<<len(keys) - 1
		return func(sc *validate.Scanner) bool {
			if sc.Peek() != validate.TypeObject || !sc.EnterObject() {
				return false
			}
			var seen uint64
			for sc.NextMember() {
				i, ok := members[string(sc.Key())]
				if !ok || seen&(1<<i) != 0 || !fs[i](sc) {
					return false
				}
				seen |= 1 << i
			}
			return !sc.Failed() && seen == all
		}
	}
	c.fail(fmt.Errorf("enum value of type %T", v))
	return func(*validate.Scanner) bool { return false }
}

// member is one named member of an object schema.
type member struct {
	bit      int                     // its bit in the seen set
	presBit  int                     // its bit in pres, -1: no rule looks at it
	span     int                     // its value span, -1: none
	rootCaps []rootFact              // facts set from its value at depth 1
	validate func(*validate.Scanner) // the property's validator or additionalProperties
}

// objState is one object's rule inputs: members present and value spans.
type objState struct {
	at   int
	pres uint64
	sp   [maxSpans]validate.Span
}

// object is Generator.object.
func (c *compiler) object(s *openapi3.Schema, loc string) valueFunc {
	p := c.g.objectPlan(s, loc)
	o, names := p.rules, p.names
	if len(names) > maxMemberBits {
		c.fail(fmt.Errorf("%s: more than %d member names (properties, required and rule members)", loc, maxMemberBits))
	}
	if len(o.value) > maxSpans {
		c.fail(fmt.Errorf("%s: rules look at the values of more than %d members", loc, maxSpans))
	}
	addl := (*validate.Scanner).Skip
	if p.closed {
		addl = func(sc *validate.Scanner) {
			sc.NotAllowed()
			sc.Skip()
		}
	} else if p.addl != nil {
		n := c.fn(p.addl, loc+"/additionalProperties")
		addl = func(sc *validate.Scanner) { n.fn(sc) }
	}
	members := make([]member, len(names))
	index := map[string]int{}
	for i, name := range names {
		m := member{bit: p.bit[name], presBit: -1, span: -1, validate: addl}
		if b, ok := o.pres[name]; ok {
			m.presBit = b
		}
		if v, ok := o.value[name]; ok {
			m.span = v
		}
		m.rootCaps = o.rootCaps[name]
		if ps, ok := s.Properties[name]; ok {
			m.validate = c.call(ps, loc+"/properties/"+escapeToken(name))
		}
		members[i] = m
		index[name] = i
	}
	required := make([]int, len(p.required))
	for i, r := range p.required {
		required[i] = index[r]
	}
	lookup := newMemberIndex(names)
	rules := c.rules(o)
	guard, dupKeys := o.guard, o.dupKeys
	var guardSev, dupSev validate.Severity
	var guardMsg string
	if guard != nil {
		guardSev = severity(c.g.sevOf(guard.spec.ID))
		guardMsg = c.g.messageOf(guard.spec.ID, fullCardMessage)
	}
	if dupKeys != nil {
		dupSev = severity(c.g.sevOf(dupKeys.spec.ID))
	}
	minP, maxP := p.minProps, p.maxProps
	enum := c.g.enumPlan(s, "object")
	withRules := o.needed()
	return func(sc *validate.Scanner, at int, enumOK bool) {
		var st objState
		st.at = at
		if guard != nil && sc.Depth() == 0 {
			sc.GuardCardNumbers(guard.spec.ID, guardSev, guardMsg)
		}
		if dupKeys != nil && sc.Depth() == 0 {
			sc.DuplicateKeys(dupKeys.spec.ID, dupSev)
		}
		if !sc.EnterObject() {
			return
		}
		var seen [maxMemberBits / 64]uint64
		n := 0
		for sc.NextMember() {
			n++
			i := lookup.find(sc.Key())
			if i < 0 {
				sc.Unknown()
				addl(sc)
				continue
			}
			m := &members[i]
			if seen[m.bit/64]&(1<<(m.bit%64)) != 0 {
				sc.Duplicate()
			}
			seen[m.bit/64] |= 1 << (m.bit % 64)
			if withRules {
				if m.presBit >= 0 && !sc.AtNull() {
					st.pres |= 1 << m.presBit
				}
				if m.span >= 0 {
					st.sp[m.span].Start = sc.Offset()
				}
			}
			m.validate(sc)
			if m.span >= 0 {
				st.sp[m.span].End = sc.Offset()
			}
			if m.rootCaps != nil && sc.Depth() == 1 {
				t := sc.Text(st.sp[m.span])
				for _, f := range m.rootCaps {
					if matchValue(t, f.values, f.ignoreCase) {
						sc.SetFact(uint(f.bit))
					}
				}
			}
		}
		if sc.Failed() {
			return
		}
		for _, i := range required {
			b := members[i].bit
			if seen[b/64]&(1<<(b%64)) == 0 {
				sc.Missing(at, names[i])
			}
		}
		checkMin(sc, at, n, minP)
		checkMax(sc, at, n, maxP)
		if len(rules) > 0 {
			rules.run(sc, &st)
		}
		if enum != nil && (enum.never || !enumOK) {
			enum.fail(sc, at)
		}
	}
}

// checkMin and checkMax report a size below or above a limit.
func checkMin(sc *validate.Scanner, at, n int, l limit) {
	if l.on() && n < l.n {
		sc.Schema(at, l.keyword, l.msg)
	}
}

func checkMax(sc *validate.Scanner, at, n int, l limit) {
	if l.on() && n > l.n {
		sc.Schema(at, l.keyword, l.msg)
	}
}

// matchValue is matchExpr evaluated.
func matchValue(t []byte, values []string, ignoreCase bool) bool {
	for _, x := range values {
		if ignoreCase && validate.EqualFold(t, x) || !ignoreCase && string(t) == x {
			return true
		}
	}
	return false
}

// array is Generator.array.
func (c *compiler) array(s *openapi3.Schema, loc string) valueFunc {
	items := (*validate.Scanner).Skip
	if s.Items != nil {
		items = c.call(s.Items, loc+"/items")
	}
	p := arrayPlanOf(s)
	enum := c.g.enumPlan(s, "array")
	return func(sc *validate.Scanner, at int, enumOK bool) {
		if !sc.EnterArray() {
			return
		}
		n := 0
		for sc.NextElem() {
			n++
			items(sc)
		}
		if sc.Failed() {
			return
		}
		checkMin(sc, at, n, p.minItems)
		checkMax(sc, at, n, p.maxItems)
		if enum != nil && (enum.never || !enumOK) {
			enum.fail(sc, at)
		}
	}
}

// matcherOf is a compiled pattern: a DFA where exact, else regexp.
type matcherOf interface{ Match([]byte) bool }

func compilePattern(p string) matcherOf {
	if d, ok := compileDFA(p); ok {
		return d.runtime()
	}
	return regexp.MustCompile(p) // check has compiled it already
}

// str is Generator.str.
func (c *compiler) str(s *openapi3.Schema) valueFunc {
	p := c.g.stringPlan(s)
	if !p.needValue {
		return func(sc *validate.Scanner, _ int, _ bool) {
			if p.fullCard {
				sc.AllowCardNumber()
			}
			sc.String()
		}
	}
	counting := p.minLength.on() || p.maxLength.on()
	var re matcherOf
	if p.pattern != "" {
		re = compilePattern(p.pattern)
	}
	format := formatChecks[p.format]
	enum := c.g.enumPlan(s, "string")
	return func(sc *validate.Scanner, at int, _ bool) {
		if p.fullCard {
			sc.AllowCardNumber()
		}
		v, ok := sc.String()
		if !ok {
			return
		}
		if counting {
			ln := validate.RuneCount(v)
			checkMin(sc, at, ln, p.minLength)
			checkMax(sc, at, ln, p.maxLength)
		}
		if re != nil && !re.Match(v) {
			sc.Schema(at, "pattern", p.patternMsg)
		}
		if format != nil && !format(v) {
			sc.Schema(at, "format", p.formatMsg)
		}
		if enum != nil && (enum.never || !slices.Contains(enum.strs, string(v))) {
			enum.fail(sc, at)
		}
	}
}

// formatChecks are the functions formatFuncs names, by name.
var formatChecks = map[string]func([]byte) bool{
	"IsEmail": validate.IsEmail, "IsIPv4": validate.IsIPv4, "IsIPv6": validate.IsIPv6, "IsDate": validate.IsDate,
	"IsDateTime": validate.IsDateTime, "IsURI": validate.IsURI,
}

// number is Generator.number.
func (c *compiler) number(s *openapi3.Schema, integer bool) valueFunc {
	p := numberPlanOf(s, integer)
	if !p.needValue {
		return func(sc *validate.Scanner, _ int, _ bool) { sc.Number() }
	}
	enum := c.g.enumPlan(s, "number")
	return func(sc *validate.Scanner, at int, _ bool) {
		raw, ok := sc.Number()
		if !ok {
			return
		}
		f := validate.Float(raw)
		if p.integer {
			if !validate.IsInteger(f) {
				sc.Schema(at, "type", "expected an integer")
			} else if p.intFormat != "" && (f < p.lo || f > p.hi) {
				sc.Schema(at, "format", p.formatMsg)
			}
		}
		if p.min.on && p.min.below(f) {
			sc.Schema(at, p.min.keyword, p.min.msg)
		}
		if p.max.on && p.max.above(f) {
			sc.Schema(at, p.max.keyword, p.max.msg)
		}
		if enum != nil && (enum.never || !slices.Contains(enum.nums, f)) {
			enum.fail(sc, at)
		}
	}
}

// boolean is Generator.boolean.
func (c *compiler) boolean(s *openapi3.Schema) valueFunc {
	enum := c.g.enumPlan(s, "boolean")
	if enum == nil {
		return func(sc *validate.Scanner, _ int, _ bool) { sc.Bool() }
	}
	return func(sc *validate.Scanner, at int, _ bool) {
		b, ok := sc.Bool()
		if !ok {
			return
		}
		if enum.never || !slices.Contains(enum.bools, b) {
			enum.fail(sc, at)
		}
	}
}

// memberIndex finds a member name among an object schema's names: open
// addressing on a hash of the name's length and three of its bytes, then
// one string compare; a quarter full at most, so a probe sequence is short.
// It is faster than a Go map on names this short (the load mix: 20% of the
// compiled validator's time was map lookups).
type memberIndex struct {
	mask  uint32
	slots []int32 // index into names, -1 empty
	names []string
}

func newMemberIndex(names []string) *memberIndex {
	size := uint32(8)
	for size < uint32(4*len(names)) {
		size <<= 1
	}
	ix := &memberIndex{mask: size - 1, slots: make([]int32, size), names: names}
	for i := range ix.slots {
		ix.slots[i] = -1
	}
	for i, n := range names {
		h := hashName(n) & ix.mask
		for ix.slots[h] >= 0 {
			h = (h + 1) & ix.mask
		}
		ix.slots[h] = int32(i)
	}
	return ix
}

func hashName[T string | []byte](b T) uint32 {
	n := len(b)
	if n == 0 {
		return 0
	}
	return uint32(n)*0x9e37 ^ uint32(b[0])*0x85eb ^ uint32(b[n-1])*0xc2b2 ^ uint32(b[n/2])*0x27d4
}

// find is the index of key among the names, -1 when it is none of them.
func (ix *memberIndex) find(key []byte) int {
	h := hashName(key) & ix.mask
	for {
		i := ix.slots[h]
		if i < 0 || string(key) == ix.names[i] {
			return int(i)
		}
		h = (h + 1) & ix.mask
	}
}
