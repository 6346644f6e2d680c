package suite

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/orderguard/orderguard/bench/load/report"
)

var (
	buildOnce sync.Once
	builtBin  string
	builtRev  string
	buildErr  error
)

// TestMain removes the orderguard binary the tests built.
func TestMain(m *testing.M) {
	code := m.Run()
	if builtBin != "" {
		os.RemoveAll(filepath.Dir(builtBin))
	}
	os.Exit(code)
}

// orderguardBinary builds ./cmd/proxy once per test binary.
func orderguardBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "orderguard-bench-test-")
		if err != nil {
			buildErr = err
			return
		}
		builtBin, builtRev, buildErr = buildOrderguard(context.Background(), dir)
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBin
}

// TestSmoke runs the whole standard suite for 2 seconds of load (4 targets × 2
// rates × 250ms): real processes, real load, every report written.
func TestSmoke(t *testing.T) {
	bin := orderguardBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	o := Options{
		Targets: DefaultTargets, Rates: []float64{1000, 0}, Duration: 200 * time.Millisecond, Warmup: 50 * time.Millisecond,
		Rounds: 1, Connections: 8, Payloads: "../../testdata/load", Copies: 4, Binary: bin, LogDir: t.TempDir(),
	}
	var progress bytes.Buffer
	rep, err := Run(ctx, o, &progress)
	if err != nil {
		t.Fatalf("%v\nprogress:\n%s", err, progress.String())
	}
	assertNoChildren(t)

	if want := 2 * len(DefaultTargets); len(rep.Runs) != want {
		t.Fatalf("%d runs, want %d (%d targets × 2 rates)", len(rep.Runs), want, len(DefaultTargets))
	}
	for _, run := range rep.Runs {
		name := run.Target + "@" + report.RateLabel(run.Rate)
		if run.Responses == 0 || len(run.Errors) != 0 {
			t.Errorf("%s: %d responses, errors %v", name, run.Responses, run.Errors)
		}
		var ok, bad int64
		for code, n := range run.Status {
			c, _ := strconv.Atoi(code)
			switch {
			case c >= 200 && c < 300:
				ok += n
			case c == 400:
				bad += n
			default:
				t.Errorf("%s: %d answers with status %s", name, n, code)
			}
		}
		// One payload file in 11 is invalid: orderguard in enforce mode rejects it,
		// every other target passes it to the sandbox (which does not validate here).
		// Open-loop runs send the files in turn, so one answer in 11, give or take one.
		if run.Target == TargetOrderguard || run.Target == TargetCompiled {
			want := run.Responses / 11
			if run.Rate > 0 && (bad < want-1 || bad > want+1) || bad == 0 || ok == 0 {
				t.Errorf("%s: %d accepted, %d rejected; want one in 11 rejected (lint agrees on the payloads)", name, ok, bad)
			}
		} else if bad != 0 {
			t.Errorf("%s: %d rejected, want none", name, bad)
		}
		if run.Target != TargetDirect && run.Added == nil {
			t.Errorf("%s: no latency added over direct", name)
		}
		if run.CPU.Generator <= 0 {
			t.Errorf("%s: generator CPU %v", name, run.CPU.Generator)
		}
		// The proxy validates every request it is sent, warmup included; the other
		// targets have no validation histogram.
		orderguard := run.Target == TargetOrderguard || run.Target == TargetOrderguardRep || run.Target == TargetCompiled
		if v := run.Validation; orderguard && (v == nil || v.Count < uint64(run.Responses) || v.Count > uint64(run.Sent) || v.Mean <= 0 || v.P99 < v.P50) {
			t.Errorf("%s: validation %+v, want between %d and %d validations with a mean", name, v, run.Responses, run.Sent)
		} else if !orderguard && v != nil {
			t.Errorf("%s: validation %+v for a target that is not orderguard", name, v)
		}
	}
	for _, tg := range rep.Targets {
		if tg.PeakRSS <= 0 || tg.CPUSeconds <= 0 {
			t.Errorf("target %s: peak RSS %d, CPU %v", tg.Name, tg.PeakRSS, tg.CPUSeconds)
		}
	}
	if len(rep.Figures) != 1 {
		t.Errorf("figures %+v, want the throughput figure and, without a 5000 req/s run, no p99 one", rep.Figures)
	}

	out := t.TempDir()
	if err := WriteFiles(out, rep); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"latest.txt", "latest.json", "latest.svg"} {
		b, err := os.ReadFile(filepath.Join(out, name))
		if err != nil || len(b) == 0 {
			t.Errorf("%s: %d bytes, %v", name, len(b), err)
		}
	}
	if txt, _ := os.ReadFile(filepath.Join(out, "latest.txt")); !bytes.Contains(txt, []byte("\nVALIDATION (the proxy's own orderguard_validation_duration_seconds, per rate")) {
		t.Errorf("latest.txt has no VALIDATION section:\n%s", txt)
	}
}

// TestFailureStopsProcesses: a run that fails after starting processes stops them all.
func TestFailureStopsProcesses(t *testing.T) {
	bin := orderguardBinary(t)
	o := Options{
		Targets: []string{TargetDirect, TargetBaseline, "nosuch"}, Rates: []float64{10}, Duration: 100 * time.Millisecond,
		Payloads: "../../testdata/load", Binary: bin, LogDir: t.TempDir(),
	}
	_, err := Run(context.Background(), o, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), `unknown target "nosuch"`) {
		t.Fatalf("err = %v, want unknown target", err)
	}
	assertNoChildren(t)
}

// assertNoChildren fails if a process whose parent is this test is still alive
// (zombies already reaped by Wait do not appear).
func assertNoChildren(t *testing.T) {
	t.Helper()
	me := os.Getpid()
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, path := range stats {
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 2 || f[0] == "Z" {
			continue
		}
		if ppid, _ := strconv.Atoi(f[1]); ppid == me {
			t.Errorf("child process still running: %s", b[:i+1])
		}
	}
}

func TestRevisionOfBuiltBinary(t *testing.T) {
	orderguardBinary(t)
	// Built inside the git checkout: the commit (12 hex digits shown), from the
	// binary's build info or, with -buildvcs=false, from git.
	if rev := builtRev; len(strings.TrimSuffix(rev, "+modified")) != 12 {
		t.Errorf("revision %q, want 12 hex digits and maybe +modified", rev)
	}
	if revision("/nonexistent") != "" {
		t.Error("revision of a missing file should be empty")
	}
}

// TestUserURLTarget: a url= target is loaded beside direct and compared with it;
// nothing is started for it.
func TestUserURLTarget(t *testing.T) {
	bin := orderguardBinary(t)
	ln := listen(t)
	var seen atomic.Int64
	s := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		seen.Add(1)
		ctx.SetBodyString(`{"status":"success","action":"approve"}`)
	}}
	go s.Serve(ln)
	defer s.Shutdown()
	user := "url=http://" + ln.Addr().String()
	o := Options{
		Targets: []string{TargetDirect, user}, Rates: []float64{100}, Duration: 300 * time.Millisecond, Rounds: 1,
		Payloads: "../../testdata/load", Copies: 2, Binary: bin,
	}
	rep, err := Run(context.Background(), o, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	assertNoChildren(t)
	if len(rep.Runs) != 2 || rep.Runs[1].Target != user || rep.Runs[1].Status["200"] != 30 || rep.Runs[1].Added == nil {
		t.Fatalf("runs %+v: want the user target's 30 answers compared with direct", rep.Runs)
	}
	if seen.Load() < 30 {
		t.Errorf("user server saw %d requests, want at least 30", seen.Load())
	}
	if tg := rep.Targets[1]; tg.Command != "" || tg.PeakRSS != 0 {
		t.Errorf("user target %+v: nothing should have been started for it", tg)
	}
}
