// Package validate is the runtime that the generated validators in gen/ call:
// a strict RFC 8259 scanner that tracks byte offsets and JSON pointers
// (scanner.go), the composition keywords (compose.go), pattern automata
// (pattern.go), format checks (formats.go), the business-rule state — facts,
// conditions deferred to the end of the document, sums, the full-card-number
// guard (rules.go) — the shape limits a caller may set on a Report and the
// walk that checks them alone (limits.go), and the Violation type, the Report
// that collects violations and their formatting (violation.go, format.go).
//
// It must never panic on input, never allocate on a valid body once a Report
// has been reused, and never copy a submitted string value into a message:
// values may be card data or personal data.
package validate
