package validate

import (
	"net/netip"
	"unicode/utf8"
	"unsafe"
)

// The format checks follow the RFCs the OpenAPI formats name, written as
// loops instead of regular expressions. Where kin-openapi (the test oracle)
// is looser (a day that is no calendar day, dots in an e-mail's local part,
// an IPv6 zone), these are the stricter ones; openapi/README.md lists each
// difference.

// RuneCount is the length of a decoded string in code points, the unit of
// minLength and maxLength.
func RuneCount(b []byte) int { return utf8.RuneCount(b) }

func digits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func num2(b []byte) int { return int(b[0]-'0')*10 + int(b[1]-'0') }

// IsDate checks RFC 3339 full-date, e.g. 2017-07-21: month 01-12 and a day
// that the month has (RFC 3339 section 5.7: 28, 29 in leap years, 30 or 31).
// kin-openapi's FormatOfStringDate accepts any day 01-31.
func IsDate(b []byte) bool {
	if len(b) != 10 || b[4] != '-' || b[7] != '-' || !digits(b[:4]) || !digits(b[5:7]) || !digits(b[8:10]) {
		return false
	}
	y := num2(b[0:2])*100 + num2(b[2:4])
	m, d := num2(b[5:7]), num2(b[8:10])
	return m >= 1 && m <= 12 && d >= 1 && d <= daysIn(y, m)
}

// daysIn is the number of days of month m (1-12) of year y in the proleptic
// Gregorian calendar RFC 3339 uses.
func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// IsDateTime checks RFC 3339 date-time, e.g. 2017-07-21T17:32:28Z
// (kin-openapi's FormatOfStringDateTime).
func IsDateTime(b []byte) bool {
	if len(b) < 20 || !IsDate(b[:10]) || b[10] != 'T' {
		return false
	}
	t := b[11:]
	if t[2] != ':' || t[5] != ':' || !digits(t[0:2]) || !digits(t[3:5]) || !digits(t[6:8]) {
		return false
	}
	if num2(t[0:2]) > 23 || num2(t[3:5]) > 59 || num2(t[6:8]) > 60 {
		return false
	}
	t = t[8:]
	if len(t) > 0 && t[0] == '.' {
		i := 1
		for i < len(t) && t[i] >= '0' && t[i] <= '9' {
			i++
		}
		if i == 1 {
			return false
		}
		t = t[i:]
	}
	if len(t) == 1 && t[0] == 'Z' {
		return true
	}
	return len(t) == 6 && (t[0] == '+' || t[0] == '-') && digits(t[1:3]) && t[3] == ':' && digits(t[4:6])
}

// IsEmail checks an address as RFC 5321 section 4.1.2 and RFC 5322 section
// 3.4.1 write it: a local part, '@', a domain. The local part is a dot-atom
// (atoms of atext joined by single dots: no leading, trailing or doubled dot;
// UTF-8 letters allowed as RFC 6531 extends atext) or a quoted string. The
// domain keeps kin-openapi's test, ^[^@<>",\s]+$: Forter's own check goes no
// further, and a stricter one could refuse what Forter accepts. kin-openapi's
// FormatOfStringForEmail accepts any local part without '@'.
func IsEmail(b []byte) bool {
	at := -1
	for i, c := range b {
		if c == '@' {
			if at >= 0 {
				return false // also inside a quoted local part: kin-openapi refuses it too
			}
			at = i
		}
	}
	if at < 1 || at == len(b)-1 || !localPart(b[:at]) {
		return false
	}
	for _, c := range b[at+1:] {
		switch c {
		case '<', '>', '"', ',', ' ', '\t', '\n', '\f', '\r':
			return false
		}
	}
	return utf8.Valid(b)
}

// localPart checks a dot-atom or a quoted string (RFC 5322 section 3.4.1).
func localPart(b []byte) bool {
	if b[0] == '"' {
		return quotedLocal(b)
	}
	atom := 0 // bytes in the current atom
	for _, c := range b {
		switch {
		case c == '.':
			if atom == 0 {
				return false // a leading or doubled dot
			}
			atom = 0
			continue
		case c >= 0x80: // UTF-8 (RFC 6531 section 3.3); utf8.Valid checks it
		case c <= ' ' || c == 0x7f:
			return false
		default:
			switch c {
			case '(', ')', '<', '>', '[', ']', ':', ';', '@', '\\', ',', '"':
				return false // specials (RFC 5322 section 3.2.3)
			}
		}
		atom++
	}
	return atom > 0 // a trailing dot
}

// quotedLocal checks "…": printable characters, a backslash quoting the
// next one, no bare quote or control character inside.
func quotedLocal(b []byte) bool {
	if len(b) < 2 || b[len(b)-1] != '"' {
		return false
	}
	in := b[1 : len(b)-1]
	for i := 0; i < len(in); i++ {
		switch c := in[i]; {
		case c == '\\':
			i++
			if i == len(in) || in[i] < ' ' || in[i] == 0x7f {
				return false
			}
		case c == '"' || c < ' ' || c == 0x7f:
			return false
		}
	}
	return true
}

// IsIPv4 checks dotted-quad IPv4 as net/netip parses it (no leading zeros).
func IsIPv4(b []byte) bool {
	parts, val, nd := 0, 0, 0
	for i := 0; i <= len(b); i++ {
		if i == len(b) || b[i] == '.' {
			if nd == 0 {
				return false
			}
			parts++
			val, nd = 0, 0
			continue
		}
		c := b[i]
		if c < '0' || c > '9' {
			return false
		}
		if nd == 1 && val == 0 {
			return false // leading zero
		}
		val = val*10 + int(c-'0')
		nd++
		if val > 255 {
			return false
		}
	}
	return parts == 4
}

// IsIPv6 checks an IPv6 address in the text forms of RFC 4291 section 2.2
// (embedded IPv4 allowed), as net/netip parses it, without a zone: a zone
// (fe80::1%eth0, RFC 6874) names an interface of the sender's host and is no
// part of the address. kin-openapi's ipv6 format accepts zones.
func IsIPv6(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	hasColon := false
	for _, c := range b {
		if c == ':' {
			hasColon = true
			break
		}
	}
	if !hasColon {
		return false
	}
	a, err := netip.ParseAddr(unsafe.String(&b[0], len(b)))
	return err == nil && a.Is6() && a.Zone() == ""
}

// IsURI checks an absolute URI (RFC 3986): a scheme, a colon, and no white
// space, control characters or characters that must be percent-encoded.
func IsURI(b []byte) bool {
	i := 0
	for i < len(b) {
		c := b[i]
		if c == ':' {
			break
		}
		alpha := (c|0x20) >= 'a' && (c|0x20) <= 'z'
		if !(alpha || (i > 0 && ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.'))) {
			return false
		}
		i++
	}
	if i == 0 || i == len(b) {
		return false
	}
	for j := i + 1; j < len(b); j++ {
		c := b[j]
		if c <= ' ' || c >= 0x7f || c == '"' || c == '<' || c == '>' || c == '\\' || c == '^' || c == '`' || c == '{' || c == '|' || c == '}' {
			return false
		}
		if c == '%' && (j+2 >= len(b) || !isHex(b[j+1]) || !isHex(b[j+2])) {
			return false
		}
	}
	return true
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c|0x20 >= 'a' && c|0x20 <= 'f')
}
