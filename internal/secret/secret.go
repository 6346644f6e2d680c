package secret

import (
	"encoding/json"
	"fmt"
	"log/slog"
)

// Redacted is what every printable form of a non-empty Value shows.
const Redacted = "[REDACTED]"

// unset is what a zero Value shows, so a config dump tells "no key" from
// "a key" without revealing anything more.
const unset = "[unset]"

// Value is a secret. Its zero value is "no secret". Every way fmt, encoding/json,
// encoding (text) and log/slog have to print a value is overridden to print
// Redacted; only Reveal returns the bytes.
//
// The bytes sit behind a pointer so that even a reflection-based printer that
// cannot call methods (fmt on an unexported struct field of a config struct)
// prints an address, not the secret.
type Value struct {
	p *string
}

// New wraps s. An empty s gives the zero Value.
func New(s string) Value {
	if s == "" {
		return Value{}
	}
	return Value{p: &s}
}

// Reveal returns the secret itself. Call it only where the secret is used
// (building an Authorization header, comparing a shared secret), never to log.
func (v Value) Reveal() string {
	if v.p == nil {
		return ""
	}
	return *v.p
}

// IsZero reports whether no secret is held.
func (v Value) IsZero() bool { return v.p == nil }

func (v Value) redacted() string {
	if v.p == nil {
		return unset
	}
	return Redacted
}

// String implements fmt.Stringer.
func (v Value) String() string { return v.redacted() }

// GoString implements fmt.GoStringer (%#v).
func (v Value) GoString() string { return "secret.Value(" + v.redacted() + ")" }

// Format implements fmt.Formatter so that every verb, including %x and %q
// which would otherwise bypass String on a string-like type, prints the
// redaction.
func (v Value) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = f.Write([]byte(v.GoString()))
		return
	}
	_, _ = f.Write([]byte(v.redacted()))
}

// MarshalJSON implements json.Marshaler.
func (v Value) MarshalJSON() ([]byte, error) { return json.Marshal(v.redacted()) }

// MarshalText implements encoding.TextMarshaler (YAML, TOML, text encoders).
func (v Value) MarshalText() ([]byte, error) { return []byte(v.redacted()), nil }

// LogValue implements slog.LogValuer.
func (v Value) LogValue() slog.Value { return slog.StringValue(v.redacted()) }
