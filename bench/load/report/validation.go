package report

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Compiled is orderguard with the compiled engine; its validation time is
// compared with FigureTarget's.
const Compiled = "orderguard-compiled"

// Validation is an orderguard target's own orderguard_validation_duration_seconds
// over one run: the histogram's deltas across the run's slices, all operations
// together, warmup included. The quantiles are the upper bounds of the buckets
// holding them; Over marks one that lies above the last bound (which it holds).
type Validation struct {
	Count   uint64        `json:"count"`
	Mean    time.Duration `json:"mean_ns"`
	P50     time.Duration `json:"p50_bucket_upper_ns"`
	P99     time.Duration `json:"p99_bucket_upper_ns"`
	P50Over bool          `json:"p50_above_last_bucket,omitempty"`
	P99Over bool          `json:"p99_above_last_bucket,omitempty"`
	// MeanRatio is Compiled's mean over FigureTarget's at the same rate, set
	// on Compiled's runs by Derive.
	MeanRatio float64 `json:"mean_ratio_to_orderguard,omitempty"`
}

// deriveValidation sets the compiled engine's mean validation time over the
// interpreted one's, rate by rate.
func deriveValidation(r *Report, find func(string, float64) *Run) {
	for i := range r.Runs {
		run := &r.Runs[i]
		if run.Validation == nil {
			continue
		}
		run.Validation.MeanRatio = 0
		og := find(FigureTarget, run.Rate)
		if run.Target == Compiled && og != nil && og.Validation != nil && og.Validation.Mean > 0 {
			run.Validation.MeanRatio = round3(float64(run.Validation.Mean) / float64(og.Validation.Mean))
		}
	}
}

// writeValidation writes the VALIDATION table, when an orderguard target ran,
// and the compiled engine's mean over the interpreted one's.
func writeValidation(w io.Writer, r *Report) {
	if !slices.ContainsFunc(r.Runs, func(run Run) bool { return run.Validation != nil }) {
		return
	}
	fmt.Fprintln(w, "\nVALIDATION (the proxy's own orderguard_validation_duration_seconds, per rate: deltas over the run's slices, warmup")
	fmt.Fprintln(w, "included, all operations together; p50/p99 are the upper bound of the histogram bucket holding the quantile, µs)")
	tw := newTab(w)
	fmt.Fprintln(tw, "target\trate\tvalidations\tmean µs\tp50 <= µs\tp99 <= µs")
	var ratios []string
	for _, run := range r.Runs {
		v := run.Validation
		if v == nil {
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\n", run.Target, RateLabel(run.Rate), v.Count, us(v.Mean), bucket(v.P50, v.P50Over), bucket(v.P99, v.P99Over))
		if v.MeanRatio > 0 {
			ratios = append(ratios, fmt.Sprintf("%s at %s req/s", strconv.FormatFloat(v.MeanRatio, 'f', 2, 64), RateLabel(run.Rate)))
		}
	}
	tw.Flush()
	if len(ratios) > 0 {
		fmt.Fprintf(w, "%s's mean validation time over %s's: %s\n", Compiled, FigureTarget, strings.Join(ratios, ", "))
	}
}

// us prints a duration in microseconds with one decimal.
func us(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Microsecond), 'f', 1, 64)
}

func bucket(d time.Duration, over bool) string {
	if over {
		return "> " + us(d)
	}
	return us(d)
}
