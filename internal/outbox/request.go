package outbox

import "time"

// Request is one request the proxy could not deliver within its budget, kept to
// be resent to Forter later. The proxy builds it; the outbox owns it after Enqueue.
type Request struct {
	Operation string            // the operationId (gen.Operations: an order, a status update, an account event, a claim)
	OrderID   string            // the {orderId} of the path
	Method    string            // POST or PUT
	Path      string            // the request path, e.g. /v2/orders/123 (query included if any)
	Header    map[string]string // the headers that matter to Forter (KeepHeader: api-version, x-forter-*, content-type, content-encoding); never Authorization
	Body      []byte            // the exact bytes the client sent (compressed, if it sent them so: see content-encoding)
	FirstTry  time.Time         // when the proxy first received it
	// Traceparent is the W3C trace context of the span that queued the
	// request (tracing on), for the resend's span link; "" when none.
	Traceparent string

	// Set by the outbox when it hands the request to a Sender; ignored by Enqueue.
	ID      uint64 // the outbox entry id (for logs and an idempotency header)
	Attempt int    // 1 for the first resend
}

// Enqueuer is what the proxy needs of the outbox: a durable write, committed
// with fsync before it returns nil. An error means the request is not kept and
// the client must not be told it will be delivered.
type Enqueuer interface {
	Enqueue(Request) error
}

// DeadlineEnqueuer is implemented by an Enqueuer whose write waits on the
// network (the JetStream outbox: a publish and the replicas' ack). The proxy
// then ends its upstream call --outbox-enqueue-reserve before the budget and
// gives the write until the request's deadline, so that a client hears the
// open or the closed answer within its budget. An optional interface rather
// than a deadline field on Request: the proxy learns from the type, once at
// start, whether to take a reserve from the upstream call at all, and the
// bbolt Store, whose fsync is local, does not implement it and keeps the
// whole budget for Forter as before.
type DeadlineEnqueuer interface {
	Enqueuer
	// EnqueueBy is Enqueue, giving up at deadline: an error (the request is
	// not kept) once it has passed without the write being acknowledged.
	EnqueueBy(r Request, deadline time.Time) error
}

// OrderLine is implemented by an Enqueuer that keeps requests in order per
// order id (the Store does). The proxy asks it before forwarding a status
// update live: while the order (or an earlier update) still waits in the
// outbox, the update must be queued behind it, or it would reach Forter
// before the order it updates.
type OrderLine interface {
	HasPending(orderID string) bool
}
