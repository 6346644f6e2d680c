// Package inbound is the client-facing edge of the proxy: it opens the
// listener (TCP or a Unix socket), decides whether the address may be served
// without inbound authentication, checks a shared-secret header or a client
// certificate, caps concurrent requests and applies the input limits (read
// and idle timeouts, body and header size, header count) to a fasthttp.Server.
// ConnGuard wraps the listener: open connections are capped in total and per
// peer (defaults derived from RLIMIT_NOFILE), and an accept error such as
// EMFILE is retried with a backoff instead of ending the server (fasthttp's
// Serve returns on any accept error that is not a timeout).
//
// Loopback is the default and needs nothing else. Any other TCP address is
// refused at start unless inbound authentication is configured (a shared
// secret header or mTLS) or the operator says --insecure-listen: a sidecar
// that forwards with the merchant's Forter API key must not become an open
// relay on a pod or host network by a typo in --listen.
//
// This package must never log or echo a header value (the shared secret
// travels in one), never forward the shared-secret header upstream, and never
// delete a file at a Unix socket path that is not a stale socket.
//
// Settings: Config holds the listener's and the limits' settings of
// orderguard serve (--listen, TLS, --inbound-secret-header, --max-concurrent,
// the timeouts, the header and connection caps) with Settings and Check.
// Edge is the whole chain in front of the proxy's handler, written down in
// one order in Edge.Server, with its metrics (Edge.Collectors).
package inbound
