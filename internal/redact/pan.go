package redact

import "unsafe"

// Span is the half-open byte range [Start, End) of a card number in the
// scanned input, separators included.
type Span struct{ Start, End int }

const (
	minDigits = 13
	maxDigits = 19
)

// FindPANs returns the spans of Luhn-valid 13–19-digit card numbers in b.
//
// A candidate is a maximal run of digits in which single spaces or dashes
// may separate digits, and which is not the fraction of a decimal number. A run with no separators is a card number only as a
// whole (a 25-digit identifier holds many Luhn-valid 16-digit windows; they
// are not cards). A run with separators is tried group by group: any
// sequence of consecutive groups with 13–19 digits in total, so
// "order 12 4111 1111 1111 1111" finds the card after the 12.
func FindPANs(b []byte) []Span {
	var out []Span
	scan(b, func(s Span) bool { out = append(out, s); return true })
	return out
}

// ContainsPAN reports whether b holds a card number.
func ContainsPAN(b []byte) bool {
	found := false
	scan(b, func(Span) bool { found = true; return false })
	return found
}

// Mask returns a copy of b with every card number's digits masked with '*'
// but its first six and last four, the most PCI DSS allows to display (the
// issuer's BIN and the digits a customer recognises).
//
// The digits kept can join neighbouring digit groups into a new candidate,
// so Mask repeats until nothing is found; every pass masks at least three
// digits, so it ends.
func Mask(b []byte) []byte {
	out := append([]byte(nil), b...)
	for maskOnce(out) {
	}
	return out
}

// MaskString is s with its card numbers masked as Mask does, and s itself
// (no copy) when it holds none: for order ids, pointers and other tokens
// echoed into logs and answers.
func MaskString(s string) string {
	if !ContainsPAN(unsafe.Slice(unsafe.StringData(s), len(s))) {
		return s
	}
	return string(Mask([]byte(s)))
}

// AppendMasked appends b to dst with its card numbers masked as Mask does;
// without one it is a plain append (no allocation beyond dst's growth).
func AppendMasked(dst, b []byte) []byte {
	if !ContainsPAN(b) {
		return append(dst, b...)
	}
	return append(dst, Mask(b)...)
}

func maskOnce(out []byte) bool {
	masked := false
	scan(out, func(s Span) bool {
		masked = true
		n := 0
		for i := s.Start; i < s.End; i++ {
			if isDigit(out[i]) {
				n++
			}
		}
		k := 0
		for i := s.Start; i < s.End; i++ {
			if !isDigit(out[i]) {
				continue
			}
			if k >= 6 && k < n-4 {
				out[i] = '*'
			}
			k++
		}
		return true
	})
	return masked
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isSep(c byte) bool   { return c == ' ' || c == '-' }

type group struct{ start, end, digits int }

// scan calls found for each card number in b, in order, until found
// returns false.
func scan(b []byte, found func(Span) bool) {
	var groups [maxDigits + 1]group // more groups than that cannot all be used
	for i := 0; i < len(b); {
		if !isDigit(b[i]) {
			i++
			continue
		}
		// The fractional digits of a decimal number (0.0190239999999999 in
		// a metrics scrape) are not a card number; the integer part may be.
		fraction := i >= 2 && b[i-1] == '.' && isDigit(b[i-2])
		// Collect one run: groups of digits joined by single separators.
		n := 0
		all := 0 // groups in the run, even past the array
		j := i
		for {
			start := j
			for j < len(b) && isDigit(b[j]) {
				j++
			}
			if n < len(groups) {
				groups[n] = group{start, j, j - start}
				n++
			}
			all++
			if j+1 < len(b) && isSep(b[j]) && isDigit(b[j+1]) {
				j++
				continue
			}
			break
		}
		if fraction {
			i = j
			continue
		}
		if all == 1 {
			g := groups[0]
			if g.digits >= minDigits && g.digits <= maxDigits && luhn(b[g.start:g.end]) {
				if !found(Span{g.start, g.end}) {
					return
				}
			}
		} else if !scanGroups(b, groups[:n], found) {
			return
		}
		i = j
	}
}

// scanGroups tries every sequence of consecutive groups with 13–19 digits,
// reporting the longest match starting at each group and skipping past it
// so one card is reported once.
func scanGroups(b []byte, gs []group, found func(Span) bool) bool {
	for s := 0; s < len(gs); s++ {
		total := 0
		best := -1
		for e := s; e < len(gs); e++ {
			total += gs[e].digits
			if total > maxDigits {
				break
			}
			if total >= minDigits && luhnGroups(b, gs[s:e+1]) {
				best = e
			}
		}
		if best >= 0 {
			if !found(Span{gs[s].start, gs[best].end}) {
				return false
			}
			s = best
		}
	}
	return true
}

// luhn checks the digits of d (all digits).
func luhn(d []byte) bool {
	sum := 0
	double := false
	for i := len(d) - 1; i >= 0; i-- {
		v := int(d[i] - '0')
		if double {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
		double = !double
	}
	return sum%10 == 0
}

func luhnGroups(b []byte, gs []group) bool {
	sum := 0
	double := false
	for g := len(gs) - 1; g >= 0; g-- {
		for i := gs[g].end - 1; i >= gs[g].start; i-- {
			v := int(b[i] - '0')
			if double {
				v *= 2
				if v > 9 {
					v -= 9
				}
			}
			sum += v
			double = !double
		}
	}
	return sum%10 == 0
}
