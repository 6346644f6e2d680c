package outbox

import "strings"

// The resend-header policy, the one place that decides which of a client's
// request headers are kept with an entry and sent again. It is an allowlist:
// the headers that matter to Forter, nothing else. The proxy applies it when
// it builds a Request (KeepHeader), every backend again when it stores one
// (NewEntry), so a caller that hands the outbox more keeps nothing more.
// Credentials (Authorization, the inbound secret, cookies, API keys) are
// never kept: the sender injects its own at delivery time.

// forterHeaderPrefix starts the names of Forter's own headers
// (x-forter-siteid, x-forter-disable-persistence, …).
const forterHeaderPrefix = "x-forter-"

// KeepHeader reports whether a request header named name (any letter case)
// is kept for a resend: api-version, content-type, content-encoding (the body
// is kept as the client sent it: the resend is the same request) and
// x-forter-*.
func KeepHeader(name string) bool {
	switch {
	case strings.EqualFold(name, "api-version"),
		strings.EqualFold(name, "content-type"),
		strings.EqualFold(name, "content-encoding"):
		return true
	}
	return len(name) >= len(forterHeaderPrefix) && strings.EqualFold(name[:len(forterHeaderPrefix)], forterHeaderPrefix)
}

// KeptHeaders copies the headers KeepHeader keeps, names as given; nil when
// h is empty.
func KeptHeaders(h map[string]string) map[string]string {
	if len(h) == 0 {
		return nil
	}
	out := make(map[string]string, len(h))
	for k, v := range h {
		if KeepHeader(k) {
			out[k] = v
		}
	}
	return out
}
