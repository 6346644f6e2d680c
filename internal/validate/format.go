package validate

import (
	"strconv"
	"unicode/utf8"
)

// String is the one-line form people read: "3:17 /payment/0/creditCard/bin
// pattern: must match the pattern ^[0-9]{6,8}$ (schema, error)".
func (v Violation) String() string {
	b := make([]byte, 0, 64+len(v.Pointer)+len(v.Message))
	b = strconv.AppendInt(b, int64(v.Line), 10)
	b = append(b, ':')
	b = strconv.AppendInt(b, int64(v.Column), 10)
	b = append(b, ' ')
	if v.Pointer == "" {
		b = append(b, '/')
	}
	b = append(b, v.Pointer...)
	b = append(b, ' ')
	b = append(b, v.Rule...)
	b = append(b, ": "...)
	b = append(b, v.Message...)
	b = append(b, " ("...)
	b = append(b, v.Kind.String()...)
	b = append(b, ", "...)
	b = append(b, v.Severity.String()...)
	b = append(b, ')')
	return string(b)
}

// AppendForterErrors appends Forter's own error body for the error-severity
// violations of r, the shape legacy checkout code already handles:
//
//	{"status":"failed","message":"Malformed request","errorsCount":N,"errors":[{"message":"…","path":"#/orderType"}]}
func AppendForterErrors(dst []byte, r *Report) []byte {
	dst = append(dst, `{"status":"failed","message":"Malformed request","errorsCount":`...)
	dst = strconv.AppendInt(dst, int64(r.Errors()), 10)
	dst = append(dst, `,"errors":[`...)
	n := 0
	for i := range r.Violations {
		v := &r.Violations[i]
		if v.Severity != SeverityError {
			continue
		}
		if n > 0 {
			dst = append(dst, ',')
		}
		n++
		dst = append(dst, `{"message":`...)
		dst = AppendJSONString(dst, v.Message)
		dst = append(dst, `,"path":`...)
		dst = AppendJSONString(dst, "#"+v.Pointer)
		dst = append(dst, '}')
	}
	return append(dst, "]}"...)
}

// AppendJSONString appends s as a JSON string, escaping what RFC 8259
// requires and replacing invalid UTF-8.
func AppendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c == '\n':
				dst = append(dst, '\\', 'n')
			case c == '\r':
				dst = append(dst, '\\', 'r')
			case c == '\t':
				dst = append(dst, '\\', 't')
			case c < 0x20:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, `\ufffd`...)
		} else {
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return append(dst, '"')
}
