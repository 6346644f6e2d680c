package suite

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/orderguard/orderguard/bench/load/report"
	"github.com/orderguard/orderguard/internal/cli"
)

const usageLine = "orderguard bench [flags]     (or: go run ./bench [flags], make bench)"

const usage = `usage: ` + usageLine + `

Measures the latency orderguard adds. Starts the sandbox, a bare fasthttp reverse
proxy (baseline), an identical second one (baseline-twin: its ratio to baseline is the
measurement's noise), the bare proxy parsing each body (parse-floor) and orderguard in
enforce and report mode as separate processes on 127.0.0.1, loads each with the same
payloads at each rate (open loop: each request is released at its scheduled send time
and its latency counts from it), and prints latency percentiles, the latency each
target adds over calling the sandbox directly, its ratio to the baseline's, max
throughput, CPU seconds and peak RSS. --out writes latest.txt, latest.json, latest.svg.

--peers adds the validating proxies a team could run instead: kin-openapi (a net/http
reverse proxy checking each request with openapi3filter.ValidateRequest, built from
bench/peers/kinproxy) and prism (Stoplight Prism's prism proxy --errors, installed in
bench/peers/prism by make bench-peers; skipped, with the reason in the report, when node or
Prism is missing). The report compares each with orderguard.

With --url, loads that one remote target instead (e.g. Forter's test site
https://{site}.api.forter-secure.com) with --api-key-file and --site-id, sending
x-forter-disable-persistence: true, at no more than --max-rate requests a second.

flags:
`

// Main is the whole command line of `orderguard bench` and `go run ./bench`.
// selfIsOrderguard says the running binary is orderguard itself, so the suite
// can start it for the sandbox, baseline and proxy instead of building one.
func Main(args []string, stdout, stderr io.Writer, selfIsOrderguard bool) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		targets     = fs.String("targets", strings.Join(DefaultTargets, ","), "comma-separated targets: direct, baseline, baseline-twin, parse-floor, orderguard, orderguard-report, orderguard-compiled (serve --engine compiled), kin-openapi, prism, url=<URL>")
		peers       = fs.Bool("peers", false, "add the peer targets ("+strings.Join(PeerTargets, ", ")+") to --targets")
		kinProxy    = fs.String("kinproxy", "", "the kin-openapi peer's binary (default: built from ./bench/peers/kinproxy)")
		prismDir    = fs.String("prism-dir", "", "where Prism is installed (default: bench/peers/prism in the checkout; make bench-peers runs npm ci there)")
		rates       = fs.String("rates", "1000,5000,max", "comma-separated request rates per second; max is a closed loop that finds throughput")
		duration    = fs.Duration("duration", 16*time.Second, "measured time of each target at each rate")
		rounds      = fs.Int("rounds", 16, "slices the duration is split into, interleaved across targets")
		warmup      = fs.Duration("warmup", 250*time.Millisecond, "unmeasured time before each slice, at the same rate")
		firstWarmup = fs.Duration("first-warmup", time.Second, "warmup of each target's first slice at a rate (pools and heaps grow to the new rate)")
		connections = fs.Int("connections", 32, "client connections (and requests in flight) per run")
		timeout     = fs.Duration("timeout", 5*time.Second, "timeout of one request")
		payloads    = fs.String("payloads", filepath.Join("bench", "testdata", "load"), "payload directory (order-*.json, status-*.json, invalid-*.json)")
		copies      = fs.Int("copies", 64, "order ids per payload file (the body's orderId is rewritten per copy)")
		out         = fs.String("out", "", "directory to write latest.txt, latest.json and latest.svg to; refused from an uncommitted tree (or a binary built from one) unless --allow-dirty")
		allowDirty  = fs.Bool("allow-dirty", false, "with --out: write the results although the tree (or the binary) has uncommitted changes; the report's revision says +modified")
		binary      = fs.String("binary", "", "orderguard binary to start (default: this binary for orderguard bench; built from ./cmd/proxy for go run ./bench)")
		logDir      = fs.String("logs", "", "keep the started processes' logs in this directory")
		pause       = fs.Duration("pause", 150*time.Millisecond, "idle time between slices")
		url         = fs.String("url", "", "remote mode: load only this URL, e.g. https://{site}.api.forter-secure.com ({site} is --site-id)")
		apiKeyFile  = fs.String("api-key-file", "", "remote mode: file holding the API key (sent as Basic auth)")
		siteID      = fs.String("site-id", "", "remote mode: sent as x-forter-siteid")
		apiVersion  = fs.String("api-version", "2.3", "remote mode: api-version header")
		maxRate     = fs.Float64("max-rate", 10, "remote mode: highest rate sent (Forter's test site allows 10 req/s)")
		caFile      = fs.String("ca-file", "", "remote mode: PEM CA bundle to trust instead of the system's")

		// Hidden: the baseline proxy's own process.
		serveBaseline = fs.Bool("serve-baseline", false, "")
		parseFloor    = fs.Bool("parse", false, "")
		listen        = fs.String("listen", "127.0.0.1:0", "")
		upstream      = fs.String("upstream", "", "")
	)
	fs.Usage = func() {}
	fs.SetOutput(io.Discard) // help and errors in the shared layout (internal/cli)
	usageError := func(err error) int { return cli.UsageError(stderr, "bench", usageLine, err) }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, usage)
			cli.WriteFlags(stdout, cli.Visible(fs), nil)
			return 0
		}
		return usageError(err)
	}
	if fs.NArg() > 0 {
		return usageError(fmt.Errorf("unexpected argument %q", fs.Arg(0)))
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	if *serveBaseline {
		if err := runBaseline(ctx, *listen, *upstream, *parseFloor, stdout); err != nil {
			fmt.Fprintf(stderr, "bench --serve-baseline: %v\n", err)
			return 1
		}
		return 0
	}

	rs, err := ParseRates(*rates)
	if err != nil {
		return usageError(err)
	}
	ts := splitList(*targets)
	if *peers {
		ts = append(ts, PeerTargets...)
	}
	o := Options{
		Targets: ts, KinProxy: *kinProxy, PrismDir: *prismDir, Rates: rs, Duration: *duration, Rounds: *rounds, Warmup: *warmup, FirstWarmup: *firstWarmup, Connections: *connections,
		Timeout: *timeout, Payloads: *payloads, Copies: *copies, Binary: *binary, LogDir: *logDir, Pause: *pause,
		URL: *url, APIKeyFile: *apiKeyFile, SiteID: *siteID, APIVersion: *apiVersion, MaxRate: *maxRate, CAFile: *caFile,
	}
	if o.Binary == "" && selfIsOrderguard {
		if o.Binary, err = os.Executable(); err != nil {
			fmt.Fprintf(stderr, "bench: %v\n", err)
			return 1
		}
	}
	if *out != "" && !*allowDirty {
		// Before the run, not after its minutes.
		if err := checkPublishable(ctx, o.Binary, *out); err != nil {
			fmt.Fprintf(stderr, "bench: %v\n", err)
			return 2
		}
	}
	rep, err := Run(ctx, o, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return 1
	}
	if err := report.WriteText(stdout, rep); err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return 1
	}
	if *out != "" {
		if err := WriteFiles(*out, rep); err != nil {
			fmt.Fprintf(stderr, "bench: %v\n", err)
			return 1
		}
		fmt.Fprintf(stderr, "wrote %s\n", filepath.Join(*out, "latest.{txt,json,svg}"))
	}
	return 0
}

// WriteFiles writes latest.txt, latest.json and latest.svg into dir.
func WriteFiles(dir string, rep *report.Report) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write reports: %w", err)
	}
	for _, f := range []struct {
		name  string
		write func(io.Writer, *report.Report) error
	}{{"latest.txt", report.WriteText}, {"latest.json", report.WriteJSON}, {"latest.svg", report.WriteSVG}} {
		path := filepath.Join(dir, f.name)
		fh, err := os.Create(path)
		if err != nil {
			return fmt.Errorf("write reports: %w", err)
		}
		werr := f.write(fh, rep)
		if err := errors.Join(werr, fh.Close()); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	return nil
}

// ParseRates reads "1000,5000,max".
func ParseRates(s string) ([]float64, error) {
	var rates []float64
	for _, part := range splitList(s) {
		if part == "max" {
			rates = append(rates, 0)
			continue
		}
		r, err := strconv.ParseFloat(part, 64)
		if err != nil || r <= 0 || r > 1e7 {
			return nil, fmt.Errorf("rate %q: want a positive number of requests per second or max", part)
		}
		rates = append(rates, r)
	}
	if len(rates) == 0 {
		return nil, errors.New("no rates")
	}
	return rates, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// runBaseline serves the baseline proxy until ctx ends, announcing its URL.
func runBaseline(ctx context.Context, listen, upstream string, parse bool, stdout io.Writer) error {
	b, err := NewBaseline(upstream)
	if err != nil {
		return err
	}
	b.Parse = parse
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("listen %q: %w", listen, err)
	}
	fmt.Fprintf(stdout, "baseline: listening on http://%s, forwarding to %s\n", ln.Addr(), upstream)
	served := make(chan error, 1)
	go func() { served <- b.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	_ = b.Shutdown()
	return <-served
}
