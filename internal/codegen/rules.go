package codegen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"gopkg.in/yaml.v3"

	"github.com/orderguard/orderguard/internal/validate"
)

// The spec extensions of business rules.
//
// x-orderguard-rules, on an object schema, is a list of rules checked when
// an object of that schema closes, in the same pass as the schema keywords:
//
//   - id: card-fields                 # reported as the violation's rule
//     severity: error                 # or warning; config may turn it off
//     description: A card needs ...   # one line, shown by `orderguard spec rules`
//     source: Forter checkout guide   # where the rule comes from
//     at: [/payment/*/{creditCard,tokenizedCard}]  # only objects at these pointers
//     when:                           # all must hold
//     present: [a, b]               # some of these members is present (not null)
//     absent: [a, b]                # none of these members is present
//     member: orderType             # this member's string value ...
//     in: [WEB]                     # ... is one of these (or notIn:)
//     ignoreCase: true
//     rootMember: authorizationStep # a member of the top-level object ...
//     rootIn: [POST_AUTHORIZATION]  # ... is one of these (anywhere in the document)
//     fact: [cardPayment]           # some of these document facts was set
//     notFact: [klarna]             # none of these was set
//     require: [lastFourDigits]       # members that must be present (not null)
//     requireAny: [bin, token]        # at least one of them
//     exactlyOne: [creditCard, paypal]
//     maxDecimals: {amountUSD: 2}     # digits after the point, number or decimal string
//     anyItem: true                   # require is met when any object at `at` has the member
//     set: cardPayment                # sets a document fact (an entry without id)
//     guardCardNumbers: true          # top-level schema: no full card number in any string
//     duplicateKeys: true             # top-level schema: this rule's id and severity for a member
//     # name repeated in one object (the scanner's strict-JSON check)
//     reason: Forter accepted ...     # why the default severity is what it is, shown by `spec rules`
//
// x-orderguard-full-card: true, on a string schema, marks a field meant for a
// full card number: the guard leaves it alone.
const (
	ruleExt = "x-orderguard-rules"
	panExt  = "x-orderguard-full-card"
)

type ruleSpec struct {
	ID               string         `json:"id"`
	Severity         string         `json:"severity"`
	Description      string         `json:"description"`
	Source           string         `json:"source"`
	At               []string       `json:"at"`
	When             *whenSpec      `json:"when"`
	Require          []string       `json:"require"`
	RequireAny       []string       `json:"requireAny"`
	ExactlyOne       []string       `json:"exactlyOne"`
	MaxDecimals      map[string]int `json:"maxDecimals"`
	AnyItem          bool           `json:"anyItem"`
	Set              string         `json:"set"`
	SumInto          *sumSpec       `json:"sumInto"`
	SumEquals        *sumSpec       `json:"sumEquals"`
	GuardCardNumbers bool           `json:"guardCardNumbers"`
	DuplicateKeys    bool           `json:"duplicateKeys"`
	Reason           string         `json:"reason"`
}

type sumSpec struct {
	Sum     string            `json:"sum"`
	Amounts map[string]string `json:"amounts"` // amount member -> its currency member, or ""
}

func (sp *sumSpec) fields() []string {
	fs := make([]string, 0, len(sp.Amounts))
	for f := range sp.Amounts {
		fs = append(fs, f)
	}
	sort.Strings(fs)
	return fs
}

type whenSpec struct {
	Present    []string `json:"present"`
	Absent     []string `json:"absent"`
	Member     string   `json:"member"`
	In         []string `json:"in"`
	NotIn      []string `json:"notIn"`
	IgnoreCase bool     `json:"ignoreCase"`
	RootMember string   `json:"rootMember"`
	RootIn     []string `json:"rootIn"`
	Fact       []string `json:"fact"`
	NotFact    []string `json:"notFact"`
}

type ruleDecl struct {
	ID, Severity, Description, Source, Reason string
}

// rootFact is a fact set when a top-level member has one of some values.
type rootFact struct {
	bit        int
	values     []string
	ignoreCase bool
}

type compiledRule struct {
	spec ruleSpec
	loc  string
	sev  string // SeverityError or SeverityWarning
}

// collectRules reads every rule of the spec before any code is emitted:
// facts need their bits, and top-level members their captures.
func (g *Generator) collectRules() {
	if g.ruleMap != nil {
		return
	}
	g.ruleMap = map[*openapi3.Schema][]compiledRule{}
	g.factBits = map[string]int{}
	g.rootFacts = map[string][]rootFact{}
	g.ruleIndex = map[string]int{}
	g.sums = map[string]int{}
	if g.doc.Components == nil {
		return
	}
	names := make([]string, 0, len(g.doc.Components.Schemas))
	for n := range g.doc.Components.Schemas {
		names = append(names, n)
	}
	sort.Strings(names)
	seen := map[*openapi3.Schema]bool{}
	var walk func(s *openapi3.Schema, loc string)
	walk = func(s *openapi3.Schema, loc string) {
		if s == nil || seen[s] {
			return
		}
		seen[s] = true
		// Every schema of the spec, used by an operation or not, must be one
		// the generator compiles: a spec never holds a silently skipped keyword.
		if err := check(s, loc); err != nil {
			g.fail(err)
			return
		}
		if raw, ok := s.Extensions[ruleExt]; ok {
			g.parseRules(s, raw, loc)
		}
		keys := make([]string, 0, len(s.Properties))
		for k := range s.Properties {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if p := s.Properties[k]; p != nil && p.Ref == "" {
				walk(p.Value, loc+"/properties/"+escapeToken(k))
			}
		}
		for _, sub := range []*openapi3.SchemaRef{s.Items, s.AdditionalProperties.Schema, s.Not} {
			if sub != nil && sub.Ref == "" {
				walk(sub.Value, loc+"/"+subName(sub, s))
			}
		}
		for _, list := range []openapi3.SchemaRefs{s.AllOf, s.AnyOf, s.OneOf} {
			for i, sub := range list {
				if sub != nil && sub.Ref == "" {
					walk(sub.Value, fmt.Sprintf("%s/%s/%d", loc, listName(list, s), i))
				}
			}
		}
	}
	for _, n := range names {
		if r := g.doc.Components.Schemas[n]; r != nil {
			walk(r.Value, "#/components/schemas/"+n)
		}
	}
	g.finishRules()
}

func (g *Generator) fact(name string) int {
	if b, ok := g.factBits[name]; ok {
		return b
	}
	b := len(g.factBits)
	if b >= 64 {
		g.fail(fmt.Errorf("%s: more than 64 rule facts", ruleExt))
	}
	g.factBits[name] = b
	return b
}

func (g *Generator) parseRules(s *openapi3.Schema, raw any, loc string) {
	loc += "/" + ruleExt
	b, err := json.Marshal(raw)
	if err != nil {
		g.fail(fmt.Errorf("%s: %w", loc, err))
		return
	}
	var specs []ruleSpec
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&specs); err != nil {
		g.fail(fmt.Errorf("%s: %w: %v", loc, ErrUnsupported, err))
		return
	}
	for i, r := range specs {
		rloc := fmt.Sprintf("%s/%d", loc, i)
		checks := len(r.Require) + len(r.RequireAny) + len(r.ExactlyOne) + len(r.MaxDecimals)
		if r.SumEquals != nil {
			checks++
		}
		helper := r.Set != "" || r.SumInto != nil
		switch {
		case helper && (r.ID != "" || checks > 0):
			g.fail(fmt.Errorf("%s: an entry with set or sumInto only gathers facts: no id, no checks", rloc))
			return
		case !helper && r.ID == "":
			g.fail(fmt.Errorf("%s: a rule needs an id", rloc))
			return
		case !helper && checks == 0 && !r.GuardCardNumbers && !r.DuplicateKeys:
			g.fail(fmt.Errorf("%s: rule %q checks nothing", rloc, r.ID))
			return
		case r.AnyItem && len(r.At) == 0:
			g.fail(fmt.Errorf("%s: anyItem needs at", rloc))
			return
		}
		if r.When != nil && r.When.Member != "" && len(r.When.In) == 0 && len(r.When.NotIn) == 0 {
			g.fail(fmt.Errorf("%s: when.member needs in or notIn", rloc))
			return
		}
		if r.When != nil && (r.When.RootMember == "") != (len(r.When.RootIn) == 0) {
			g.fail(fmt.Errorf("%s: when.rootMember and when.rootIn go together", rloc))
			return
		}
		for _, a := range r.At {
			if !strings.HasPrefix(a, "/") {
				g.fail(fmt.Errorf("%s: at %q: want a JSON pointer pattern", rloc, a))
				return
			}
		}
		sev := "Error"
		if r.ID != "" {
			if !g.declareRule(r, rloc) {
				return
			}
			sev = g.rules[g.ruleIndex[r.ID]].Severity
		}
		if r.Set != "" {
			g.fact(r.Set)
		}
		if w := r.When; w != nil {
			for _, f := range append(append([]string{}, w.Fact...), w.NotFact...) {
				g.fact(f)
			}
			if w.RootMember != "" {
				vals := append([]string{}, w.RootIn...)
				sort.Strings(vals)
				key := fmt.Sprintf("root:%s:%v:%v", w.RootMember, w.IgnoreCase, vals)
				if _, ok := g.factBits[key]; !ok {
					g.rootFacts[w.RootMember] = append(g.rootFacts[w.RootMember], rootFact{bit: g.fact(key), values: vals, ignoreCase: w.IgnoreCase})
				}
			}
		}
		if r.AnyItem {
			for _, m := range r.Require {
				g.fact(anyItemFact(r, m))
			}
		}
		for _, sp := range []*sumSpec{r.SumInto, r.SumEquals} {
			if sp == nil {
				continue
			}
			if sp.Sum == "" || len(sp.Amounts) == 0 {
				g.fail(fmt.Errorf("%s: a sum needs a name and amounts", rloc))
				return
			}
			for _, f := range sp.fields() {
				g.sumIndex(sp.Sum + "/" + f)
			}
		}
		g.ruleMap[s] = append(g.ruleMap[s], compiledRule{spec: r, loc: rloc, sev: sev})
	}
}

func (g *Generator) sumIndex(key string) int {
	if i, ok := g.sums[key]; ok {
		return i
	}
	i := len(g.sums)
	if i >= 16 {
		g.fail(fmt.Errorf("%s: more than 16 sums", ruleExt))
	}
	g.sums[key] = i
	return i
}

func anyItemFact(r ruleSpec, member string) string {
	return "has:" + r.ID + ":" + strings.Join(r.At, ",") + ":" + member
}

// declareRule records a rule's id, severity, description and source. A rule
// may be declared on several schemas; the metadata is given once.
func (g *Generator) declareRule(r ruleSpec, loc string) bool {
	sev := ""
	switch strings.ToLower(r.Severity) {
	case "", "error":
		sev = "Error"
		if r.Severity == "" {
			sev = ""
		}
	case "warning":
		sev = "Warning"
	default:
		g.fail(fmt.Errorf("%s: severity %q: want error or warning", loc, r.Severity))
		return false
	}
	i, ok := g.ruleIndex[r.ID]
	if !ok {
		g.ruleIndex[r.ID] = len(g.rules)
		g.rules = append(g.rules, ruleDecl{ID: r.ID, Severity: sev, Description: r.Description, Source: r.Source, Reason: r.Reason})
		g.ruleLoc = append(g.ruleLoc, loc)
		i = len(g.rules) - 1
	} else {
		d := &g.rules[i]
		for _, f := range []struct {
			have       *string
			give, name string
		}{
			{&d.Severity, sev, "severity"}, {&d.Description, r.Description, "description"}, {&d.Source, r.Source, "source"},
			{&d.Reason, r.Reason, "reason"},
		} {
			if f.give == "" {
				continue
			}
			if *f.have != "" && *f.have != f.give {
				g.fail(fmt.Errorf("%s: rule %q: %s differs from its declaration at %s", loc, r.ID, f.name, g.ruleLoc[i]))
				return false
			}
			*f.have = f.give
		}
	}
	return true
}

// finishRules checks every rule got its metadata somewhere.
func (g *Generator) finishRules() {
	for i := range g.rules {
		r := &g.rules[i]
		if r.Severity == "" {
			r.Severity = "Error"
		}
		if r.Description == "" || r.Source == "" || r.Reason == "" {
			g.fail(fmt.Errorf("%s: rule %q needs a description, a source and the reason for its default severity", g.ruleLoc[i], r.ID))
		}
	}
	sort.Slice(g.rules, func(i, j int) bool { return g.rules[i].ID < g.rules[j].ID })
	for i, r := range g.rules {
		g.ruleIndex[r.ID] = i
	}
}

// objRules is what the rules of one object schema need emitted.
type objRules struct {
	rules    []compiledRule
	names    []string       // members the rules look at, in order
	pres     map[string]int // member -> presence bit
	value    map[string]int // member -> value span variable
	rootCaps map[string][]rootFact
	guard    *compiledRule
	dupKeys  *compiledRule
}

func (g *Generator) objectRules(s *openapi3.Schema, loc string) *objRules {
	o := &objRules{rules: g.ruleMap[s], pres: map[string]int{}, value: map[string]int{}, rootCaps: map[string][]rootFact{}}
	add := func(name string, value bool) {
		if _, ok := o.pres[name]; !ok {
			o.pres[name] = len(o.pres)
			o.names = append(o.names, name)
		}
		if value {
			if _, ok := o.value[name]; !ok {
				o.value[name] = len(o.value)
			}
		}
	}
	for i := range o.rules {
		r := &o.rules[i].spec
		if r.GuardCardNumbers {
			o.guard = &o.rules[i]
		}
		if r.DuplicateKeys {
			o.dupKeys = &o.rules[i]
		}
		for _, m := range r.Require {
			add(m, false)
		}
		for _, m := range r.RequireAny {
			add(m, false)
		}
		for _, m := range r.ExactlyOne {
			add(m, false)
		}
		ms := make([]string, 0, len(r.MaxDecimals))
		for m := range r.MaxDecimals {
			ms = append(ms, m)
		}
		sort.Strings(ms)
		for _, m := range ms {
			add(m, true)
		}
		for _, sp := range []*sumSpec{r.SumInto, r.SumEquals} {
			if sp == nil {
				continue
			}
			for _, f := range sp.fields() {
				add(f, true)
				if c := sp.Amounts[f]; c != "" {
					add(c, true)
				}
			}
		}
		if w := r.When; w != nil {
			for _, m := range w.Present {
				add(m, false)
			}
			for _, m := range w.Absent {
				add(m, false)
			}
			if w.Member != "" {
				add(w.Member, true)
			}
		}
	}
	if len(o.pres) > 64 {
		g.fail(fmt.Errorf("%s: rules look at more than 64 members", loc))
	}
	for name := range s.Properties {
		if facts, ok := g.rootFacts[name]; ok {
			o.rootCaps[name] = facts
			add(name, true)
		}
	}
	sort.Strings(o.names) // deterministic output
	return o
}

func (o *objRules) needed() bool { return len(o.pres) > 0 }

// fullCardMessage is the guardCardNumbers rule's default message.
const fullCardMessage = "this value or member name reads as a full card number: 13 to 19 digits passing the Luhn check; its digits are not shown"

// begin emits what goes before the object is entered.
func (o *objRules) begin(g *Generator) {
	if len(o.pres) > 0 {
		g.printf("var pres uint64\n_ = pres\n")
		for i := 0; i < len(o.value); i++ {
			g.printf("var sp%d validate.Span\n", i)
		}
	}
	if r := o.guard; r != nil {
		g.printf("if s.Depth() == 0 {\ns.GuardCardNumbers(%q, validate.Severity%s, %q)\n}\n", r.spec.ID, g.sevOf(r.spec.ID), g.messageOf(r.spec.ID, fullCardMessage))
	}
	if r := o.dupKeys; r != nil {
		g.printf("if s.Depth() == 0 {\ns.DuplicateKeys(%q, validate.Severity%s)\n}\n", r.spec.ID, g.sevOf(r.spec.ID))
	}
}

func (g *Generator) sevOf(id string) string { return g.rules[g.ruleIndex[id]].Severity }

func (g *Generator) messageOf(id, detail string) string {
	return g.rules[g.ruleIndex[id]].Description + " (" + detail + ")"
}

// member emits the captures of one member: before its validator (pre) and after it (post).
func (o *objRules) member(name string) (pre, post string) {
	var b, a strings.Builder
	if bit, ok := o.pres[name]; ok {
		fmt.Fprintf(&b, "if !s.AtNull() {\npres |= 1 << %d\n}\n", bit)
	}
	if v, ok := o.value[name]; ok {
		fmt.Fprintf(&b, "sp%d.Start = s.Offset()\n", v)
		fmt.Fprintf(&a, "sp%d.End = s.Offset()\n", v)
	}
	if facts, ok := o.rootCaps[name]; ok {
		v := o.value[name]
		fmt.Fprintf(&a, "if s.Depth() == 1 {\nt := s.Text(sp%d)\n", v)
		for _, f := range facts {
			fmt.Fprintf(&a, "if %s {\ns.SetFact(%d)\n}\n", matchExpr("t", f.values, f.ignoreCase), f.bit)
		}
		a.WriteString("}\n")
	}
	return b.String(), a.String()
}

func matchExpr(v string, values []string, ignoreCase bool) string {
	var parts []string
	for _, x := range values {
		if ignoreCase {
			parts = append(parts, fmt.Sprintf("validate.EqualFold(%s, %s)", v, strconv.Quote(x)))
		} else {
			parts = append(parts, fmt.Sprintf("string(%s) == %s", v, strconv.Quote(x)))
		}
	}
	if len(parts) == 0 {
		return "false"
	}
	return "(" + strings.Join(parts, " || ") + ")"
}

func (o *objRules) mask(names []string) string {
	var m uint64
	for _, n := range names {
		m |= 1 << o.pres[n]
	}
	return fmt.Sprintf("%#x", m)
}

// end emits the rules' checks, after the object closed.
func (o *objRules) end(g *Generator) {
	// Each distinct at list is matched once per object.
	atVars := map[string]string{}
	for _, cr := range o.rules {
		r := cr.spec
		key := strings.Join(r.At, "\x00")
		if len(r.At) == 0 || atVars[key] != "" {
			continue
		}
		v := fmt.Sprintf("in%d", len(atVars))
		atVars[key] = v
		var ats []string
		for _, a := range r.At {
			// The depth test is inlined: most objects are at another depth.
			depth := strings.Count(a, "/")
			ats = append(ats, fmt.Sprintf("(s.Depth() == %d && s.At(%s))", depth, g.pattern(a)))
		}
		g.printf("%s := %s\n", v, strings.Join(ats, " || "))
	}
	for _, cr := range o.rules {
		r := cr.spec
		if r.GuardCardNumbers && r.Set == "" && r.SumInto == nil && r.SumEquals == nil && len(r.Require)+len(r.RequireAny)+len(r.ExactlyOne)+len(r.MaxDecimals) == 0 {
			continue
		}
		var conds []string
		if len(r.At) > 0 {
			conds = append(conds, atVars[strings.Join(r.At, "\x00")])
		}
		var fc struct{ all, none, any uint64 }
		if w := r.When; w != nil {
			if len(w.Present) > 0 {
				conds = append(conds, fmt.Sprintf("pres&%s != 0", o.mask(w.Present)))
			}
			if len(w.Absent) > 0 {
				conds = append(conds, fmt.Sprintf("pres&%s == 0", o.mask(w.Absent)))
			}
			if w.Member != "" {
				t := fmt.Sprintf("s.Text(sp%d)", o.value[w.Member])
				present := fmt.Sprintf("pres&%s != 0", o.mask([]string{w.Member}))
				if len(w.In) > 0 {
					conds = append(conds, present+" && "+matchExpr(t, w.In, w.IgnoreCase))
				}
				if len(w.NotIn) > 0 {
					conds = append(conds, present+" && !"+matchExpr(t, w.NotIn, w.IgnoreCase))
				}
			}
			fc.all, fc.none, fc.any = g.whenFacts(w)
		}
		cond := func(extraNone uint64) string {
			return fmt.Sprintf("validate.FactCond{All: %#x, None: %#x, Any: %#x}", fc.all, fc.none|extraNone, fc.any)
		}
		if len(conds) > 0 {
			g.printf("if %s {\n", strings.Join(conds, " && "))
		} else {
			g.printf("{\n")
		}
		if r.Set != "" {
			if fc.all|fc.none|fc.any != 0 {
				g.fail(fmt.Errorf("%s: a fact is set from local conditions only (no fact or rootMember in when)", cr.loc))
			}
			g.printf("s.SetFact(%d)\n", g.factBits[r.Set])
		}
		present := func(m string) string {
			if m == "" {
				return "validate.Span{}"
			}
			return fmt.Sprintf("validate.Present(pres&%s != 0, sp%d)", o.mask([]string{m}), o.value[m])
		}
		if sp := r.SumInto; sp != nil {
			for _, f := range sp.fields() {
				g.printf("s.SumAdd(%d, %s, %s)\n", g.sums[sp.Sum+"/"+f], present(f), present(sp.Amounts[f]))
			}
		}

		if r.ID != "" {
			id, sev := r.ID, "validate.Severity"+g.sevOf(r.ID)
			for _, m := range r.Require {
				msg := strconv.Quote(g.messageOf(id, strconv.Quote(m)+" is missing"))
				if r.AnyItem {
					f := g.factBits[anyItemFact(r, m)]
					g.printf("if pres&%s != 0 {\ns.SetFact(%d)\n} else {\ns.RuleAt(at, %q, %q, %s, %s, %s)\n}\n", o.mask([]string{m}), f, m, id, sev, msg, cond(1<<f))
					continue
				}
				g.printf("if pres&%s == 0 {\ns.RuleAt(at, %q, %q, %s, %s, %s)\n}\n", o.mask([]string{m}), m, id, sev, msg, cond(0))
			}
			if len(r.RequireAny) > 0 {
				msg := strconv.Quote(g.messageOf(id, "none of "+strings.Join(r.RequireAny, ", ")+" is present"))
				g.printf("if pres&%s == 0 {\ns.RuleAt(at, \"\", %q, %s, %s, %s)\n}\n", o.mask(r.RequireAny), id, sev, msg, cond(0))
			}
			if len(r.ExactlyOne) > 0 {
				none := strconv.Quote(g.messageOf(id, "none of "+strings.Join(r.ExactlyOne, ", ")+" is present"))
				many := strconv.Quote(g.messageOf(id, "more than one of "+strings.Join(r.ExactlyOne, ", ")+" is present"))
				g.needBits = true
				g.printf("switch bits.OnesCount64(pres & %s) {\ncase 1:\ncase 0:\ns.RuleAt(at, \"\", %q, %s, %s, %s)\ndefault:\ns.RuleAt(at, \"\", %q, %s, %s, %s)\n}\n",
					o.mask(r.ExactlyOne), id, sev, none, cond(0), id, sev, many, cond(0))
			}
			if sp := r.SumEquals; sp != nil {
				for _, f := range sp.fields() {
					msg := strconv.Quote(g.messageOf(id, fmt.Sprintf("%q differs from the sum of the %s amounts", f, sp.Sum)))
					g.printf("if pres&%s != 0 {\ns.SumEquals(sp%d.Start, %q, %d, sp%d, %s, %q, %s, %s, %s)\n}\n",
						o.mask([]string{f}), o.value[f], f, g.sums[sp.Sum+"/"+f], o.value[f], present(sp.Amounts[f]), id, sev, msg, cond(0))
				}
			}
			for _, m := range sortedKeys(r.MaxDecimals) {
				n := r.MaxDecimals[m]
				msg := strconv.Quote(g.messageOf(id, fmt.Sprintf("%q has more than %d decimals", m, n)))
				g.printf("if pres&%s != 0 && s.Decimals(sp%d) > %d {\ns.RuleAt(sp%d.Start, %q, %q, %s, %s, %s)\n}\n", o.mask([]string{m}), o.value[m], n, o.value[m], m, id, sev, msg, cond(0))
			}
		}
		g.printf("}\n")
	}
}

// whenFacts is the condition of when on document facts: every bit of all
// (rootMember), none of none (notFact), some of any (fact).
func (g *Generator) whenFacts(w *whenSpec) (all, none, any uint64) {
	for _, f := range w.Fact {
		any |= 1 << g.factBits[f]
	}
	for _, f := range w.NotFact {
		none |= 1 << g.factBits[f]
	}
	if w.RootMember != "" {
		vals := append([]string{}, w.RootIn...)
		sort.Strings(vals)
		all |= 1 << g.factBits[fmt.Sprintf("root:%s:%v:%v", w.RootMember, w.IgnoreCase, vals)]
	}
	return all, none, any
}

// pattern returns the variable holding a pointer pattern such as
// /payment/*/{creditCard,tokenizedCard}.
func (g *Generator) pattern(p string) string {
	if v, ok := g.patterns[p]; ok {
		return v
	}
	var toks []string
	for _, alts := range parsePattern(p) {
		var q []string
		for _, a := range alts {
			q = append(q, strconv.Quote(a))
		}
		toks = append(toks, "{"+strings.Join(q, ", ")+"}")
	}
	v := fmt.Sprintf("pat%d", len(g.patterns))
	g.patterns[p] = v
	g.patternDecls = append(g.patternDecls, fmt.Sprintf("// %s is %s\n%s = validate.PathPattern{%s}", v, comment(p), v, strings.Join(toks, ", ")))
	return v
}

// parsePattern reads a pointer pattern of a rule's at: one entry per token,
// each the names it accepts ({a,b} lists alternatives, * any token).
func parsePattern(p string) validate.PathPattern {
	var toks validate.PathPattern
	for _, t := range strings.Split(p[1:], "/") {
		t = strings.NewReplacer("~1", "/", "~0", "~").Replace(t)
		var alts []string
		if strings.HasPrefix(t, "{") && strings.HasSuffix(t, "}") {
			alts = strings.Split(t[1:len(t)-1], ",")
		} else {
			alts = []string{t}
		}
		for i := range alts {
			alts[i] = strings.TrimSpace(alts[i])
		}
		toks = append(toks, alts)
	}
	return toks
}

func (g *Generator) fullCard(s *openapi3.Schema) bool {
	v, ok := s.Extensions[panExt]
	return ok && v == true
}

// ApplyRules merges a rules overlay into doc: a YAML document of the form
// components: {schemas: {Name: {x-orderguard-rules: [...]}}}, so that rules
// may live in a file of their own beside the spec.
func ApplyRules(doc *openapi3.T, path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read rules %q: %w", path, err)
	}
	var ov struct {
		Components struct {
			Schemas map[string]map[string]any `yaml:"schemas"`
		} `yaml:"components"`
	}
	if err := yaml.Unmarshal(b, &ov); err != nil {
		return fmt.Errorf("parse rules %q: %w", path, err)
	}
	names := make([]string, 0, len(ov.Components.Schemas))
	for n := range ov.Components.Schemas {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		ref := doc.Components.Schemas[n]
		if ref == nil || ref.Value == nil {
			return fmt.Errorf("rules %q: schema %q is not in the spec's components", path, n)
		}
		for k, v := range ov.Components.Schemas[n] {
			if k != ruleExt {
				return fmt.Errorf("rules %q: #/components/schemas/%s: only %s may be given here, not %q", path, n, ruleExt, k)
			}
			list, ok := v.([]any)
			if !ok {
				return fmt.Errorf("rules %q: #/components/schemas/%s/%s: want a list", path, n, ruleExt)
			}
			s := ref.Value
			if s.Extensions == nil {
				s.Extensions = map[string]any{}
			}
			if old, ok := s.Extensions[ruleExt].([]any); ok {
				list = append(old, list...)
			}
			s.Extensions[ruleExt] = list
		}
	}
	return nil
}

func subName(sub *openapi3.SchemaRef, s *openapi3.Schema) string {
	switch sub {
	case s.Items:
		return "items"
	case s.AdditionalProperties.Schema:
		return "additionalProperties"
	}
	return "not"
}

func listName(list openapi3.SchemaRefs, s *openapi3.Schema) string {
	switch {
	case len(list) > 0 && len(s.AllOf) > 0 && &list[0] == &s.AllOf[0]:
		return "allOf"
	case len(list) > 0 && len(s.AnyOf) > 0 && &list[0] == &s.AnyOf[0]:
		return "anyOf"
	}
	return "oneOf"
}
