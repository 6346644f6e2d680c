package suite

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/orderguard/orderguard/bench/load"
	"github.com/orderguard/orderguard/bench/load/report"
)

// Options configure one suite run.
type Options struct {
	Targets  []string
	Rates    []float64 // 0 is "max"
	Duration time.Duration
	Warmup   time.Duration
	// FirstWarmup is the warmup of each target's first slice at a rate, when
	// longer than Warmup.
	FirstWarmup time.Duration
	Connections int
	Timeout     time.Duration
	Payloads    string
	Copies      int
	// Binary is the orderguard binary that serves the sandbox, the baseline and
	// the proxy. Empty: build ./cmd/proxy from the module in the working directory.
	Binary string
	// LogDir keeps the processes' logs; empty: a temporary directory, removed
	// after a successful run.
	LogDir string
	// Rounds splits each target's Duration at a rate into slices run in turn
	// with the other targets'.
	Rounds int
	// Pause separates runs so that one run's tail does not spill into the next.
	Pause time.Duration

	// Remote mode: load URL only (Forter's test site), with credentials.
	URL        string
	APIKeyFile string
	SiteID     string
	APIVersion string
	MaxRate    float64 // rate cap for URL; default 10 req/s
	CAFile     string

	// Peers (see PeerTargets). KinProxy is the kin-openapi proxy's binary; empty:
	// built from ./bench/peers/kinproxy. PrismDir is where Prism is installed;
	// empty: bench/peers/prism in the checkout.
	KinProxy string
	PrismDir string
}

// Headers the suite sends to targets it started. The sandbox wants Basic auth,
// a site id and an api-version like Forter; the key is not a secret.
var localHeaders = []load.Header{
	{Name: "Authorization", Value: "Basic " + base64.StdEncoding.EncodeToString([]byte("orderguard-bench:"))},
	{Name: "x-forter-siteid", Value: "orderguard-bench"},
	{Name: "api-version", Value: "2.3"},
	{Name: "x-forter-disable-persistence", Value: "true"},
}

const cpuSharing = "not pinned: the load generator, the sandbox and the target proxy are separate processes " +
	"sharing all %d CPUs (GOMAXPROCS %d each); CPU seconds per process and run are below"

type target struct {
	name, url, command string
	// metrics is an orderguard target's admin /metrics, scraped around each
	// slice for its own validation histogram; empty for other targets.
	metrics string
	peer    bool
	note    string
	proc    *proc
}

// Run runs the suite and returns its report. progress gets one line per step.
func Run(ctx context.Context, o Options, progress io.Writer) (rep *report.Report, err error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	reqs, mix, err := load.ReadDir(o.Payloads, o.Copies)
	if err != nil {
		return nil, err
	}
	if o.URL != "" {
		return runRemote(ctx, o, reqs, mix, progress)
	}

	logDir := o.LogDir
	if logDir == "" {
		if logDir, err = os.MkdirTemp("", "orderguard-bench-"); err != nil {
			return nil, fmt.Errorf("log dir: %w", err)
		}
		defer func() {
			if err == nil {
				os.RemoveAll(logDir)
			} else {
				err = fmt.Errorf("%w (process logs kept in %s)", err, logDir)
			}
		}()
	} else if err := os.MkdirAll(logDir, 0o755); err != nil {
		return nil, fmt.Errorf("log dir: %w", err)
	}

	bin, rev := o.Binary, revision(o.Binary)
	if bin == "" {
		fmt.Fprintln(progress, "building orderguard (go build ./cmd/proxy)")
		if bin, rev, err = buildOrderguard(ctx, logDir); err != nil {
			return nil, err
		}
	}

	var procs []*proc
	defer func() {
		for _, p := range procs {
			p.stop(3 * time.Second)
		}
	}()
	start := func(name, bin string, args ...string) (*proc, error) {
		p, err := startProc(name, bin, args, logDir)
		if err == nil {
			procs = append(procs, p)
		}
		return p, err
	}

	fmt.Fprintln(progress, "starting the sandbox")
	sb, err := start("sandbox", bin, "sandbox", "--listen", "127.0.0.1:0", "--rate-limit", "0", "--no-validate")
	if err != nil {
		return nil, err
	}
	sandboxURL, err := sb.waitLog(listening, 15*time.Second)
	if err != nil {
		return nil, err
	}

	e := &env{ctx: ctx, o: &o, bin: bin, logDir: logDir, sandbox: sb, sandboxURL: sandboxURL, start: start}
	var targets []*target
	var skipped []report.Target
	for _, name := range o.Targets {
		if strings.HasPrefix(name, "url=") {
			targets = append(targets, &target{name: name, url: strings.TrimPrefix(name, "url=")})
			continue
		}
		lt, ok := lookupTarget(name)
		if !ok {
			return nil, unknownTarget(name)
		}
		t := &target{name: name, command: lt.command, peer: lt.peer, note: lt.note}
		if lt.unavailable != nil {
			if why := lt.unavailable(e); why != "" {
				fmt.Fprintf(progress, "skipping %s: %s\n", name, why)
				skipped = append(skipped, report.Target{Name: name, Command: lt.command, Peer: lt.peer, Note: lt.note, Skipped: why})
				continue
			}
		}
		fmt.Fprintf(progress, "starting %s\n", name)
		if err := lt.start(e, t); err != nil {
			return nil, err
		}
		targets = append(targets, t)
	}

	rep = newReport(o, mix)
	rep.Revision = rev
	loadBefore := loadAverage()
	rep.Machine.CPUSharing = fmt.Sprintf(cpuSharing, rep.Machine.CPUs, rep.Machine.CPUs)
	rep.Notes = append(rep.Notes, fmt.Sprintf("each target's %s at a rate is measured in %d slices of %s (each after %s of warmup), "+
		"interleaved with the other targets' in rotating order, so that noise from other work on the machine falls on all targets alike; "+
		"the first slice of each target at each rate has %s of warmup", o.Duration, o.Rounds, o.Duration/time.Duration(o.Rounds), o.Warmup, max(o.Warmup, o.FirstWarmup)))
	cfg := load.Config{Duration: o.Duration / time.Duration(o.Rounds), Warmup: o.Warmup, Connections: o.Connections, Timeout: o.Timeout,
		Requests: reqs, Header: localHeaders}
	for _, rate := range o.Rates {
		slices := make([][]*load.Result, len(targets))
		cpus := make([]report.CPU, len(targets))
		vals := make([]histogram, len(targets))
		for round := 0; round < o.Rounds; round++ {
			for k := range targets {
				i := (k + round) % len(targets)
				t := targets[i]
				if err := ctx.Err(); err != nil {
					return nil, err
				}
				fmt.Fprintf(progress, "%s at %s req/s (%d/%d)\n", t.name, report.RateLabel(rate), round+1, o.Rounds)
				cfg.Target, cfg.Rate, cfg.Warmup = t.url, rate, o.Warmup
				if round == 0 {
					// A new rate makes each process grow its connection pools and
					// heap; the first slice waits that out.
					cfg.Warmup = max(o.Warmup, o.FirstWarmup)
				}
				res, cpu, err := measure(ctx, cfg, t, sb, &vals[i])
				if err != nil {
					return nil, err
				}
				slices[i] = append(slices[i], res)
				cpus[i].Target += cpu.Target
				cpus[i].Sandbox += cpu.Sandbox
				cpus[i].Generator += cpu.Generator
				for _, p := range procs {
					if !p.alive() {
						return nil, fmt.Errorf("%s exited during the run (%v):\n%s", p.name, p.waitErr, p.logTail())
					}
				}
				sleep(ctx, o.Pause)
			}
		}
		for i, t := range targets {
			run := report.NewRun(t.name, load.Merge(slices[i]...))
			run.CPU = round2(cpus[i])
			run.Validation = vals[i].summary()
			ps := make([]load.Percentiles, len(slices[i]))
			rates := make([]float64, len(slices[i]))
			for k, res := range slices[i] {
				ps[k], rates[k] = load.Summarize(res.Latency), math.Round(res.Achieved)
			}
			run.SetSlices(ps)
			run.SetSliceAchieved(rates)
			rep.Runs = append(rep.Runs, run)
		}
	}
	rep.Machine.LoadAverage = loadBefore + " → " + loadAverage()
	for _, t := range targets {
		rt := report.Target{Name: t.name, URL: t.url, Command: t.command, Peer: t.peer, Note: t.note}
		if t.proc != nil {
			rt.CPUSeconds, _ = cpuSeconds(t.proc.pid())
			rt.PeakRSS, _ = peakRSS(t.proc.pid())
		}
		rep.Targets = append(rep.Targets, rt)
	}
	rep.Targets = append(rep.Targets, skipped...)
	report.Derive(rep)
	return rep, nil
}

// measure runs one load and charges the CPU time spent meanwhile to the target's
// process, the sandbox and this process (the generator). For an orderguard
// target it adds what its validation histogram gained to val, scraping outside
// the CPU window so that the scrapes are not charged to the run.
func measure(ctx context.Context, cfg load.Config, t *target, sb *proc, val *histogram) (*load.Result, report.CPU, error) {
	cpu := func(p *proc) float64 {
		if p == nil {
			return 0
		}
		s, _ := cpuSeconds(p.pid())
		return s
	}
	var before histogram
	if t.metrics != "" {
		var err error
		if before, err = scrapeValidation(ctx, t.metrics); err != nil {
			return nil, report.CPU{}, fmt.Errorf("%s: %w", t.name, err)
		}
	}
	t0, s0 := cpu(t.proc), cpu(sb)
	g0, _ := cpuSeconds(0)
	res, err := load.Run(ctx, cfg)
	if err != nil {
		return nil, report.CPU{}, fmt.Errorf("load %s at %s req/s: %w", t.name, report.RateLabel(cfg.Rate), err)
	}
	g1, _ := cpuSeconds(0)
	used := report.CPU{Target: cpu(t.proc) - t0, Sandbox: cpu(sb) - s0, Generator: g1 - g0}
	if t.metrics != "" {
		after, err := scrapeValidation(ctx, t.metrics)
		if err != nil {
			return nil, report.CPU{}, fmt.Errorf("%s: %w", t.name, err)
		}
		val.addDelta(before, after)
	}
	return res, used, nil
}

func round2(c report.CPU) report.CPU {
	r := func(f float64) float64 { return math.Round(f*100) / 100 }
	return report.CPU{Target: r(c.Target), Sandbox: r(c.Sandbox), Generator: r(c.Generator)}
}

// startOrderguard starts `orderguard serve` (with extra flags) on free loopback
// ports and waits until its admin listener says it is ready. It returns the
// proxy's URL and the admin listener's.
func startOrderguard(start func(string, ...string) (*proc, error), name, mode, upstream, outbox string, extra ...string) (p *proc, url, adminURL string, err error) {
	listen, err := freePort()
	if err != nil {
		return nil, "", "", err
	}
	admin, err := freePort()
	if err != nil {
		return nil, "", "", err
	}
	args := append([]string{"serve", "--upstream", upstream, "--listen", listen, "--admin-listen", admin, "--mode", mode, "--outbox", outbox}, extra...)
	p, err = start(name, args...)
	if err != nil {
		return nil, "", "", err
	}
	if err := p.waitTCP(listen, 30*time.Second); err != nil {
		return nil, "", "", err
	}
	if err := waitReady(p, "http://"+admin+"/readyz", 15*time.Second); err != nil {
		return nil, "", "", err
	}
	return p, "http://" + listen, "http://" + admin, nil
}

func waitReady(p *proc, url string, timeout time.Duration) error {
	c := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(timeout)
	last := "no answer"
	for time.Now().Before(deadline) {
		resp, err := c.Get(url)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		if !p.alive() {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s not ready at %s after %v (%s):\n%s", p.name, url, timeout, last, p.logTail())
}

var errNotInModule = errors.New("not inside the orderguard module: run from the checkout, or pass --binary (and --kinproxy, --prism-dir for the peers)")

// buildOrderguard builds ./cmd/proxy of the module in the working directory and
// returns the binary and the revision it was built from.
func buildOrderguard(ctx context.Context, dir string) (bin, rev string, err error) {
	root, err := moduleDir(ctx)
	if err != nil {
		return "", "", fmt.Errorf("build orderguard: %w", err)
	}
	if bin, err = buildPackage(ctx, "./cmd/proxy", filepath.Join(dir, "orderguard")); err != nil {
		return "", "", err
	}
	return bin, gitRevision(ctx, root), nil
}

func newReport(o Options, mix load.Mix) *report.Report {
	rates := make([]string, len(o.Rates))
	for i, r := range o.Rates {
		rates[i] = report.RateLabel(r)
	}
	return &report.Report{
		Started: time.Now().UTC().Truncate(time.Second),
		Machine: describeMachine(),
		Settings: report.Settings{Rates: rates, Duration: o.Duration, Rounds: o.Rounds, Warmup: o.Warmup, Connections: o.Connections,
			Payloads: o.Payloads, Mix: mix},
	}
}

// runRemote loads one real target (Forter's test site) with credentials, the
// persistence-disabling header and a rate cap; nothing is started.
func runRemote(ctx context.Context, o Options, reqs []load.Request, mix load.Mix, progress io.Writer) (*report.Report, error) {
	if o.APIKeyFile == "" {
		return nil, errors.New("--url needs --api-key-file")
	}
	key, err := os.ReadFile(o.APIKeyFile)
	if err != nil {
		return nil, fmt.Errorf("read api key: %w", err)
	}
	k := strings.TrimSpace(string(key))
	if k == "" {
		return nil, fmt.Errorf("api key file %s is empty", o.APIKeyFile)
	}
	remoteURL := strings.ReplaceAll(o.URL, "{site}", o.SiteID)
	headers := []load.Header{
		{Name: "Authorization", Value: "Basic " + base64.StdEncoding.EncodeToString([]byte(k+":"))},
		{Name: "api-version", Value: o.APIVersion},
		// Keeps the benchmark's orders out of the merchant's dashboard.
		{Name: "x-forter-disable-persistence", Value: "true"},
	}
	if o.SiteID != "" {
		headers = append(headers, load.Header{Name: "x-forter-siteid", Value: o.SiteID})
	}
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("read ca file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca file %s: no PEM certificates", o.CAFile)
		}
		tlsCfg.RootCAs = pool
	}
	var rates []float64
	for _, r := range o.Rates {
		if r == 0 || r > o.MaxRate {
			r = o.MaxRate // "max" against a shared remote site means the cap, open loop
		}
		if !slices.Contains(rates, r) {
			rates = append(rates, r)
		}
	}
	o.Rates = rates
	rep := newReport(o, mix)
	loadBefore := loadAverage()
	rep.Settings.RateCap = o.MaxRate
	rep.Machine.CPUSharing = "only the load generator runs here; latency includes the network path to the target"
	rep.Notes = append(rep.Notes, "remote target: requests carry x-forter-disable-persistence: true; rates capped at "+report.RateLabel(o.MaxRate)+" req/s (--max-rate)")
	cfg := load.Config{Target: remoteURL, Duration: o.Duration, Warmup: o.Warmup, Connections: o.Connections, Timeout: o.Timeout,
		Requests: reqs, Header: headers, TLSConfig: tlsCfg}
	t := &target{name: "remote", url: remoteURL}
	for _, rate := range rates {
		fmt.Fprintf(progress, "remote at %s req/s\n", report.RateLabel(rate))
		cfg.Rate = rate
		res, cpu, err := measure(ctx, cfg, t, nil, nil)
		if err != nil {
			return nil, err
		}
		run := report.NewRun(t.name, res)
		run.CPU = round2(cpu)
		rep.Runs = append(rep.Runs, run)
		sleep(ctx, o.Pause)
	}
	rep.Machine.LoadAverage = loadBefore + " → " + loadAverage()
	rep.Targets = []report.Target{{Name: t.name, URL: remoteURL}}
	report.Derive(rep)
	return rep, nil
}

func (o *Options) defaults() error {
	if len(o.Targets) == 0 {
		o.Targets = DefaultTargets
	}
	if len(o.Rates) == 0 {
		o.Rates = []float64{1000, 5000, 0}
	}
	if o.Duration <= 0 {
		return fmt.Errorf("duration %v: must be positive", o.Duration)
	}
	if o.Connections <= 0 {
		o.Connections = 32
	}
	if o.Rounds <= 0 {
		o.Rounds = 1
	}
	if o.Copies <= 0 {
		o.Copies = 64
	}
	if o.MaxRate <= 0 {
		o.MaxRate = 10
	}
	if o.APIVersion == "" {
		o.APIVersion = "2.3"
	}
	if o.Payloads == "" {
		return errors.New("no payload directory")
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
