package validate

import "testing"

func TestIsCardNumber(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want bool
	}{
		{"4111111111111111", true},
		{"4111 1111 1111 1111", true},
		{"4242-4242-4242-4242", true},
		{"5222220000000005", true},
		{"4111111111111112", false}, // Luhn fails
		{"411111111111", false},     // 12 digits
		{"41111111111111111111", false},
		{"4111  1111 1111 1111", false}, // two separators in a row
		{"-4111111111111111", false},
		{"4111111111111111 ", false},
		{"order 4111111111111111", false},
		{"378282246310005", true}, // 15-digit Amex test number
	} {
		if got := IsCardNumber([]byte(tt.in)); got != tt.want {
			t.Errorf("IsCardNumber(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestEqualFold(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want bool
	}{{"klarna", "KLARNA", true}, {"Klarna", "KLARNA", true}, {"KLARNA", "KLARN", false}, {"KL@RNA", "KL`RNA", false}, {"a1", "A1", true}} {
		if got := EqualFold([]byte(tt.a), tt.b); got != tt.want {
			t.Errorf("EqualFold(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestDecimalsAndMilli(t *testing.T) {
	for _, tt := range []struct {
		raw      string
		decimals int
		milli    int64
		ok       bool
	}{
		{`"99.95"`, 2, 99950, true},
		{`"105"`, 0, 105000, true},
		{`12.345`, 3, 12345, true},
		{`"0.1234"`, 4, 0, false},
		{`"-3.5"`, 1, -3500, true},
		{`"1e3"`, -1, 0, false},
		{`"abc"`, -1, 0, false},
	} {
		s := &Scanner{buf: []byte(tt.raw)}
		sp := Span{0, len(tt.raw)}
		if got := s.Decimals(sp); got != tt.decimals {
			t.Errorf("Decimals(%s) = %d, want %d", tt.raw, got, tt.decimals)
		}
		m, ok := s.milli(sp)
		if ok != tt.ok || (ok && m != tt.milli) {
			t.Errorf("milli(%s) = %d, %v, want %d, %v", tt.raw, m, ok, tt.milli, tt.ok)
		}
	}
}

// A rule whose condition depends on a fact set later in the document is
// reported at the end, with the pointer of the place it was found.
func TestDeferredRule(t *testing.T) {
	body := []byte(`{"a":{"b":{}},"late":true}`)
	var r Report
	s := r.Begin(body)
	s.EnterObject()
	for s.NextMember() {
		switch string(s.Key()) {
		case "a":
			s.EnterObject()
			for s.NextMember() {
				at := s.Pos()
				s.Skip()
				if s.At(PathPattern{{"a"}, {"b", "c"}}) {
					s.RuleAt(at, "x", "needs-x", SeverityError, "needs x", FactCond{All: 1 << 3})
				}
			}
		case "late":
			s.Bool()
			s.SetFact(3)
		}
	}
	s.End()
	if len(r.Violations) != 1 || r.Violations[0].Pointer != "/a/b/x" || r.Violations[0].Offset != 10 {
		t.Fatalf("got %+v, want one needs-x at /a/b/x offset 10", r.Violations)
	}
	r.Reset()
	r.Severities = map[string]Severity{"needs-x": SeverityOff}
	s = r.Begin(body)
	s.Skip()
	s.RuleAt(0, "", "needs-x", SeverityError, "needs x", FactCond{})
	s.End()
	if len(r.Violations) != 0 {
		t.Fatalf("rule turned off still reported: %+v", r.Violations)
	}
}

// Found by FuzzOrderValidator: a top-level member's value broken by a
// truncated escape ({"orderType":"\b) must not panic when the rules look at it.
func TestTextOfBrokenString(t *testing.T) {
	s := &Scanner{buf: []byte(`"\`)}
	if got := s.Text(Span{0, 2}); got != nil {
		t.Errorf("Text of a broken string = %q, want nil", got)
	}
	if got := string(appendUnescaped(nil, []byte(`ab\`))); got != `ab\` {
		t.Errorf("appendUnescaped of a trailing backslash = %q", got)
	}
	if got := string(appendUnescaped(nil, []byte(`\u12`))); got != `\u12` {
		t.Errorf("appendUnescaped of a short \\u = %q", got)
	}
}
