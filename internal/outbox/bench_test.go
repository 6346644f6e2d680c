package outbox

import (
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
)

// BenchmarkEnqueue measures the durable write the proxy waits for before it
// answers a fallback: one transaction with fsync. Serial is one checkout at a
// time; Parallel is an outage under load, where concurrent enqueues share an
// fsync through bbolt's Batch.
func BenchmarkEnqueue(b *testing.B) {
	body, err := os.ReadFile(filepath.Join("testdata", "order.json"))
	if err != nil {
		b.Fatal(err)
	}
	run := func(b *testing.B, parallel bool) {
		s, err := Open(filepath.Join(b.TempDir(), "outbox.db"), Options{SkipCheck: true})
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		var n atomic.Int64
		enqueue := func() {
			id := fmt.Sprint("BENCH-", n.Add(1))
			r := Request{Operation: "orderV2", OrderID: id, Method: "POST", Path: "/v2/orders/" + id,
				Header: map[string]string{"Content-Type": "application/json", "api-version": "2.36"}, Body: body}
			if err := s.Enqueue(r); err != nil {
				b.Error(err)
			}
		}
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		b.ResetTimer()
		if parallel {
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					enqueue()
				}
			})
		} else {
			for b.Loop() {
				enqueue()
			}
		}
	}
	b.Run("serial", func(b *testing.B) { run(b, false) })
	b.Run("parallel", func(b *testing.B) { b.SetParallelism(16); run(b, true) })
}
