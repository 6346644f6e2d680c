// Package outbox is the proxy's durable store-and-forward queue: requests the
// proxy answered with a fallback ("not reviewed") are written to a single bbolt
// file, committed with fsync before the client is answered, and resent to
// Forter later by a background loop with backoff, a rate cap and per-order
// ordering (an order's status updates never go out before the order itself).
//
// Outcomes: 2xx removes the request and records Forter's decision for the admin
// view; 4xx other than 429 moves it to the dead-letter bucket (kept, visible,
// never retried automatically); 429, 5xx and transport errors are retried;
// requests older than the maximum age are dead-lettered.
//
// The package must never: import the proxy or the upstream pool (delivery goes
// through the Sender the caller supplies), store or echo an Authorization
// value (credentials are injected at send time; KeepHeader is the one list of
// headers kept), log a request body, or tell its caller a request is kept
// before the write is on disk.
//
// Backend is the contract the proxy, the resender, the admin API and the
// `orderguard outbox` command use; Store is the bbolt backend, and
// internal/outbox/natsjs the fleet's (one NATS JetStream stream shared by
// every proxy). internal/outbox/outboxtest holds both to the same suite.
//
// One process owns one file: bbolt takes an exclusive lock, so a second proxy
// (or the CLI) opening the same file gets ErrLocked instead of corrupting it.
//
// Settings: Config (--outbox, --outbox-rate, --outbox-max-age) with its
// Settings and Check; the fleet backend's are natsjs.Config's.
package outbox
