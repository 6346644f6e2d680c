package codegen

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// The intermediate form of a schema's own keywords, by JSON type: what each
// keyword checks, with its bounds and its message, decided once. The Go
// renderer (gen.go) prints it; the compiler (compile.go) turns it into
// closures. A keyword added here is one meaning for both; each then needs
// its line in the printer and in the compiler, which the agreement tests
// check.

// limit is one size bound (minLength, maxItems, ...): off when n < 0.
type limit struct {
	n       int
	keyword string
	msg     string
}

func (l limit) on() bool { return l.n >= 0 }

var noLimit = limit{n: -1}

func minLimit(n uint64, keyword, format string) limit {
	if n == 0 {
		return noLimit
	}
	return limit{int(n), keyword, fmt.Sprintf(format, n)}
}

func maxLimit(n *uint64, keyword, format string) limit {
	if n == nil {
		return noLimit
	}
	return limit{int(*n), keyword, fmt.Sprintf(format, *n)}
}

// objectPlan is what an object value is checked against.
type objectPlan struct {
	names    []string       // every member with a case: properties (sorted), required, rule members
	bit      map[string]int // name -> its bit in the seen set
	required []string       // each required name once, in order
	closed   bool           // additionalProperties: false
	addl     *openapi3.SchemaRef
	minProps limit
	maxProps limit
	rules    *objRules
}

func (g *Generator) objectPlan(s *openapi3.Schema, loc string) *objectPlan {
	props := make([]string, 0, len(s.Properties))
	for k := range s.Properties {
		props = append(props, k)
	}
	sort.Strings(props)
	p := &objectPlan{names: slices.Clone(props), bit: map[string]int{}, rules: g.objectRules(s, loc),
		minProps: minLimit(s.MinProps, "minProperties", "must have at least %d members"),
		maxProps: maxLimit(s.MaxProps, "maxProperties", "must have at most %d members")}
	for _, r := range s.Required {
		if _, ok := s.Properties[r]; !ok && !slices.Contains(p.names, r) {
			p.names = append(p.names, r)
		}
	}
	for _, n := range p.rules.names {
		if !slices.Contains(p.names, n) {
			p.names = append(p.names, n)
		}
	}
	for i, n := range p.names {
		p.bit[n] = i
	}
	done := map[string]bool{}
	for _, r := range s.Required {
		if !done[r] { // a name listed twice is reported once
			done[r] = true
			p.required = append(p.required, r)
		}
	}
	ap := s.AdditionalProperties
	p.closed = ap.Has != nil && !*ap.Has
	if !p.closed {
		p.addl = ap.Schema
	}
	return p
}

func (p *objectPlan) counting() bool { return p.minProps.on() || p.maxProps.on() }

// arrayPlan is what an array value is checked against.
type arrayPlan struct {
	minItems, maxItems limit
}

func arrayPlanOf(s *openapi3.Schema) arrayPlan {
	return arrayPlan{minItems: minLimit(s.MinItems, "minItems", "must have at least %d items"),
		maxItems: maxLimit(s.MaxItems, "maxItems", "must have at most %d items")}
}

func (p arrayPlan) counting() bool { return p.minItems.on() || p.maxItems.on() }

// stringPlan is what a string value is checked against.
type stringPlan struct {
	fullCard             bool
	needValue            bool
	minLength, maxLength limit
	pattern, patternMsg  string
	format, formatMsg    string // format: the validate function's name (formatFuncs)
}

func (g *Generator) stringPlan(s *openapi3.Schema) stringPlan {
	p := stringPlan{fullCard: g.fullCard(s),
		minLength: minLimit(s.MinLength, "minLength", "must be at least %d characters long"),
		maxLength: maxLimit(s.MaxLength, "maxLength", "must be at most %d characters long"),
		pattern:   s.Pattern, patternMsg: "must match the pattern " + s.Pattern}
	if fn, ok := formatFuncs[s.Format]; ok {
		p.format, p.formatMsg = fn, formatMsgs[s.Format]
	}
	p.needValue = p.minLength.on() || p.maxLength.on() || p.pattern != "" || len(s.Enum) > 0 || p.format != ""
	return p
}

// bound is one numeric bound (minimum or maximum, exclusive or not).
type bound struct {
	on        bool
	v         float64 // the bound as compared (floatLit's value)
	lit       string  // floatLit
	exclusive bool
	keyword   string
	msg       string
}

// numberPlan is what a number value is checked against.
type numberPlan struct {
	needValue bool
	integer   bool
	intFormat string // int32 or int64 on an integer: its range is checked
	lo, hi    float64
	loLit     string
	hiLit     string
	formatMsg string
	min, max  bound
}

func numberPlanOf(s *openapi3.Schema, integer bool) numberPlan {
	p := numberPlan{integer: integer, needValue: integer || s.Min != nil || s.Max != nil || len(s.Enum) > 0}
	if integer && (s.Format == "int32" || s.Format == "int64") {
		p.intFormat = s.Format
		p.lo, p.hi, p.loLit, p.hiLit = math.MinInt32, math.MaxInt32, "-2147483648.0", "2147483647.0"
		if s.Format == "int64" {
			p.lo, p.hi, p.loLit, p.hiLit = math.MinInt64, math.MaxInt64, "-9223372036854775808.0", "9223372036854775807.0"
		}
		p.formatMsg = "must fit in a signed " + strings.TrimPrefix(s.Format, "int") + "-bit integer (format " + s.Format + ")"
	}
	if s.Min != nil {
		p.min = bound{true, literalFloat(*s.Min), floatLit(*s.Min), s.ExclusiveMin.IsTrue(), "minimum", "must be at least " + strconv.FormatFloat(*s.Min, 'g', -1, 64)}
		if p.min.exclusive {
			p.min.keyword, p.min.msg = "exclusiveMinimum", "must be greater than "+strconv.FormatFloat(*s.Min, 'g', -1, 64)
		}
	}
	if s.Max != nil {
		p.max = bound{true, literalFloat(*s.Max), floatLit(*s.Max), s.ExclusiveMax.IsTrue(), "maximum", "must be at most " + strconv.FormatFloat(*s.Max, 'g', -1, 64)}
		if p.max.exclusive {
			p.max.keyword, p.max.msg = "exclusiveMaximum", "must be less than "+strconv.FormatFloat(*s.Max, 'g', -1, 64)
		}
	}
	return p
}

// below and above are the bound tests: the value breaks the bound.
func (b bound) below(f float64) bool { return f < b.v || b.exclusive && f == b.v }
func (b bound) above(f float64) bool { return f > b.v || b.exclusive && f == b.v }

// literalFloat is the value of floatLit(f) as the Go compiler reads it.
func literalFloat(f float64) float64 {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return 0
	}
	return f
}

// enumPlan is the enum test of a value of JSON type jt (string, number,
// boolean; object and array compare with the structured values).
type enumPlan struct {
	msg     string
	never   bool // no enum value of this type: every value fails
	strs    []string
	nums    []float64 // as compared: floatLit's values
	numLits []string  // floatLit
	bools   []bool
}

func (g *Generator) enumPlan(s *openapi3.Schema, jt string) *enumPlan {
	if len(s.Enum) == 0 {
		return nil
	}
	e := &enumPlan{msg: "must be one of " + enumList(s.Enum)}
	switch jt {
	case "string":
		for _, v := range s.Enum {
			if str, ok := v.(string); ok && !slices.Contains(e.strs, str) {
				e.strs = append(e.strs, str)
			}
		}
		e.never = len(e.strs) == 0
	case "number":
		for _, v := range s.Enum {
			switch v.(type) {
			case float64, int, int64:
				e.nums = append(e.nums, literalFloat(toFloat(v)))
				e.numLits = append(e.numLits, floatLit(toFloat(v)))
			}
		}
		e.never = len(e.nums) == 0
	case "boolean":
		for _, v := range s.Enum {
			if b, ok := v.(bool); ok {
				e.bools = append(e.bools, b)
			}
		}
		e.never = len(e.bools) == 0
	default:
		e.never = len(g.structuredEnumValues(s)) == 0
	}
	return e
}

// sortedKeys are m's keys in order: generated code and reports must not
// depend on map order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
