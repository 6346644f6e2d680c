// Package redact finds payment card numbers (PANs) in arbitrary bytes: runs of
// 13 to 19 digits, optionally grouped by single spaces or dashes, that pass
// the Luhn check. Tests use it to prove that nothing the proxy logged or
// answered holds a card number; Mask, MaskString and AppendMasked overwrite
// all but the first six and last four digits (what PCI DSS allows to show)
// where text must be kept: a JSON pointer, an order id, a log line built from
// untrusted input.
//
// It must never return or copy the digits it finds: callers get offsets, a
// count, or a masked copy.
package redact
