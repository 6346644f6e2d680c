package report

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"time"

	"github.com/orderguard/orderguard/bench/load"
)

// Well-known target names: the report compares every target to the first two.
// BaselineTwin is a second bare proxy, identical to Baseline: its ratio to the
// baseline is what the measurement reads when there is no difference to find.
const (
	Direct       = "direct"
	Baseline     = "baseline"
	BaselineTwin = "baseline-twin"
)

// Report is one benchmark suite run.
type Report struct {
	Started time.Time `json:"started"`
	Machine Machine   `json:"machine"`
	// Revision is the VCS revision the orderguard binary was built from, with
	// "+modified" when the tree had uncommitted changes; empty when unknown.
	Revision string   `json:"orderguard_revision,omitempty"`
	Settings Settings `json:"settings"`
	Targets  []Target `json:"targets"`
	Runs     []Run    `json:"runs"`
	// Figures are the pass/fail checks, filled by Derive.
	Figures []Figure `json:"figures,omitempty"`
	// Peers compare orderguard with each peer target, filled by Derive.
	Peers []PeerComparison `json:"peers,omitempty"`
	Notes []string         `json:"notes,omitempty"`
}

// Machine describes where the suite ran.
type Machine struct {
	CPUs      int    `json:"cpus"`
	CPUModel  string `json:"cpu_model"`
	GoVersion string `json:"go_version"`
	OS        string `json:"os"`
	Arch      string `json:"arch"`
	// LoadAverage is /proc/loadavg's 1-minute figure when the suite started and
	// ended: other work on the machine competes with the benchmark.
	LoadAverage string `json:"load_average,omitempty"`
	// CPUSharing says how the processes shared the CPUs.
	CPUSharing string `json:"cpu_sharing"`
}

// Settings are the suite's parameters.
type Settings struct {
	Rates    []string      `json:"rates"`
	Duration time.Duration `json:"duration_ns"`
	// Rounds is the number of slices Duration was measured in.
	Rounds      int           `json:"rounds"`
	Warmup      time.Duration `json:"warmup_ns"`
	Connections int           `json:"connections"`
	Payloads    string        `json:"payloads"`
	Mix         load.Mix      `json:"mix"`
	// RateCap is the highest rate sent to a real (remote) target; 0 when none.
	RateCap float64 `json:"rate_cap,omitempty"`
}

// Target is one thing that was loaded.
type Target struct {
	Name string `json:"name"`
	URL  string `json:"url"`
	// Command is how the benchmark started it; empty for a URL a user supplied.
	Command string `json:"command,omitempty"`
	// PeakRSS is the VmHWM of the target's process at the end of the suite.
	PeakRSS    int64   `json:"peak_rss_bytes,omitempty"`
	CPUSeconds float64 `json:"cpu_seconds,omitempty"`
	// Peer marks another project's validating proxy, compared with orderguard
	// (see Report.Peers); Note says what it checks.
	Peer bool   `json:"peer,omitempty"`
	Note string `json:"note,omitempty"`
	// Skipped says why the target was not measured (it cannot run on this
	// machine); it then has no runs.
	Skipped string `json:"skipped,omitempty"`
}

// Run is one target at one rate.
type Run struct {
	Target string `json:"target"`
	// Rate is the requested rate; 0 is "max" (closed loop).
	Rate   float64 `json:"rate"`
	Closed bool    `json:"closed_loop"`
	// Pacer is the clock that released an open loop's requests (load.Pacer...).
	Pacer     string `json:"pacer,omitempty"`
	Scheduled int64  `json:"scheduled"`
	// Sent counts every request sent, warmup included (see CPU).
	Sent      int64            `json:"sent_with_warmup"`
	Responses int64            `json:"responses"`
	Achieved  float64          `json:"achieved_rps"`
	Latency   load.Percentiles `json:"latency"`
	Curve     []load.Point     `json:"curve"`
	// TimerLagP99 is the generator's own scheduling noise (see load.Result.TimerLag).
	TimerLagP99 time.Duration    `json:"generator_timer_lag_p99_ns"`
	Status      map[string]int64 `json:"status"`
	Errors      map[string]int64 `json:"errors"`
	Conn        load.ConnStats   `json:"connections"`
	CPU         CPU              `json:"cpu_seconds"`
	// Slices are the percentiles of each slice the run was measured in, and
	// SliceMedian their median, percentile by percentile: a burst of other work
	// on the machine spoils one slice's tail, not the median.
	Slices      []load.Percentiles `json:"slices,omitempty"`
	SliceMedian *load.Percentiles  `json:"slice_median,omitempty"`
	Added       *Added             `json:"added_over_direct,omitempty"`
	BaselineP99 float64            `json:"p99_added_ratio_to_baseline,omitempty"`
	// AddedMedian and BaselineP99Median are the same from the slice medians.
	AddedMedian       *Added  `json:"added_over_direct_slice_median,omitempty"`
	BaselineP99Median float64 `json:"p99_added_ratio_to_baseline_slice_median,omitempty"`
	// ThroughputRatio is Achieved over the baseline's, for "max" runs.
	ThroughputRatio float64 `json:"throughput_ratio_to_baseline,omitempty"`
	// SliceAchieved is each slice's achieved rate; AchievedMedian their median
	// and ThroughputRatioMedian its ratio to the baseline's.
	SliceAchieved         []float64 `json:"slice_achieved_rps,omitempty"`
	AchievedMedian        float64   `json:"achieved_rps_slice_median,omitempty"`
	ThroughputRatioMedian float64   `json:"throughput_ratio_to_baseline_slice_median,omitempty"`
	// Validation is an orderguard target's own validation histogram over the run.
	Validation *Validation `json:"validation,omitempty"`
}

// CPU is the CPU time each process spent during one run.
type CPU struct {
	Target    float64 `json:"target"`
	Sandbox   float64 `json:"sandbox"`
	Generator float64 `json:"generator"`
}

// Added is a target's latency minus direct's, at each percentile; it can be
// negative within noise.
type Added struct {
	P50  time.Duration `json:"p50_ns"`
	P90  time.Duration `json:"p90_ns"`
	P99  time.Duration `json:"p99_ns"`
	P999 time.Duration `json:"p99_9_ns"`
}

// Figure is one target figure of the issue and whether it was reached.
type Figure struct {
	Name   string  `json:"name"`
	Value  float64 `json:"value"`
	Target string  `json:"target"`
	Pass   bool    `json:"pass"`
	// Verdict is "reached", "missed" or "inconclusive": the baseline added no
	// measurable latency (no ratio to judge), or the all-request figure and the
	// slice median disagree. Value is the all-request ratio.
	Verdict string `json:"verdict"`
	Detail  string `json:"detail"`
}

// SetSliceAchieved records the per-slice achieved rates of a run and their median.
func (r *Run) SetSliceAchieved(rates []float64) {
	r.SliceAchieved, r.AchievedMedian = rates, 0
	if len(rates) == 0 {
		return
	}
	v := append([]float64(nil), rates...)
	sort.Float64s(v)
	n := len(v)
	if n%2 == 1 {
		r.AchievedMedian = v[n/2]
	} else {
		r.AchievedMedian = (v[n/2-1] + v[n/2]) / 2
	}
}

// SetSlices records the per-slice percentiles of a run and their median.
func (r *Run) SetSlices(slices []load.Percentiles) {
	r.Slices = slices
	r.SliceMedian = nil
	if len(slices) == 0 {
		return
	}
	med := func(get func(load.Percentiles) time.Duration) time.Duration {
		v := make([]time.Duration, len(slices))
		for i, p := range slices {
			v[i] = get(p)
		}
		sort.Slice(v, func(i, j int) bool { return v[i] < v[j] })
		n := len(v)
		if n%2 == 1 {
			return v[n/2]
		}
		return (v[n/2-1] + v[n/2]) / 2
	}
	r.SliceMedian = &load.Percentiles{
		P50:  med(func(p load.Percentiles) time.Duration { return p.P50 }),
		P90:  med(func(p load.Percentiles) time.Duration { return p.P90 }),
		P99:  med(func(p load.Percentiles) time.Duration { return p.P99 }),
		P999: med(func(p load.Percentiles) time.Duration { return p.P999 }),
		Max:  med(func(p load.Percentiles) time.Duration { return p.Max }),
	}
}

func sub(a, b load.Percentiles) *Added {
	return &Added{P50: a.P50 - b.P50, P90: a.P90 - b.P90, P99: a.P99 - b.P99, P999: a.P999 - b.P999}
}

// ratio is a's added p99 over b's, or 0 when b added nothing measurable.
func ratio(a, b *Added) float64 {
	if a == nil || b == nil || b.P99 <= 0 {
		return 0
	}
	return round3(float64(a.P99) / float64(b.P99))
}

// NewRun converts a load result into a report run.
func NewRun(target string, res *load.Result) Run {
	r := Run{
		Target:    target,
		Rate:      res.Rate,
		Closed:    res.Closed,
		Pacer:     res.Pacer,
		Scheduled: res.Scheduled,
		Sent:      res.Sent,
		Responses: res.Responses,
		Achieved:  res.Achieved,
		Latency:   load.Summarize(res.Latency),
		Curve:     load.Curve(res.Latency, 4, 10),
		Status:    map[string]int64{},
		Errors:    map[string]int64{},
		Conn:      res.Conn,
	}
	if res.TimerLag != nil && res.TimerLag.TotalCount() > 0 {
		r.TimerLagP99 = time.Duration(res.TimerLag.ValueAtQuantile(99))
	}
	for code, n := range res.Status {
		r.Status[strconv.Itoa(code)] = n
	}
	for k, n := range res.Errors {
		r.Errors[k] = n
	}
	return r
}

// RateLabel prints a rate the way --rates takes it.
func RateLabel(rate float64) string {
	if rate == 0 {
		return "max"
	}
	return strconv.FormatFloat(rate, 'f', -1, 64)
}

// Figures of the proxy issue: at 5,000 req/s, orderguard's p99 added latency within
// 1.3× of the baseline's; orderguard's max throughput at least 80% of the baseline's.
const (
	FigureRate     = 5000
	FigureP99Ratio = 1.3
	FigureMaxRatio = 0.8
	FigureTarget   = "orderguard"
)

// Derive fills each run's latency added over direct at the same rate (from all
// requests and from the slice medians), its ratio to the baseline's, the
// throughput ratios of max runs, the figures and the comparisons with
// the peers.
func Derive(r *Report) {
	find := func(target string, rate float64) *Run {
		for i := range r.Runs {
			if r.Runs[i].Target == target && r.Runs[i].Rate == rate {
				return &r.Runs[i]
			}
		}
		return nil
	}
	for i := range r.Runs {
		run := &r.Runs[i]
		run.Added, run.AddedMedian, run.BaselineP99, run.BaselineP99Median = nil, nil, 0, 0
		run.ThroughputRatio, run.ThroughputRatioMedian = 0, 0
		d := find(Direct, run.Rate)
		if d == nil || run.Target == Direct || run.Responses == 0 || d.Responses == 0 {
			continue
		}
		run.Added = sub(run.Latency, d.Latency)
		if run.SliceMedian != nil && d.SliceMedian != nil {
			run.AddedMedian = sub(*run.SliceMedian, *d.SliceMedian)
		}
	}
	for i := range r.Runs {
		run := &r.Runs[i]
		b := find(Baseline, run.Rate)
		if b == nil || run.Target == Direct {
			continue
		}
		run.BaselineP99 = ratio(run.Added, b.Added)
		run.BaselineP99Median = ratio(run.AddedMedian, b.AddedMedian)
		if run.Rate == 0 && b.Achieved > 0 {
			run.ThroughputRatio = round3(run.Achieved / b.Achieved)
		}
		if run.Rate == 0 && b.AchievedMedian > 0 && run.AchievedMedian > 0 {
			run.ThroughputRatioMedian = round3(run.AchievedMedian / b.AchievedMedian)
		}
	}
	r.Figures = nil
	og, b := find(FigureTarget, FigureRate), find(Baseline, FigureRate)
	if og != nil && b != nil && og.Added != nil && b.Added != nil {
		f := Figure{Name: "p99 added latency ratio to baseline at 5000 req/s", Target: fmt.Sprintf("<= %.1f", FigureP99Ratio)}
		all := judge(ratio(og.Added, b.Added), b.Added.P99 > 0, func(v float64) bool { return v <= FigureP99Ratio })
		f.Detail = fmt.Sprintf("all requests: orderguard +%s ms, baseline +%s ms at p99 (%s)", ms(og.Added.P99), ms(b.Added.P99), all.text())
		f.Value, f.Verdict = all.value, all.verdict
		if og.AddedMedian != nil && b.AddedMedian != nil && len(og.Slices) >= 3 {
			med := judge(ratio(og.AddedMedian, b.AddedMedian), b.AddedMedian.P99 > 0, func(v float64) bool { return v <= FigureP99Ratio })
			f.Detail += fmt.Sprintf("; median of %d slices: orderguard +%s ms, baseline +%s ms (%s)",
				len(og.Slices), ms(og.AddedMedian.P99), ms(b.AddedMedian.P99), med.text())
			f.Verdict = agree(all.verdict, med.verdict)
		}
		if twin := find(BaselineTwin, FigureRate); twin != nil && twin.Added != nil {
			f.Detail += fmt.Sprintf("; noise: %s, identical to baseline, reads %s", BaselineTwin, ratioText(ratio(twin.Added, b.Added)))
			if twin.AddedMedian != nil && b.AddedMedian != nil && len(twin.Slices) >= 3 {
				f.Detail += fmt.Sprintf(" (slice median %s)", ratioText(ratio(twin.AddedMedian, b.AddedMedian)))
			}
		}
		f.Pass = f.Verdict == "reached"
		r.Figures = append(r.Figures, f)
	}
	og, b = find(FigureTarget, 0), find(Baseline, 0)
	if og != nil && b != nil && b.Achieved > 0 {
		f := Figure{Name: "max throughput ratio to baseline", Target: fmt.Sprintf(">= %.2f", FigureMaxRatio)}
		all := judge(og.ThroughputRatio, true, func(v float64) bool { return v >= FigureMaxRatio })
		f.Detail = fmt.Sprintf("all requests: orderguard %.0f req/s, baseline %.0f req/s (%s)", og.Achieved, b.Achieved, all.text())
		f.Value, f.Verdict = all.value, all.verdict
		if og.ThroughputRatioMedian > 0 && len(og.SliceAchieved) >= 3 {
			med := judge(og.ThroughputRatioMedian, true, func(v float64) bool { return v >= FigureMaxRatio })
			f.Detail += fmt.Sprintf("; median of %d slices: orderguard %.0f req/s, baseline %.0f req/s (%s)",
				len(og.SliceAchieved), og.AchievedMedian, b.AchievedMedian, med.text())
			f.Verdict = agree(all.verdict, med.verdict)
		}
		f.Pass = f.Verdict == "reached"
		r.Figures = append(r.Figures, f)
	}
	derivePeers(r, find)
	deriveValidation(r, find)
}

// judgement is one estimator's ratio and verdict.
type judgement struct {
	value   float64
	verdict string
}

func judge(v float64, defined bool, ok func(float64) bool) judgement {
	if !defined {
		return judgement{verdict: "inconclusive"}
	}
	return judgement{value: v, verdict: verdict(ok(v))}
}

func (j judgement) text() string {
	if j.verdict == "inconclusive" {
		return "no ratio: the baseline added nothing measurable"
	}
	return fmt.Sprintf("%.3f, %s", j.value, j.verdict)
}

// agree is the verdict of two estimators: theirs when they agree, otherwise
// inconclusive. On a shared machine the all-request tail and the slice median
// can disagree; a figure is reached only when both say so.
func agree(a, b string) string {
	if a == b {
		return a
	}
	return "inconclusive"
}

func verdict(pass bool) string {
	if pass {
		return "reached"
	}
	return "missed"
}

func round3(f float64) float64 { return math.Round(f*1000) / 1000 }

// ms prints a duration in milliseconds with three decimals (microsecond resolution).
func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 3, 64)
}

// WriteJSON writes the report, indented.
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("write json report: %w", err)
	}
	return nil
}
