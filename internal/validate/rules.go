package validate

// rules is the scanner's state for business rules: document-wide facts set
// while scanning, violations whose condition depends on facts that may come
// later in the document (deferred to End), and the full-card-number guard.
type rules struct {
	facts    uint64
	pending  []pending
	pendPath []seg
	pan      panGuard
	sums     [maxSums]sum
	sumsUsed int // sums[:sumsUsed] may hold values of the last body
}

// maxSums bounds the sums a spec may declare (sumInto/sumEquals).
const maxSums = 16

// sum adds up one amount field over several objects (payment amounts), in
// thousandths, to compare with a total at the end of the document.
type sum struct {
	milli    int64
	n        int
	unusable bool // a summed object lacks the field, or its value is not a plain decimal
	mixed    bool // the summed objects name different currencies
	cur      Span // the currency of the first summed object (raw bytes compared)
	// The total to compare with at the end (SumEquals), and where to report.
	check   bool
	total   int64
	totalOK bool
	tcur    Span
	at      int
	path    [8]seg
	pathN   int
	child   string
	id, msg string
	sev     Severity
	cond    FactCond
}

type pending struct {
	at        int
	path0, n  int // the pointer: pendPath[path0 : path0+n]
	child, id string
	msg       string
	sev       Severity
	cond      FactCond
}

type panGuard struct {
	on, allowNext bool
	id, msg       string
	sev           Severity
}

func (s *Scanner) resetRules() {
	for i := range s.sumsUsed {
		s.sums[i] = sum{}
	}
	s.sumsUsed = 0
	s.facts = 0
	s.pending = s.pending[:0]
	s.pendPath = s.pendPath[:0]
	s.pan = panGuard{}
}

// FactCond is a condition on document facts: every bit of All set, none of
// None, and, when Any is not zero, at least one bit of Any.
type FactCond struct{ All, None, Any uint64 }

func (c FactCond) holds(f uint64) bool {
	return f&c.All == c.All && f&c.None == 0 && (c.Any == 0 || f&c.Any != 0)
}

// SetFact records a document fact (bit i), e.g. "some payment is a card".
func (s *Scanner) SetFact(i uint) { s.facts |= 1 << i }

// Depth is the number of open objects and arrays: 1 inside the top-level object.
func (s *Scanner) Depth() int { return len(s.frames) }

// Span is the raw bytes of one value, from its first byte to past its last.
type Span struct{ Start, End int }

// Text returns the decoded value of the string at sp, or nil when it is not
// a string. It is valid until the next string is decoded.
func (s *Scanner) Text(sp Span) []byte {
	// After a syntax fault a span may hold a broken string: no value then.
	if s.failed || sp.Start < 0 || sp.End > len(s.buf) || sp.End-sp.Start < 2 || s.buf[sp.Start] != '"' || s.buf[sp.End-1] != '"' {
		return nil
	}
	raw := s.buf[sp.Start+1 : sp.End-1]
	for _, c := range raw {
		if c == '\\' {
			s.strbuf = appendUnescaped(s.strbuf[:0], raw)
			return s.strbuf
		}
	}
	return raw
}

// EqualFold compares ASCII case-insensitively.
func EqualFold(b []byte, lit string) bool {
	if len(b) != len(lit) {
		return false
	}
	for i := range len(b) {
		x, y := b[i], lit[i]
		if x|0x20 != y|0x20 || (x|0x20) < 'a' || (x|0x20) > 'z' {
			if x != y {
				return false
			}
		}
	}
	return true
}

// Decimals is the number of digits after the decimal point of the number or
// decimal string at sp; -1 when the value is neither.
func (s *Scanner) Decimals(sp Span) int {
	b := s.buf[sp.Start:sp.End]
	if len(b) >= 2 && b[0] == '"' {
		b = b[1 : len(b)-1]
	}
	// From the end: digits, then the point, a sign or nothing.
	i := len(b) - 1
	for i >= 0 && b[i] >= '0' && b[i] <= '9' {
		i--
	}
	switch {
	case i == len(b)-1:
		return -1 // empty, or not ending in a digit
	case i < 0:
		return 0
	case b[i] == '.':
		for k := i - 1; k >= 0; k-- {
			if (b[k] < '0' || b[k] > '9') && !(k == 0 && b[k] == '-') {
				return -1
			}
		}
		return len(b) - i - 1
	case i == 0 && b[0] == '-':
		return 0
	}
	return -1 // an exponent or a stray byte
}

// PathPattern matches a JSON pointer: one entry per token, each a list of
// accepted names; "*" accepts any token.
type PathPattern [][]string

// At reports whether the current pointer matches p. Rules call it when an
// object has closed: then every open frame is at a member or element, so the
// depth is the number of frames; tokens are compared from the last, the most
// selective, back.
func (s *Scanner) At(p PathPattern) bool {
	if len(s.frames) != len(p) {
		return false
	}
	for i := len(p) - 1; i >= 0; i-- {
		fr := &s.frames[i]
		if fr.n == 0 || !s.tokenIn(fr.cur, p[i]) {
			return false
		}
	}
	return true
}

func (s *Scanner) tokenIn(seg seg, alts []string) bool {
	for _, a := range alts {
		if a == "*" {
			return true
		}
		if seg.isIndex {
			continue
		}
		var name []byte
		if seg.arena {
			name = s.arena[seg.off : seg.off+seg.n]
		} else {
			name = s.buf[seg.off : seg.off+seg.n]
		}
		if string(name) == a {
			return true
		}
	}
	return false
}

// RuleAt reports rule id at the current object (child names the member
// at fault, "" for the object itself), or defers it to the end of the
// document when cond depends on facts not yet known.
func (s *Scanner) RuleAt(at int, child, id string, sev Severity, msg string, cond FactCond) {
	if cond == (FactCond{}) {
		s.Rule(at, child, id, sev, msg)
		return
	}
	p0 := len(s.pendPath)
	s.pendPath = s.appendPath(s.pendPath)
	s.pending = append(s.pending, pending{at: at, path0: p0, n: len(s.pendPath) - p0, child: child, id: id, msg: msg, sev: sev, cond: cond})
}

// flushDeferred reports the deferred rule violations whose condition holds.
func (s *Scanner) flushDeferred() {
	for _, p := range s.pending {
		if !p.cond.holds(s.facts) {
			continue
		}
		sev, on := s.severity(p.id, p.sev)
		if !on {
			continue
		}
		s.r.Violations = append(s.r.Violations, Violation{
			Pointer: s.pointerOf(s.pendPath[p.path0:p.path0+p.n], p.child), Kind: KindRule, Rule: p.id,
			Message: p.msg, Offset: p.at, Severity: sev,
		})
	}
}

// GuardCardNumbers turns on the full-card-number guard for the rest of the
// document: every string that reads as a card number (13 to 19 digits,
// single spaces or dashes allowed between them, passing the Luhn check) is
// a violation of rule id, unless the validator called AllowCardNumber just
// before it.
func (s *Scanner) GuardCardNumbers(id string, sev Severity, msg string) {
	s.pan = panGuard{on: true, id: id, sev: sev, msg: msg}
}

// AllowCardNumber exempts the next string: a field meant for a full card number.
func (s *Scanner) AllowCardNumber() { s.pan.allowNext = true }

// panCandidate is the quick test before the Luhn check: a card number is 13
// to 37 bytes (digits and separators) and starts with a digit.
func panCandidate(v []byte) bool { return len(v) >= 13 && len(v) <= 37 && v[0]-'0' <= 9 }

func (s *Scanner) panCheck(at int, v []byte) {
	if s.pan.allowNext {
		s.pan.allowNext = false
		return
	}
	if len(v) < 13 || len(v) > 37 || v[0] < '0' || v[0] > '9' || !IsCardNumber(v) {
		return
	}
	s.Rule(at, "", s.pan.id, s.pan.sev, s.pan.msg)
}

// panCheckName reports the current member's name when it reads as a card
// number, at the name, with the name as the last token of the pointer
// (masked there, as every pointer is).
func (s *Scanner) panCheckName() {
	if !IsCardNumber(s.key) {
		return
	}
	s.Rule(s.keyAt, "", s.pan.id, s.pan.sev, s.pan.msg)
}

// numberCandidate is the quick test of a JSON number before the Luhn check:
// 15 to 19 bytes, all digits, the first one 2 to 6. Card numbers as JSON
// numbers are integers of the major networks (2 and 5 Mastercard, 3 Amex,
// JCB and Diners, 4 Visa, 6 Discover and UnionPay); shorter numbers and
// those starting with 1 are left alone because epoch times in milliseconds
// (13 digits), microseconds and nanoseconds (16 and 19 digits, 1… until 2033)
// and 13-digit merchant ids are everyday numbers in Forter bodies, and one in
// ten passes the Luhn check.
func numberCandidate(v []byte) bool {
	return len(v) >= 15 && len(v) <= 19 && v[0] >= '2' && v[0] <= '6'
}

// isCardNumberValue reports whether a number that passed numberCandidate is
// all digits and passes the Luhn check.
func isCardNumberValue(v []byte) bool {
	for _, c := range v {
		if c < '0' || c > '9' {
			return false
		}
	}
	return IsCardNumber(v)
}

func (s *Scanner) panCheckNumber(at int, v []byte) {
	if s.pan.allowNext {
		s.pan.allowNext = false
		return
	}
	if isCardNumberValue(v) {
		s.Rule(at, "", s.pan.id, s.pan.sev, s.pan.msg)
	}
}

// IsCardNumber reports whether v is 13 to 19 digits, with single spaces or
// dashes allowed between digits, that pass the Luhn check.
func IsCardNumber(v []byte) bool {
	var d [19]byte
	n := 0
	for i, c := range v {
		switch {
		case c >= '0' && c <= '9':
			if n == len(d) {
				return false
			}
			d[n] = c - '0'
			n++
		case (c == ' ' || c == '-') && i > 0 && i < len(v)-1 && v[i-1] >= '0' && v[i-1] <= '9':
		default:
			return false
		}
	}
	if n < 13 {
		return false
	}
	sum := 0
	for i := 0; i < n; i++ {
		x := int(d[n-1-i])
		if i%2 == 1 {
			x *= 2
			if x > 9 {
				x -= 9
			}
		}
		sum += x
	}
	return sum%10 == 0
}

// milli reads a plain decimal (string or number) in thousandths.
func (s *Scanner) milli(sp Span) (int64, bool) {
	b := s.buf[sp.Start:sp.End]
	if len(b) >= 2 && b[0] == '"' {
		b = b[1 : len(b)-1]
	}
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var v int64
	frac := -1
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			if frac >= 0 {
				frac++
				if frac > 3 {
					return 0, false
				}
			}
			v = v*10 + int64(c-'0')
		case c == '.' && frac < 0:
			frac = 0
		default:
			return 0, false
		}
	}
	for frac = max(frac, 0); frac < 3; frac++ {
		v *= 10
	}
	if neg {
		v = -v
	}
	return v, true
}

// rawEqual compares the raw bytes of two spans (currency codes: plain ASCII).
func (s *Scanner) rawEqual(a, b Span) bool {
	return string(s.buf[a.Start:a.End]) == string(s.buf[b.Start:b.End])
}

// SumAdd adds the amount at val (currency at cur, or none) to sum i; a
// missing amount (val empty) makes the sum unusable.
func (s *Scanner) SumAdd(i int, val, cur Span) {
	s.sumsUsed = max(s.sumsUsed, i+1)
	sm := &s.sums[i]
	if val.End <= val.Start {
		sm.unusable = true
		return
	}
	v, ok := s.milli(val)
	if !ok {
		sm.unusable = true
		return
	}
	sm.milli += v
	switch {
	case sm.n == 0:
		sm.cur = cur
	case (cur.End > cur.Start) != (sm.cur.End > sm.cur.Start) || !s.rawEqual(cur, sm.cur):
		sm.mixed = true
	}
	sm.n++
}

// SumEquals checks, at the end of the document, that sum i equals the total
// at val (currency at cur): a violation of rule id at child otherwise. Sums
// that are unusable, mixed or empty are not compared.
func (s *Scanner) SumEquals(at int, child string, i int, val, cur Span, id string, sev Severity, msg string, cond FactCond) {
	if val.End <= val.Start {
		return
	}
	s.sumsUsed = max(s.sumsUsed, i+1)
	sm := &s.sums[i]
	sm.check, sm.at, sm.child, sm.id, sm.msg, sm.sev, sm.cond, sm.tcur = true, at, child, id, msg, sev, cond, cur
	sm.total, sm.totalOK = s.milli(val)
	sm.pathN = 0
	for f := range s.frames {
		if s.frames[f].n > 0 && sm.pathN < len(sm.path) {
			sm.path[sm.pathN] = s.frames[f].cur
			sm.pathN++
		}
	}
}

// flushSums reports the totals that differ from their sums.
func (s *Scanner) flushSums() {
	for i := range s.sumsUsed {
		sm := &s.sums[i]
		if !sm.check || !sm.totalOK || sm.n == 0 || sm.unusable || sm.mixed || sm.milli == sm.total || !sm.cond.holds(s.facts) {
			continue
		}
		if (sm.tcur.End > sm.tcur.Start) != (sm.cur.End > sm.cur.Start) || !s.rawEqual(sm.tcur, sm.cur) {
			continue // another currency
		}
		sev, on := s.severity(sm.id, sm.sev)
		if !on {
			continue
		}
		s.r.Violations = append(s.r.Violations, Violation{
			Pointer: s.pointerOf(sm.path[:sm.pathN], sm.child), Kind: KindRule, Rule: sm.id,
			Message: sm.msg, Offset: sm.at, Severity: sev,
		})
	}
}

// Present is sp when ok, else the empty span (a missing or null member).
func Present(ok bool, sp Span) Span {
	if ok {
		return sp
	}
	return Span{}
}
