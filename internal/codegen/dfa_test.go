package codegen

import (
	"math/rand/v2"
	"regexp"
	"testing"

	"github.com/orderguard/orderguard/internal/validate"
)

func runtimeDFA(d *dfa) *validate.DFA {
	flags := make([]uint8, len(d.accept))
	for i := range flags {
		flags[i] = d.flags(i)
	}
	return &validate.DFA{Class: d.class, Cols: d.cols, Next: d.next, Flags: flags, Empty: d.empty}
}

var dfaPatterns = []string{
	`^-?[0-9]+(\.[0-9]+)?$`, `^[A-Z]{3}$`, `^[0-9]{6,8}$`, `^(0[1-9]|1[0-2])$`, `^[0-9]{4}$`, `^[0-9]{12,19}$`,
	`^a*$`, `a+`, `^[^@]+@[^@]+$`, `x$`, `^$`, `abc|^d`, `[a-c]{2}z?$`, `^.*$`, `^[^a]$`, `(ab)*c`, `^\d+\.?\d*$`,
}

var dfaRefused = []string{`é`, `(?i)abc`, `\bword\b`, `(?m)^x$`, `^[à-ÿ]+$`, `[a-z]{1000}`}

func TestDFAMatchesRegexp(t *testing.T) {
	alphabet := []string{"a", "b", "c", "d", "z", "x", "@", ".", "-", "0", "1", "2", "9", "A", "Z", "é", "€", "\n", " "}
	rng := rand.New(rand.NewPCG(1, 2))
	var inputs []string
	for range 3000 {
		n := rng.IntN(22)
		s := ""
		for range n {
			s += alphabet[rng.IntN(len(alphabet))]
		}
		inputs = append(inputs, s)
	}
	inputs = append(inputs, "", "4242", "123.45", "-0.5", "USD", "01", "12", "13", "4242424242424242", "a@b", "abcz")
	for _, p := range dfaPatterns {
		d, ok := compileDFA(p)
		if !ok {
			t.Errorf("%s: not compiled to a DFA", p)
			continue
		}
		re, rd := regexp.MustCompile(p), runtimeDFA(d)
		for _, in := range inputs {
			if got, want := rd.Match([]byte(in)), re.MatchString(in); got != want {
				t.Errorf("%s on %q: DFA %v, regexp %v", p, in, got, want)
			}
		}
	}
	for _, p := range dfaRefused {
		if _, ok := compileDFA(p); ok {
			t.Errorf("%s: compiled to a DFA, want regexp (not exact or too large)", p)
		}
	}
}

func FuzzDFA(f *testing.F) {
	f.Add(0, "123.45")
	f.Add(8, "x@y")
	f.Fuzz(func(t *testing.T, i int, in string) {
		if i < 0 {
			i = -i
		}
		p := dfaPatterns[i%len(dfaPatterns)]
		d, _ := compileDFA(p)
		if !isValidUTF8(in) {
			return
		}
		if got, want := runtimeDFA(d).Match([]byte(in)), regexp.MustCompile(p).MatchString(in); got != want {
			t.Fatalf("%s on %q: DFA %v, regexp %v", p, in, got, want)
		}
	})
}
