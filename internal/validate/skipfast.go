package validate

import "unicode/utf8"

// The fast path of Skip. Free-form parts of an order (a seller's history, a
// customer's engagement data) are a large share of real bodies, and Skip's
// exact path pays for frames, member bookkeeping and a method call per value.
// skipFast walks the same bytes on locals and gives up, leaving the exact
// path to start again from the same place, at anything that path could
// report: a syntax fault, a repeated name, a card number, an escaped name, a
// number that might not fit a float64, nesting past the room left, or a
// string or an array past Report.Limits. It never reports anything itself,
// so the two paths cannot disagree on a verdict: the worst a miss costs is
// the exact path's time.

// fastLevel is one container open on the fast path.
type fastLevel struct {
	object bool
	n      int32  // commas of an array so far: its elements less one
	base   int32  // its first entry of Scanner.fastNames
	names  uint64 // filter of the object's member names, as in frame.names
}

// fastName is a member name seen on the fast path, kept to tell a real
// repeat from a filter collision.
type fastName struct {
	off, n int32
	hash   uint32
}

// maxFastNames bounds the names the fast path keeps for one skipped value;
// past it, the exact path (with its n log n check at the close) takes over.
const maxFastNames = 256

// skipFast consumes the container at s.pos (which is '{' or '[') and reports
// whether it did; on false s.pos is unchanged and s.fastMiss is where it
// gave up.
func (s *Scanner) skipFast() bool {
	b, i := s.buf, s.pos
	room := s.depthCap - len(s.frames)
	maxString, maxArray := s.maxString, s.maxArray
	pan := s.pan.on
	levels, names := s.fastLevels[:0], s.fastNames[:0]
	defer func() {
		s.fastLevels, s.fastNames = levels[:0], names[:0]
		if s.pos != i {
			s.fastMiss = i
		}
	}()

value:
	if i >= len(b) {
		return false
	}
	switch c := b[i]; {
	case c == '"':
		j, esc, ok := fastString(b, i+1)
		if !ok || j-i-1 > maxString {
			return false
		}
		if pan {
			v := b[i+1 : j]
			if esc {
				s.strbuf = appendUnescaped(s.strbuf[:0], v)
				v = s.strbuf
			}
			if panCandidate(v) && IsCardNumber(v) {
				return false
			}
		}
		i = j + 1
	case c == '{' || c == '[':
		if len(levels) >= room {
			return false
		}
		levels = append(levels, fastLevel{object: c == '{', base: int32(len(names))})
		i = skipWS(b, i+1)
		if i >= len(b) {
			return false
		}
		if c == '{' {
			if b[i] == '}' {
				levels = levels[:len(levels)-1]
				i++
				break
			}
			goto member
		}
		if b[i] == ']' {
			levels = levels[:len(levels)-1]
			i++
			break
		}
		goto value
	case c == 't':
		if len(b)-i < 4 || string(b[i:i+4]) != "true" {
			return false
		}
		i += 4
	case c == 'f':
		if len(b)-i < 5 || string(b[i:i+5]) != "false" {
			return false
		}
		i += 5
	case c == 'n':
		if len(b)-i < 4 || string(b[i:i+4]) != "null" {
			return false
		}
		i += 4
	default:
		j, ok := fastNumber(b, i)
		if !ok || pan && numberCandidate(b[i:j]) && isCardNumberValue(b[i:j]) {
			return false
		}
		i = j
	}

	// After a value: close containers, or move to the next member or element.
	for {
		if len(levels) == 0 {
			s.pos = i
			return true
		}
		i = skipWS(b, i)
		if i >= len(b) {
			return false
		}
		top := &levels[len(levels)-1]
		switch b[i] {
		case ',':
			i = skipWS(b, i+1)
			if top.object {
				goto member
			}
			if top.n++; top.n >= maxArray {
				return false
			}
			goto value
		case '}':
			if !top.object {
				return false
			}
		case ']':
			if top.object {
				return false
			}
		default:
			return false
		}
		names = names[:top.base]
		levels = levels[:len(levels)-1]
		i++
	}

member:
	{
		if i >= len(b) || b[i] != '"' {
			return false
		}
		j := plainEnd(b, i+1)
		if j >= len(b) || b[j] != '"' || j-i-1 > maxString {
			return false // an escaped or non-ASCII name, which the exact path decodes, or one too long
		}
		name := b[i+1 : j]
		if pan && panCandidate(name) && IsCardNumber(name) {
			return false // a card number as a name: the exact path reports it
		}
		top := &levels[len(levels)-1]
		h := hashKey(name)
		bit := uint64(1) << (h & 63)
		if top.names&bit != 0 {
			for _, o := range names[top.base:] {
				if o.hash == h && string(b[o.off:o.off+o.n]) == string(name) {
					return false // a duplicate: the exact path reports it
				}
			}
		}
		if len(names) == maxFastNames {
			return false
		}
		top.names |= bit
		names = append(names, fastName{off: int32(i + 1), n: int32(len(name)), hash: h})
		i = skipWS(b, j+1)
		if i >= len(b) || b[i] != ':' {
			return false
		}
		i = skipWS(b, i+1)
		goto value
	}
}

// fastString finds the closing quote of a string whose contents start at i:
// it returns its offset and whether the string held escapes. It fails on
// anything the exact scanner would report (a raw control character, invalid
// UTF-8, a bad escape, the end of the document).
func fastString(b []byte, i int) (end int, esc, ok bool) {
	for {
		i = plainEnd(b, i)
		if i >= len(b) {
			return 0, false, false
		}
		switch c := b[i]; {
		case c == '"':
			return i, esc, true
		case c == '\\':
			if i+1 >= len(b) {
				return 0, false, false
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) {
					return 0, false, false
				}
				if _, okh := hex4(b[i+2 : i+6]); !okh {
					return 0, false, false
				}
				i += 6
			default:
				return 0, false, false
			}
			esc = true
		case c < 0x20:
			return 0, false, false
		default:
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size <= 1 {
				return 0, false, false
			}
			i += size
		}
	}
}

// fastNumber consumes a number at i that is well formed and certainly fits
// a float64 (no exponent, at most 300 digits): Number's checks, short of the
// range test it only does for the other kind.
func fastNumber(b []byte, i int) (int, bool) {
	start := i
	if i < len(b) && b[i] == '-' {
		i++
	}
	if i >= len(b) {
		return 0, false
	}
	switch {
	case b[i] == '0':
		i++
	case b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return 0, false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return 0, false
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') || i-start > 300 {
		return 0, false
	}
	return i, true
}
