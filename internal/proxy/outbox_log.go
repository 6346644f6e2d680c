package proxy

import (
	"context"
	"log/slog"

	"github.com/orderguard/orderguard/internal/outbox"
)

// LogEnqueuer is the outbox of last resort: it logs that a request was not
// kept (operation, order id, path; never the body or a header value) and
// returns nil, so the client gets the open fallback. It exists for running
// without a durable outbox; serve wires the real one.
type LogEnqueuer struct{ Logger *slog.Logger }

// Enqueue logs r and keeps nothing.
func (e LogEnqueuer) Enqueue(r outbox.Request) error {
	l := e.Logger
	if l == nil {
		l = slog.Default()
	}
	l.LogAttrs(context.Background(), slog.LevelWarn, "no outbox configured: request not kept for resend",
		slog.String("operation", r.Operation), slog.String("order_id", r.OrderID),
		slog.String("method", r.Method), slog.String("path", r.Path), slog.Int("body_bytes", len(r.Body)))
	return nil
}
