package outbox

import (
	"context"
	"io"
)

// Backend is the contract every outbox backend keeps: the proxy enqueues
// through it, the resender drains it, the admin API and the `orderguard
// outbox` command read and repair it. Store (one bbolt file per process) is
// one; internal/outbox/jetstream (a NATS JetStream stream shared by a fleet)
// is the other. The contract suite in internal/outbox/outboxtest holds both to
// the same behaviour.
type Backend interface {
	Enqueuer  // kept durably before nil is returned
	OrderLine // a status update waits behind its order

	// Add is Enqueue that also says which id the request has and whether the
	// same request (operation, order id, body) was already kept.
	Add(r Request) (id uint64, duplicate bool, err error)
	// Get returns a pending or dead entry, body included; ErrNotFound if none.
	Get(id uint64) (Entry, error)
	// List returns up to limit entries in a state, without bodies: pending
	// and dead oldest first, delivered newest first. limit <= 0 means all.
	List(state State, limit int) ([]Entry, error)
	// Decisions returns up to limit delivered decisions, newest first.
	Decisions(limit int) ([]Decision, error)
	Stats() (Stats, error)
	// Retry makes a pending entry due now, or brings a dead one back (with
	// the later requests of its order that were dead-lettered with it).
	Retry(id uint64) error
	// RetryAllDead brings every dead entry back; it returns how many.
	RetryAllDead() (int, error)
	// Drop deletes a pending or dead entry for good.
	Drop(id uint64) error
	// Export writes every pending and then every dead entry as NDJSON,
	// bodies included.
	Export(w io.Writer) error
	// Ready is nil while an enqueue would be kept (for /readyz).
	Ready() error
	Close() error
	// NewResender returns the loop that delivers the queue through send.
	NewResender(send Sender, o ResendOptions) Runner
}

// Runner is a background loop: Run works until ctx is done and returns nil
// then, or an error if the backend failed under it.
type Runner interface {
	Run(ctx context.Context) error
}

// NewResender implements Backend.
func (s *Store) NewResender(send Sender, o ResendOptions) Runner { return s.Resender(send, o) }

var _ Backend = (*Store)(nil)
