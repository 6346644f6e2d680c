package main

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/orderguard/orderguard/internal/outbox"
	"github.com/orderguard/orderguard/internal/outbox/natsjs"
)

// openOutbox opens the backend --outbox names: NATS URLs select the fleet's
// JetStream outbox (with nc), anything else is a bbolt file path, whose
// probe keeps room for one request of maxBody (--max-body).
func openOutbox(cfg outbox.Config, nc natsjs.Config, maxBody int, log *slog.Logger) (outbox.Backend, error) {
	if natsjs.IsURL(cfg.Path) {
		opts, err := nc.Options(os.Getenv)
		if err != nil {
			return nil, fmt.Errorf("outbox: %w", err)
		}
		if nc.Replicas == 1 {
			log.Warn("--outbox-replicas 1: the outbox stream lives on one NATS server; losing it loses the kept requests (use 3 on a cluster)")
		}
		return natsjs.Open(cfg.Path, opts)
	}
	if err := os.MkdirAll(filepath.Dir(cfg.Path), 0o750); err != nil {
		return nil, fmt.Errorf("outbox directory: %w", err)
	}
	// /readyz follows a probe that reserves room for one --max-body
	// request every few seconds, and the last enqueue's outcome.
	return outbox.Open(cfg.Path, outbox.Options{ProbeEvery: outboxProbeEvery, Headroom: outbox.HeadroomFor(maxBody)})
}

// outboxBackendName is the backend label of the outbox metrics.
func outboxBackendName(outboxFlag string) string {
	if natsjs.IsURL(outboxFlag) {
		return "jetstream"
	}
	return "bbolt"
}
