package validate

import (
	"math"
	"strconv"
)

// Limits bound the shape of a document beyond strict syntax: the proxy's
// --max-depth, --max-string and --max-array. Zero turns a limit off. The
// scanner checks them as it walks, so a body is read once whether or not
// they are on; off, they cost a compare per string and per array element
// against a bound no document reaches.
type Limits struct {
	MaxDepth  int // objects and arrays nested deeper than this
	MaxString int // a string (value or member name) longer than this many bytes as sent: escapes count as written
	MaxArray  int // an array with more elements than this
}

// On reports whether any limit is set.
func (l Limits) On() bool { return l.MaxDepth > 0 || l.MaxString > 0 || l.MaxArray > 0 }

// Rules of Breach, named after the flags.
const (
	LimitDepth  = "max-depth"
	LimitString = "max-string"
	LimitArray  = "max-array"
)

// Breach is the first place a document broke one of Report.Limits. The scan
// stops there, as at a syntax fault, and records no violation for it: a
// breach is not a fault of the document against the spec but a refusal of
// the caller's, answered apart (the proxy's json_limit answer).
type Breach struct {
	Rule   string // LimitDepth, LimitString or LimitArray; "" when no limit was broken
	Limit  int    // the limit broken
	Offset int    // the '{' or '[' one level too deep, the string's opening quote, or the ',' before the element one too many
}

// walkDepth is how deep WalkLimits follows nesting at most (when
// --max-depth is off or larger): far past any real body (validators refuse
// more than DefaultMaxDepth), and small enough that a hostile body cannot
// grow the stacks much (a frame is some 50 bytes).
const walkDepth = 1024

// WalkLimits checks body for strict syntax and r.Limits only: AnyJSON for a
// body no validator reads (a route outside the spec, mode off). Nesting is
// followed as deep as Limits.MaxDepth allows, up to walkDepth, not
// DefaultMaxDepth; past walkDepth the walk stops as at a syntax fault. r.Breach says whether a limit was broken. A syntax fault
// ends the walk where it is found (r.Violations holds it): bytes that are not
// JSON are only refused for a breach before that point.
func WalkLimits(body []byte, r *Report) {
	s := r.Begin(body)
	s.walking, s.depthCap = true, walkDepth
	if l := r.Limits.MaxDepth; l > 0 && l < walkDepth {
		s.depthCap = l
	}
	s.Skip()
	s.End()
}

// setLimits turns r.Limits into the bounds the hot paths compare with: a
// limit that is off is a bound no document reaches.
func (s *Scanner) setLimits(l Limits) {
	s.depthCap, s.maxString, s.maxArray = s.MaxDepth, math.MaxInt, math.MaxInt32
	if l.MaxDepth > 0 && l.MaxDepth < s.depthCap {
		s.depthCap = l.MaxDepth
	}
	if l.MaxString > 0 {
		s.maxString = l.MaxString
	}
	if l.MaxArray > 0 {
		s.maxArray = int32(min(l.MaxArray, math.MaxInt32))
	}
}

// breach stops the scan at a broken limit.
func (s *Scanner) breach(at int, rule string, limit int) {
	if s.failed {
		return
	}
	s.r.Breach = Breach{Rule: rule, Limit: limit, Offset: at}
	s.failed = true
}

// tooDeep stops the scan at an object or array opening at at, nested one
// level past depthCap: a breach of Limits.MaxDepth, or the scanner's own
// nesting bound (a syntax fault).
func (s *Scanner) tooDeep(at int) {
	if l := s.r.Limits.MaxDepth; l > 0 && len(s.frames) >= l {
		s.breach(at, LimitDepth, l)
		return
	}
	if !s.walking && s.r.Limits.On() {
		s.deep = true // End walks on for the limits: see walkPastDepth
	}
	s.syntax(at, "max-depth", "objects and arrays nest deeper than "+strconv.Itoa(s.depthCap)+" levels")
}

// stringFault records a fault inside the string whose contents start at
// start, found with i bytes of it read: a string already longer than
// Limits.MaxString breaks it whatever follows, else the fault stands.
func (s *Scanner) stringFault(start, i, at int, rule, msg string) {
	if i-start > s.maxString {
		s.breach(start-1, LimitString, s.maxString)
		return
	}
	s.syntax(at, rule, msg)
}

// walkPastDepth runs after a validator stopped at its own nesting bound
// (DefaultMaxDepth) with limits on that allow deeper nesting or do not bound
// it: the validators refuse such a body, but a limit broken anywhere in it is
// refused first, as when the limits were checked before validation. The
// walk keeps r.Violations as the validator left them.
func (s *Scanner) walkPastDepth() {
	r, n, vstart := s.r, len(s.r.Violations), s.vstart
	WalkLimits(s.buf, r)
	r.Violations = r.Violations[:n]
	s.vstart, s.failed, s.deep = vstart, true, false
}
