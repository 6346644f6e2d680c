// Package validate is the runtime that the generated validators in gen/ call:
// a strict RFC 8259 scanner that tracks byte offsets, the Violation type and
// the Report that collects violations.
//
// It must never panic on input, never allocate on a valid body once a Report
// has been reused, and never copy a submitted string value into a message:
// values may be card data or personal data.
package validate
