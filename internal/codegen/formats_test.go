package codegen

import (
	"math/rand/v2"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/orderguard/orderguard/internal/validate"
)

// The hand-written format checks agree with kin-openapi's format validators
// (regexps and net/netip) on tricky and random strings.
func TestFormatsMatchKin(t *testing.T) {
	oracleOptions() // defines email, ipv4, ipv6
	checks := map[string]func([]byte) bool{
		"email": validate.IsEmail, "ipv4": validate.IsIPv4, "ipv6": validate.IsIPv6,
		"date": validate.IsDate, "date-time": validate.IsDateTime,
	}
	alphabets := map[string]string{
		"email":     "ab@.-_ \t<>\",é1",
		"ipv4":      "0123456789.:a ",
		"ipv6":      "0123456789abcdefABCDEF:.%z ",
		"date":      "0123456789-T:Z",
		"date-time": "0123456789-T:Z.+tz",
	}
	seeds := map[string][]string{
		"email":     {"a@b", "a@b.c", "@b", "a@", "a@@b", "a b@c", "a@b c", "a@<b>", "é@ü", "a@b,c"},
		"ipv4":      {"1.2.3.4", "0.0.0.0", "255.255.255.255", "256.1.1.1", "01.2.3.4", "1.2.3", "1.2.3.4.5", "::1", "1.2.3.4 "},
		"ipv6":      {"::1", "::", "fe80::1%eth0", "::ffff:1.2.3.4", "1.2.3.4", "2001:db8::1", "2001:db8:::1", "g::1", "1:2:3:4:5:6:7:8"},
		"date":      {"2017-07-21", "2017-02-31", "2017-13-01", "2017-00-10", "2017-7-21", "20170721", "2017-07-21T"},
		"date-time": {"2017-07-21T17:32:28Z", "2017-07-21T17:32:28.123+02:00", "2017-07-21T24:00:00Z", "2017-07-21T17:32:60Z", "2017-07-21t17:32:28z", "2017-07-21T17:32:28", "2017-07-21T17:32:28.Z"},
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for name, ours := range checks {
		kin, ok := openapi3.SchemaStringFormats[name]
		if !ok {
			t.Fatalf("kin-openapi has no %s format defined", name)
		}
		inputs := append([]string{}, seeds[name]...)
		alpha := []rune(alphabets[name])
		for range 3000 {
			// Random strings near a valid seed, and random ones from the alphabet.
			b := []rune(seeds[name][rng.IntN(2)])
			for range rng.IntN(3) + 1 {
				switch i := rng.IntN(len(b) + 1); rng.IntN(3) {
				case 0:
					if i < len(b) {
						b[i] = alpha[rng.IntN(len(alpha))]
					}
				case 1:
					b = append(b[:i], append([]rune{alpha[rng.IntN(len(alpha))]}, b[i:]...)...)
				default:
					if i < len(b) {
						b = append(b[:i], b[i+1:]...)
					}
				}
			}
			inputs = append(inputs, string(b))
		}
		seen := map[bool]int{}
		for _, in := range inputs {
			got, want := ours([]byte(in)), kin.Validate(in) == nil
			if got != want {
				t.Errorf("format %s on %q: ours %v, kin-openapi %v", name, in, got, want)
			}
			seen[want]++
		}
		if seen[true] < 50 || seen[false] < 50 {
			t.Errorf("format %s: %d valid and %d invalid inputs, want both kinds", name, seen[true], seen[false])
		}
	}
}
