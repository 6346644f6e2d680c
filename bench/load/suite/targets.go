package suite

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/orderguard/orderguard/bench/load/report"
	"github.com/orderguard/orderguard/gen"
)

// Target names --targets takes, besides url=<URL>.
const (
	TargetDirect        = report.Direct
	TargetBaseline      = report.Baseline
	TargetBaselineTwin  = report.BaselineTwin
	TargetParseFloor    = "parse-floor"
	TargetOrderguard    = "orderguard"
	TargetOrderguardRep = "orderguard-report"
	TargetCompiled      = report.Compiled // serve --engine compiled: the embedded spec compiled at start-up
	TargetKinOpenAPI    = "kin-openapi"
	TargetPrism         = "prism"
)

// DefaultTargets is the standard suite's target list. Both engines serve the
// embedded spec in the same run (orderguard: the generated validators;
// orderguard-compiled: the spec compiled at start-up), so which one should be
// the default is read from one report.
var DefaultTargets = []string{TargetDirect, TargetBaseline, TargetBaselineTwin, TargetParseFloor, TargetOrderguard, TargetOrderguardRep, TargetCompiled}

// PeerTargets are the other validating proxies a team could run instead of
// orderguard; --peers adds them to the targets (make bench-peers).
var PeerTargets = []string{TargetKinOpenAPI, TargetPrism}

// localTarget is a kind of target the suite starts on 127.0.0.1. Adding a
// target is adding a row to localTargets.
type localTarget struct {
	name string
	// command says in the report how the target was started; start may make it
	// more precise (versions).
	command string
	// peer marks another project's validating proxy: the report compares it
	// with orderguard. note is printed with the target.
	peer bool
	note string
	// unavailable says why the target cannot run on this machine, "" when it
	// can: the suite then skips it and the report says why.
	unavailable func(e *env) string
	// start starts the target's process and sets t.proc and t.url.
	start func(e *env, t *target) error
}

var localTargets = []localTarget{
	{name: TargetDirect, command: "orderguard sandbox --rate-limit 0 --no-validate", start: func(e *env, t *target) error {
		t.url, t.proc = e.sandboxURL, e.sandbox
		return nil
	}},
	{name: TargetBaseline, command: "orderguard bench --serve-baseline (bare fasthttp reverse proxy)", start: startBaseline()},
	{name: TargetBaselineTwin, command: "orderguard bench --serve-baseline (a second, identical bare proxy: its ratio to baseline is the measurement's noise)",
		start: startBaseline()},
	{name: TargetParseFloor, command: "orderguard bench --serve-baseline --parse (the bare proxy, parsing each body with fastjson first)",
		start: startBaseline("--parse")},
	{name: TargetOrderguard, command: "orderguard serve --mode enforce", start: startServe("enforce")},
	{name: TargetOrderguardRep, command: "orderguard serve --mode report", start: startServe("report")},
	{name: TargetCompiled, command: "orderguard serve --mode enforce --engine compiled", start: startServe("enforce", "--engine", "compiled")},
	{name: TargetKinOpenAPI, peer: true, start: startKinProxy,
		command: "bench/peers/kinproxy (net/http httputil.ReverseProxy, each request checked by kin-openapi openapi3filter.ValidateRequest)",
		note:    "checks the embedded spec only: orderguard's rules (openapi/rules.yaml) cannot be expressed in kin-openapi"},
	{name: TargetPrism, peer: true, unavailable: prismUnavailable, start: startPrism,
		command: "prism proxy <embedded spec> <sandbox> --errors (Stoplight Prism, installed in bench/peers/prism by make bench-peers)",
		note:    "checks the embedded spec only (and the sandbox's answers against it); orderguard's rules cannot be expressed in Prism"},
}

func lookupTarget(name string) (localTarget, bool) {
	for _, lt := range localTargets {
		if lt.name == name {
			return lt, true
		}
	}
	return localTarget{}, false
}

func unknownTarget(name string) error {
	names := make([]string, len(localTargets))
	for i, lt := range localTargets {
		names[i] = lt.name
	}
	return fmt.Errorf("unknown target %q: want %s or url=<URL>", name, strings.Join(names, ", "))
}

// env is what starting a target needs: the run's options, the orderguard
// binary, the log directory and the sandbox every target forwards to.
type env struct {
	ctx        context.Context
	o          *Options
	bin        string
	logDir     string
	sandbox    *proc
	sandboxURL string
	// start starts bin with args as a process the suite stops at its end.
	start func(name, bin string, args ...string) (*proc, error)
}

var listening = regexp.MustCompile(`listening on (https?://127\.0\.0\.1:\d+)`)

func startBaseline(extra ...string) func(e *env, t *target) error {
	return func(e *env, t *target) (err error) {
		args := append([]string{"bench", "--serve-baseline", "--listen", "127.0.0.1:0", "--upstream", e.sandboxURL}, extra...)
		if t.proc, err = e.start(t.name, e.bin, args...); err != nil {
			return err
		}
		t.url, err = t.proc.waitLog(listening, 15*time.Second)
		return err
	}
}

// startServe starts `orderguard serve --mode mode` with extra flags (another
// engine, another config) in front of the sandbox.
func startServe(mode string, extra ...string) func(e *env, t *target) error {
	return func(e *env, t *target) (err error) {
		start := func(name string, args ...string) (*proc, error) { return e.start(name, e.bin, args...) }
		var admin string
		t.proc, t.url, admin, err = startOrderguard(start, t.name, mode, e.sandboxURL, filepath.Join(e.logDir, t.name+"-outbox.db"), extra...)
		t.metrics = admin + "/metrics"
		return err
	}
}

// startKinProxy builds bench/peers/kinproxy (unless Options.KinProxy names a
// binary) and starts it in front of the sandbox.
func startKinProxy(e *env, t *target) (err error) {
	bin := e.o.KinProxy
	if bin == "" {
		if bin, err = buildPackage(e.ctx, "./bench/peers/kinproxy", filepath.Join(e.logDir, "kinproxy")); err != nil {
			return err
		}
	}
	if t.proc, err = e.start(t.name, bin, "--listen", "127.0.0.1:0", "--upstream", e.sandboxURL); err != nil {
		return err
	}
	t.url, err = t.proc.waitLog(listening, 15*time.Second)
	return err
}

// buildPackage builds a main package of the module in the working directory.
func buildPackage(ctx context.Context, pkg, out string) (string, error) {
	root, err := moduleDir(ctx)
	if err != nil {
		return "", fmt.Errorf("build %s: %w", pkg, err)
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build %s: %w\n%s", pkg, err, b)
	}
	return out, nil
}

// prismDir is where make bench-peers installs Prism: Options.PrismDir, else
// bench/peers/prism in the checkout.
func prismDir(e *env) (string, error) {
	if e.o.PrismDir != "" {
		return e.o.PrismDir, nil
	}
	root, err := moduleDir(e.ctx)
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "bench", "peers", "prism"), nil
}

// prismCLI is Prism's entry script inside its install directory.
func prismCLI(dir string) string {
	return filepath.Join(dir, "node_modules", "@stoplight", "prism-cli", "dist", "index.js")
}

// prismUnavailable says why Prism cannot run: no node on PATH, or not installed.
func prismUnavailable(e *env) string {
	if _, err := exec.LookPath("node"); err != nil {
		return "node is not on PATH (Prism is a Node.js program: install Node.js and npm, then make bench-peers)"
	}
	dir, err := prismDir(e)
	if err != nil {
		return "no install directory: " + err.Error() + " (or pass --prism-dir)"
	}
	if _, err := os.Stat(prismCLI(dir)); err != nil {
		return fmt.Sprintf("Prism is not installed in %s (make bench-peers installs it with npm ci)", dir)
	}
	return ""
}

// startPrism runs `prism proxy` with node on the embedded spec, written as JSON
// into the log directory, forwarding to the sandbox over plain HTTP on
// loopback like every other target. --errors turns violations into error
// answers (422) instead of log lines; logging only errors keeps Prism from
// writing four lines per request.
func startPrism(e *env, t *target) error {
	dir, err := prismDir(e)
	if err != nil {
		return err
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return fmt.Errorf("start prism: %w", err)
	}
	doc, err := gen.GetSpecJSON()
	if err != nil {
		return fmt.Errorf("start prism: %w", err)
	}
	specPath := filepath.Join(e.logDir, "forter.json")
	if err := os.WriteFile(specPath, doc, 0o644); err != nil {
		return fmt.Errorf("start prism: %w", err)
	}
	addr, err := freePort()
	if err != nil {
		return err
	}
	host, port, _ := net.SplitHostPort(addr)
	if t.proc, err = e.start(t.name, node, prismCLI(dir), "proxy", specPath, e.sandboxURL, "--errors",
		"--host", host, "--port", port, "--verboseLevel", "error"); err != nil {
		return err
	}
	// Node and Prism load for a few seconds before they listen.
	if err := t.proc.waitTCP(addr, time.Minute); err != nil {
		return err
	}
	t.url = "http://" + addr
	t.command = fmt.Sprintf("prism proxy <embedded spec> <sandbox> --errors (@stoplight/prism-cli %s, node %s)", prismVersion(dir), nodeVersion(e.ctx, node))
	return nil
}

func prismVersion(dir string) string {
	b, err := os.ReadFile(filepath.Join(dir, "node_modules", "@stoplight", "prism-cli", "package.json"))
	var pkg struct{ Version string }
	if err := errors.Join(err, json.Unmarshal(b, &pkg)); err != nil || pkg.Version == "" {
		return "unknown version"
	}
	return pkg.Version
}

func nodeVersion(ctx context.Context, node string) string {
	out, err := exec.CommandContext(ctx, node, "--version").Output()
	if err != nil {
		return "unknown version"
	}
	return strings.TrimSpace(string(out))
}
