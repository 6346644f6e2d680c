package codegen

import (
	"fmt"
	"github.com/orderguard/orderguard/internal/validate"
	"regexp/syntax"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// dfa is a pattern compiled to a deterministic automaton; see validate.DFA.
type dfa struct {
	class  [129]uint8
	cols   int
	next   []uint8
	accept []bool
	atEnd  []bool
	dead   []bool
	empty  bool
}

const maxDFAStates = 200

// compileDFA turns a Go regexp into a DFA when it can be done exactly: no
// case folding, no word boundaries or multi-line anchors, and every character
// class treats all non-ASCII code points alike. Otherwise ok is false and the
// generated code uses regexp.
func compileDFA(pattern string) (d *dfa, ok bool) {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil, false
	}
	prog, err := syntax.Compile(re.Simplify())
	if err != nil {
		return nil, false
	}
	// Symbol membership per rune instruction.
	match := make(map[int][129]bool)
	for pc := range prog.Inst {
		in := &prog.Inst[pc]
		switch in.Op {
		case syntax.InstRune, syntax.InstRune1, syntax.InstRuneAny, syntax.InstRuneAnyNotNL:
			if in.Op == syntax.InstRune && syntax.Flags(in.Arg)&syntax.FoldCase != 0 {
				return nil, false
			}
			var m [129]bool
			for c := 0; c < 128; c++ {
				m[c] = in.MatchRune(rune(c))
			}
			lo, _, all := nonASCII(in)
			if !all {
				return nil, false
			}
			m[128] = lo
			match[pc] = m
		case syntax.InstEmptyWidth:
			switch syntax.EmptyOp(in.Arg) {
			case syntax.EmptyBeginText, syntax.EmptyEndText:
			default:
				return nil, false
			}
		}
	}
	type flags struct{ begin, end bool }
	// closure follows empty transitions; position assertions that do not hold
	// under f stay in the set, pending.
	closure := func(seed []int, f flags) []int {
		seen := map[int]bool{}
		var out []int
		var visit func(pc int)
		visit = func(pc int) {
			if seen[pc] {
				return
			}
			seen[pc] = true
			in := &prog.Inst[pc]
			switch in.Op {
			case syntax.InstAlt, syntax.InstAltMatch:
				visit(int(in.Out))
				visit(int(in.Arg))
			case syntax.InstNop, syntax.InstCapture:
				visit(int(in.Out))
			case syntax.InstEmptyWidth:
				op := syntax.EmptyOp(in.Arg)
				if (op == syntax.EmptyBeginText && f.begin) || (op == syntax.EmptyEndText && f.end) {
					visit(int(in.Out))
				} else {
					out = append(out, pc)
				}
			case syntax.InstFail:
			default:
				out = append(out, pc)
			}
		}
		for _, pc := range seed {
			visit(pc)
		}
		slices.Sort(out)
		return out
	}
	hasMatch := func(set []int) bool {
		for _, pc := range set {
			if prog.Inst[pc].Op == syntax.InstMatch {
				return true
			}
		}
		return false
	}
	// Unanchored search: the pattern may start at any position.
	startMid := []int{prog.Start}
	key := func(set []int) string { return fmt.Sprint(set) }
	states := [][]int{closure([]int{prog.Start}, flags{begin: true})}
	index := map[string]int{key(states[0]): 0}
	var rows [][129]int
	for i := 0; i < len(states); i++ {
		if len(states) > maxDFAStates {
			return nil, false
		}
		var row [129]int
		for sym := 0; sym < 129; sym++ {
			var seed []int
			for _, pc := range states[i] {
				if m, ok := match[pc]; ok && m[sym] {
					seed = append(seed, int(prog.Inst[pc].Out))
				}
			}
			seed = append(seed, startMid...)
			next := closure(seed, flags{})
			k := key(next)
			j, ok := index[k]
			if !ok {
				j = len(states)
				states = append(states, next)
				index[k] = j
			}
			row[sym] = j
		}
		rows = append(rows, row)
	}
	if len(states) > 255 {
		return nil, false
	}
	d = &dfa{}
	// Columns: symbols whose transitions agree everywhere share one.
	colOf := map[string]int{}
	var cols [][]int
	for sym := 0; sym < 129; sym++ {
		col := make([]int, len(rows))
		for st := range rows {
			col[st] = rows[st][sym]
		}
		k := fmt.Sprint(col)
		c, ok := colOf[k]
		if !ok {
			c = len(cols)
			colOf[k] = c
			cols = append(cols, col)
		}
		d.class[sym] = uint8(c)
	}
	d.cols = len(cols)
	for st := range rows {
		for c := range cols {
			d.next = append(d.next, uint8(cols[c][st]))
		}
		set := states[st]
		d.accept = append(d.accept, hasMatch(set))
		d.atEnd = append(d.atEnd, hasMatch(closure(set, flags{end: true})))
	}
	// Dead: no accepting state is reachable.
	reach := make([]bool, len(rows))
	for changed := true; changed; {
		changed = false
		for st := range rows {
			if reach[st] {
				continue
			}
			if d.accept[st] || d.atEnd[st] {
				reach[st], changed = true, true
				continue
			}
			for c := range cols {
				if reach[cols[c][st]] {
					reach[st], changed = true, true
					break
				}
			}
		}
	}
	for st := range rows {
		d.dead = append(d.dead, !reach[st])
	}
	d.empty = hasMatch(closure([]int{prog.Start}, flags{begin: true, end: true}))
	return d, true
}

// nonASCII says whether the instruction matches the lowest and the highest
// non-ASCII code points and whether it treats all of them alike.
func nonASCII(in *syntax.Inst) (lo, hi, all bool) {
	lo, hi = in.MatchRune(0x80), in.MatchRune(unicode.MaxRune)
	switch in.Op {
	case syntax.InstRuneAny, syntax.InstRuneAnyNotNL:
		return true, true, true
	case syntax.InstRune1:
		return false, false, in.Rune[0] < 0x80
	}
	// Ranges: all non-ASCII alike iff they cover none of 0x80.. or all of it.
	r := in.Rune
	if len(r) == 1 {
		return lo, hi, r[0] < 0x80
	}
	var covered []rune
	for i := 0; i+1 < len(r); i += 2 {
		a, b := r[i], r[i+1]
		if b < 0x80 {
			continue
		}
		covered = append(covered, max(a, 0x80), b)
	}
	if len(covered) == 0 {
		return false, false, true
	}
	// Merge adjacent ranges and check they span 0x80..MaxRune.
	at := rune(0x80)
	for i := 0; i+1 < len(covered); i += 2 {
		if covered[i] > at {
			return lo, hi, false
		}
		at = max(at, covered[i+1]+1)
	}
	return lo, hi, at > unicode.MaxRune
}

// goLiteral prints the DFA as a validate.DFA composite literal.
func (d *dfa) goLiteral() string {
	var b strings.Builder
	b.WriteString("validate.DFA{Class: [129]uint8{")
	for i, c := range d.class {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprint(&b, c)
	}
	fmt.Fprintf(&b, "}, Cols: %d, Next: []uint8{", d.cols)
	for i, c := range d.next {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprint(&b, c)
	}
	b.WriteString("}, Flags: []uint8{")
	for i := range d.accept {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprint(&b, d.flags(i))
	}
	fmt.Fprintf(&b, "}, Empty: %v}", d.empty)
	return b.String()
}

// flags packs state i's verdicts as validate.DFA wants them.
func (d *dfa) flags(i int) uint8 {
	var f uint8
	if d.accept[i] {
		f |= validate.Accept
	}
	if d.atEnd[i] {
		f |= validate.AtEnd
	}
	if d.dead[i] {
		f |= validate.Dead
	}
	return f
}

func isValidUTF8(s string) bool { return utf8.ValidString(s) }

// runtime is the DFA as the value validate.DFA matches with: the compiler of
// internal/codegen (compile.go) uses it directly, goLiteral prints the same fields.
func (d *dfa) runtime() *validate.DFA {
	r := &validate.DFA{Class: d.class, Cols: d.cols, Next: d.next, Empty: d.empty}
	for i := range d.accept {
		r.Flags = append(r.Flags, d.flags(i))
	}
	return r
}
