package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/orderguard/orderguard/internal/cli"
	"github.com/orderguard/orderguard/internal/sandbox"
)

const sandboxUsageLine = "orderguard sandbox [flags]"

const sandboxUsage = `usage: ` + sandboxUsageLine + `

Serves an emulator of Forter's test site: POST /v2/orders/{id}, POST /v3/orders/{id},
POST|PUT /v2/status/{id}, POST /v2/accounts/{event}/{accountId}, POST /v2/claims, GET /credentials/test.
Decisions follow Forter's test e-mails (accountOwner.email) and test IPs (accounts),
otherwise a pseudo-random decision reproducible from the order id.

Any request may force one fault with the header
  X-Sandbox-Fault: hang | reset | 500 | 503 | slow:<ms>
GET /_sandbox/received shows what arrived (DELETE empties it); GET /_sandbox/health.

flags:
`

// sandboxFlags are the parsed flags of `orderguard sandbox`.
type sandboxFlags struct {
	listen, certOut, cert, key, certHosts string
	tls, requireSiteID, noValidate        bool
	latency, p50, p99, shutdownWait       time.Duration
	errorRate, hangRate, resetRate        float64
	rateLimit, receivedMax, maxBody       int
	seed                                  uint64
}

func newSandboxFlagSet(f *sandboxFlags, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("sandbox", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&f.listen, "listen", "127.0.0.1:8090", "address to listen on (port 0 picks a free port; the URL is printed)")
	fs.BoolVar(&f.tls, "tls", false, "serve HTTPS with a self-signed certificate generated at start (or --cert/--key)")
	fs.StringVar(&f.certOut, "cert-out", "", "with --tls: write the generated certificate (PEM) here, for clients to trust")
	fs.StringVar(&f.certHosts, "cert-hosts", strings.Join(sandbox.DefaultCertHosts, ","), "with --tls: comma-separated IPs and names the generated certificate is valid for")
	fs.StringVar(&f.cert, "cert", "", "serve HTTPS with this PEM certificate (needs --key; implies --tls)")
	fs.StringVar(&f.key, "key", "", "the PEM private key of --cert")
	fs.DurationVar(&f.latency, "latency", 0, "fixed latency added to every API answer, e.g. 20ms")
	fs.DurationVar(&f.p50, "latency-p50", 0, "log-normal latency: median (needs --latency-p99; not with --latency)")
	fs.DurationVar(&f.p99, "latency-p99", 0, "log-normal latency: 99th percentile (needs --latency-p50)")
	fs.Float64Var(&f.errorRate, "error-rate", 0, "fraction (0-1) of API requests answered 500 or 503, half each")
	fs.Float64Var(&f.hangRate, "hang-rate", 0, "fraction (0-1) of API requests accepted and never answered")
	fs.Float64Var(&f.resetRate, "reset-rate", 0, "fraction (0-1) of API requests whose connection is reset (TCP RST)")
	fs.IntVar(&f.rateLimit, "rate-limit", sandbox.ForterRateLimit, "requests per second per site before 429 (0: off); x-forter-disable-persistence: true bypasses it")
	fs.BoolVar(&f.requireSiteID, "require-site-id", false, "answer 401 when the x-forter-siteid header is missing")
	fs.BoolVar(&f.noValidate, "no-validate", false, "do not check bodies against the spec (only that they are JSON)")
	fs.Uint64Var(&f.seed, "seed", 0, "seed of the random decisions, latencies and faults")
	fs.IntVar(&f.receivedMax, "received-max", sandbox.DefaultReceivedMax, "order ids kept by /_sandbox/received (oldest dropped first)")
	fs.IntVar(&f.maxBody, "max-body", sandbox.DefaultMaxBodySize, "largest request body accepted, in bytes")
	fs.DurationVar(&f.shutdownWait, "shutdown-wait", 5*time.Second, "on SIGINT/SIGTERM, how long requests in flight may take to finish")
	// runSandbox prints the usage itself: --help to stdout, errors to stderr.
	fs.Usage = func() {}
	return fs
}

func runSandbox(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return serveSandbox(ctx, args, stdout, stderr)
}

// serveSandbox runs the sandbox until ctx ends (SIGINT or SIGTERM), then
// shuts it down gracefully within --shutdown-wait.
func serveSandbox(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var f sandboxFlags
	fs := newSandboxFlagSet(&f, io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, sandboxUsage)
			cli.WriteFlags(stdout, cli.Visible(fs), nil)
			return 0
		}
		return cli.UsageError(stderr, "sandbox", sandboxUsageLine, err)
	}
	if fs.NArg() > 0 {
		return cli.UsageError(stderr, "sandbox", sandboxUsageLine, fmt.Errorf("unexpected argument %q", fs.Arg(0)))
	}
	cfg, certPEM, err := f.config()
	if err != nil {
		fmt.Fprintf(stderr, "orderguard sandbox: %v\n", err)
		return 2
	}
	srv, err := sandbox.New(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "orderguard sandbox: %v\n", err)
		return 2
	}
	if certPEM != nil && f.certOut != "" {
		if err := sandbox.WriteCert(f.certOut, certPEM); err != nil {
			fmt.Fprintf(stderr, "orderguard sandbox: %v\n", err)
			return 1
		}
	}
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		fmt.Fprintf(stderr, "orderguard sandbox: listen %q: %v\n", f.listen, err)
		return 1
	}
	scheme := "http"
	if cfg.TLS != nil {
		scheme = "https"
	}
	fmt.Fprintf(stdout, "orderguard sandbox: listening on %s://%s (rate limit %d/s, latency %s, errors %g, hangs %g, resets %g)\n",
		scheme, ln.Addr(), cfg.RateLimit, cfg.Latency, cfg.ErrorRate, cfg.HangRate, cfg.ResetRate)
	if f.certOut != "" && certPEM != nil {
		fmt.Fprintf(stdout, "orderguard sandbox: certificate written to %s\n", f.certOut)
	}

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		if err != nil {
			fmt.Fprintf(stderr, "orderguard sandbox: %v\n", err)
			return 1
		}
		return 0
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), f.shutdownWait)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		fmt.Fprintf(stderr, "orderguard sandbox: %v\n", err)
	}
	<-served
	return 0
}

// config turns the flags into a sandbox.Config; certPEM is the generated
// certificate, if one was generated.
func (f *sandboxFlags) config() (cfg sandbox.Config, certPEM []byte, err error) {
	cfg = sandbox.Config{
		SkipValidation: f.noValidate,
		RateLimit:      f.rateLimit,
		RequireSiteID:  f.requireSiteID,
		ErrorRate:      f.errorRate,
		HangRate:       f.hangRate,
		ResetRate:      f.resetRate,
		Seed:           f.seed,
		ReceivedMax:    f.receivedMax,
		MaxBodySize:    f.maxBody,
	}
	if f.receivedMax <= 0 || f.maxBody <= 0 {
		return cfg, nil, errors.New("--received-max and --max-body must be positive")
	}
	// sandbox.New refuses a fixed latency together with p50/p99.
	cfg.Latency = sandbox.Latency{Fixed: f.latency, P50: f.p50, P99: f.p99}
	switch {
	case (f.cert == "") != (f.key == ""):
		return cfg, nil, errors.New("--cert and --key go together")
	case f.cert != "":
		if f.certOut != "" {
			return cfg, nil, errors.New("--cert-out writes a generated certificate; with --cert there is none")
		}
		cert, err := sandbox.LoadKeyPair(f.cert, f.key)
		if err != nil {
			return cfg, nil, err
		}
		cfg.TLS = sandbox.ServerTLS(cert)
	case f.tls:
		var hosts []string
		for _, h := range strings.Split(f.certHosts, ",") {
			if h = strings.TrimSpace(h); h != "" {
				hosts = append(hosts, h)
			}
		}
		var cert tls.Certificate
		cert, certPEM, err = sandbox.SelfSigned(hosts...)
		if err != nil {
			return cfg, nil, err
		}
		cfg.TLS = sandbox.ServerTLS(cert)
	case f.certOut != "":
		return cfg, nil, errors.New("--cert-out needs --tls")
	}
	return cfg, certPEM, nil
}
