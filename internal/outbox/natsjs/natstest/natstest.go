// Package natstest starts real NATS JetStream servers in-process for tests:
// 127.0.0.1, a random port, the store in a test's temporary directory. Only
// tests import it, so the server is never linked into orderguard.
package natstest

import (
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Start runs a single JetStream server and shuts it down with the test.
func Start(t testing.TB) *server.Server {
	t.Helper()
	return StartWith(t, &server.Options{
		Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(),
		NoLog: true, NoSigs: true,
	})
}

// StartWith runs a server with opts (a fixed port to restart on, a cluster).
func StartWith(t testing.TB, opts *server.Options) *server.Server {
	t.Helper()
	ns, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server not ready within 10s")
	}
	t.Cleanup(ns.Shutdown)
	return ns
}
