package load

import (
	"math"
	"testing"
	"time"
)

// TestPercentilesKnownDistribution: 100,000 latencies spread evenly over 1µs..100ms
// have known percentiles; HdrHistogram's 3 significant digits bound the error at 0.1%.
func TestPercentilesKnownDistribution(t *testing.T) {
	h := NewHistogram()
	const n = 100000
	for i := int64(1); i <= n; i++ {
		if err := h.RecordValue(i * int64(time.Microsecond)); err != nil {
			t.Fatal(err)
		}
	}
	got := Summarize(h)
	for _, tc := range []struct {
		name      string
		got, want time.Duration
	}{
		{"p50", got.P50, 50 * time.Millisecond},
		{"p90", got.P90, 90 * time.Millisecond},
		{"p99", got.P99, 99 * time.Millisecond},
		{"p99.9", got.P999, 99900 * time.Microsecond},
		{"max", got.Max, 100 * time.Millisecond},
	} {
		if rel := math.Abs(float64(tc.got-tc.want)) / float64(tc.want); rel > 0.001 {
			t.Errorf("%s = %v, want %v ± 0.1%%", tc.name, tc.got, tc.want)
		}
	}
}

// TestPercentilesBimodal: 99% fast and 1% slow requests must split at p99.
func TestPercentilesBimodal(t *testing.T) {
	h := NewHistogram()
	_ = h.RecordValues(int64(200*time.Microsecond), 9900)
	_ = h.RecordValues(int64(50*time.Millisecond), 100)
	got := Summarize(h)
	if got.P90 > 201*time.Microsecond || got.P99 > 201*time.Microsecond {
		t.Errorf("p90 %v, p99 %v: want the fast mode (200µs)", got.P90, got.P99)
	}
	if got.P999 < 49*time.Millisecond || got.Max < 49*time.Millisecond {
		t.Errorf("p99.9 %v, max %v: want the slow mode (50ms)", got.P999, got.Max)
	}
}

func TestCurve(t *testing.T) {
	h := NewHistogram()
	for i := int64(1); i <= 10000; i++ {
		_ = h.RecordValue(i * 1000)
	}
	pts := Curve(h, 4, 4)
	if len(pts) != 17 {
		t.Fatalf("%d points, want 17", len(pts))
	}
	for i, want := range map[int]float64{0: 0, 4: 90, 8: 99, 12: 99.9, 16: 99.99} {
		if pts[i].Percentile != want {
			t.Errorf("point %d at percentile %v, want %v", i, pts[i].Percentile, want)
		}
	}
	for i := 1; i < len(pts); i++ {
		if pts[i].Latency < pts[i-1].Latency {
			t.Errorf("curve falls at point %d: %v < %v", i, pts[i].Latency, pts[i-1].Latency)
		}
	}
	if Curve(NewHistogram(), 4, 4) != nil {
		t.Error("curve of an empty histogram should be nil")
	}
}
