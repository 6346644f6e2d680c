package validate

import (
	"fmt"
	"slices"
	"strings"
)

// Kind says which layer found a violation.
type Kind uint8

const (
	KindSyntax Kind = iota + 1 // the bytes are not one strict JSON document
	KindSchema                 // a JSON Schema keyword of the spec
	KindRule                   // a business rule (x-orderguard-rules in the spec)
)

func (k Kind) String() string {
	switch k {
	case KindSyntax:
		return "syntax"
	case KindSchema:
		return "schema"
	case KindRule:
		return "rule"
	}
	return "unknown"
}

// MarshalText lets encoders write the kind as its name.
func (k Kind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// Severity says whether a violation blocks (error) or only informs (warning).
// SeverityOff is used only in rule configuration: a rule set to off reports nothing.
type Severity uint8

const (
	SeverityError Severity = iota
	SeverityWarning
	SeverityOff
)

func (s Severity) String() string {
	switch s {
	case SeverityError:
		return "error"
	case SeverityWarning:
		return "warning"
	case SeverityOff:
		return "off"
	}
	return "unknown"
}

// MarshalText lets encoders write the severity as its name.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads error, warning or off (configuration files).
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// ParseSeverity reads error, warning or off.
func ParseSeverity(s string) (Severity, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "error":
		return SeverityError, nil
	case "warning", "warn":
		return SeverityWarning, nil
	case "off":
		return SeverityOff, nil
	}
	return 0, fmt.Errorf("severity %q: want error, warning or off", s)
}

// Violation is one fault found in a body. Messages name the expectation and
// never repeat a submitted string value.
type Violation struct {
	// Pointer is the RFC 6901 pointer of the offending member; for a missing
	// member, the pointer it would have; for a syntax fault, the deepest reached.
	Pointer  string   `json:"pointer"`
	Kind     Kind     `json:"kind"`
	Rule     string   `json:"rule"` // the keyword (required, enum, …) or a rule id
	Message  string   `json:"message"`
	Offset   int      `json:"offset"` // byte offset of the member or value at fault
	Line     int      `json:"line"`   // 1-based
	Column   int      `json:"column"` // 1-based, in bytes
	Severity Severity `json:"severity"`
}

// Func is a generated validator: it appends every violation in body to r, in
// document order. It must not retain body.
type Func func(body []byte, r *Report)

// Report collects the violations of one body. Reuse it (Reset) across bodies:
// a valid body then allocates nothing.
type Report struct {
	Violations []Violation
	// Severities overrides the spec's severity of business rules by rule id
	// (error, warning or off). Nil means the spec's defaults.
	Severities map[string]Severity
	// Limits bound the document's shape (the proxy's --max-depth,
	// --max-string, --max-array); zero is off. Kept across bodies, like
	// Severities.
	Limits Limits
	// Breach is where the last body broke Limits, if it did (Rule not
	// empty): the scan stopped there.
	Breach Breach

	sc *Scanner // reused across bodies; see Begin
}

// Reset empties the report for the next body, keeping its capacity and overrides.
func (r *Report) Reset() { r.Violations, r.Breach = r.Violations[:0], Breach{} }

// Errors counts error-severity violations.
func (r *Report) Errors() int {
	n := 0
	for i := range r.Violations {
		if r.Violations[i].Severity == SeverityError {
			n++
		}
	}
	return n
}

// Warnings counts warning-severity violations.
func (r *Report) Warnings() int { return len(r.Violations) - r.Errors() }

// Valid reports whether no error-severity violation was found.
func (r *Report) Valid() bool { return r.Errors() == 0 }

// RuleInfo describes one business rule for `orderguard spec rules`, SARIF and docs.
type RuleInfo struct {
	ID          string   `json:"id"`
	Severity    Severity `json:"severity"`
	Description string   `json:"description"`
	Source      string   `json:"source"`
	Reason      string   `json:"reason"` // why the default severity is what it is
}

// Operation ties a spec operation to its generated validators.
type Operation struct {
	ID       string // operationId in openapi/: orderV2, orderV3, statusPost, statusPut, accountLogin, claim, …
	Method   string // POST or PUT
	Path     string // the path template, e.g. /v2/orders/{orderId}
	Request  Func   // the request body validator
	Response Func   // the 2xx response body validator
	Error    Func   // Forter's error body validator (4xx)
	// Name is the operation's short name on command lines (x-orderguard-name:
	// order, order-v3, status, account-login, claim, …); empty when it has none.
	Name string
	// Fallback is the shape of the answer the proxy gives for Forter when
	// Forter does not answer (x-orderguard-fallback): one of the Fallback*
	// constants; empty means the path decides (Shape).
	Fallback string
}

// Fallback shapes of an operation (x-orderguard-fallback in openapi/).
const (
	FallbackOrderV2 = "order-v2" // 200 {"status":"success","action":"not reviewed",…}
	FallbackOrderV3 = "order-v3" // 200 {"forterDecision":"NOT_REVIEWED",…}
	FallbackStatus  = "status"   // 202 {"status":"success","message":…}, queued behind its order
	FallbackAccount = "account"  // 200 {"status":"success","forterDecision":"NOT_REVIEWED",…}
	FallbackClaim   = "claim"    // 202 {"status":"success","message":…}
)

// FallbackShapes lists the Fallback* constants, for checking a spec.
var FallbackShapes = []string{FallbackOrderV2, FallbackOrderV3, FallbackStatus, FallbackAccount, FallbackClaim}

// Shape is the operation's kind, one of the Fallback* constants: Fallback
// when it is one, else (a table built by hand, a spec without orderguard's
// extensions) the shape its path implies. Code that treats operations
// differently asks Shape or IsOrder, never compares operation ids: a new
// operation of a known kind then needs no code.
func (o Operation) Shape() string {
	if slices.Contains(FallbackShapes, o.Fallback) {
		return o.Fallback
	}
	switch path := o.Path; {
	case strings.Contains(path, "/status/"):
		return FallbackStatus
	case strings.HasPrefix(path, "/v2/accounts/"):
		return FallbackAccount
	case strings.HasPrefix(path, "/v2/claims"):
		return FallbackClaim
	case strings.HasPrefix(path, "/v3/"):
		return FallbackOrderV3
	}
	return FallbackOrderV2
}

// IsOrder reports whether the operation creates an order (v2 or v3): the
// outbox dead-letters the later requests of an order (its status updates)
// with it.
func (o Operation) IsOrder() bool {
	s := o.Shape()
	return s == FallbackOrderV2 || s == FallbackOrderV3
}
