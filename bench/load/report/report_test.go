package report

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/orderguard/orderguard/bench/load"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// fakeResult builds a load result whose latencies are n values spread evenly from
// lo to hi, so every percentile in the goldens is predictable.
func fakeResult(rate float64, lo, hi time.Duration, n int64, achieved float64) *load.Result {
	h := load.NewHistogram()
	for i := int64(0); i < n; i++ {
		_ = h.RecordValue(int64(lo) + int64(hi-lo)*i/(n-1))
	}
	lag := load.NewHistogram()
	_ = lag.RecordValues(int64(40*time.Microsecond), 99)
	_ = lag.RecordValue(int64(90 * time.Microsecond))
	pacer := load.PacerTimerfd
	if rate == 0 {
		pacer = ""
	}
	return &load.Result{
		Pacer: pacer, TimerLag: lag, Rate: rate, Closed: rate == 0, Scheduled: n, Sent: n + n/4, Responses: n, Achieved: achieved, Latency: h,
		Status: map[int]int64{200: n * 9 / 10, 400: n / 10}, Errors: map[string]int64{}, Conn: load.ConnStats{Dials: 32},
	}
}

func sample() *Report {
	us := time.Microsecond
	r := &Report{
		Started:  time.Date(2026, 11, 21, 7, 0, 0, 0, time.UTC),
		Revision: "0123456789ab+modified",
		Machine:  Machine{CPUs: 2, CPUModel: "AMD EPYC", GoVersion: "go1.26.0", OS: "linux", Arch: "amd64", CPUSharing: "all processes share both CPUs", LoadAverage: "0.52 → 2.10"},
		Settings: Settings{Rates: []string{"5000", "max"}, Duration: 8 * time.Second, Rounds: 4, Warmup: 2 * time.Second, Connections: 32,
			Payloads: "bench/testdata/load", Mix: load.Mix{Files: 10, Valid: 9, Invalid: 1, MinBytes: 1352, MaxBytes: 19643, Copies: 64}},
		Targets: []Target{
			{Name: "direct", URL: "http://127.0.0.1:1001", Command: "orderguard sandbox", PeakRSS: 20 << 20, CPUSeconds: 10},
			{Name: "baseline", URL: "http://127.0.0.1:1002", Command: "orderguard bench --serve-baseline", PeakRSS: 15 << 20, CPUSeconds: 8},
			{Name: "baseline-twin", URL: "http://127.0.0.1:1005", Command: "orderguard bench --serve-baseline", PeakRSS: 15 << 20, CPUSeconds: 8},
			{Name: "orderguard", URL: "http://127.0.0.1:1003", Command: "orderguard serve --mode enforce", PeakRSS: 30 << 20, CPUSeconds: 9},
			{Name: "user", URL: "http://127.0.0.1:1004"},
			{Name: "kin-openapi", URL: "http://127.0.0.1:1006", Command: "bench/peers/kinproxy", PeakRSS: 60 << 20, CPUSeconds: 30, Peer: true,
				Note: "checks the spec only"},
			{Name: "prism", URL: "http://127.0.0.1:1007", Command: "prism proxy", PeakRSS: 240 << 20, CPUSeconds: 60, Peer: true},
			{Name: "absent-peer", Command: "absent-peer proxy", Peer: true, Skipped: "node is not on PATH"},
		},
		Notes: []string{"a note"},
	}
	add := func(target string, res *load.Result, cpu CPU) {
		run := NewRun(target, res)
		run.CPU = cpu
		if res.Rate > 0 {
			// Three slices: the middle one is the merged run's, the others are
			// 10% faster and one much slower (a burst of other work).
			p := run.Latency
			scale := func(f float64) load.Percentiles {
				m := func(d time.Duration) time.Duration { return time.Duration(float64(d) * f) }
				return load.Percentiles{P50: m(p.P50), P90: m(p.P90), P99: m(p.P99), P999: m(p.P999), Max: m(p.Max)}
			}
			run.SetSlices([]load.Percentiles{scale(0.9), p, scale(30)})
		} else {
			run.SetSliceAchieved([]float64{res.Achieved / 10, res.Achieved * 1.1, res.Achieved})
		}
		r.Runs = append(r.Runs, run)
	}
	add("direct", fakeResult(5000, 100*us, 1100*us, 1001, 5000), CPU{Target: 3, Generator: 2})
	add("baseline", fakeResult(5000, 150*us, 1300*us, 1001, 5000), CPU{Target: 2, Sandbox: 3, Generator: 2})
	add("baseline-twin", fakeResult(5000, 140*us, 1340*us, 1001, 5000), CPU{Target: 2, Sandbox: 3, Generator: 2})
	add("orderguard", fakeResult(5000, 170*us, 1500*us, 1001, 4999.5), CPU{Target: 2.5, Sandbox: 3, Generator: 2})
	r.Runs[len(r.Runs)-1].Validation = &Validation{Count: 1251, Mean: 24200 * time.Nanosecond, P50: 25 * us, P99: 100 * us}
	add(Compiled, fakeResult(5000, 160*us, 1400*us, 1001, 5000), CPU{Target: 2.2, Sandbox: 3, Generator: 2})
	r.Runs[len(r.Runs)-1].Validation = &Validation{Count: 1251, Mean: 9680 * time.Nanosecond, P50: 10 * us, P99: 10 * time.Millisecond, P99Over: true}
	add("user", fakeResult(5000, 90*us, 1000*us, 1001, 5000), CPU{Sandbox: 3, Generator: 2})
	add("kin-openapi", fakeResult(5000, 400*us, 30400*us, 1001, 4990), CPU{Target: 10, Sandbox: 3, Generator: 2})
	prism := fakeResult(5000, 50*time.Millisecond, 3050*time.Millisecond, 1001, 1700)
	prism.Status, prism.Errors = map[int]int64{200: 910, 422: 91}, map[string]int64{"timeout": 12, "unsent": 3100}
	add("prism", prism, CPU{Target: 20, Sandbox: 1, Generator: 2})
	add("direct", fakeResult(0, 300*us, 3000*us, 1001, 60000), CPU{Target: 8, Generator: 6})
	add("baseline", fakeResult(0, 400*us, 4000*us, 1001, 40000), CPU{Target: 5, Sandbox: 6, Generator: 5})
	add("orderguard", fakeResult(0, 500*us, 5000*us, 1001, 34000), CPU{Target: 6, Sandbox: 5, Generator: 4})
	r.Runs[len(r.Runs)-1].Validation = &Validation{Count: 42500, Mean: 30 * us, P50: 50 * us, P99: 250 * us}
	add("kin-openapi", fakeResult(0, 2*time.Millisecond, 20*time.Millisecond, 1001, 6800), CPU{Target: 12, Sandbox: 2, Generator: 2})
	add("prism", fakeResult(0, 10*time.Millisecond, 60*time.Millisecond, 1001, 1700), CPU{Target: 14, Sandbox: 1, Generator: 1})
	Derive(r)
	return r
}

func TestDerive(t *testing.T) {
	r := sample()
	byKey := map[string]Run{}
	for _, run := range r.Runs {
		byKey[run.Target+"@"+RateLabel(run.Rate)] = run
	}
	if byKey["direct@5000"].Added != nil {
		t.Error("direct has latency added over itself")
	}
	// p99 of lo..hi over 1001 evenly spread values is lo + 0.99*(hi-lo).
	og, b := byKey["orderguard@5000"], byKey["baseline@5000"]
	wantOg, wantB := 1490*time.Microsecond-1090*time.Microsecond, 1289*time.Microsecond-1090*time.Microsecond
	if !near(og.Added.P99, wantOg) || !near(b.Added.P99, wantB) {
		t.Errorf("p99 added: orderguard %v, baseline %v; want about %v and %v", og.Added.P99, b.Added.P99, wantOg, wantB)
	}
	if b.BaselineP99 != 1 {
		t.Errorf("baseline's ratio to itself = %v, want 1", b.BaselineP99)
	}
	if og.BaselineP99 < 1.9 || og.BaselineP99 > 2.1 {
		t.Errorf("orderguard p99 ratio %v, want about 2", og.BaselineP99)
	}
	if got := byKey["orderguard@max"].ThroughputRatio; got != 0.85 {
		t.Errorf("throughput ratio %v, want 0.85", got)
	}
	if og.AddedMedian == nil || og.AddedMedian.P99 != og.Added.P99 || og.BaselineP99Median != og.BaselineP99 {
		t.Errorf("slice median: added %+v, ratio %v; want the middle slice's, equal to the merged run here", og.AddedMedian, og.BaselineP99Median)
	}
	if len(r.Figures) != 2 || r.Figures[0].Verdict != "missed" || r.Figures[1].Verdict != "reached" || r.Figures[0].Pass || !r.Figures[1].Pass {
		t.Errorf("figures %+v: want the p99 figure missed (2× > 1.3×) and the throughput one reached (85%% >= 80%%)", r.Figures)
	}
	if m := byKey["orderguard@max"]; m.AchievedMedian != 34000 || m.ThroughputRatioMedian != 0.85 {
		t.Errorf("max slices: median %v, ratio %v; want 34000 (the middle slice) and 0.85", m.AchievedMedian, m.ThroughputRatioMedian)
	}
	if !strings.Contains(r.Figures[0].Detail, "median of 3 slices") || !strings.Contains(r.Figures[1].Detail, "median of 3 slices") {
		t.Errorf("p99 figure detail %q: want it to say it used the slice median", r.Figures[0].Detail)
	}
}

// TestDeriveValidation: the compiled engine's mean is compared with
// orderguard's at the same rate, and only where both have one.
func TestDeriveValidation(t *testing.T) {
	r := sample()
	for _, run := range r.Runs {
		var want float64
		if run.Target == Compiled {
			want = 0.4 // 9.68 µs over 24.2 µs
		}
		if run.Validation != nil && run.Validation.MeanRatio != want {
			t.Errorf("%s@%s: mean ratio %v, want %v", run.Target, RateLabel(run.Rate), run.Validation.MeanRatio, want)
		}
	}
	var text bytes.Buffer
	if err := WriteText(&text, sampleWithout(FigureTarget)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), "\nVALIDATION") || strings.Contains(text.String(), "mean validation time over") {
		t.Errorf("without orderguard: want the compiled row and no comparison line:\n%s", text.String())
	}
}

func TestDerivePeers(t *testing.T) {
	r := sample()
	if len(r.Peers) != 3 {
		t.Fatalf("%d peer comparisons, want kin-openapi, prism and the skipped one: %+v", len(r.Peers), r.Peers)
	}
	kin, prism, absent := r.Peers[0], r.Peers[1], r.Peers[2]
	if kin.Peer != "kin-openapi" || len(kin.Rates) != 2 || !kin.Rates[0].PeerKept {
		t.Fatalf("kin-openapi %+v: want both rates, 5000 kept", kin)
	}
	// p99 of lo..hi over 1001 evenly spread values is lo + 0.99*(hi-lo).
	if got := kin.Rates[0].P99Ratio; got < 0.048 || got > 0.05 {
		t.Errorf("kin-openapi p99 ratio %v, want orderguard's 1.487 ms over 30.1 ms, about 0.049", got)
	}
	if got := kin.Rates[1].ThroughputRatio; got != 5 {
		t.Errorf("kin-openapi throughput ratio %v, want 34000/6800 = 5", got)
	}
	if kin.Rates[0].ThroughputRatio != 0 {
		t.Error("an open-loop rate has no throughput ratio")
	}
	// CPU: orderguard 8.5 s over 1251+1251 requests, kin-openapi 22 s over as many.
	if kin.CPURatio != 0.386 || kin.RSSRatio != 0.5 {
		t.Errorf("kin-openapi cpu ratio %v, rss ratio %v; want 8.5/22 = 0.386 and 0.5", kin.CPURatio, kin.RSSRatio)
	}
	p := prism.Rates[0]
	if p.PeerKept || p.PeerAchieved != 1700 || p.PeerErrors["unsent"] != 3100 || p.PeerStatus["422"] != 91 {
		t.Errorf("prism at 5000 %+v: want not kept, with what it achieved and its errors", p)
	}
	if absent.Skipped == "" || len(absent.Rates) != 0 {
		t.Errorf("skipped peer %+v: want its reason and no rates", absent)
	}
	for _, want := range []string{"orderguard vs kin-openapi: max throughput 5× kin-openapi's (34000 vs 6800 req/s); p99 at 5000 req/s 0.0494× kin-openapi's (1.487 vs 30.114 ms)",
		"p99 at 5000 req/s 0.000492× prism's (1.487 vs 3021.996 ms; ",
		"prism did not keep the rate: answered 1700 of 5000 req/s, errors timeout:12 unsent:3100)",
		"absent-peer: not measured: node is not on PATH"} {
		found := false
		for _, c := range r.Peers {
			found = found || strings.Contains(c.Summary(), want)
		}
		if !found {
			t.Errorf("no summary contains %q:\n%s\n%s", want, kin.Summary(), prism.Summary())
		}
	}
}

func TestDerivePeersWithoutOrderguard(t *testing.T) {
	r := sampleWithout(FigureTarget)
	for _, c := range r.Peers {
		if len(c.Rates) != 0 {
			t.Errorf("%s: rates %+v compared with no orderguard run", c.Peer, c.Rates)
		}
		if c.Skipped == "" && !strings.Contains(c.Summary(), "no run to compare") {
			t.Errorf("summary %q: want it to say there is nothing to compare", c.Summary())
		}
	}
}

func TestKept(t *testing.T) {
	for _, tc := range []struct {
		name string
		run  Run
		want bool
	}{
		{"kept", Run{Rate: 1000, Achieved: 999}, true},
		{"too slow", Run{Rate: 1000, Achieved: 900}, false},
		{"failed requests", Run{Rate: 1000, Achieved: 1000, Errors: map[string]int64{"timeout": 1}}, false},
		{"closed loop", Run{Rate: 0, Closed: true, Achieved: 10}, true},
	} {
		if got := tc.run.Kept(); got != tc.want {
			t.Errorf("%s: Kept() = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestFigureInconclusive: when the baseline adds no measurable p99 latency there
// is no ratio, and the figure must not claim to be reached.
func TestFigureInconclusive(t *testing.T) {
	r := sample()
	for i := range r.Runs {
		if r.Runs[i].Target == Baseline && r.Runs[i].Rate == FigureRate {
			d := r.Runs[0] // direct at 5000
			r.Runs[i].Latency = d.Latency
			r.Runs[i].SetSlices(d.Slices)
		}
	}
	Derive(r)
	f := r.Figures[0]
	if f.Verdict != "inconclusive" || f.Pass || f.Value != 0 {
		t.Errorf("figure %+v: want inconclusive, not passed", f)
	}
}

func TestSetSlicesMedian(t *testing.T) {
	ms := func(n int) load.Percentiles {
		d := time.Duration(n) * time.Millisecond
		return load.Percentiles{P50: d, P90: d, P99: d, P999: d, Max: d}
	}
	for _, tc := range []struct {
		name   string
		slices []load.Percentiles
		want   time.Duration
	}{
		{"odd", []load.Percentiles{ms(5), ms(1), ms(100)}, 5 * time.Millisecond},
		{"even", []load.Percentiles{ms(4), ms(2), ms(100), ms(1)}, 3 * time.Millisecond},
		{"one", []load.Percentiles{ms(7)}, 7 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r Run
			r.SetSlices(tc.slices)
			if r.SliceMedian == nil || r.SliceMedian.P99 != tc.want {
				t.Errorf("median %+v, want p99 %v", r.SliceMedian, tc.want)
			}
		})
	}
	var r Run
	r.SetSlices(nil)
	if r.SliceMedian != nil {
		t.Error("median of no slices should be nil")
	}
}

func near(got, want time.Duration) bool {
	d := got - want
	return d > -5*time.Microsecond && d < 5*time.Microsecond
}

// sampleWithout is the sample without target's runs, derived again.
func sampleWithout(target string) *Report {
	r := sample()
	var runs []Run
	for _, run := range r.Runs {
		if run.Target != target {
			runs = append(runs, run)
		}
	}
	r.Runs = runs
	Derive(r)
	return r
}

func TestDeriveWithoutBaseline(t *testing.T) {
	r := sampleWithout(Baseline)
	for _, run := range r.Runs {
		if run.BaselineP99 != 0 || run.ThroughputRatio != 0 {
			t.Errorf("%s@%v: ratios %v, %v without a baseline", run.Target, run.Rate, run.BaselineP99, run.ThroughputRatio)
		}
	}
	if len(r.Figures) != 0 {
		t.Errorf("figures without a baseline: %+v", r.Figures)
	}
}

func TestGoldens(t *testing.T) {
	r := sample()
	for _, tc := range []struct {
		file  string
		write func(io.Writer, *Report) error
	}{
		{"report.txt", WriteText},
		{"report.json", WriteJSON},
		{"report.svg", WriteSVG},
	} {
		t.Run(tc.file, func(t *testing.T) {
			var buf bytes.Buffer
			if err := tc.write(&buf, r); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", tc.file+".golden")
			if *update {
				if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("%s differs from %s (go test -update rewrites it):\n%s", tc.file, golden, buf.String())
			}
		})
	}
}

func TestJSONRoundTrip(t *testing.T) {
	r := sample()
	var buf bytes.Buffer
	if err := WriteJSON(&buf, r); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Runs) != len(r.Runs) || back.Runs[2].Latency != r.Runs[2].Latency || back.Runs[2].BaselineP99 != r.Runs[2].BaselineP99 {
		t.Errorf("round trip lost data: %+v", back.Runs[2])
	}
}

func TestSVGWellFormed(t *testing.T) {
	for name, r := range map[string]*Report{"sample": sample(), "empty": {}} {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteSVG(&buf, r); err != nil {
				t.Fatal(err)
			}
			dec := xml.NewDecoder(&buf)
			lines := 0
			for {
				tok, err := dec.Token()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("not well-formed XML: %v", err)
				}
				if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "polyline" {
					lines++
				}
			}
			if want := len(r.Runs); lines != want {
				t.Errorf("%d curves, want one per run (%d)", lines, want)
			}
		})
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, os.ErrClosed }

func TestWriteErrors(t *testing.T) {
	r := sample()
	for name, write := range map[string]func(io.Writer, *Report) error{"text": WriteText, "json": WriteJSON, "svg": WriteSVG} {
		if err := write(failWriter{}, r); err == nil || !strings.Contains(err.Error(), "closed") {
			t.Errorf("%s to a failing writer: err = %v", name, err)
		}
	}
}

// TestLogAxis: a panel whose latencies span more than logSpread gets a log
// axis by decades; the sample's 5000 req/s panel (prism answering in seconds)
// is one, its max panel is not.
func TestLogAxis(t *testing.T) {
	a := newAxis(0.15, 1.1, 3050)
	if !a.log || a.lo != 0.1 || a.hi != 10000 || len(a.ticks()) != 6 || a.frac(0.1) != 0 || a.frac(10000) != 1 || a.frac(10) != 0.4 {
		t.Errorf("axis %+v ticks %v: want log from 0.1 to 10000 ms", a, a.ticks())
	}
	if a := newAxis(0.5, 3, 20); a.log || a.hi != 20 {
		t.Errorf("axis %+v: want linear to 20", a)
	}
	var buf bytes.Buffer
	if err := WriteSVG(&buf, sample()); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(buf.String(), ", log scale"); n != 1 {
		t.Errorf("%d log-scale panels, want 1 (5000 req/s)", n)
	}
}

func TestNiceScale(t *testing.T) {
	for _, tc := range []struct{ in, top, step float64 }{
		{0, 1, 0.2}, {0.37, 0.4, 0.1}, {1, 1, 0.2}, {4.2, 5, 1}, {12, 15, 5}, {950, 1000, 200},
	} {
		top, step := niceScale(tc.in)
		if top != tc.top || step != tc.step {
			t.Errorf("niceScale(%v) = %v, %v; want %v, %v", tc.in, top, step, tc.top, tc.step)
		}
	}
}

// TestFigureEstimatorsDisagree: the slice median reaches the figure while the
// all-request tail misses it; the figure must say inconclusive, not reached.
func TestFigureEstimatorsDisagree(t *testing.T) {
	r := sample()
	var base []load.Percentiles
	for _, run := range r.Runs {
		if run.Target == Baseline && run.Rate == FigureRate {
			base = run.Slices
		}
	}
	for i := range r.Runs {
		if r.Runs[i].Target == FigureTarget && r.Runs[i].Rate == FigureRate {
			r.Runs[i].SetSlices(base) // median ratio 1.0, all-request ratio still 2.0
		}
	}
	Derive(r)
	f := r.Figures[0]
	if f.Verdict != "inconclusive" || f.Pass || f.Value < 1.9 || f.Value > 2.1 {
		t.Errorf("figure %+v: want inconclusive with the all-request value about 2", f)
	}
	if !strings.Contains(f.Detail, "1.995, missed") || !strings.Contains(f.Detail, "1.000, reached") {
		t.Errorf("detail %q: want both estimators' verdicts", f.Detail)
	}
}
