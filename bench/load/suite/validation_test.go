package suite

import (
	"context"
	"math"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// TestValidationDelta scrapes a real client_golang registry, served like
// orderguard's /metrics, before and after two "slices" of observations on two
// operations, and checks the count, mean and bucket-bound quantiles of what the
// slices added (observations before the first scrape do not count).
func TestValidationDelta(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: validationMetric, Help: "test",
		Buckets: []float64{5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 1e-2}}, []string{"operation"})
	reg.MustRegister(h)
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()
	ctx := context.Background()
	scrape := func() histogram {
		t.Helper()
		got, err := scrapeValidation(ctx, srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	observe := func(op string, n int, v float64) {
		for range n {
			h.WithLabelValues(op).Observe(v)
		}
	}

	observe("order", 10, 3e-6) // before the run
	var run histogram
	before := scrape()
	observe("order", 60, 8e-6)
	after := scrape()
	run.addDelta(before, after)
	before = scrape()
	observe("order", 38, 8e-6)
	observe("account-login", 1, 4e-5)
	observe("account-login", 1, 0.5) // above the last bound
	run.addDelta(before, scrape())

	v := run.summary()
	if v == nil || v.Count != 100 {
		t.Fatalf("summary %+v, want 100 validations", v)
	}
	wantMean := time.Duration(math.Round((98*8e-6 + 4e-5 + 0.5) / 100 * 1e9))
	if d := v.Mean - wantMean; d < -time.Nanosecond || d > time.Nanosecond {
		t.Errorf("mean %v, want %v", v.Mean, wantMean)
	}
	// 98 of 100 at or below 10 µs; the 99th in the 50 µs bucket.
	if v.P50 != 10*time.Microsecond || v.P50Over || v.P99 != 50*time.Microsecond || v.P99Over {
		t.Errorf("p50 %v (over %v), p99 %v (over %v); want 10µs and 50µs", v.P50, v.P50Over, v.P99, v.P99Over)
	}
	if le, over := run.quantile(1); le != 1e-2 || !over {
		t.Errorf("max: bound %v, over %v; want above the last bound, 0.01", le, over)
	}
	if (&histogram{}).summary() != nil {
		t.Error("an empty histogram should have no summary")
	}
}

func TestScrapeValidationErrors(t *testing.T) {
	srv := httptest.NewServer(promhttp.HandlerFor(prometheus.NewRegistry(), promhttp.HandlerOpts{}))
	defer srv.Close()
	if _, err := scrapeValidation(context.Background(), srv.URL); err == nil || !strings.Contains(err.Error(), "no "+validationMetric) {
		t.Errorf("err = %v, want the metric missing", err)
	}
	if _, err := scrapeValidation(context.Background(), srv.URL+"/nosuch\x7f"); err == nil {
		t.Error("a bad URL scraped without error")
	}
}
