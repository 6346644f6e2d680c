package load

import (
	"math"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Percentiles are the latencies the reports print.
type Percentiles struct {
	P50  time.Duration `json:"p50_ns"`
	P90  time.Duration `json:"p90_ns"`
	P99  time.Duration `json:"p99_ns"`
	P999 time.Duration `json:"p99_9_ns"`
	Max  time.Duration `json:"max_ns"`
}

// Summarize reads the report's percentiles from a latency histogram (nanoseconds).
func Summarize(h *hdrhistogram.Histogram) Percentiles {
	if h == nil || h.TotalCount() == 0 {
		return Percentiles{}
	}
	return Percentiles{
		P50:  time.Duration(h.ValueAtQuantile(50)),
		P90:  time.Duration(h.ValueAtQuantile(90)),
		P99:  time.Duration(h.ValueAtQuantile(99)),
		P999: time.Duration(h.ValueAtQuantile(99.9)),
		Max:  time.Duration(h.Max()),
	}
}

// Point is one point of a percentile distribution curve.
type Point struct {
	// X is -log10(1 - Percentile/100): 0 at 0%, 1 at 90%, 2 at 99%, 3 at 99.9%.
	X          float64       `json:"x"`
	Percentile float64       `json:"percentile"`
	Latency    time.Duration `json:"latency_ns"`
}

// Curve samples h the way HdrHistogram's percentile plots do: evenly on the
// -log10(1-q) axis from 0 to maxX, stepsPerDecade points a decade. The last point
// is the maximum when the histogram holds fewer values than the curve resolves.
func Curve(h *hdrhistogram.Histogram, maxX float64, stepsPerDecade int) []Point {
	if h == nil || h.TotalCount() == 0 || stepsPerDecade <= 0 || maxX <= 0 {
		return nil
	}
	n := int(math.Round(maxX * float64(stepsPerDecade)))
	pts := make([]Point, 0, n+1)
	for i := 0; i <= n; i++ {
		x := float64(i) / float64(stepsPerDecade)
		q := 100 * (1 - math.Pow(10, -x))
		// Round away float noise so goldens are stable (99.9 rather than 99.90000000000001).
		q = math.Round(q*1e6) / 1e6
		pts = append(pts, Point{X: x, Percentile: q, Latency: time.Duration(h.ValueAtQuantile(q))})
	}
	return pts
}
