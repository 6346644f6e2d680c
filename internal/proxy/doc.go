// Package proxy is the request path of `orderguard serve`: it routes the
// Forter operations of the spec (POST /v2/orders/{id}, POST /v3/orders/{id},
// POST|PUT /v2/status/{id}, POST /v2/accounts/{event}/{accountId}, POST
// /v2/claims: gen.Operations), validates each body once with the generated
// validators, and then, per operation mode, rejects it in Forter's own error
// shape (enforce), forwards it with a violation count (report) or forwards it
// unchecked (off). Forwarding goes through internal/pool within one deadline
// per request (the budget), with at most one retry; when Forter does not
// answer in time, the proxy answers for it ("not reviewed" in the shape the
// operation table names for the operation, or 502/504) and
// hands the request to the outbox. Forter's answers pass through unchanged and
// are checked against the spec in report-only mode (drift metrics), on a
// worker after the answer is written. Bodies sent with Content-Encoding gzip
// or deflate are validated decoded and forwarded as received. The JSON shape
// limits (--max-depth, --max-string, --max-array) are checked by the same
// scan, on every route and in every mode (limits.go). It also
// serves the admin listener (/healthz, /readyz, /metrics) and shuts down
// gracefully.
//
// Configuration: Config holds the settings this package owns (modes,
// budgets, fallback, routes, rules, the breaker, the admin listener, the
// JSON shape limits); Settings binds them to their flags (load.go) and Check
// names the flag of a value that cannot work. The listener's, the pool's,
// the outbox's, the secrets' and the spec's settings are their packages';
// internal/settings loads them all, and cmd/proxy gathers them
// (cmd/proxy/CONFIG.md lists every setting with its owning package). The
// edge in front of Handler (the secret check, limits, the concurrency cap,
// the refusal log) is inbound.Edge, given to Serve.
//
// Routing (routing.go) decides who gets the API key: only the spec's
// operations and the --passthrough-routes allowlist; every other path keeps
// the client's own Authorization. It matches the path as sent, which is what
// the upstream receives byte for byte, and the decoded, normalised form,
// which must route the same; near misses of an operation are refused, never
// forwarded unchecked. Everything is derived from the operation table, so an
// operation added to the spec needs no change here.
//
// The proxy must never re-encode or modify a body it forwards, log or echo a
// body, a submitted value, an Authorization value or the API key, add the API
// key to a request outside the spec and the allowlist, forward a body it
// rejected in enforce mode, wait past a request's budget, or allocate on the
// path of a valid request beyond what fasthttp itself does.
package proxy
