package proxy

import (
	"context"
	"github.com/orderguard/orderguard/internal/redact"
	"log/slog"
	"strings"

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
	// The query string is client data like the body (a careless client may
	// put a card number there): the path alone identifies the request.
	path, _, _ := strings.Cut(r.Path, "?")
	l.LogAttrs(context.Background(), slog.LevelWarn, "no outbox configured: request not kept for resend",
		slog.String("operation", r.Operation), slog.String("order_id", redact.MaskString(r.OrderID)),
		slog.String("method", r.Method), slog.String("path", redact.MaskString(path)), slog.Int("body_bytes", len(r.Body)))
	return nil
}
