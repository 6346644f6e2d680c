package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/orderguard/orderguard/internal/cli"
	"github.com/orderguard/orderguard/internal/inbound"
	"github.com/orderguard/orderguard/internal/outbox"
	"github.com/orderguard/orderguard/internal/pool"
	"github.com/orderguard/orderguard/internal/proxy"
	"github.com/orderguard/orderguard/internal/sandbox"
	"github.com/orderguard/orderguard/internal/secret"
	"github.com/orderguard/orderguard/internal/settings"
	"github.com/orderguard/orderguard/internal/tracing"
	"github.com/orderguard/orderguard/internal/validate"
)

// sandboxDemoKey is the API key sent to the embedded sandbox when none is
// configured: it checks that a key is present, not which.
const sandboxDemoKey = "orderguard-embedded-sandbox"

// runServe is `orderguard serve`: the proxy, in front of Forter or, with no
// --upstream, of the embedded sandbox (announced in the first log line).
func runServe(args []string, stdout, stderr io.Writer) int {
	cfg, err := loadServe(args, nil)
	if errors.Is(err, flag.ErrHelp) {
		serveUsage(stdout)
		return 0
	}
	if err != nil {
		return cli.UsageError(stderr, "serve", serveUsageLine, err)
	}
	logOut := newAsyncWriter(stderr, 100*time.Millisecond, 64<<10)
	defer logOut.Close()
	log := newLogger(cfg.Log, logOut)
	engine, err := newSpecEngine(cfg.Spec, log)
	if err != nil {
		fmt.Fprintf(stderr, "orderguard serve: %v\n", err)
		return 2
	}
	if err := cfg.check(engine.ops); err != nil {
		fmt.Fprintf(stderr, "orderguard serve: %v\n", err)
		return 2
	}
	for id := range cfg.Proxy.Rules {
		if !slices.ContainsFunc(engine.rules, func(r validate.RuleInfo) bool { return r.ID == id }) {
			fmt.Fprintf(stderr, "orderguard serve: %s: unknown rule %q ('orderguard spec rules' lists them)\n", ruleOrigin(cfg.Proxy, id), id)
			return 2
		}
	}
	warnUnknownEnv(log, os.Environ())
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := serve(ctx, cfg, log, logOut, engine); err != nil {
		log.Error("orderguard serve failed", slog.String("error", err.Error()))
		return 1
	}
	return 0
}

// ruleOrigin names where rule id was set: "--rules", "$ORDERGUARD_RULES" or
// "config FILE: rules".
func ruleOrigin(cfg proxy.Config, id string) string {
	origin := cfg.RuleOrigins[id]
	switch {
	case origin == "":
		return "--rules"
	case strings.HasPrefix(origin, "config "):
		return origin + ": rules"
	}
	return origin
}

// warnUnknownEnv warns, at start-up, of every ORDERGUARD_* variable that
// names no setting (a typo is otherwise ignored in silence); never its value.
func warnUnknownEnv(log *slog.Logger, environ []string) {
	for _, u := range settings.UnknownEnv(environ, knownEnv()) {
		attrs := []any{slog.String("variable", u.Name)}
		if u.Suggest != "" {
			attrs = append(attrs, slog.String("did_you_mean", u.Suggest))
		}
		log.Warn("environment variable names no setting; ignored ('orderguard serve --help' lists them)", attrs...)
	}
}

func newLogger(cfg logConfig, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Level)) // checked by logConfig.Check
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// serve runs the proxy until ctx ends, logging through log, whose handler
// writes to logOut; the per-request lines go to logOut directly. It builds
// each component from its own Config, in this order (its log lines and its
// first error follow it), then the edge, then serves. What it starts is
// stopped in the reverse order when it returns.
func serve(ctx context.Context, cfg serveConfig, log *slog.Logger, logOut *asyncWriter, engine *specEngine) error {
	var stops stack
	defer stops.run()
	in, err := inboundSide(ctx, cfg)
	if err != nil {
		return err
	}
	upCfg, err := upstreamConfig(cfg.Pool, log, &stops)
	if err != nil {
		return err
	}
	keys, err := loadKeys(cfg, in.Secret, log, &stops)
	if err != nil {
		return err
	}
	up, err := startPool(ctx, upCfg, log, &stops)
	if err != nil {
		return err
	}
	bi := build()
	tracer, err := startTracer(ctx, cfg.Tracing, bi.Version, log, &stops)
	if err != nil {
		return err
	}
	store, err := startOutbox(cfg, keys.api, log, &stops)
	if err != nil {
		return err
	}
	opts := proxy.Options{Operations: engine.ops, Pool: up, Logger: log, APIKey: keys.api, Tracer: tracer}
	if engine.live != nil {
		opts.Validators = engine.live
	}
	if log.Enabled(ctx, slog.LevelInfo) {
		opts.RequestLog, opts.RequestLogFormat = logOut, cfg.Log.Format
	}
	if store != nil {
		opts.Outbox = store
	}
	p, err := proxy.New(cfg.Proxy, opts)
	if err != nil {
		return err
	}
	so := proxy.ServeOptions{Ready: map[string]func() error{}, AdminHandlers: map[string]http.Handler{}, AdminToken: keys.admin}
	engine.adminHandlers(so.AdminHandlers)
	p.Registry().MustRegister(engine)
	stops.push(engine.watch(cfg.Spec.ReloadInterval))
	if store != nil {
		resend(ctx, cfg.Outbox, store, p, &so, log, &stops)
	}

	in.Guard = connGuard(in, cfg.Pool, log)
	so.Edge = edge(cfg, in, p, log)
	p.Registry().MustRegister(buildInfoMetric(bi))
	if store != nil {
		p.Registry().MustRegister(newOutboxCollector(store, outboxBackendName(cfg.Outbox.Path)))
	}
	if so.Listener, so.Admin, err = listen(ctx, cfg, in, store != nil, keys.admin, log); err != nil {
		return err
	}
	adminAddr := ""
	if so.Admin != nil {
		adminAddr = so.Admin.Addr().String()
	}
	log.Info("orderguard serving",
		slog.String("listen", so.Listener.Addr().String()), slog.String("admin", adminAddr),
		slog.String("upstream", upCfg.Upstream), slog.String("mode", cfg.Proxy.Mode.String()),
		slog.String("budget", cfg.Proxy.Budget.String()), slog.String("fallback", cfg.Proxy.Fallback.String()),
		slog.String("outbox", cfg.Outbox.Path), slog.String("api_key", keys.apiSource), slog.String("admin_token", keys.admin.Source()),
		slog.String("inbound_auth", inboundAuth(in)), slog.String("credentials", p.CredentialScope()),
		slog.String("tracing", tracer.String()),
		slog.String("version", bi.Version), slog.String("revision", bi.Revision), slog.String("build_time", bi.Time))
	// Flushed at once so that whoever waits for the startup lines (an
	// operator, a supervisor, a test) sees them without the buffering delay.
	logOut.Flush()
	return p.Serve(ctx, so)
}

// stack holds what serve started, stopped last first.
type stack []func()

func (s *stack) push(stop func()) { *s = append(*s, stop) }

func (s *stack) run() {
	for i := len(*s) - 1; i >= 0; i-- {
		(*s)[i]()
	}
}

// inboundSide settles who may connect, first: a refused --listen should not
// wait for the sandbox and the upstream warm-up to be reported.
func inboundSide(ctx context.Context, cfg serveConfig) (inbound.Config, error) {
	in := cfg.Inbound
	var err error
	if in.Secret, err = secret.Load("inbound secret", cfg.Secret.InboundSecretFile, secret.EnvInboundSecret, nil); err != nil {
		return in, err
	}
	return in, inbound.CheckExposure(ctx, in)
}

// upstreamConfig is the pool's Config, pointed with no --upstream at the
// embedded sandbox, over TLS so that the whole path (warm connections,
// session resumption) runs as it would against Forter.
func upstreamConfig(pc pool.Config, log *slog.Logger, stops *stack) (pool.Config, error) {
	if pc.Upstream != "" {
		return pc, nil
	}
	sb, err := sandbox.Start(sandbox.Options{Config: sandbox.DefaultConfig(), TLS: true})
	if err != nil {
		return pc, fmt.Errorf("start embedded sandbox: %w", err)
	}
	stops.push(func() { _ = sb.Close() })
	log.Info("embedded sandbox started (no --upstream given)", slog.String("url", sb.URL), slog.String("ca", sb.CertFile))
	pc.Upstream, pc.TLS = sb.URL, sb.ClientTLS()
	return pc, nil
}

// keys are the API key and the admin token (the inbound secret is read
// first, with the listener's checks).
type keys struct {
	api, admin *secret.Key
	apiSource  string // file "…", env ORDERGUARD_API_KEY, none, or the sandbox's demo key
}

// loadKeys reads the API key and the admin token and reloads them, with the
// inbound secret, on SIGHUP and every --secret-reload-interval. Without
// --upstream and without a key, the embedded sandbox gets a demo key: like
// Forter, it answers 401 without one, and any will do.
func loadKeys(cfg serveConfig, inboundSecret *secret.Key, log *slog.Logger, stops *stack) (keys, error) {
	var k keys
	var err error
	if k.api, err = secret.Load("api key", cfg.Secret.APIKeyFile, secret.EnvAPIKey, nil); err != nil {
		return k, err
	}
	k.apiSource = k.api.Source()
	if cfg.Pool.Upstream == "" && !k.api.IsSet() {
		k.api = secret.FromValue("api key", secret.New(sandboxDemoKey))
		k.apiSource = "none (a demo key for the embedded sandbox)"
		log.Info("no API key configured: using a demo key for the embedded sandbox")
	}
	if k.admin, err = secret.Load("admin token", cfg.Secret.AdminTokenFile, secret.EnvAdminToken, nil); err != nil {
		return k, err
	}
	stops.push(secret.ReloadOnSIGHUP(log, nil, k.api, inboundSecret, k.admin))
	stops.push(secret.ReloadEvery(log, cfg.Secret.ReloadInterval, k.api, inboundSecret, k.admin))
	return k, nil
}

// startPool builds the upstream pool and warms it. A pool that does not warm
// is not fatal: Forter may come up later; /readyz says not ready meanwhile.
func startPool(ctx context.Context, pc pool.Config, log *slog.Logger, stops *stack) (*pool.Pool, error) {
	up, err := pool.New(pc)
	if err != nil {
		return nil, err
	}
	stops.push(up.Close)
	if err := up.Start(ctx); err != nil {
		log.Warn("upstream not warm", slog.String("error", err.Error()))
	}
	return up, nil
}

// startTracer starts tracing as --otlp-endpoint and the OTEL_* variables
// say; it is shut down after the server stopped, so that the last requests'
// spans go out too.
func startTracer(ctx context.Context, tc tracing.Settings, version string, log *slog.Logger, stops *stack) (*tracing.Tracer, error) {
	tc.ServiceVersion = version
	tracer, err := tracing.New(ctx, tc)
	if err != nil {
		return nil, err
	}
	stops.push(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := tracer.Shutdown(sctx); err != nil {
			log.Warn("traces not all exported at shutdown", slog.String("error", err.Error()))
		}
	})
	return tracer, nil
}

// startOutbox opens the outbox --outbox names; nil with none.
func startOutbox(cfg serveConfig, apiKey *secret.Key, log *slog.Logger, stops *stack) (outbox.Backend, error) {
	if cfg.Outbox.Path == "" {
		return nil, nil
	}
	store, err := openOutbox(cfg.Outbox, cfg.NATS, cfg.Proxy.MaxBody, log)
	if err != nil {
		return nil, err
	}
	stops.push(func() { _ = store.Close() })
	if !apiKey.IsSet() {
		// The outbox never stores a client's Authorization (a credential on
		// disk), so resends can only carry the configured key.
		log.Warn("no API key configured: requests kept in the outbox will be resent without credentials and dead-lettered if Forter answers 401; set --api-key-file or " + secret.EnvAPIKey)
	}
	return store, nil
}

// resend puts the outbox on the admin listener (its readiness and its API)
// and runs its resender until serve returns.
func resend(ctx context.Context, cfg outbox.Config, store outbox.Backend, p *proxy.Proxy, so *proxy.ServeOptions, log *slog.Logger, stops *stack) {
	so.Ready["outbox"] = store.Ready
	admin := outbox.NewAdmin(store)
	so.AdminHandlers["/outbox"] = admin
	so.AdminHandlers["/outbox/"] = admin
	ro := cfg.ResendOptions()
	ro.Paused = p.Paused
	ro.Logf = func(format string, args ...any) {
		log.Info(fmt.Sprintf(format, args...), slog.String("component", "outbox"))
	}
	rs := store.NewResender(p.Sender(), ro)
	rctx, cancel := context.WithCancel(ctx)
	stops.push(cancel)
	go func() {
		if err := rs.Run(rctx); err != nil {
			log.Error("outbox resender stopped", slog.String("error", err.Error()))
		}
	}()
}

// listen opens --listen (through the connection guard) and --admin-listen,
// and says what either exposes.
func listen(ctx context.Context, cfg serveConfig, in inbound.Config, outboxAPI bool, adminToken *secret.Key, log *slog.Logger) (ln, admin net.Listener, err error) {
	if ln, err = inbound.Listen(ctx, in); err != nil {
		return nil, nil, err
	}
	if in.Insecure && !in.IsUnix() && !in.Authenticated() {
		if loop, _ := inbound.IsLoopback(ctx, in.Addr); !loop {
			log.Warn("serving a non-loopback address with no inbound authentication (--insecure-listen)",
				slog.String("listen", in.Addr))
		}
	}
	if cfg.Proxy.AdminListen == "" {
		return ln, nil, nil
	}
	if admin, err = net.Listen("tcp", cfg.Proxy.AdminListen); err != nil {
		ln.Close()
		return nil, nil, fmt.Errorf("admin listen %q: %w", cfg.Proxy.AdminListen, err)
	}
	if loop, _ := inbound.IsLoopback(ctx, cfg.Proxy.AdminListen); !loop && !adminToken.IsSet() && (outboxAPI || cfg.Proxy.AdminPprof) {
		log.Info("the admin listener is not loopback only: /healthz, /readyz and /metrics answer everyone, the outbox API and profiles only loopback clients; set --admin-token-file or "+secret.EnvAdminToken+" to let others in with a bearer token",
			slog.String("admin", admin.Addr().String()))
	}
	return ln, admin, nil
}

// edge is what a client's request meets before the proxy, in the one order
// inbound.Edge.Server writes down (the connection guard; fasthttp's limits;
// the refusal log; the secret check; the concurrency cap and header count;
// then the proxy, which checks the JSON shape limits as it validates), with
// its metrics registered on the proxy's registry. proxy.Serve adds the body
// cap, --max-body.
func edge(cfg serveConfig, in inbound.Config, p *proxy.Proxy, log *slog.Logger) *inbound.Edge {
	e := &inbound.Edge{
		Limits: in.Limits,
		Secret: &inbound.SecretCheck{Header: in.SecretHeader, Key: in.Secret},
		Guard:  in.Guard,
		Logger: log,
	}
	p.Registry().MustRegister(e.Collectors()...)
	return e
}

// connGuard caps client connections under the process's descriptor limit,
// read once here and logged with the caps derived from it.
func connGuard(in inbound.Config, up pool.Config, log *slog.Logger) *inbound.ConnGuard {
	upstream := up.MaxConns
	if up.Upstream == "" {
		upstream *= 2 // the embedded sandbox's server side holds a descriptor per connection too
	}
	limits := in.Conns
	nofile, err := inbound.DescriptorLimit()
	if err != nil {
		log.Warn("cannot read the descriptor limit (getrlimit); connection caps only as given", slog.String("error", err.Error()))
		nofile = uint64(max(limits.MaxOpen, 1)) + uint64(upstream) + inbound.DescriptorReserve
	}
	limits = limits.WithDefaults(nofile, upstream)
	attrs := []any{slog.Uint64("descriptor_limit", nofile), slog.Int("max_open_conns", limits.MaxOpen),
		slog.Int("max_conns_per_ip", limits.MaxPerIP), slog.Int("upstream_conns", upstream),
		slog.String("first_request_within", in.Limits.ReadTimeout.String()), slog.String("idle_timeout", in.Limits.IdleTimeout.String())}
	if limits.Fits(nofile, upstream) {
		log.Info("inbound connection limits", attrs...)
	} else {
		log.Warn("inbound connection limits exceed the descriptor limit: accepts may fail with too many open files (they are retried) and upstream dials may fail (fallback answers)", attrs...)
	}
	return &inbound.ConnGuard{Limits: limits, Logger: log}
}

// inboundAuth names how clients are authenticated, for the startup line.
func inboundAuth(in inbound.Config) string {
	switch {
	case in.ClientCA != "" && in.Secret.IsSet():
		return "mtls+secret-header"
	case in.ClientCA != "":
		return "mtls"
	case in.Secret.IsSet():
		return "secret-header " + in.SecretHeader
	}
	return "none"
}
