package suite

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orderguard/orderguard/bench/load/report"
)

var (
	kinOnce sync.Once
	kinBin  string
	kinErr  error
)

// kinProxyBinary builds bench/peers/kinproxy once per test binary, beside the
// orderguard binary (TestMain removes that directory).
func kinProxyBinary(t *testing.T) string {
	t.Helper()
	dir := filepath.Dir(orderguardBinary(t))
	kinOnce.Do(func() {
		kinBin, kinErr = buildPackage(context.Background(), "./bench/peers/kinproxy", filepath.Join(dir, "kinproxy"))
	})
	if kinErr != nil {
		t.Fatal(kinErr)
	}
	return kinBin
}

// prismInstalled returns the checkout's Prism directory, installing Prism there
// with npm ci (what make bench-peers does) when it is missing. Without node the
// test cannot run Prism: it skips and says so; the skip itself is tested by
// TestPrismSkippedWithoutNode.
func prismInstalled(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not on PATH: Prism cannot run here")
	}
	root, err := moduleDir(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "bench", "peers", "prism")
	if _, err := os.Stat(prismCLI(dir)); err == nil {
		return dir
	}
	if testing.Short() {
		t.Skip("-short: Prism is not installed in bench/peers/prism and npm ci takes half a minute (make bench-peers installs it)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm ci in %s: %v\n%s", dir, err, out)
	}
	return dir
}

// TestPeers starts the kin-openapi proxy and Prism beside orderguard, loads
// each with 150 requests at 50 req/s (after 100 of warmup) and checks that each
// validates (the invalid payload refused, the valid ones forwarded), that every
// process is stopped, and that the report compares both peers with orderguard.
func TestPeers(t *testing.T) {
	bin, kin, prismDir := orderguardBinary(t), kinProxyBinary(t), prismInstalled(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	o := Options{
		// Prism compiles each operation's validators on first use, and on a busy
		// machine it answers slower than 50 req/s: two seconds of warmup first.
		Targets: []string{TargetDirect, TargetOrderguard, TargetKinOpenAPI, TargetPrism}, Rates: []float64{50}, Duration: 3 * time.Second,
		Warmup: 200 * time.Millisecond, FirstWarmup: 2 * time.Second, Rounds: 1, Connections: 8, Payloads: "../../testdata/load", Copies: 4,
		Binary: bin, KinProxy: kin, PrismDir: prismDir, LogDir: t.TempDir(),
	}
	var progress bytes.Buffer
	rep, err := Run(ctx, o, &progress)
	if err != nil {
		t.Fatalf("%v\nprogress:\n%s", err, progress.String())
	}
	assertNoChildren(t)

	// Peers refuse the invalid payload (one file in 11, sent in turn) with their
	// own status: kin-openapi 400, Prism 422 (its --errors answer). A Prism
	// that falls behind the rate answers the earliest requests only: any 11
	// in a row hold one invalid body.
	refusal := map[string]string{TargetKinOpenAPI: "400", TargetPrism: "422"}
	for _, run := range rep.Runs {
		code, ok := refusal[run.Target]
		if !ok {
			continue
		}
		ok200, bad := run.Status["200"], run.Status[code]
		if run.Responses < 11 || ok200 == 0 || ok200+bad != run.Responses {
			t.Errorf("%s: %d responses, status %v; want at least 11, all 200 or %s", run.Target, run.Responses, run.Status, code)
		}
		if want := run.Responses / 11; bad < want || bad > want+1 {
			t.Errorf("%s: %d refused of %d, want one in 11 (the invalid payload)", run.Target, bad, run.Responses)
		}
	}
	if len(rep.Peers) != 2 {
		t.Fatalf("peer comparisons %+v, want kin-openapi and prism", rep.Peers)
	}
	for _, c := range rep.Peers {
		t.Log(c.Summary())
		if c.Skipped != "" || len(c.Rates) != 1 || c.Rates[0].P99Ratio <= 0 || c.PeerPeakRSS <= 0 || c.PeerCPUPerRequest <= 0 {
			t.Errorf("%s: %+v; want one compared rate, CPU and RSS", c.Peer, c)
		}
	}
	var text bytes.Buffer
	if err := report.WriteText(&text, rep); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"cannot be expressed in kin-openapi", "@stoplight/prism-cli 5.16.0", "orderguard vs kin-openapi: p99 at 50 req/s", "orderguard vs prism: p99 at 50 req/s"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, text.String())
		}
	}
}

// TestPrismSkippedWithoutNode: with no node on PATH the prism target is not
// started, and the report says why instead of leaving it out silently.
func TestPrismSkippedWithoutNode(t *testing.T) {
	bin := orderguardBinary(t)
	t.Setenv("PATH", t.TempDir())
	o := Options{
		Targets: []string{TargetDirect, TargetOrderguard, TargetPrism}, Rates: []float64{50}, Duration: 200 * time.Millisecond, Rounds: 1,
		Payloads: "../../testdata/load", Copies: 2, Binary: bin, LogDir: t.TempDir(),
	}
	var progress bytes.Buffer
	rep, err := Run(context.Background(), o, &progress)
	if err != nil {
		t.Fatal(err)
	}
	assertNoChildren(t)
	for _, run := range rep.Runs {
		if run.Target == TargetPrism {
			t.Errorf("prism was loaded without node: %+v", run)
		}
	}
	if len(rep.Peers) != 1 || !strings.Contains(rep.Peers[0].Skipped, "node is not on PATH") {
		t.Fatalf("peers %+v: want prism skipped because node is not on PATH", rep.Peers)
	}
	var text bytes.Buffer
	if err := report.WriteText(&text, rep); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"prism              SKIPPED: node is not on PATH", "- prism: not measured: node is not on PATH"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, text.String())
		}
	}
	if !strings.Contains(progress.String(), "skipping prism: node is not on PATH") {
		t.Errorf("progress %q: want the skip announced", progress.String())
	}
}

func TestPrismUnavailable(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not on PATH: TestPrismSkippedWithoutNode covers this machine")
	}
	empty := t.TempDir()
	e := &env{ctx: context.Background(), o: &Options{PrismDir: empty}}
	if why := prismUnavailable(e); !strings.Contains(why, "Prism is not installed in "+empty) || !strings.Contains(why, "make bench-peers") {
		t.Errorf("unavailable = %q, want it not installed in %s", why, empty)
	}
	cli := prismCLI(empty)
	if err := os.MkdirAll(filepath.Dir(cli), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cli, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if why := prismUnavailable(e); why != "" {
		t.Errorf("unavailable = %q once installed, want none", why)
	}
	if v := prismVersion(empty); v != "unknown version" {
		t.Errorf("version of an install without package.json = %q", v)
	}
}

func TestUnknownTargetListsTheTable(t *testing.T) {
	err := unknownTarget("nosuch")
	for _, lt := range localTargets {
		if !strings.Contains(err.Error(), lt.name) {
			t.Errorf("%v: does not list %s", err, lt.name)
		}
	}
}
