package redact

import (
	"strings"
	"testing"
)

func TestFindPANs(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want []string // the matched text
	}{
		{"visa test card", `{"bin":"411111","number":"4111111111111111"}`, []string{"4111111111111111"}},
		{"amex 15", "card 378282246310005 end", []string{"378282246310005"}},
		{"visa 13", "4222222222222", []string{"4222222222222"}},
		{"19 digits", "6011000990139424000", nil}, // 19 digits, Luhn-invalid
		{"19 digits valid", "4111111111111111110", []string{"4111111111111111110"}},
		{"spaces", "pan: 4111 1111 1111 1111.", []string{"4111 1111 1111 1111"}},
		{"dashes", "5555-5555-5555-4444", []string{"5555-5555-5555-4444"}},
		{"mixed separators", "4111-1111 1111-1111", []string{"4111-1111 1111-1111"}},
		{"leading short number", "order 12 4111 1111 1111 1111", []string{"4111 1111 1111 1111"}},
		{"two cards", "4111111111111111,5555555555554444", []string{"4111111111111111", "5555555555554444"}},
		{"luhn invalid", "4111111111111112", nil},
		{"12 digits", "411111111111", nil},
		{"20 digits", "41111111111111111113", nil},
		{"inside a longer run", "9941111111111111111199", nil},
		{"double separator", "4111  1111 1111 1111", nil},
		{"last four only", `"lastFourDigits":"1111","bin":"411111"`, nil},
		{"timestamp ms not luhn", `"checkoutTime":1415273168`, nil},
		{"letters around", "x4111111111111111y", []string{"4111111111111111"}},
		{"empty", "", nil},
		{"trailing separator", "4111111111111111-", []string{"4111111111111111"}},
		{"decimal fraction", `duration_seconds_sum 0.0190239999999999`, nil},
		{"decimal fraction luhn", "0.4111111111111111", nil},
		{"integer part of a decimal", "4111111111111111.00", []string{"4111111111111111"}},
		{"sentence end before card", "card:.4111111111111111", []string{"4111111111111111"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got []string
			for _, s := range FindPANs([]byte(c.in)) {
				got = append(got, c.in[s.Start:s.End])
			}
			if strings.Join(got, "|") != strings.Join(c.want, "|") {
				t.Fatalf("FindPANs(%q) = %q, want %q", c.in, got, c.want)
			}
			if ContainsPAN([]byte(c.in)) != (len(c.want) > 0) {
				t.Fatalf("ContainsPAN(%q) = %v", c.in, !(len(c.want) > 0))
			}
		})
	}
}

func TestMask(t *testing.T) {
	in := `{"a":"4111 1111 1111 1111","b":"5555555555554444","c":"12345","d":"4222222222222","e":"378282246310005"}`
	got := string(Mask([]byte(in)))
	want := `{"a":"4111 11** **** 1111","b":"555555******4444","c":"12345","d":"422222***2222","e":"378282*****0005"}`
	if got != want {
		t.Fatalf("Mask = %s, want %s", got, want)
	}
	if ContainsPAN([]byte(got)) {
		t.Fatal("masked output still holds a card number")
	}
}

func TestMaskString(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"4111111111111111", "411111******1111"},
		{"/payment/0/4111111111111111/x", "/payment/0/411111******1111/x"},
		{"order-4111-1111-1111-1111", "order-4111-11**-****-1111"},
		{"M920354089", "M920354089"},
		{"", ""},
	} {
		if got := MaskString(c.in); got != c.want {
			t.Errorf("MaskString(%q) = %q, want %q", c.in, got, c.want)
		}
		if got := string(AppendMasked([]byte("x="), []byte(c.in))); got != "x="+c.want {
			t.Errorf("AppendMasked(%q) = %q, want %q", c.in, got, "x="+c.want)
		}
	}
	id := []byte("M920354089")
	buf := make([]byte, 0, 64)
	if n := testing.AllocsPerRun(100, func() { buf = AppendMasked(buf[:0], id) }); n != 0 {
		t.Errorf("AppendMasked without a card number: %v allocations, want 0", n)
	}
	s := "M920354089"
	if n := testing.AllocsPerRun(100, func() { _ = MaskString(s) }); n != 0 {
		t.Errorf("MaskString without a card number: %v allocations, want 0", n)
	}
}

func TestManyGroups(t *testing.T) {
	// A long run of 1-digit groups must not panic or overflow the group array.
	s := strings.Repeat("4 ", 200) + "1"
	_ = FindPANs([]byte(s))
	s = "1 2 3 4111 1111 1111 1111"
	if got := FindPANs([]byte(s)); len(got) != 1 || s[got[0].Start:got[0].End] != "4111 1111 1111 1111" {
		t.Fatalf("FindPANs(%q) = %v", s, got)
	}
}

func FuzzFindPANs(f *testing.F) {
	for _, s := range []string{"4111111111111111", "4111 1111-1111 1111", "1 2 3", strings.Repeat("9-", 40)} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, s := range FindPANs(b) {
			if s.Start < 0 || s.End > len(b) || s.Start >= s.End {
				t.Fatalf("span %v out of %d bytes", s, len(b))
			}
		}
		if ContainsPAN(Mask(b)) {
			t.Fatalf("Mask(%q) still holds a card number", b)
		}
	})
}

func BenchmarkContainsPAN(b *testing.B) {
	line := []byte(`{"time":"2026-11-21T06:00:00Z","level":"INFO","msg":"request","order_id":"M920354089","operation":"orderV2","outcome":"forwarded","status":200,"total_ms":1.234}`)
	b.ReportAllocs()
	b.SetBytes(int64(len(line)))
	for b.Loop() {
		ContainsPAN(line)
	}
}
