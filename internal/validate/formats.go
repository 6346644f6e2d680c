package validate

import (
	"net/netip"
	"unicode/utf8"
	"unsafe"
)

// The format checks follow kin-openapi's definitions (the oracle), written as
// loops instead of regular expressions.

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

// IsDate checks RFC 3339 full-date, e.g. 2017-07-21 (kin-openapi's
// FormatOfStringDate: month 01-12, day 01-31).
func IsDate(b []byte) bool {
	if len(b) != 10 || b[4] != '-' || b[7] != '-' || !digits(b[:4]) || !digits(b[5:7]) || !digits(b[8:10]) {
		return false
	}
	m, d := num2(b[5:7]), num2(b[8:10])
	return m >= 1 && m <= 12 && d >= 1 && d <= 31
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

// IsEmail checks kin-openapi's FormatOfStringForEmail, ^[^@]+@[^@<>",\s]+$:
// it catches only obviously wrong addresses, as Forter's own check does not
// go further either.
func IsEmail(b []byte) bool {
	at := -1
	for i, c := range b {
		if c == '@' {
			if at >= 0 {
				return false
			}
			at = i
		}
	}
	if at < 1 || at == len(b)-1 {
		return false
	}
	for _, c := range b[at+1:] {
		switch c {
		case '<', '>', '"', ',', ' ', '\t', '\n', '\f', '\r':
			return false
		}
	}
	// The local part must be valid UTF-8 text: [^@] matches one code point.
	return utf8.Valid(b)
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

// IsIPv6 checks an IPv6 address as net/netip parses it (zones and embedded
// IPv4 allowed), which is what kin-openapi's ipv6 format uses.
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
	return err == nil && a.Is6()
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
