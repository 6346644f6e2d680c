package validate

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// skipAll validates strict syntax only, like the schema {}.
func skipAll(body []byte, r *Report) {
	s := r.Begin(body)
	s.Skip()
	s.End()
}

func TestSyntaxFaults(t *testing.T) {
	deep := strings.Repeat("[", 65) + strings.Repeat("]", 65)
	tests := []struct {
		name, body    string
		rule, pointer string
		offset, line  int
		column        int
		noViolation   bool
	}{
		{name: "valid", body: `{"a":[1,2,{"b":"c"}],"d":null}`, noViolation: true},
		{name: "valid escapes", body: `{"a\u0062":"\ud83d\ude00\n","ab":1}`, rule: "duplicate-key", pointer: "/ab", offset: 28, line: 1, column: 29},
		{name: "duplicate key", body: "{\"a\":1,\n \"a\":2}", rule: "duplicate-key", pointer: "/a", offset: 9, line: 2, column: 2},
		{name: "duplicate nested", body: `{"x":[{"k":1,"k":2}]}`, rule: "duplicate-key", pointer: "/x/0/k", offset: 13, line: 1, column: 14},
		{name: "same key other objects", body: `{"x":{"k":1},"y":{"k":2}}`, noViolation: true},
		{name: "trailing data", body: `{} {}`, rule: "trailing-data", pointer: "", offset: 3, line: 1, column: 4},
		{name: "trailing white space", body: "{}\n\t ", noViolation: true},
		{name: "truncated object", body: `{"a":{"b":`, rule: "truncated", pointer: "/a/b", offset: 10, line: 1, column: 11},
		{name: "truncated string", body: `{"a":"xy`, rule: "truncated", pointer: "/a", offset: 8, line: 1, column: 9},
		{name: "truncated literal", body: `[tru`, rule: "truncated", pointer: "/0", offset: 4, line: 1, column: 5},
		{name: "empty body", body: ``, rule: "truncated", pointer: "", offset: 0, line: 1, column: 1},
		{name: "raw line break in string", body: "{\"p\":\"Chase\nPaymentech\"}", rule: "control-character", pointer: "/p", offset: 11, line: 1, column: 12},
		{name: "invalid utf8", body: "{\"p\":\"a\xff\"}", rule: "invalid-utf8", pointer: "/p", offset: 7, line: 1, column: 8},
		{name: "invalid utf8 in key", body: "{\"\xc3\":1}", rule: "invalid-utf8", pointer: "", offset: 2, line: 1, column: 3},
		{name: "too deep", body: deep, rule: "max-depth", pointer: strings.TrimSuffix(strings.Repeat("/0", 64), ""), offset: 64, line: 1, column: 65},
		{name: "number too large", body: `{"n":1e400}`, rule: "number-range", pointer: "/n", offset: 5, line: 1, column: 6},
		{name: "big but finite", body: `{"n":1e300,"m":123456789012345678901234567890}`, noViolation: true},
		{name: "leading zero", body: `[01]`, rule: "syntax", pointer: "/0", offset: 2, line: 1, column: 3},
		{name: "bad escape", body: `["\x"]`, rule: "syntax", pointer: "/0", offset: 2, line: 1, column: 3},
		{name: "missing colon", body: `{"a" 1}`, rule: "syntax", pointer: "/a", offset: 5, line: 1, column: 6},
		{name: "trailing comma", body: `[1,]`, rule: "syntax", pointer: "/1", offset: 3, line: 1, column: 4},
		{name: "single quotes", body: `{'a':1}`, rule: "syntax", pointer: "", offset: 1, line: 1, column: 2},
		{name: "pointer escapes", body: `{"a/b~c":{"x":1,"x":1}}`, rule: "duplicate-key", pointer: "/a~1b~0c/x", offset: 16, line: 1, column: 17},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r Report
			skipAll([]byte(tt.body), &r)
			if tt.noViolation {
				if len(r.Violations) != 0 {
					t.Fatalf("got %+v, want no violation", r.Violations)
				}
				return
			}
			if len(r.Violations) != 1 {
				t.Fatalf("got %d violations %+v, want 1", len(r.Violations), r.Violations)
			}
			v := r.Violations[0]
			if v.Rule != tt.rule || v.Pointer != tt.pointer || v.Offset != tt.offset || v.Line != tt.line || v.Column != tt.column || v.Kind != KindSyntax {
				t.Errorf("got %+v, want rule %s pointer %q offset %d line %d column %d kind syntax", v, tt.rule, tt.pointer, tt.offset, tt.line, tt.column)
			}
			if v.Message == "" {
				t.Error("empty message")
			}
		})
	}
}

func TestDuplicateKeyStillScans(t *testing.T) {
	var r Report
	skipAll([]byte(`{"a":1,"a":2,"b":[1,2],"b":3}`), &r)
	if len(r.Violations) != 2 {
		t.Fatalf("got %+v, want two duplicate-key violations", r.Violations)
	}
	if r.Violations[0].Pointer != "/a" || r.Violations[1].Pointer != "/b" {
		t.Errorf("got pointers %q %q, want /a /b", r.Violations[0].Pointer, r.Violations[1].Pointer)
	}
}

func TestReportReuse(t *testing.T) {
	var r Report
	skipAll([]byte(`{"a":1,"a":2}`), &r)
	r.Reset()
	skipAll([]byte(`{"a":1}`), &r)
	if len(r.Violations) != 0 {
		t.Fatalf("got %+v after Reset, want none", r.Violations)
	}
}

func TestZeroAllocsOnValid(t *testing.T) {
	body := []byte(`{"orderId":"x","a\u0062c":[1,2.5,-3e10,true,false,null,{"d":"\u00e9t\u00e9"}],"e":{"f":"g"}}`)
	var r Report
	skipAll(body, &r)
	n := testing.AllocsPerRun(100, func() {
		r.Reset()
		skipAll(body, &r)
	})
	if n != 0 {
		t.Fatalf("got %v allocs per run, want 0", n)
	}
}

func TestFloat(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want float64
	}{{"0", 0}, {"-0", 0}, {"12", 12}, {"-12", -12}, {"1.5", 1.5}, {"1e3", 1000}, {"123456789012345678", 123456789012345678}} {
		if got := Float([]byte(tt.in)); got != tt.want {
			t.Errorf("Float(%s) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// FuzzScanner checks the scanner against encoding/json: it never panics,
// everything it accepts encoding/json accepts, and what it refuses that
// encoding/json accepts is one of the strict faults encoding/json allows.
func FuzzScanner(f *testing.F) {
	for _, s := range []string{`{}`, `[]`, `{"a":[1,{"b":null}],"c":"\u00e9"}`, `{"a":1,"a":2}`, "\"\xff\"", `1e999`, `[1,2`, `"\ud800"`, `-0.5e-3`, `{"a":{"b":{"c":[[[]]]}}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var r Report
		skipAll(body, &r)
		if len(r.Violations) > 1 {
			for _, v := range r.Violations {
				if v.Rule != "duplicate-key" && v != r.Violations[len(r.Violations)-1] {
					t.Fatalf("only duplicate keys precede the last violation: %+v", r.Violations)
				}
			}
		}
		ok := len(r.Violations) == 0
		std := json.Valid(body)
		if ok && !std {
			t.Fatalf("scanner accepts what encoding/json refuses: %q", body)
		}
		if !ok && std {
			switch r.Violations[0].Rule {
			case "duplicate-key", "invalid-utf8", "max-depth", "number-range":
			default:
				t.Fatalf("scanner refuses (%+v) what encoding/json accepts: %q", r.Violations, body)
			}
		}
		for _, v := range r.Violations {
			if v.Offset < 0 || v.Offset > len(body) || v.Line < 1 || v.Column < 1 {
				t.Fatalf("bad place %+v for %q", v, body)
			}
		}
	})
}

func TestPlain8(t *testing.T) {
	base := []byte("abcdefgh")
	for pos := 0; pos < 8; pos++ {
		for c := 0; c < 256; c++ {
			b := append([]byte(nil), base...)
			b[pos] = byte(c)
			w := uint64(0)
			for i := 7; i >= 0; i-- {
				w = w<<8 | uint64(b[i])
			}
			want := !(c < 0x20 || c == '"' || c == '\\' || c >= 0x80)
			if got := plain8(w); got != want {
				t.Fatalf("plain8 with byte %#x at %d: got %v, want %v", c, pos, got, want)
			}
		}
	}
}

func TestSpecial8LowestIsExact(t *testing.T) {
	specials := []byte{0, 0x1f, '"', '\\', 0x80, 0xff, 0x9f}
	for pos := 0; pos < 8; pos++ {
		for _, c := range specials {
			for _, c2 := range specials {
				b := []byte("abcdefgh")
				b[pos] = c
				if pos < 7 {
					b[7] = c2
				}
				w := uint64(0)
				for i := 7; i >= 0; i-- {
					w = w<<8 | uint64(b[i])
				}
				m := special8(w)
				if m == 0 {
					t.Fatalf("%q: no flag", b)
				}
				if got := bitsTrailing(m) >> 3; got != pos {
					t.Fatalf("%q: lowest flag at %d, want %d", b, got, pos)
				}
			}
		}
	}
}

func bitsTrailing(m uint64) int {
	n := 0
	for m&1 == 0 {
		m >>= 1
		n++
	}
	return n
}

// An object with many unknown names is checked in bulk when it closes: the
// same duplicates, in document order, at n log n.
func TestManyKeysDuplicates(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"x":{`)
	for i := 0; i < 5000; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"k%d":%d`, i%4000, i) // names 0..999 appear twice
	}
	b.WriteString(`,"k3":0,"k1":0}}`) // k3 and k1 within the first 64 names: a third time
	var r Report
	skipAll([]byte(b.String()), &r)
	if len(r.Violations) != 1002 {
		t.Fatalf("got %d violations, want 1002", len(r.Violations))
	}
	last := -1
	for _, v := range r.Violations {
		if v.Rule != "duplicate-key" || !strings.HasPrefix(v.Pointer, "/x/k") || v.Offset <= last {
			t.Fatalf("got %+v after offset %d", v, last)
		}
		last = v.Offset
	}
	if got := r.Violations[0].Pointer; got != "/x/k0" {
		t.Errorf("first duplicate at %s, want /x/k0", got)
	}
}

func BenchmarkManyKeys(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("{")
	for i := 0; i < 50000; i++ {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `"k%d":0`, i)
	}
	sb.WriteString("}")
	body := []byte(sb.String())
	var r Report
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		r.Reset()
		skipAll(body, &r)
	}
}

// Member names of every length around the eight-byte word, near the end of
// the body, with escapes and non-ASCII, give the right pointer.
func TestNamePointers(t *testing.T) {
	for _, name := range []string{"", "a", "abcdefg", "abcdefgh", "abcdefghi", "abcdefghijklmnop", "abcdefghijklmnopq", "é", "aé", `a\"b`, `a\u00e9`, "a~b/c"} {
		for _, pad := range []string{"", "                "} {
			body := `{"` + name + `":1,"` + name + `":2` + pad + `}`
			var r Report
			skipAll([]byte(body), &r)
			if len(r.Violations) != 1 || r.Violations[0].Rule != "duplicate-key" {
				t.Fatalf("%s: got %+v, want one duplicate-key", body, r.Violations)
			}
			var decoded string
			if err := json.Unmarshal([]byte(`"`+name+`"`), &decoded); err != nil {
				t.Fatal(err)
			}
			want := "/" + strings.NewReplacer("~", "~0", "/", "~1").Replace(decoded)
			if got := r.Violations[0].Pointer; got != want {
				t.Errorf("%s: pointer %q, want %q", body, got, want)
			}
		}
	}
	for _, body := range []string{`{"abc`, `{"abcdefghijkl`, `{"a`, `{"`} {
		var r Report
		skipAll([]byte(body), &r)
		if len(r.Violations) != 1 || r.Violations[0].Rule != "truncated" {
			t.Errorf("%q: got %+v, want truncated", body, r.Violations)
		}
	}
}
