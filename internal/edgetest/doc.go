// Package edgetest holds end-to-end tests of the proxy's edge, the place
// where untrusted clients meet it: the leak test (every real-world body and
// its variants with test card numbers in wrong places, through a real proxy
// in front of the real sandbox at debug level; nothing logged, answered or
// exported may hold a card number, the API key or an Authorization value)
// and FuzzHandler (arbitrary methods, paths, headers and bodies against an
// in-memory sandbox: no panic, every answer well-formed HTTP).
//
// It has no non-test code and must never be imported.
package edgetest
