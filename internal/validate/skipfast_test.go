package validate

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// skipBoth skips body once with the fast path allowed and once with it
// barred (as after a miss at offset 0), with or without the card-number
// guard, and returns both reports.
func skipBoth(body []byte, guard bool) (fast, exact []Violation) {
	run := func(allowFast bool) []Violation {
		var r Report
		s := r.Begin(body)
		if guard {
			s.GuardCardNumbers("no-full-card-number", SeverityError, "a card number")
		}
		if !allowFast {
			s.fastMiss = len(body)
		}
		s.Skip()
		s.End()
		return r.Violations
	}
	return run(true), run(false)
}

// skipFastCases hold what the fast path must hand to the exact path (each
// has a violation) and what it takes itself (none does).
var skipFastCases = []string{
	`{}`, `[]`, `{"a":{"b":[1,2,{"c":null}]},"d":"é","e":true,"f":false,"g":-0.5}`,
	`{"a":1,"a":2}`, `{"a":{"x":1},"b":{"x":1,"x":2}}`, `{"a\u0062":1,"ab":2}`,
	`{"card":"4111111111111111"}`, `["4111 1111 1111 1111"]`, `{"s":"4111\u0031111111111111"}`,
	`{"n":1e999}`, `{"n":1e2}`, `{"n":01}`, `{"n":1.}`, `{"n":-}`, `[1,]`, `{"a":1,}`, `{"a" 1}`,
	`{"a":tru}`, `{"a":nul}`, "{\"a\":\"\x01\"}", "{\"a\":\"\xff\"}", `{"a":"\x"}`, `{"a":"\u12"}`,
	`{"a":[}`, `[{]`, `{"a":1]`, `[1}`, `{"a":"b"`, `[1,2`, `{"a":`, `{"`,
	`{"a":[1,2,3],"b":{"c":{"d":{"e":[[[["deep"]]]]}}}}`,
	strings.Repeat("[", 64) + strings.Repeat("]", 64), strings.Repeat("[", 65) + strings.Repeat("]", 65),
}

func TestSkipFastAgreesWithExact(t *testing.T) {
	// An object with more names than the fast path keeps, and one whose
	// names collide in the filter without repeating.
	var many strings.Builder
	many.WriteString("{")
	for i := range maxFastNames + 10 {
		fmt.Fprintf(&many, `"k%d":%d,`, i, i)
	}
	many.WriteString(`"k7":0}`)
	cases := append(skipFastCases, many.String(), strings.Replace(many.String(), `"k7":0}`, `"z":0}`, 1))
	for _, body := range cases {
		for _, guard := range []bool{false, true} {
			fast, exact := skipBoth([]byte(body), guard)
			if !reflect.DeepEqual(fast, exact) {
				t.Errorf("guard=%v %.60q:\nfast  %+v\nexact %+v", guard, body, fast, exact)
			}
		}
	}
}

// TestSkipFastTakesPlainValues shows the fast path is taken (it would be a
// silent no-op otherwise): on a clean body it never records a miss.
func TestSkipFastTakesPlainValues(t *testing.T) {
	var r Report
	s := r.Begin([]byte(skipFastCases[2]))
	s.GuardCardNumbers("no-full-card-number", SeverityError, "a card number")
	s.Skip()
	if s.fastMiss != -1 || s.Pos() != len(skipFastCases[2]) {
		t.Fatalf("fast path missed at %d (pos %d) on a clean body", s.fastMiss, s.Pos())
	}
	s = r.Begin([]byte(`{"a":{"b":1,"b":2}}`))
	s.Skip()
	if s.fastMiss != 12 {
		t.Fatalf("fast path gave up at %d, want 12 (the repeated name)", s.fastMiss)
	}
}

// FuzzSkipFast checks that the fast path never changes a verdict, a
// pointer or a position: both paths report exactly the same violations.
func FuzzSkipFast(f *testing.F) {
	for _, c := range skipFastCases {
		f.Add([]byte(c), true)
	}
	f.Fuzz(func(t *testing.T, body []byte, guard bool) {
		fast, exact := skipBoth(body, guard)
		if !reflect.DeepEqual(fast, exact) {
			t.Fatalf("guard=%v %q:\nfast  %+v\nexact %+v", guard, body, fast, exact)
		}
	})
}
