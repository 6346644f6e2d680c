package validate

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"unicode/utf8"
	"unsafe"

	"github.com/orderguard/orderguard/internal/redact"
)

// MaxBody is the largest document the scanner reads.
const MaxBody = math.MaxInt32

// DefaultMaxDepth is the nesting limit of objects and arrays: deeper documents
// are refused so that a hostile body cannot grow the scanner's stacks unboundedly.
const DefaultMaxDepth = 64

// seg is one step of the current JSON pointer: a member name (a span of the
// body or of the key arena) or an array index.
type seg struct {
	off, n  int32 // the name's span; off is the index when isIndex
	isIndex bool
	arena   bool
}

// frame is one open object or array.
type frame struct {
	start    int32  // offset of '{' or '['
	n        int32  // members or elements seen so far
	keyBase  int32  // first entry of keys belonging to this object
	unknown  int32  // unknown member names so far
	bulkFrom int32  // offset of the first name checked in bulk at the close, 0 if none
	names    uint64 // one bit per unknown name's hash mod 64: a name whose bit is clear is new
	object   bool
	cur      seg // the current member's name or element's index (when n > 0)
}

// keyRef remembers a member name of an open object for duplicate detection.
type keyRef struct {
	off, n int32
	at     int32 // offset of the name's opening quote
	hash   uint32
	arena  bool
}

// linearKeys is how many unknown member names of one object are checked for
// duplicates one by one; past it, the object's names are sorted and checked
// when it closes, so that a hostile object with many names costs n log n.
const linearKeys = 64

// Scanner walks one JSON document strictly (RFC 8259) and tracks where it is:
// the byte offset and the JSON pointer. Generated validators drive it value by
// value; it records syntax faults itself and lets the validator record schema
// and rule faults. After the first syntax fault it stops: every method then
// returns at once, so a broken document costs no more than its valid prefix.
type Scanner struct {
	buf      []byte
	pos      int
	r        *Report
	failed   bool
	MaxDepth int // nesting bound (a syntax fault past it), read by Begin; 0 is DefaultMaxDepth

	frames []frame
	keys   []keyRef
	arena  []byte // decoded member names that held escapes
	strbuf []byte // the decoded value of the last string that held escapes

	fastLevels []fastLevel // skipFast's stacks, kept to be reused
	fastNames  []fastName
	fastMiss   int // where skipFast last gave up (-1: not yet)

	keyAt  int    // the offset of its opening quote
	vstart int    // the first violation of this body in r.Violations
	key    []byte // the decoded name of the current member

	dupID  string   // the rule id duplicate names are reported under
	dupSev Severity // its default severity in this document; see DuplicateKeys

	// The bounds of Report.Limits the hot paths compare with (see
	// setLimits): off, each is one no document reaches.
	depthCap  int   // objects and arrays nest at most this deep: MaxDepth or Limits.MaxDepth
	maxString int   // bytes of one string as written
	maxArray  int32 // elements of one array
	walking   bool  // WalkLimits: nesting is bounded by the limits, not MaxDepth
	deep      bool  // stopped at MaxDepth with limits on: End walks on (walkPastDepth)

	rules // business-rule state; see rules.go
}

// Begin prepares r's scanner for body. The scanner and its stacks belong to
// r and are reused, so a valid body allocates nothing once r has been used.
func (r *Report) Begin(body []byte) *Scanner {
	if r.sc == nil {
		r.sc = &Scanner{MaxDepth: DefaultMaxDepth}
	}
	s := r.sc
	s.buf, s.pos, s.r, s.failed = body, 0, r, false
	s.dupID, s.dupSev = DuplicateKeyRule, SeverityError
	if s.MaxDepth <= 0 {
		s.MaxDepth = DefaultMaxDepth
	}
	r.Breach, s.walking, s.deep = Breach{}, false, false
	s.setLimits(r.Limits)
	s.frames, s.keys, s.arena, s.strbuf = s.frames[:0], s.keys[:0], s.arena[:0], s.strbuf[:0]
	s.fastMiss = -1
	s.vstart = len(r.Violations)
	s.resetRules()
	if len(body) > MaxBody {
		// Offsets are kept in 32 bits; no Forter body comes near this.
		s.syntax(0, "too-large", "the document is larger than 2 GiB")
		s.pos = len(body)
	}
	return s
}

// End checks that nothing but white space follows the document, then puts
// the violations of this body in document order and fills in their lines
// and columns. Call it once, after the top-level validator returned.
func (s *Scanner) End() {
	if s.deep {
		s.walkPastDepth()
	}
	if !s.failed {
		s.ws()
		if s.pos < len(s.buf) {
			s.syntax(s.pos, "trailing-data", "expected the end of the document after the top-level value")
		}
	}
	if !s.failed {
		s.flushDeferred()
		s.flushSums()
	}
	v := s.r.Violations[s.vstart:]
	if len(v) == 0 {
		return
	}
	slices.SortStableFunc(v, func(a, b Violation) int { return a.Offset - b.Offset })
	// Branches of allOf can report the same syntax fault (a duplicate key) once each.
	out := v[:1]
	for i := 1; i < len(v); i++ {
		p := &out[len(out)-1]
		if v[i].Kind == p.Kind && v[i].Kind != KindSchema && p.Offset == v[i].Offset && p.Rule == v[i].Rule && p.Pointer == v[i].Pointer {
			continue // one rule declared on several schemas, or a fault seen by several allOf branches
		}
		out = append(out, v[i])
	}
	s.r.Violations = s.r.Violations[:s.vstart+len(out)]
	// Lines and columns, computed here only: a valid body never pays for them.
	line, lineStart, at := 1, 0, 0
	for i := range out {
		off := min(out[i].Offset, len(s.buf))
		if off > at {
			seg := s.buf[at:off]
			if n := bytes.Count(seg, newline); n > 0 {
				line += n
				lineStart = at + bytes.LastIndexByte(seg, '\n') + 1
			}
			at = off
		}
		out[i].Line, out[i].Column = line, off-lineStart+1
	}
}

var newline = []byte{'\n'}

// Failed reports whether a syntax fault stopped the scan.
func (s *Scanner) Failed() bool { return s.failed }

// Pos is the offset of the next value (after white space).
func (s *Scanner) Pos() int {
	s.ws()
	return s.pos
}

// Type is the JSON type of the next value, judged by its first byte.
type Type uint8

const (
	TypeInvalid Type = iota
	TypeNull
	TypeBool
	TypeNumber
	TypeString
	TypeArray
	TypeObject
)

// Peek returns the type of the next value without consuming it.
func (s *Scanner) Peek() Type {
	s.ws()
	return s.PeekHere()
}

// PeekHere is Peek when white space has been skipped already (Pos does).
// It is inlined into every generated validator, so it is one table load
// rather than a chain of compares: smaller code and one branch fewer to
// mispredict where the caches are cold (in the proxy, between requests).
func (s *Scanner) PeekHere() Type {
	if s.failed || uint(s.pos) >= uint(len(s.buf)) {
		return TypeInvalid
	}
	return typeOf[s.buf[s.pos]]
}

// typeOf is the type of a value by its first byte; TypeInvalid for a byte no
// value starts with.
var typeOf = [256]Type{
	'{': TypeObject, '[': TypeArray, '"': TypeString, 't': TypeBool, 'f': TypeBool, 'n': TypeNull,
	'-': TypeNumber, '0': TypeNumber, '1': TypeNumber, '2': TypeNumber, '3': TypeNumber, '4': TypeNumber,
	'5': TypeNumber, '6': TypeNumber, '7': TypeNumber, '8': TypeNumber, '9': TypeNumber,
}

func (s *Scanner) ws() {
	// Compact JSON, the common case: no white space at all.
	if s.pos < len(s.buf) && s.buf[s.pos] > ' ' {
		return
	}
	s.skipWS()
}

// skipWS is kept out of line: compact JSON never needs it, and ws, inlined
// into every generated validator, stays one compare.
//
//go:noinline
func (s *Scanner) skipWS() {
	for s.pos < len(s.buf) {
		switch s.buf[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// Skip consumes the next value of any type, checking it strictly.
func (s *Scanner) Skip() {
	switch t := s.Peek(); t {
	case TypeObject, TypeArray:
		// After the fast path gave up at fastMiss, the values before that
		// point go the exact way, so no byte is walked fast more than twice.
		if !s.pan.allowNext && s.pos > s.fastMiss && s.skipFast() {
			return
		}
		s.skipExact(t)
	case TypeString:
		s.skipString()
	case TypeNumber:
		s.Number()
	case TypeBool:
		s.Bool()
	case TypeNull:
		s.Null()
	default:
		s.unexpected("a JSON value")
	}
}

// skipExact consumes an object or array value by value, recording every
// fault with its pointer.
func (s *Scanner) skipExact(t Type) {
	switch t {
	case TypeObject:
		if !s.EnterObject() {
			return
		}
		for s.NextMember() {
			s.Unknown()
			s.Skip()
		}
	case TypeArray:
		if !s.EnterArray() {
			return
		}
		for s.NextElem() {
			s.Skip()
		}
	}
}

func (s *Scanner) unexpected(want string) {
	if s.failed {
		return
	}
	s.ws()
	if s.pos >= len(s.buf) {
		s.syntax(s.pos, "truncated", "the document ends early: expected "+want)
		return
	}
	s.syntax(s.pos, "syntax", "expected "+want)
}

// Null consumes null.
func (s *Scanner) Null() bool { return s.literal("null") }

// Bool consumes true or false and returns it.
func (s *Scanner) Bool() (v, ok bool) {
	if s.Peek() == TypeBool && s.buf[s.pos] == 't' {
		return true, s.literal("true")
	}
	return false, s.literal("false")
}

func (s *Scanner) literal(lit string) bool {
	if s.failed {
		return false
	}
	s.ws()
	if len(s.buf)-s.pos >= len(lit) && string(s.buf[s.pos:s.pos+len(lit)]) == lit {
		s.pos += len(lit)
		return true
	}
	if len(s.buf)-s.pos < len(lit) && string(s.buf[s.pos:]) == lit[:len(s.buf)-s.pos] {
		s.syntax(len(s.buf), "truncated", "the document ends early: expected "+lit)
		return false
	}
	s.syntax(s.pos, "syntax", "expected "+lit)
	return false
}

// EnterObject consumes '{'. It returns false (and records why) when the next
// value is not an object opening or the nesting limit is reached.
func (s *Scanner) EnterObject() bool { return s.enter('{', true) }

// EnterArray consumes '['.
func (s *Scanner) EnterArray() bool { return s.enter('[', false) }

func (s *Scanner) enter(c byte, object bool) bool {
	if s.failed {
		return false
	}
	s.ws()
	if s.pos >= len(s.buf) || s.buf[s.pos] != c {
		if object {
			s.unexpected("an object")
		} else {
			s.unexpected("an array")
		}
		return false
	}
	n := len(s.frames)
	if n >= s.depthCap {
		s.tooDeep(s.pos)
		return false
	}
	if n < cap(s.frames) {
		s.frames = s.frames[:n+1]
		s.frames[n] = frame{start: int32(s.pos), keyBase: int32(len(s.keys)), object: object}
	} else {
		s.frames = append(s.frames, frame{start: int32(s.pos), keyBase: int32(len(s.keys)), object: object})
	}
	s.pos++
	return true
}

// ObjectStart is the offset of the '{' of the innermost open object.
func (s *Scanner) ObjectStart() int {
	if len(s.frames) == 0 {
		return 0
	}
	return int(s.frames[len(s.frames)-1].start)
}

// NextMember moves to the next member of the innermost object: it consumes
// the separator, the name and the colon, and leaves the scanner at the
// member's value (Key is its decoded name). At the closing brace, or on a
// syntax fault, it returns false and closes the object.
func (s *Scanner) NextMember() bool {
	if s.failed {
		return false
	}
	f := &s.frames[len(s.frames)-1]
	// The hot path works on locals and stores the position once.
	b, i := s.buf, skipWS(s.buf, s.pos)
	if i >= len(b) {
		s.pos = i
		s.unexpected("a member name or '}'")
		return false
	}
	c := b[i]
	if c == '}' {
		s.pos = i + 1
		if f.bulkFrom > 0 {
			s.bulkDuplicates(f)
		}
		s.keys = s.keys[:f.keyBase]
		s.frames = s.frames[:len(s.frames)-1]
		return false
	}
	if f.n > 0 {
		if c != ',' {
			s.syntax(i, "syntax", "expected ',' or '}' after an object member")
			return false
		}
		i = skipWS(b, i+1)
		if i >= len(b) {
			s.pos = i
			s.unexpected("a member name")
			return false
		}
	}
	if b[i] != '"' {
		s.syntax(i, "syntax", "expected a member name in double quotes")
		return false
	}
	s.keyAt = i
	// A plain name: the first byte that needs a look is its closing quote.
	if j := plainEnd(b, i+1); j < len(b) && b[j] == '"' {
		if j-i-1 > s.maxString {
			s.pos = i
			s.breach(i, LimitString, s.maxString)
			return false
		}
		f.cur = seg{off: int32(i + 1), n: int32(j - i - 1)}
		s.key = b[i+1 : j]
		i = j + 1
	} else {
		// Escapes, non-ASCII or a fault: the general string scanner.
		s.pos = i
		raw, esc, ok := s.scanString()
		if !ok {
			return false
		}
		if esc {
			start := len(s.arena)
			s.arena = appendUnescaped(s.arena, raw)
			f.cur = seg{off: int32(start), n: int32(len(s.arena) - start), arena: true}
			s.key = s.arena[start:]
		} else {
			f.cur = seg{off: int32(i + 1), n: int32(len(raw))}
			s.key = raw
		}
		i = s.pos
	}
	f.n++
	if s.pan.on && panCandidate(s.key) {
		s.panCheckName()
	}
	i = skipWS(b, i)
	if i >= len(b) {
		s.pos = i
		s.unexpected("':'")
		return false
	}
	if b[i] != ':' {
		s.syntax(i, "syntax", "expected ':' after a member name")
		return false
	}
	// Leave the value's first byte next: the generated fast paths look at it.
	s.pos = skipWS(b, i+1)
	return true
}

// plainEnd returns the offset of the first byte at or after j that is a
// quote, a backslash, a control character or non-ASCII (or len(b)).
func plainEnd(b []byte, j int) int {
	for j+8 <= len(b) {
		if m := special8(binary.LittleEndian.Uint64(b[j:])); m != 0 {
			return j + bits.TrailingZeros64(m)>>3
		}
		j += 8
	}
	for j < len(b) && b[j] >= 0x20 && b[j] != '"' && b[j] != '\\' && b[j] < 0x80 {
		j++
	}
	return j
}

// skipWS returns the offset of the first byte at or after i that is not
// JSON white space.
func skipWS(b []byte, i int) int {
	for i < len(b) && b[i] <= ' ' && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// Unknown checks the current member, whose name the validator does not know,
// against the other unknown names of its object: a duplicate is a violation.
// Validators track known names in a bit set and call Duplicate themselves.
func (s *Scanner) Unknown() {
	if s.failed {
		return
	}
	f := &s.frames[len(s.frames)-1]
	k := keyRef{off: f.cur.off, n: f.cur.n, arena: f.cur.arena}
	key := s.Key()
	k.hash = hashKey(key)
	k.at = int32(s.keyAt)
	f.unknown++
	switch bit := uint64(1) << (k.hash & 63); {
	case f.unknown <= linearKeys:
		// Most names are new: the filter says so without a search.
		if f.names&bit != 0 {
			for _, o := range s.keys[f.keyBase:] {
				if o.hash == k.hash && string(s.keyBytes(o)) == string(key) {
					s.Duplicate()
					break
				}
			}
		}
		f.names |= bit
	case f.bulkFrom == 0:
		f.bulkFrom = int32(s.keyAt)
	}
	s.keys = append(s.keys, k)
}

// bulkDuplicates reports, when an object with many unknown names closes, each
// name at or after f.bulkFrom that repeats an earlier one.
func (s *Scanner) bulkDuplicates(f *frame) {
	ks := s.keys[f.keyBase:]
	// Sorted by hash, then by the names themselves (so that names crafted to
	// share a hash still cost n log n), then by position: a repeated name
	// sits right after its previous occurrence.
	slices.SortFunc(ks, func(a, b keyRef) int {
		if a.hash != b.hash {
			return cmp.Compare(a.hash, b.hash)
		}
		if c := bytes.Compare(s.keyBytes(a), s.keyBytes(b)); c != 0 {
			return c
		}
		return cmp.Compare(a.at, b.at)
	})
	n := f.n
	f.n = 0 // the pointer is the object's, plus the name
	for i := 1; i < len(ks); i++ {
		k := ks[i]
		if k.at < f.bulkFrom {
			continue
		}
		if prev := ks[i-1]; prev.hash == k.hash && string(s.keyBytes(prev)) == string(s.keyBytes(k)) {
			s.duplicateAt(int(k.at), string(s.keyBytes(k)))
		}
	}
	f.n = n
}

// DuplicateKeyRule is the rule id of a member name that appears twice in one
// object. It is a strict-JSON fault (kind syntax) with a severity like a
// business rule's: RFC 8259 leaves the meaning of such an object to each
// parser, and most (Forter's too, as far as anyone can tell) keep the last value.
const DuplicateKeyRule = "duplicate-key"

const duplicateMessage = "a member name appears twice in one object; the proxy and Forter could read different values"

// DuplicateKeys sets, for the rest of the document, the rule id and default
// severity of duplicate member names (the spec's, from x-orderguard-rules
// duplicateKeys). Without it they are errors; either way r.Severities may
// override the id's severity, and off reports nothing.
func (s *Scanner) DuplicateKeys(id string, def Severity) { s.dupID, s.dupSev = id, def }

// Duplicate records that the current member's name appeared before in its object.
func (s *Scanner) Duplicate() { s.duplicateAt(s.keyAt, "") }

// duplicateAt records a duplicate name at offset at; child is its name when
// the current pointer is the object's own (a check at the object's close).
func (s *Scanner) duplicateAt(at int, child string) {
	sev, on := s.severity(s.dupID, s.dupSev)
	if !on {
		return
	}
	s.r.Violations = append(s.r.Violations, Violation{
		Pointer: s.pointer(child), Kind: KindSyntax, Rule: s.dupID, Message: duplicateMessage, Offset: at, Severity: sev,
	})
}

func (s *Scanner) keyBytes(k keyRef) []byte {
	if k.arena {
		return s.arena[k.off : k.off+k.n]
	}
	return s.buf[k.off : k.off+k.n]
}

// hashKey fingerprints a member name in constant time from its length and
// its first and last eight bytes (fewer when shorter). Names that differ only
// in between collide; they are told apart by comparing their bytes.
func hashKey(b []byte) uint32 {
	var lo, hi uint64
	switch n := len(b); {
	case n >= 8:
		lo, hi = binary.LittleEndian.Uint64(b), binary.LittleEndian.Uint64(b[n-8:])
	case n >= 4:
		lo, hi = uint64(binary.LittleEndian.Uint32(b)), uint64(binary.LittleEndian.Uint32(b[n-4:]))
	default:
		for i, c := range b {
			lo |= uint64(c) << (8 * i)
		}
	}
	h := (lo^uint64(len(b)))*0x9E3779B97F4A7C15 ^ hi*0xC2B2AE3D27D4EB4F
	return uint32(h>>32) ^ uint32(h)
}

// Key is the decoded name of the current member. It is valid until the next
// call to NextMember.
func (s *Scanner) Key() []byte { return s.key }

// NextElem moves to the next element of the innermost array; Index is its
// position. At the closing bracket, or on a syntax fault, it returns false.
func (s *Scanner) NextElem() bool {
	if s.failed {
		return false
	}
	f := &s.frames[len(s.frames)-1]
	s.ws()
	if s.pos >= len(s.buf) {
		s.unexpected("a value or ']'")
		return false
	}
	c := s.buf[s.pos]
	if c == ']' {
		s.pos++
		s.frames = s.frames[:len(s.frames)-1]
		return false
	}
	if f.n > 0 {
		if c != ',' {
			s.syntax(s.pos, "syntax", "expected ',' or ']' after an array element")
			return false
		}
		if f.n >= s.maxArray {
			s.breach(s.pos, LimitArray, int(s.maxArray))
			return false
		}
		s.pos++
	}
	f.cur = seg{off: f.n, isIndex: true}
	f.n++
	s.ws()
	return true
}

// String consumes a string and returns its decoded value: a slice of the body
// when it holds no escapes, else of a buffer reused by the next string.
func (s *Scanner) String() ([]byte, bool) {
	if s.failed {
		return nil, false
	}
	s.ws()
	b, at := s.buf, s.pos
	if at >= len(b) || b[at] != '"' {
		s.unexpected("a string")
		return nil, false
	}
	// A plain string: the first byte that needs a look is its closing quote.
	if j := plainEnd(b, at+1); j < len(b) && b[j] == '"' {
		if j-at-1 > s.maxString {
			s.breach(at, LimitString, s.maxString)
			return nil, false
		}
		v := b[at+1 : j]
		s.pos = j + 1
		if s.pan.on && (s.pan.allowNext || panCandidate(v)) {
			s.panCheck(at, v)
		}
		return v, true
	}
	raw, esc, ok := s.scanString()
	if !ok {
		return nil, false
	}
	v := raw
	if esc {
		s.strbuf = appendUnescaped(s.strbuf[:0], raw)
		v = s.strbuf
	}
	if s.pan.on && (s.pan.allowNext || panCandidate(v)) {
		s.panCheck(at, v)
	}
	return v, true
}

func (s *Scanner) skipString() {
	if s.failed {
		return
	}
	s.ws()
	b, at := s.buf, s.pos
	if at < len(b) && b[at] == '"' {
		// A plain string: its closing quote is the first byte that needs a look.
		if j := plainEnd(b, at+1); j < len(b) && b[j] == '"' {
			if j-at-1 > s.maxString {
				s.breach(at, LimitString, s.maxString)
				return
			}
			s.pos = j + 1
			if s.pan.on && (s.pan.allowNext || panCandidate(b[at+1:j])) {
				s.panCheck(at, b[at+1:j])
			}
			return
		}
	}
	if s.pan.on {
		s.String()
		return
	}
	s.scanString()
}

// scanString consumes the string at s.pos (which is '"') and returns its raw
// contents, whether it holds escapes, and whether it was well formed.
func (s *Scanner) scanString() (raw []byte, esc, ok bool) {
	start := s.pos + 1
	i := start
	b := s.buf
	for {
		// The common case: plain printable ASCII, eight bytes at a time; the
		// lowest flagged byte of a word is the first one that needs a look.
		for i+8 <= len(b) {
			m := special8(binary.LittleEndian.Uint64(b[i:]))
			if m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				goto look
			}
			i += 8
		}
		for i < len(b) {
			c := b[i]
			if c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
				break
			}
			i++
		}
	look:
		if i >= len(b) {
			s.pos = i
			s.stringFault(start, i, i, "truncated", "the document ends inside a string")
			return nil, false, false
		}
		switch c := b[i]; {
		case c == '"':
			if i-start > s.maxString {
				s.breach(start-1, LimitString, s.maxString)
				return nil, false, false
			}
			s.pos = i + 1
			return b[start:i], esc, true
		case c == '\\':
			esc = true
			if i+1 >= len(b) {
				s.pos = len(b)
				s.stringFault(start, len(b), len(b), "truncated", "the document ends inside a string")
				return nil, false, false
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) {
					s.pos = len(b)
					s.stringFault(start, len(b), len(b), "truncated", "the document ends inside a string")
					return nil, false, false
				}
				if _, okh := hex4(b[i+2 : i+6]); !okh {
					s.stringFault(start, i, i, "syntax", `invalid \u escape in a string: want four hex digits`)
					return nil, false, false
				}
				i += 6
			default:
				s.stringFault(start, i, i, "syntax", "invalid escape sequence in a string")
				return nil, false, false
			}
		case c < 0x20:
			s.stringFault(start, i, i, "control-character", "a raw control character (such as a line break) inside a string; RFC 8259 requires it escaped")
			return nil, false, false
		default:
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size <= 1 {
				s.stringFault(start, i, i, "invalid-utf8", "invalid UTF-8 in a string")
				return nil, false, false
			}
			i += size
		}
	}
}

const (
	lo8 = 0x0101010101010101
	hi8 = 0x8080808080808080
)

// special8 flags (high bit) the bytes of w that are a quote, a backslash, a
// control character or non-ASCII. w's own high bit flags non-ASCII; x-lo8
// sets a byte's high bit where x held zero (x is w with quotes or
// backslashes zeroed) and w-0x20 where w held a control character. An ASCII
// byte that is none of these sets no high bit and lends no borrow upward, so
// a borrow can flag a byte above a flagged one, never below: the lowest flag
// is exact. (The usual &^x of the zero-byte test is folded into w's bit: x
// and w share their high bits.)
func special8(w uint64) uint64 {
	quote, bslash := w^(lo8*'"'), w^(lo8*'\\') // zero where w holds '"' or '\\'
	return (w | (quote - lo8) | (bslash - lo8) | (w - lo8*0x20)) & hi8
}

// plain8 reports whether none of the eight bytes of w needs a look.
func plain8(w uint64) bool { return special8(w) == 0 }

func hex4(b []byte) (rune, bool) {
	var r rune
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// appendUnescaped decodes the raw contents of a well-formed string. Lone
// surrogates become U+FFFD, as encoding/json does. A broken escape (never
// passed by the scanner) is copied as is rather than read past the end.
func appendUnescaped(dst, raw []byte) []byte {
	for i := 0; i < len(raw); {
		c := raw[i]
		if c != '\\' || i+1 >= len(raw) || (raw[i+1] == 'u' && i+6 > len(raw)) {
			dst = append(dst, c)
			i++
			continue
		}
		switch raw[i+1] {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, _ := hex4(raw[i+2 : i+6])
			i += 6
			if r >= 0xD800 && r < 0xDC00 && i+6 <= len(raw) && raw[i] == '\\' && raw[i+1] == 'u' {
				if r2, _ := hex4(raw[i+2 : i+6]); r2 >= 0xDC00 && r2 < 0xE000 {
					r = (r-0xD800)<<10 | (r2 - 0xDC00) + 0x10000
					i += 6
				}
			}
			if r >= 0xD800 && r < 0xE000 {
				r = utf8.RuneError
			}
			dst = utf8.AppendRune(dst, r)
			continue
		default:
			dst = append(dst, raw[i+1])
		}
		i += 2
	}
	return dst
}

// Number consumes a number and returns its raw text. A number whose
// magnitude no float64 can hold is a violation: Forter could not read it.
func (s *Scanner) Number() ([]byte, bool) {
	if s.failed {
		return nil, false
	}
	s.ws()
	b := s.buf
	start, i := s.pos, s.pos
	if i < len(b) && b[i] == '-' {
		i++
	}
	if i >= len(b) {
		s.pos = i
		s.unexpected("a number")
		return nil, false
	}
	digits := 0
	switch {
	case b[i] == '0':
		i++
		digits++
	case b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
			digits++
		}
	default:
		s.syntax(i, "syntax", "expected a digit in a number")
		return nil, false
	}
	simple := true
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			s.pos = i
			s.unexpected("a digit after the decimal point")
			return nil, false
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
			digits++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		simple = false
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			s.pos = i
			s.unexpected("a digit in the exponent")
			return nil, false
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	s.pos = i
	raw := b[start:i]
	if s.pan.on && numberCandidate(raw) {
		s.panCheckNumber(start, raw)
	}
	if !simple || digits > 300 {
		if f := parseFloat(raw); math.IsInf(f, 0) {
			s.syntax(start, "number-range", "a number too large to represent")
			return nil, false
		}
	}
	return raw, true
}

// Float is the value of a raw number returned by Number.
func Float(raw []byte) float64 {
	// Fast path: short integers are exact in a float64.
	if len(raw) > 0 && len(raw) <= 15 {
		neg := raw[0] == '-'
		i := 0
		if neg {
			i = 1
		}
		var n int64
		for ; i < len(raw); i++ {
			c := raw[i]
			if c < '0' || c > '9' {
				return parseFloat(raw)
			}
			n = n*10 + int64(c-'0')
		}
		if neg {
			return -float64(n)
		}
		return float64(n)
	}
	return parseFloat(raw)
}

func parseFloat(raw []byte) float64 {
	if len(raw) == 0 {
		return 0
	}
	// strconv never retains its argument (error values copy it), so viewing
	// the bytes as a string avoids a copy.
	f, _ := strconv.ParseFloat(unsafe.String(&raw[0], len(raw)), 64)
	return f
}

// IsInteger reports whether a number has no fractional part (JSON Schema
// judges the value, so 1.0 is an integer).
func IsInteger(f float64) bool { return f == math.Trunc(f) && !math.IsInf(f, 0) }

func (s *Scanner) syntax(at int, rule, msg string) {
	if s.failed {
		return
	}
	s.Report(at, KindSyntax, rule, msg)
	s.failed = true
}

// Pointer returns the JSON pointer of the current position (RFC 6901).
func (s *Scanner) Pointer() string { return s.pointer("") }

func (s *Scanner) pointer(child string) string {
	var path [16]seg
	return s.pointerOf(s.appendPath(path[:0]), child)
}

// appendPath appends the tokens of the current pointer: one per open object
// or array that has reached a member or element.
func (s *Scanner) appendPath(dst []seg) []seg {
	for i := range s.frames {
		if s.frames[i].n > 0 {
			dst = append(dst, s.frames[i].cur)
		}
	}
	return dst
}

func (s *Scanner) pointerOf(path []seg, child string) string {
	if len(path) == 0 && child == "" {
		return ""
	}
	var b []byte
	for _, p := range path {
		b = append(b, '/')
		if p.isIndex {
			b = strconv.AppendInt(b, int64(p.off), 10)
			continue
		}
		var name []byte
		if p.arena {
			name = s.arena[p.off : p.off+p.n]
		} else {
			name = s.buf[p.off : p.off+p.n]
		}
		b = appendPointerToken(b, name)
	}
	if child != "" {
		b = append(b, '/')
		b = appendPointerToken(b, []byte(child))
	}
	// A pointer is echoed into answers, logs and reports: a member name that
	// holds a card number is masked there (first six, last four digits).
	// Only violations build pointers, so valid bodies never pay for this.
	if redact.ContainsPAN(b) {
		b = redact.Mask(b)
	}
	return string(b)
}

func appendPointerToken(b, name []byte) []byte {
	for _, c := range name {
		switch c {
		case '~':
			b = append(b, '~', '0')
		case '/':
			b = append(b, '~', '1')
		default:
			b = append(b, c)
		}
	}
	return b
}

// Report records a violation at offset at for the current pointer.
func (s *Scanner) Report(at int, kind Kind, rule, msg string) {
	s.r.Violations = append(s.r.Violations, Violation{
		Pointer: s.pointer(""), Kind: kind, Rule: rule, Message: msg, Offset: at, Severity: SeverityError,
	})
}

// NotAllowed records the current member as one its object's schema does not
// allow (additionalProperties: false), naming it; a card number in the name
// is masked, as in pointers.
func (s *Scanner) NotAllowed() {
	s.Schema(s.keyAt, "additionalProperties", "member "+strconv.Quote(redact.MaskString(string(s.key)))+" is not allowed here")
}

// Schema records a schema violation at offset at for the current pointer.
func (s *Scanner) Schema(at int, keyword, msg string) {
	s.Report(at, KindSchema, keyword, msg)
}

// NotNullable consumes a null where the schema does not allow one and records
// it. Almost every generated validator has this case, and one call in place
// of two keeps each of them smaller (code size is what costs when the caches
// are cold).
func (s *Scanner) NotNullable(at int) {
	s.Null()
	s.Schema(at, "nullable", "null is not allowed here")
}

// Want is the JSON type a schema expects, as WrongType reports it.
type Want uint8

const (
	WantObject Want = iota
	WantArray
	WantString
	WantNumber
	WantInteger
	WantBoolean
)

var wantMessages = [...]string{
	WantObject: "expected an object", WantArray: "expected an array", WantString: "expected a string",
	WantNumber: "expected a number", WantInteger: "expected an integer", WantBoolean: "expected a boolean",
}

// WrongType records a value of another JSON type than w and skips it (one
// call per generated validator, for the same reason as NotNullable).
func (s *Scanner) WrongType(at int, w Want) {
	s.Schema(at, "type", wantMessages[w])
	s.Skip()
}

// Missing records a missing required member name of the object that starts at
// offset at: the pointer is the one the member would have.
func (s *Scanner) Missing(at int, name string) {
	s.r.Violations = append(s.r.Violations, Violation{
		Pointer: s.pointer(name), Kind: KindSchema, Rule: "required",
		Message: "missing required member " + strconv.Quote(name), Offset: at, Severity: SeverityError,
	})
}

// Rule records a business-rule violation unless its severity is off; the
// severity comes from r.Severities when set there, else from def.
func (s *Scanner) Rule(at int, child, id string, def Severity, msg string) {
	sev, on := s.severity(id, def)
	if !on {
		return
	}
	s.r.Violations = append(s.r.Violations, Violation{
		Pointer: s.pointer(child), Kind: KindRule, Rule: id, Message: msg, Offset: at, Severity: sev,
	})
}

// severity is rule id's severity, from r.Severities when set there, else
// def; on is false when it is off (the rule reports nothing).
func (s *Scanner) severity(id string, def Severity) (sev Severity, on bool) {
	sev = def
	if s.r.Severities != nil {
		if v, ok := s.r.Severities[id]; ok {
			sev = v
		}
	}
	return sev, sev != SeverityOff
}

// Mark is a saved scanner position: composition keywords (allOf, anyOf,
// oneOf) validate one value against several schemas by rewinding to it.
type Mark struct {
	pos, frames, keys, viol, pending int
}

// Save returns the current position (before the next value).
func (s *Scanner) Save() Mark {
	s.ws()
	return Mark{pos: s.pos, frames: len(s.frames), keys: len(s.keys), viol: len(s.r.Violations), pending: len(s.pending)}
}

// Since is the number of violations recorded after m.
func (s *Scanner) Since(m Mark) int { return len(s.r.Violations) - m.viol }

// Rewind returns to m, forgetting the violations recorded since unless
// keep is true. It returns the offset the scan had reached.
func (s *Scanner) Rewind(m Mark, keep bool) int {
	end := s.pos
	s.pos = m.pos
	s.frames, s.keys = s.frames[:m.frames], s.keys[:m.keys]
	if !keep {
		s.r.Violations = s.r.Violations[:m.viol]
		s.pending = s.pending[:m.pending]
	}
	return end
}

// Seek moves the scan to offset end (the end of a value validated before).
func (s *Scanner) Seek(end int) { s.pos = end }
