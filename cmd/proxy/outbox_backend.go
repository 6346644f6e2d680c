package main

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/orderguard/orderguard/internal/outbox"
	"github.com/orderguard/orderguard/internal/outbox/natsjs"
	"github.com/orderguard/orderguard/internal/proxy"
)

// openOutbox opens the backend --outbox names: NATS URLs select the fleet's
// JetStream outbox, anything else is a bbolt file path.
func openOutbox(cfg proxy.Config, log *slog.Logger) (outbox.Backend, error) {
	if natsjs.IsURL(cfg.OutboxPath) {
		conn, err := natsjs.ConnOptions(cfg.OutboxNATSCreds, cfg.OutboxNATSCA, os.Getenv)
		if err != nil {
			return nil, fmt.Errorf("outbox: %w", err)
		}
		if cfg.OutboxReplicas == 1 {
			log.Warn("--outbox-replicas 1: the outbox stream lives on one NATS server; losing it loses the kept requests (use 3 on a cluster)")
		}
		return natsjs.Open(cfg.OutboxPath, natsjs.Options{Stream: cfg.OutboxStream, Replicas: cfg.OutboxReplicas, AckWait: cfg.OutboxAckWait, Conn: conn})
	}
	if err := os.MkdirAll(filepath.Dir(cfg.OutboxPath), 0o750); err != nil {
		return nil, fmt.Errorf("outbox directory: %w", err)
	}
	// /readyz follows a probe that reserves room for one --max-body
	// request every few seconds, and the last enqueue's outcome.
	return outbox.Open(cfg.OutboxPath, outbox.Options{ProbeEvery: outboxProbeEvery, Headroom: outbox.HeadroomFor(cfg.MaxBody)})
}

// outboxBackendName is the backend label of the outbox metrics.
func outboxBackendName(outboxFlag string) string {
	if natsjs.IsURL(outboxFlag) {
		return "jetstream"
	}
	return "bbolt"
}
