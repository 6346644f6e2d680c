// Package pool is the upstream side of the proxy: one fasthttp.HostClient per
// upstream with every limit set explicitly, TLS 1.2+ with certificate
// verification and a client session cache (so reconnects resume sessions
// instead of paying a full handshake), connections opened at start and kept
// warm while idle, and counters of what happened on the wire (connections
// opened, full and resumed handshakes, stale keep-alive replays).
//
// The pool must never decide what a response means (retry, fallback and the
// circuit breaker belong to internal/proxy), never read or log a request body
// or header value, and never retry on its own except to replay a request once
// when a kept-alive connection turns out to have been closed by the server
// (EOF before the first byte of the answer: the server shut it while idle).
//
// Settings: Config is both New's input and the pool's settings of
// orderguard serve (--upstream, --warm-conns, --max-conns, the upstream
// timeouts, --max-response-body, …); Settings binds them, Check names the
// flag of a bad value, DefaultConfig is serve's defaults. A new pool
// setting is a field, its default, a line in Settings and its check here.
package pool
