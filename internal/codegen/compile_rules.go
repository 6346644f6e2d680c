package codegen

import (
	"fmt"
	"math/bits"
	"strconv"
	"strings"

	"github.com/orderguard/orderguard/internal/validate"
)

// The business rules of one object schema as tables the compiled
// validator runs when the object closes: objRules.end evaluated rather than
// printed. Conditions, masks, facts and messages come from the same
// analysis (objectRules, factBits, sums, messageOf).

type ruleSet []ruleCheck

// ruleCheck is one rule entry of x-orderguard-rules.
type ruleCheck struct {
	ats []atPattern // the object is at one of these; none: anywhere

	present, absent uint64 // when.present (some), when.absent (none)
	member          *memberCond
	setFact         int // set: the fact's bit, -1 none
	sumAdds         []sumAdd
	steps           []ruleStep
}

type atPattern struct {
	depth int
	pat   validate.PathPattern
}

type memberCond struct {
	mask          uint64
	span          int
	in, notIn     []string
	ignoreCase    bool
	hasIn, hasOut bool
}

// spanRef is validate.Present(pres&mask != 0, sp[span]), or no span.
type spanRef struct {
	none bool
	mask uint64
	span int
}

func (r spanRef) get(st *objState) validate.Span {
	if r.none {
		return validate.Span{}
	}
	return validate.Present(st.pres&r.mask != 0, st.sp[r.span])
}

type sumAdd struct {
	idx      int
	val, cur spanRef
}

type stepKind uint8

const (
	stepRequire     stepKind = iota // member mask absent: report
	stepRequireItem                 // anyItem: present sets fact, else report with None
	stepRequireAny
	stepExactlyOne
	stepSumEquals
	stepMaxDecimals
)

type ruleStep struct {
	kind      stepKind
	mask      uint64
	child, id string
	sev       validate.Severity
	msg, many string
	cond      validate.FactCond
	fact      uint
	span      int // maxDecimals, sumEquals: the member's value span
	n         int // maxDecimals: most decimals
	sum       int
	cur       spanRef
}

// rules is objRules.end as tables.
func (c *compiler) rules(o *objRules) ruleSet {
	g := c.g
	var out ruleSet
	for _, cr := range o.rules {
		r := cr.spec
		if r.GuardCardNumbers && r.Set == "" && r.SumInto == nil && r.SumEquals == nil && len(r.Require)+len(r.RequireAny)+len(r.ExactlyOne)+len(r.MaxDecimals) == 0 {
			continue
		}
		rc := ruleCheck{setFact: -1}
		for _, a := range r.At {
			rc.ats = append(rc.ats, atPattern{depth: strings.Count(a, "/"), pat: parsePattern(a)})
		}
		mask := func(names []string) uint64 {
			var m uint64
			for _, n := range names {
				m |= 1 << o.pres[n]
			}
			return m
		}
		var fc struct{ all, none, any uint64 }
		if w := r.When; w != nil {
			rc.present, rc.absent = mask(w.Present), mask(w.Absent)
			if w.Member != "" {
				rc.member = &memberCond{mask: mask([]string{w.Member}), span: o.value[w.Member], in: w.In, notIn: w.NotIn,
					ignoreCase: w.IgnoreCase, hasIn: len(w.In) > 0, hasOut: len(w.NotIn) > 0}
			}
			fc.all, fc.none, fc.any = g.whenFacts(w)
		}
		cond := func(extraNone uint64) validate.FactCond {
			return validate.FactCond{All: fc.all, None: fc.none | extraNone, Any: fc.any}
		}
		if r.Set != "" {
			if fc.all|fc.none|fc.any != 0 {
				c.fail(fmt.Errorf("%s: a fact is set from local conditions only (no fact or rootMember in when)", cr.loc))
			}
			rc.setFact = g.factBits[r.Set]
		}
		present := func(m string) spanRef {
			if m == "" {
				return spanRef{none: true}
			}
			return spanRef{mask: mask([]string{m}), span: o.value[m]}
		}
		if sp := r.SumInto; sp != nil {
			for _, f := range sp.fields() {
				rc.sumAdds = append(rc.sumAdds, sumAdd{idx: g.sums[sp.Sum+"/"+f], val: present(f), cur: present(sp.Amounts[f])})
			}
		}
		if r.ID != "" {
			id, sev := r.ID, severity(g.sevOf(r.ID))
			for _, m := range r.Require {
				msg := g.messageOf(id, strconv.Quote(m)+" is missing")
				if r.AnyItem {
					f := uint(g.factBits[anyItemFact(r, m)])
					rc.steps = append(rc.steps, ruleStep{kind: stepRequireItem, mask: mask([]string{m}), child: m, id: id, sev: sev, msg: msg, cond: cond(1 << f), fact: f})
					continue
				}
				rc.steps = append(rc.steps, ruleStep{kind: stepRequire, mask: mask([]string{m}), child: m, id: id, sev: sev, msg: msg, cond: cond(0)})
			}
			if len(r.RequireAny) > 0 {
				rc.steps = append(rc.steps, ruleStep{kind: stepRequireAny, mask: mask(r.RequireAny), id: id, sev: sev,
					msg: g.messageOf(id, "none of "+strings.Join(r.RequireAny, ", ")+" is present"), cond: cond(0)})
			}
			if len(r.ExactlyOne) > 0 {
				rc.steps = append(rc.steps, ruleStep{kind: stepExactlyOne, mask: mask(r.ExactlyOne), id: id, sev: sev,
					msg:  g.messageOf(id, "none of "+strings.Join(r.ExactlyOne, ", ")+" is present"),
					many: g.messageOf(id, "more than one of "+strings.Join(r.ExactlyOne, ", ")+" is present"), cond: cond(0)})
			}
			if sp := r.SumEquals; sp != nil {
				for _, f := range sp.fields() {
					rc.steps = append(rc.steps, ruleStep{kind: stepSumEquals, mask: mask([]string{f}), child: f, id: id, sev: sev,
						msg: g.messageOf(id, fmt.Sprintf("%q differs from the sum of the %s amounts", f, sp.Sum)), cond: cond(0),
						span: o.value[f], sum: g.sums[sp.Sum+"/"+f], cur: present(sp.Amounts[f])})
				}
			}
			for _, m := range sortedKeys(r.MaxDecimals) {
				n := r.MaxDecimals[m]
				rc.steps = append(rc.steps, ruleStep{kind: stepMaxDecimals, mask: mask([]string{m}), child: m, id: id, sev: sev,
					msg: g.messageOf(id, fmt.Sprintf("%q has more than %d decimals", m, n)), cond: cond(0), span: o.value[m], n: n})
			}
		}
		out = append(out, rc)
	}
	return out
}

// run checks every rule of a closed object.
func (rs ruleSet) run(sc *validate.Scanner, st *objState) {
	for i := range rs {
		rs[i].run(sc, st)
	}
}

func (rc *ruleCheck) applies(sc *validate.Scanner, st *objState) bool {
	if len(rc.ats) > 0 {
		in := false
		for _, a := range rc.ats {
			if sc.Depth() == a.depth && sc.At(a.pat) {
				in = true
				break
			}
		}
		if !in {
			return false
		}
	}
	if rc.present != 0 && st.pres&rc.present == 0 {
		return false
	}
	if rc.absent != 0 && st.pres&rc.absent != 0 {
		return false
	}
	if m := rc.member; m != nil {
		if m.hasIn && !(st.pres&m.mask != 0 && matchValue(sc.Text(st.sp[m.span]), m.in, m.ignoreCase)) {
			return false
		}
		if m.hasOut && !(st.pres&m.mask != 0 && !matchValue(sc.Text(st.sp[m.span]), m.notIn, m.ignoreCase)) {
			return false
		}
	}
	return true
}

func (rc *ruleCheck) run(sc *validate.Scanner, st *objState) {
	if !rc.applies(sc, st) {
		return
	}
	if rc.setFact >= 0 {
		sc.SetFact(uint(rc.setFact))
	}
	for _, a := range rc.sumAdds {
		sc.SumAdd(a.idx, a.val.get(st), a.cur.get(st))
	}
	at := st.at
	for i := range rc.steps {
		p := &rc.steps[i]
		switch p.kind {
		case stepRequire:
			if st.pres&p.mask == 0 {
				sc.RuleAt(at, p.child, p.id, p.sev, p.msg, p.cond)
			}
		case stepRequireItem:
			if st.pres&p.mask != 0 {
				sc.SetFact(p.fact)
			} else {
				sc.RuleAt(at, p.child, p.id, p.sev, p.msg, p.cond)
			}
		case stepRequireAny:
			if st.pres&p.mask == 0 {
				sc.RuleAt(at, "", p.id, p.sev, p.msg, p.cond)
			}
		case stepExactlyOne:
			switch bits.OnesCount64(st.pres & p.mask) {
			case 1:
			case 0:
				sc.RuleAt(at, "", p.id, p.sev, p.msg, p.cond)
			default:
				sc.RuleAt(at, "", p.id, p.sev, p.many, p.cond)
			}
		case stepSumEquals:
			if st.pres&p.mask != 0 {
				sc.SumEquals(st.sp[p.span].Start, p.child, p.sum, st.sp[p.span], p.cur.get(st), p.id, p.sev, p.msg, p.cond)
			}
		case stepMaxDecimals:
			if st.pres&p.mask != 0 && sc.Decimals(st.sp[p.span]) > p.n {
				sc.RuleAt(st.sp[p.span].Start, p.child, p.id, p.sev, p.msg, p.cond)
			}
		}
	}
}
