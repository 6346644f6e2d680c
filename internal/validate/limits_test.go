package validate

import (
	"strings"
	"testing"
)

// limitCases are the cases of the proxy's former second lexer
// (inbound.JSONLimits), with the offset each breach is reported at, for
// Limits{MaxDepth: 3, MaxString: 10, MaxArray: 4}.
var limitCases = []struct {
	name, body string
	rule       string
	offset     int
}{
	{"flat", `{"a":"0123456789","b":[1,2,3,4]}`, "", 0},
	{"depth 3", `{"a":[{"b":1}]}`, "", 0},
	{"depth 4", `{"a":[{"b":[]}]}`, LimitDepth, 11},
	{"string 11", `{"a":"0123456789x"}`, LimitString, 5},
	{"long member name", `{"0123456789x":1}`, LimitString, 1},
	{"escapes count as written", `{"a":"\"\"\"\"\"\""}`, LimitString, 5},
	{"escaped quote does not end", `{"a":"\"[[[[[[[["}`, "", 0},
	{"array 5", `[1,2,3,4,5]`, LimitArray, 8},
	{"commas inside strings", `["a,b,c,d,e"]`, "", 0},
	{"commas of an object", `{"a":1,"b":2,"c":3,"d":4,"e":5}`, "", 0},
	{"inner array counted alone", `[[1,2,3,4],[1,2,3,4]]`, "", 0},
	{"not json", `card=4111111111111111&cvv=737`, "", 0},
	{"unterminated string", `{"a":"012345678901`, LimitString, 5},
	{"stray closers", `]]]}}}[1,2]`, "", 0},
	{"empty", ``, "", 0},
	// The scanner is strict where the former lexer was loose: a breach counts
	// up to the first syntax fault, not after it.
	{"breach before a fault", `[1,2,3,4,5,,]`, LimitArray, 8},
	{"breach after a fault", `[1,,2,3,4,5]`, "", 0},
	{"long string cut by a fault", "[\"0123456789x\x01\"]", LimitString, 1},
	{"short string cut by a fault", "[\"0123\x01456789x\"]", "", 0},
	{"trailing comma after the last allowed", `[1,2,3,4,]`, LimitArray, 8},
	{"an escape counts as written", `["\u0030123456789x"]`, LimitString, 1},
	{"string in a deep array", `[[["0123456789x"]]]`, LimitString, 3},
	{"array of arrays", `[[],[],[],[],[]]`, LimitArray, 12},
}

func TestWalkLimits(t *testing.T) {
	lim := Limits{MaxDepth: 3, MaxString: 10, MaxArray: 4}
	for _, c := range limitCases {
		t.Run(c.name, func(t *testing.T) {
			r := Report{Limits: lim}
			WalkLimits([]byte(c.body), &r)
			if r.Breach.Rule != c.rule || (c.rule != "" && r.Breach.Offset != c.offset) {
				t.Fatalf("WalkLimits(%s): breach %+v, want %q at %d", c.body, r.Breach, c.rule, c.offset)
			}
			if c.rule == "" {
				return
			}
			want := map[string]int{LimitDepth: 3, LimitString: 10, LimitArray: 4}[c.rule]
			if r.Breach.Limit != want {
				t.Errorf("limit %d, want %d", r.Breach.Limit, want)
			}
			for _, v := range r.Violations {
				if v.Kind == KindSyntax && v.Rule != DuplicateKeyRule {
					t.Errorf("a breach also recorded %+v", v)
				}
			}
		})
	}
}

// TestLimitsInValidation: the same limits checked by a validation pass
// (skipAll drives the scanner as generated validators do, fast path
// included) find the same breaches, and a pass with the fast path barred
// agrees.
func TestLimitsInValidation(t *testing.T) {
	lim := Limits{MaxDepth: 3, MaxString: 10, MaxArray: 4}
	for _, c := range limitCases {
		for _, fast := range []bool{true, false} {
			r := Report{Limits: lim}
			s := r.Begin([]byte(c.body))
			if !fast {
				s.fastMiss = len(c.body)
			}
			s.Skip()
			s.End()
			if r.Breach.Rule != c.rule || (c.rule != "" && r.Breach.Offset != c.offset) {
				t.Errorf("%s (fast %v): breach %+v, want %q at %d", c.name, fast, r.Breach, c.rule, c.offset)
			}
		}
	}
}

// TestLimitsThroughValues: a breach found by the methods generated
// validators call (String, NextMember, NextElem, EnterObject) stops the scan.
func TestLimitsThroughValues(t *testing.T) {
	r := Report{Limits: Limits{MaxString: 4, MaxArray: 2, MaxDepth: 2}}
	s := r.Begin([]byte(`{"abcde":1}`))
	if s.EnterObject(); s.NextMember() || r.Breach.Rule != LimitString || !s.Failed() {
		t.Fatalf("long name: breach %+v, failed %v", r.Breach, s.Failed())
	}
	s = r.Begin([]byte(`["abcde"]`))
	s.EnterArray()
	s.NextElem()
	if v, ok := s.String(); ok || v != nil || r.Breach.Rule != LimitString || r.Breach.Offset != 1 {
		t.Fatalf("long value: %q %v, breach %+v", v, ok, r.Breach)
	}
	s = r.Begin([]byte(`["ab\ncde"]`))
	s.EnterArray()
	s.NextElem()
	if _, ok := s.String(); ok || r.Breach.Rule != LimitString {
		t.Fatalf("long escaped value: breach %+v", r.Breach)
	}
	s = r.Begin([]byte(`[1,2,3]`))
	s.EnterArray()
	for s.NextElem() {
		s.Number()
	}
	if r.Breach.Rule != LimitArray || r.Breach.Offset != 4 {
		t.Fatalf("long array: breach %+v", r.Breach)
	}
	s = r.Begin([]byte(`[[[]]]`))
	s.EnterArray()
	s.NextElem()
	s.EnterArray()
	s.NextElem()
	if s.EnterArray() || r.Breach.Rule != LimitDepth || r.Breach.Offset != 2 {
		t.Fatalf("deep: breach %+v", r.Breach)
	}
	// The next body starts clean.
	s = r.Begin([]byte(`["abc"]`))
	s.Skip()
	s.End()
	if r.Breach.Rule != "" || len(r.Violations) != 0 {
		t.Fatalf("clean body after breaches: %+v %+v", r.Breach, r.Violations)
	}
}

// TestLimitsOff: with no limit set nothing is bounded but the scanner's own
// nesting, and On says so.
func TestLimitsOff(t *testing.T) {
	var r Report
	if r.Limits.On() {
		t.Fatal("zero Limits are on")
	}
	body := `[` + strings.Repeat(`"`+strings.Repeat("x", 1e5)+`",`, 50) + strings.Repeat(`1,`, 1e5) + `{}]`
	WalkLimits([]byte(body), &r)
	if r.Breach.Rule != "" || len(r.Violations) != 0 {
		t.Fatalf("limits off: %+v %+v", r.Breach, r.Violations)
	}
	skipAll([]byte(strings.Repeat("[", 65)+strings.Repeat("]", 65)), &r)
	if r.Breach.Rule != "" || len(r.Violations) != 1 || r.Violations[0].Rule != "max-depth" {
		t.Fatalf("limits off, 65 levels: %+v %+v", r.Breach, r.Violations)
	}
}

// TestWalkLimitsNesting: the walk follows nesting past DefaultMaxDepth,
// as far as Limits.MaxDepth allows, or walkDepth with it off; past that it
// stops as at a syntax fault, without a breach.
func TestWalkLimitsNesting(t *testing.T) {
	nest := func(n int, inner string) string {
		return strings.Repeat("[", n) + inner + strings.Repeat("]", n)
	}
	cases := []struct {
		name string
		lim  Limits
		body string
		rule string
	}{
		{"100 levels under 100", Limits{MaxDepth: 100}, nest(100, ""), ""},
		{"101 levels over 100", Limits{MaxDepth: 100}, nest(101, ""), LimitDepth},
		{"long string 200 levels deep", Limits{MaxString: 4}, nest(200, `"abcde"`), LimitString},
		{"long array 200 levels deep", Limits{MaxArray: 2}, nest(200, `1,2,3`), LimitArray},
		{"past walkDepth", Limits{MaxString: 4}, nest(walkDepth+1, `"abcde"`), ""},
		{"past walkDepth, under MaxDepth", Limits{MaxDepth: 5000, MaxString: 4}, nest(walkDepth+1, `"abcde"`), ""},
		{"at walkDepth, under MaxDepth", Limits{MaxDepth: 5000, MaxString: 4}, nest(walkDepth, `"abcde"`), LimitString},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := Report{Limits: c.lim}
			WalkLimits([]byte(c.body), &r)
			if r.Breach.Rule != c.rule {
				t.Fatalf("breach %+v, want %q (violations %+v)", r.Breach, c.rule, r.Violations)
			}
		})
	}
}

// TestLimitsPastValidatorDepth: a validator stops at DefaultMaxDepth, a
// syntax fault; a limit broken further on is still found (the limits are
// refused first, whatever the validators say), and the validator's own
// violations are left as they were.
func TestLimitsPastValidatorDepth(t *testing.T) {
	deep := strings.Repeat("[", 70) + `"abcde"` + strings.Repeat("]", 70)
	for _, c := range []struct {
		lim  Limits
		rule string
	}{
		{Limits{MaxString: 4}, LimitString},
		{Limits{MaxDepth: 100, MaxString: 10}, ""},
		{Limits{MaxDepth: 69}, LimitDepth},
		{Limits{MaxDepth: 70}, ""},
	} {
		r := Report{Limits: c.lim}
		skipAll([]byte(deep), &r)
		if r.Breach.Rule != c.rule {
			t.Errorf("%+v: breach %+v, want %q", c.lim, r.Breach, c.rule)
		}
		if len(r.Violations) != 1 || r.Violations[0].Rule != "max-depth" || r.Violations[0].Offset != DefaultMaxDepth {
			t.Errorf("%+v: violations %+v, want the validator's max-depth at %d", c.lim, r.Violations, DefaultMaxDepth)
		}
	}
}

// TestZeroAllocsWithLimits: the limits on cost no allocation on a valid body.
func TestZeroAllocsWithLimits(t *testing.T) {
	body := []byte(`{"a":[1,2,{"b":"c"}],"d":null,"e":"0123456789"}`)
	r := Report{Limits: Limits{MaxDepth: 8, MaxString: 64, MaxArray: 16}}
	skipAll(body, &r)
	allocs := testing.AllocsPerRun(100, func() {
		r.Reset()
		skipAll(body, &r)
		WalkLimits(body, &r)
	})
	if allocs != 0 || r.Breach.Rule != "" {
		t.Fatalf("%v allocations, breach %+v", allocs, r.Breach)
	}
}

// BenchmarkWalkLimits is the limits' walk of a body no validator reads
// (the former JSONLimits.Check benchmark, same body).
func BenchmarkWalkLimits(b *testing.B) {
	body := []byte(`{"orderId":"2356fdse0rr489","orderType":"WEB","timeSentToForter":1415287948000,"checkoutTime":1415273168,` +
		`"cartItems":[` + strings.Repeat(`{"basicItemData":{"price":{"amountUSD":"10.00","currency":"USD"},"name":"Ladies Blue Shirt","quantity":1,"type":"TANGIBLE"}},`, 30) + `{}],"x":1}`)
	r := Report{Limits: Limits{MaxDepth: 64, MaxString: 4096, MaxArray: 1000}}
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		r.Reset()
		WalkLimits(body, &r)
		if r.Breach.Rule != "" {
			b.Fatal(r.Breach)
		}
	}
}

// FuzzLimits checks that the fast path never changes where a limit is
// found, and that the walk places a breach inside the body.
func FuzzLimits(f *testing.F) {
	for _, c := range limitCases {
		f.Add([]byte(c.body), uint8(3), uint8(10), uint8(4))
	}
	f.Fuzz(func(t *testing.T, body []byte, depth, str, arr uint8) {
		lim := Limits{MaxDepth: int(depth), MaxString: int(str), MaxArray: int(arr)}
		run := func(allowFast bool) Report {
			r := Report{Limits: lim}
			s := r.Begin(body)
			if !allowFast {
				s.fastMiss = len(body)
			}
			s.Skip()
			s.End()
			return r
		}
		fast, exact := run(true), run(false)
		if fast.Breach != exact.Breach || len(fast.Violations) != len(exact.Violations) {
			t.Fatalf("%+v %q:\nfast  %+v %+v\nexact %+v %+v", lim, body, fast.Breach, fast.Violations, exact.Breach, exact.Violations)
		}
		r := Report{Limits: lim}
		WalkLimits(body, &r)
		if b := r.Breach; b.Rule != "" && (b.Offset < 0 || b.Offset >= len(body)) {
			t.Fatalf("breach %+v outside %q", b, body)
		}
	})
}
