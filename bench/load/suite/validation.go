package suite

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/orderguard/orderguard/bench/load/report"
)

// validationMetric is the histogram orderguard keeps of the time it spends
// validating a request body (internal/proxy/metrics.go), labelled by operation.
const validationMetric = "orderguard_validation_duration_seconds"

// maxMetricsBytes bounds one /metrics answer; orderguard's is a few tens of KiB.
const maxMetricsBytes = 4 << 20

// histogram is validationMetric summed over its operations: the observation
// count and sum, and the cumulative count at each bucket's upper bound.
type histogram struct {
	count   uint64
	sum     float64
	buckets map[float64]uint64
}

// scrapeValidation reads validationMetric from an orderguard admin listener.
func scrapeValidation(ctx context.Context, metricsURL string) (histogram, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, metricsURL, nil)
	if err != nil {
		return histogram{}, fmt.Errorf("scrape %s: %w", metricsURL, err)
	}
	req.Header.Set("Accept", "text/plain") // the text exposition, not protobuf
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return histogram{}, fmt.Errorf("scrape %s: %w", metricsURL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return histogram{}, fmt.Errorf("scrape %s: %s", metricsURL, resp.Status)
	}
	h, err := parseValidation(io.LimitReader(resp.Body, maxMetricsBytes))
	if err != nil {
		return histogram{}, fmt.Errorf("scrape %s: %w", metricsURL, err)
	}
	return h, nil
}

// parseValidation sums validationMetric's series in a text exposition.
func parseValidation(r io.Reader) (histogram, error) {
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(r)
	if err != nil {
		return histogram{}, err
	}
	f, ok := families[validationMetric]
	if !ok {
		return histogram{}, fmt.Errorf("no %s", validationMetric)
	}
	h := histogram{buckets: map[float64]uint64{}}
	for _, m := range f.GetMetric() {
		mh := m.GetHistogram()
		h.count += mh.GetSampleCount()
		h.sum += mh.GetSampleSum()
		for _, b := range mh.GetBucket() {
			h.buckets[b.GetUpperBound()] += b.GetCumulativeCount()
		}
	}
	return h, nil
}

// addDelta adds to h the observations between two scrapes of one process
// (its counters only grow: the suite stops when a target exits).
func (h *histogram) addDelta(before, after histogram) {
	if h.buckets == nil {
		h.buckets = map[float64]uint64{}
	}
	h.count += after.count - before.count
	h.sum += after.sum - before.sum
	for le, n := range after.buckets {
		h.buckets[le] += n - before.buckets[le]
	}
}

// quantile is the upper bound of the bucket holding quantile q, and whether it
// lies above the last finite bound (which it then returns).
func (h histogram) quantile(q float64) (float64, bool) {
	bounds := make([]float64, 0, len(h.buckets))
	for le := range h.buckets {
		if !math.IsInf(le, 1) {
			bounds = append(bounds, le)
		}
	}
	slices.Sort(bounds)
	rank := uint64(math.Ceil(q * float64(h.count)))
	for _, le := range bounds {
		if h.buckets[le] >= rank {
			return le, false
		}
	}
	if len(bounds) == 0 {
		return 0, true
	}
	return bounds[len(bounds)-1], true
}

// summary is the report's view of h; nil when nothing was validated.
func (h histogram) summary() *report.Validation {
	if h.count == 0 {
		return nil
	}
	seconds := func(s float64) time.Duration { return time.Duration(math.Round(s * float64(time.Second))) }
	p50, over50 := h.quantile(0.5)
	p99, over99 := h.quantile(0.99)
	return &report.Validation{Count: h.count, Mean: seconds(h.sum / float64(h.count)),
		P50: seconds(p50), P50Over: over50, P99: seconds(p99), P99Over: over99}
}
