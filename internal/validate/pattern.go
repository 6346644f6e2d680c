package validate

import "unicode/utf8"

// DFA is a pattern compiled by the generator into a deterministic automaton
// over ASCII bytes, with every non-ASCII code point folded into one symbol
// (128). It matches exactly what Go's regexp Match would, without regexp's
// per-call machinery.
type DFA struct {
	Class [129]uint8 // symbol -> column
	Cols  int        // columns per state
	Next  []uint8    // Next[state*Cols+column]; state 0 is the start
	Flags []uint8    // per state: Accept, AtEnd, Dead
	Empty bool       // the verdict on the empty string
}

// State flags of a DFA.
const (
	Accept = 1 << iota // a match has been found: the whole string matches
	AtEnd              // the string matches if it ends in this state
	Dead               // no match can follow
)

// Match reports whether b (valid UTF-8) holds a match of the pattern.
func (d *DFA) Match(b []byte) bool {
	if len(b) == 0 {
		return d.Empty
	}
	next, class, flags, cols := d.Next, &d.Class, d.Flags, d.Cols
	st := 0
	if flags[0]&Accept != 0 {
		return true
	}
	for i := 0; i < len(b); {
		c := b[i]
		sym := int(c)
		if c < utf8.RuneSelf {
			i++
		} else {
			_, n := utf8.DecodeRune(b[i:])
			i += n
			sym = 128
		}
		st = int(next[st*cols+int(class[sym])])
		if f := flags[st]; f&(Accept|Dead) != 0 {
			return f&Accept != 0
		}
	}
	return flags[st]&AtEnd != 0
}
