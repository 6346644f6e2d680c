package natsjs

import (
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/orderguard/orderguard/internal/outbox"
)

// BenchmarkEnqueue is the cost a JetStream outbox adds to a fallback answer:
// one publish and its acknowledgement, on a single loopback server (R1) and
// on a 3-node loopback cluster (R3, the ack waits for a quorum's write).
// Compare with internal/outbox's BenchmarkEnqueue (bbolt, fsync).
func BenchmarkEnqueue(b *testing.B) {
	body, err := os.ReadFile(filepath.Join("..", "testdata", "order.json"))
	if err != nil {
		b.Fatal(err)
	}
	run := func(b *testing.B, s *Store) {
		var n atomic.Int64
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		b.ResetTimer()
		for b.Loop() {
			id := fmt.Sprint("BENCH-", n.Add(1))
			r := outbox.Request{Operation: "orderV2", OrderID: id, Method: "POST", Path: "/v2/orders/" + id,
				Header: map[string]string{"Content-Type": "application/json", "api-version": "2.36"}, Body: body}
			if err := s.Enqueue(r); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("R1", func(b *testing.B) {
		s, err := Open(startServer(b).ClientURL(), Options{Replicas: 1})
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		run(b, s)
	})
	b.Run("R3", func(b *testing.B) {
		c := startClusterB(b)
		var s *Store
		deadline := time.Now().Add(30 * time.Second)
		for s == nil {
			s, err = Open(c.urls(), Options{Replicas: 3, Timeout: 3 * time.Second})
			if err != nil && time.Now().After(deadline) {
				b.Fatal(err)
			}
		}
		defer s.Close()
		run(b, s)
	})
}
