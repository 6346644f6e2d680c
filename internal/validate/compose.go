package validate

import "strconv"

// KeyPos is the offset of the current member's name.
func (s *Scanner) KeyPos() int { return s.keyAt }

// Start is the offset of the value a Mark was taken before.
func (m Mark) Start() int { return m.pos }

// Offset is the current scan offset.
func (s *Scanner) Offset() int { return s.pos }

// SkipValue validates nothing but strict syntax: the schema {} .
func SkipValue(s *Scanner) { s.Skip() }

// AnyJSON is the validator of a body the spec does not describe: it accepts
// any one strict JSON document.
func AnyJSON(body []byte, r *Report) {
	s := r.Begin(body)
	s.Skip()
	s.End()
}

// AllOf validates the next value against every branch, keeping every
// branch's violations.
func (s *Scanner) AllOf(branches []func(*Scanner)) {
	m := s.Save()
	end := m.pos
	for i, f := range branches {
		if i > 0 {
			s.Rewind(m, true)
		}
		f(s)
		if s.failed {
			return
		}
		end = max(end, s.pos)
	}
	s.pos = end
}

// OneOf validates the next value against each branch. With exactly (oneOf)
// or at least (anyOf) one branch matching, the value is valid. Otherwise it
// records the keyword's violation and then the violations of the branch that
// came closest (the fewest violations), not a concatenation of every branch.
func (s *Scanner) OneOf(branches []func(*Scanner), exactly bool) {
	m := s.Save()
	matched, first, best, bestN, end := 0, -1, 0, int(^uint(0)>>1), m.pos
	for i, f := range branches {
		f(s)
		if s.failed {
			return // a syntax fault is the same in every branch: keep it
		}
		n := s.Since(m)
		e := s.Rewind(m, false)
		end = max(end, e)
		if n == 0 {
			matched++
			if first < 0 {
				first = i
			}
			if !exactly {
				break
			}
		} else if n < bestN {
			best, bestN = i, n
		}
	}
	kw := "anyOf"
	if exactly {
		kw = "oneOf"
	}
	switch {
	case matched == 1 || (matched > 1 && !exactly):
		s.pos = end
	case matched > 1:
		s.Schema(m.pos, kw, "matches more than one of the "+strconv.Itoa(len(branches))+" schemas of oneOf; exactly one must match")
		s.pos = end
	default:
		s.Schema(m.pos, kw, "matches none of the "+strconv.Itoa(len(branches))+" schemas of "+kw+"; the violations of the closest one follow")
		branches[best](s)
	}
}

// Discriminated validates an object against the branch its discriminator
// member names (pick maps the member's value to a branch index, -1 when the
// value maps to none).
func (s *Scanner) Discriminated(prop string, pick func([]byte) int, branches []func(*Scanner), kw string) {
	m := s.Save()
	if s.Peek() != TypeObject {
		s.OneOf(branches, kw == "oneOf")
		return
	}
	found, idx := false, -1
	if s.EnterObject() {
		for s.NextMember() {
			if string(s.Key()) == prop && !found {
				found = true
				if s.Peek() == TypeString {
					v, _ := s.String()
					idx = pick(v)
					continue
				}
			}
			s.Skip()
		}
	}
	if s.failed {
		return
	}
	s.Rewind(m, false)
	switch {
	case !found:
		s.Missing(m.pos, prop)
		s.Skip()
	case idx < 0:
		s.r.Violations = append(s.r.Violations, Violation{
			Pointer: s.pointer(prop), Kind: KindSchema, Rule: "discriminator",
			Message: "member " + strconv.Quote(prop) + " must name one of the " + kw + " schemas", Offset: m.pos,
		})
		s.Skip()
	default:
		branches[idx](s)
	}
}

// Not records a violation when the next value matches the schema f.
func (s *Scanner) Not(f func(*Scanner)) {
	m := s.Save()
	f(s)
	if s.failed {
		return
	}
	n := s.Since(m)
	end := s.Rewind(m, false)
	if n == 0 {
		s.Schema(m.pos, "not", "must not match the schema given in not")
	}
	s.pos = end
}

// AtString reports whether the next byte opens a string (with no white space
// before it): generated code then takes its fast path.
func (s *Scanner) AtString() bool { return s.pos < len(s.buf) && s.buf[s.pos] == '"' }

// AtNumber reports whether the next byte starts a number (no white space before it).
func (s *Scanner) AtNumber() bool {
	return s.pos < len(s.buf) && (s.buf[s.pos] == '-' || (s.buf[s.pos] >= '0' && s.buf[s.pos] <= '9'))
}

// AtBool reports whether the next byte starts true or false (no white space before it).
func (s *Scanner) AtBool() bool {
	return s.pos < len(s.buf) && (s.buf[s.pos] == 't' || s.buf[s.pos] == 'f')
}

// SkipString consumes a string whose value no keyword looks at.
func (s *Scanner) SkipString() { s.skipString() }

// AtNull reports whether the next byte starts null (no white space before it).
func (s *Scanner) AtNull() bool { return s.pos < len(s.buf) && s.buf[s.pos] == 'n' }
