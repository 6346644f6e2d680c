package validate

import "testing"

// The edge cases of each format, to the letter of its RFC. The cases marked
// "kin accepts" are where kin-openapi (the oracle of internal/codegen) is
// looser; openapi/README.md lists them.
func TestFormatsToTheLetter(t *testing.T) {
	cases := []struct {
		format string
		check  func([]byte) bool
		in     string
		want   bool
	}{
		// RFC 3339 full-date: the days of each month, leap years.
		{"date", IsDate, "2020-02-29", true},  // 2020 is a leap year
		{"date", IsDate, "2020-02-30", false}, // kin accepts
		{"date", IsDate, "2019-02-29", false}, // kin accepts
		{"date", IsDate, "2000-02-29", true},  // divisible by 400
		{"date", IsDate, "1900-02-29", false}, // divisible by 100, not 400; kin accepts
		{"date", IsDate, "2400-02-29", true},
		{"date", IsDate, "2023-04-30", true},
		{"date", IsDate, "2023-04-31", false}, // kin accepts
		{"date", IsDate, "2023-06-31", false}, // kin accepts
		{"date", IsDate, "2023-09-31", false}, // kin accepts
		{"date", IsDate, "2023-11-31", false}, // kin accepts
		{"date", IsDate, "2023-12-31", true},
		{"date", IsDate, "2023-01-31", true},
		{"date", IsDate, "2023-01-32", false},
		{"date", IsDate, "2023-00-10", false},
		{"date", IsDate, "2023-13-10", false},
		{"date", IsDate, "2023-01-00", false},
		{"date", IsDate, "0000-01-01", true},
		{"date", IsDate, "2023-1-01", false},
		{"date", IsDate, "2023-01-01T", false},
		{"date-time", IsDateTime, "2020-02-30T10:00:00Z", false}, // kin accepts
		{"date-time", IsDateTime, "2020-02-29T10:00:00Z", true},
		// RFC 5321/5322 addresses: a dot-atom or quoted local part.
		{"email", IsEmail, "approve@forter.com", true},
		{"email", IsEmail, "first.last@forter.com", true},
		{"email", IsEmail, "a+tag@forter.com", true},
		{"email", IsEmail, "o'brien@forter.com", true},
		{"email", IsEmail, "{a}|~!#$%&*/=?^_`-@forter.com", true},
		{"email", IsEmail, "josé@forter.com", true},  // RFC 6531 UTF-8 atext
		{"email", IsEmail, "a..b@forter.com", false}, // kin accepts
		{"email", IsEmail, ".a@forter.com", false},   // kin accepts
		{"email", IsEmail, "a.@forter.com", false},   // kin accepts
		{"email", IsEmail, ".@forter.com", false},    // kin accepts
		{"email", IsEmail, "a(b)@forter.com", false}, // kin accepts
		{"email", IsEmail, "a[b]@forter.com", false}, // kin accepts
		{"email", IsEmail, "a;b@forter.com", false},  // kin accepts
		{"email", IsEmail, "a:b@forter.com", false},  // kin accepts
		{"email", IsEmail, `a\b@forter.com`, false},  // kin accepts
		{"email", IsEmail, "a,b@forter.com", false},  // kin accepts
		{"email", IsEmail, "a b@forter.com", false},
		{"email", IsEmail, "a\x01b@forter.com", false}, // kin accepts
		{"email", IsEmail, `"a..b"@forter.com`, true},
		{"email", IsEmail, `"a b"@forter.com`, true},
		{"email", IsEmail, `"a@b"@forter.com`, false}, // RFC-valid; refused, as kin refuses it
		{"email", IsEmail, `"a\"b"@forter.com`, true},
		{"email", IsEmail, `"a"b"@forter.com`, false},
		{"email", IsEmail, `"ab@forter.com`, false},
		{"email", IsEmail, `""@forter.com`, true},
		{"email", IsEmail, `"a\"@forter.com`, false},
		{"email", IsEmail, "@forter.com", false},
		{"email", IsEmail, "a@", false},
		{"email", IsEmail, "a@@forter.com", false},
		{"email", IsEmail, "a@b@forter.com", false},
		{"email", IsEmail, "a@forter com", false},
		{"email", IsEmail, "a@b", true}, // the domain keeps kin's test
		{"email", IsEmail, "\xff@forter.com", false},
		// RFC 4291 IPv6 text forms, no zone.
		{"ipv6", IsIPv6, "::1", true},
		{"ipv6", IsIPv6, "::", true},
		{"ipv6", IsIPv6, "2001:db8::1", true},
		{"ipv6", IsIPv6, "1:2:3:4:5:6:7:8", true},
		{"ipv6", IsIPv6, "::ffff:1.2.3.4", true}, // RFC 4291 section 2.2 (3)
		{"ipv6", IsIPv6, "fe80::1%eth0", false},  // kin accepts
		{"ipv6", IsIPv6, "fe80::1%1", false},     // kin accepts
		{"ipv6", IsIPv6, "::1%", false},
		{"ipv6", IsIPv6, "2001:db8:::1", false},
		{"ipv6", IsIPv6, "1:2:3:4:5:6:7:8:9", false},
		{"ipv6", IsIPv6, "1.2.3.4", false},
		{"ipv6", IsIPv6, "[::1]", false},
		{"ipv4", IsIPv4, "10.0.0.127", true},
		{"ipv4", IsIPv4, "010.0.0.1", false},
	}
	for _, c := range cases {
		if got := c.check([]byte(c.in)); got != c.want {
			t.Errorf("%s %q: got %v, want %v", c.format, c.in, got, c.want)
		}
	}
}
