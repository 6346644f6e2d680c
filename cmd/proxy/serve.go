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
	"github.com/orderguard/orderguard/internal/tracing"
	"github.com/orderguard/orderguard/internal/validate"
)

// sandboxDemoKey is the API key sent to the embedded sandbox when none is
// configured: it checks that a key is present, not which.
const sandboxDemoKey = "orderguard-embedded-sandbox"

// runServe is `orderguard serve`: the proxy, in front of Forter or, with no
// --upstream, of the embedded sandbox (announced in the first log line).
func runServe(args []string, stdout, stderr io.Writer) int {
	cfg, err := proxy.Load(args, nil)
	if errors.Is(err, flag.ErrHelp) {
		proxy.Usage(stdout)
		return 0
	}
	if err != nil {
		return cli.UsageError(stderr, "serve", proxy.UsageLine, err)
	}
	logOut := newAsyncWriter(stderr, 100*time.Millisecond, 64<<10)
	defer logOut.Close()
	log := newLogger(cfg, logOut)
	engine, err := newSpecEngine(cfg, log)
	if err != nil {
		fmt.Fprintf(stderr, "orderguard serve: %v\n", err)
		return 2
	}
	if err := cfg.Check(engine.ops); err != nil {
		fmt.Fprintf(stderr, "orderguard serve: %v\n", err)
		return 2
	}
	for id := range cfg.Rules {
		if !slices.ContainsFunc(engine.rules, func(r validate.RuleInfo) bool { return r.ID == id }) {
			fmt.Fprintf(stderr, "orderguard serve: %s: unknown rule %q ('orderguard spec rules' lists them)\n", ruleOrigin(cfg, id), id)
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
	for _, u := range proxy.UnknownEnv(environ) {
		attrs := []any{slog.String("variable", u.Name)}
		if u.Suggest != "" {
			attrs = append(attrs, slog.String("did_you_mean", u.Suggest))
		}
		log.Warn("environment variable names no setting; ignored ('orderguard serve --help' lists them)", attrs...)
	}
}

func newLogger(cfg proxy.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel)) // checked by Config.Check
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// serve runs the proxy until ctx ends, logging through log, whose handler
// writes to logOut; the per-request lines go to logOut directly. The startup
// lines are flushed at once so that whoever waits for them (an operator, a
// supervisor, a test) sees them without the buffering delay.
func serve(ctx context.Context, cfg proxy.Config, log *slog.Logger, logOut *asyncWriter, engine *specEngine) error {
	// Who may connect is settled first: a refused --listen should not wait
	// for the sandbox and the upstream warm-up to be reported.
	inboundSecret, err := secret.Load("inbound secret", cfg.InboundSecretFile, proxy.EnvInboundSecret, nil)
	if err != nil {
		return err
	}
	in := inbound.Config{
		Addr:         cfg.Listen,
		Insecure:     cfg.InsecureListen,
		SecretHeader: cfg.InboundSecretHeader,
		Secret:       inboundSecret,
		ClientCA:     cfg.ClientCA,
		CertFile:     cfg.TLSCert,
		KeyFile:      cfg.TLSKey,
	}
	if err := inbound.Check(ctx, in); err != nil {
		return err
	}
	poolCfg := pool.Config{
		Upstream:            cfg.Upstream,
		CAFile:              cfg.UpstreamCA,
		ServerName:          cfg.UpstreamServerName,
		MaxConns:            cfg.MaxConns,
		MaxConnWaitTimeout:  cfg.MaxConnWait,
		MaxIdleConnDuration: cfg.MaxIdleConn,
		DialTimeout:         cfg.DialTimeout,
		ReadTimeout:         cfg.UpstreamReadTimeout,
		WriteTimeout:        cfg.UpstreamWriteTimeout,
		MaxResponseBodySize: cfg.MaxResponseBody,
		WarmConns:           cfg.WarmConns,
		WarmPath:            cfg.WarmPath,
	}
	if cfg.Upstream == "" {
		// The embedded sandbox, over TLS so that the whole path (warm
		// connections, session resumption) runs as it would against Forter.
		sb, err := sandbox.Start(sandbox.Options{Config: sandbox.DefaultConfig(), TLS: true})
		if err != nil {
			return fmt.Errorf("start embedded sandbox: %w", err)
		}
		defer sb.Close()
		log.Info("embedded sandbox started (no --upstream given)", slog.String("url", sb.URL), slog.String("ca", sb.CertFile))
		poolCfg.Upstream = sb.URL
		poolCfg.TLS = sb.ClientTLS()
	}

	apiKey, err := secret.Load("api key", cfg.APIKeyFile, proxy.EnvAPIKey, nil)
	if err != nil {
		return err
	}
	apiKeySource := apiKey.Source() // file "…", env ORDERGUARD_API_KEY or none
	if cfg.Upstream == "" && !apiKey.IsSet() {
		// The sandbox, like Forter, answers 401 without a key; any key will do.
		apiKey = secret.FromValue("api key", secret.New(sandboxDemoKey))
		apiKeySource = "none (a demo key for the embedded sandbox)"
		log.Info("no API key configured: using a demo key for the embedded sandbox")
	}
	adminToken, err := secret.Load("admin token", cfg.AdminTokenFile, proxy.EnvAdminToken, nil)
	if err != nil {
		return err
	}
	stopReload := secret.ReloadOnSIGHUP(log, nil, apiKey, inboundSecret, adminToken)
	defer stopReload()
	stopPoll := secret.ReloadEvery(log, cfg.SecretReloadInterval, apiKey, inboundSecret, adminToken)
	defer stopPoll()

	up, err := pool.New(poolCfg)
	if err != nil {
		return err
	}
	defer up.Close()
	if err := up.Start(ctx); err != nil {
		// Not fatal: Forter may come up later; /readyz says not ready meanwhile.
		log.Warn("upstream not warm", slog.String("error", err.Error()))
	}

	bi := build()
	tracer, err := tracing.New(ctx, tracing.Settings{Endpoint: cfg.OTLPEndpoint, ServiceVersion: bi.Version})
	if err != nil {
		return err
	}
	defer func() {
		// After the server stopped: the last requests' spans go out too.
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := tracer.Shutdown(sctx); err != nil {
			log.Warn("traces not all exported at shutdown", slog.String("error", err.Error()))
		}
	}()
	opts := proxy.Options{Operations: engine.ops, Pool: up, Logger: log, APIKey: apiKey, Tracer: tracer}
	if engine.live != nil {
		opts.Validators = engine.live
	}
	if log.Enabled(ctx, slog.LevelInfo) {
		opts.RequestLog = logOut
	}
	var store outbox.Backend
	if cfg.OutboxPath != "" {
		store, err = openOutbox(cfg, log)
		if err != nil {
			return err
		}
		defer store.Close()
		opts.Outbox = store
		if !apiKey.IsSet() {
			// The outbox never stores a client's Authorization (a credential on
			// disk), so resends can only carry the configured key.
			log.Warn("no API key configured: requests kept in the outbox will be resent without credentials and dead-lettered if Forter answers 401; set --api-key-file or " + proxy.EnvAPIKey)
		}
	}
	p, err := proxy.New(cfg, opts)
	if err != nil {
		return err
	}

	so := proxy.ServeOptions{Ready: map[string]func() error{}, AdminHandlers: map[string]http.Handler{}, AdminToken: adminToken}
	engine.adminHandlers(so.AdminHandlers)
	p.Registry().MustRegister(engine)
	defer engine.watch(cfg.SpecReloadInterval)()
	if store != nil {
		so.Ready["outbox"] = store.Ready
		admin := outbox.NewAdmin(store)
		so.AdminHandlers["/outbox"] = admin
		so.AdminHandlers["/outbox/"] = admin
		rs := store.NewResender(p.Sender(), outbox.ResendOptions{
			Rate:   cfg.OutboxRate,
			MaxAge: cfg.OutboxMaxAge,
			Paused: p.Paused,
			Logf: func(format string, args ...any) {
				log.Info(fmt.Sprintf(format, args...), slog.String("component", "outbox"))
			},
		})
		rctx, cancel := context.WithCancel(ctx)
		defer cancel()
		go func() {
			if err := rs.Run(rctx); err != nil {
				log.Error("outbox resender stopped", slog.String("error", err.Error()))
			}
		}()
	}

	so.Limits = inbound.Limits{
		ReadTimeout:    cfg.ReadTimeout,
		WriteTimeout:   cfg.WriteTimeout,
		IdleTimeout:    cfg.IdleTimeout,
		MaxHeaderBytes: cfg.MaxHeaderBytes,
		MaxHeaders:     cfg.MaxHeaders,
		MaxConcurrent:  cfg.MaxConcurrent,
	}
	// Outermost first: the secret check, then the proxy (inside the
	// concurrency cap and header count of so.Limits; the proxy checks the
	// JSON shape limits itself).
	check := &inbound.SecretCheck{Header: cfg.InboundSecretHeader, Key: inboundSecret}
	so.Wrap = check.Wrap
	if inboundSecret.IsSet() {
		p.Registry().MustRegister(inboundAuthRejected(check))
	}
	p.Registry().MustRegister(buildInfoMetric(build()))
	in.Guard = connGuard(cfg, log)
	p.Registry().MustRegister(connGuardMetrics(in.Guard)...)
	if store != nil {
		p.Registry().MustRegister(newOutboxCollector(store, outboxBackendName(cfg.OutboxPath)))
	}
	so.Listener, err = inbound.Listen(ctx, in)
	if err != nil {
		return err
	}
	if cfg.InsecureListen && !in.IsUnix() && !in.Authenticated() {
		if loop, _ := inbound.IsLoopback(ctx, cfg.Listen); !loop {
			log.Warn("serving a non-loopback address with no inbound authentication (--insecure-listen)",
				slog.String("listen", cfg.Listen))
		}
	}
	if cfg.AdminListen != "" {
		so.Admin, err = net.Listen("tcp", cfg.AdminListen)
		if err != nil {
			so.Listener.Close()
			return fmt.Errorf("admin listen %q: %w", cfg.AdminListen, err)
		}
	}
	adminAddr := ""
	if so.Admin != nil {
		adminAddr = so.Admin.Addr().String()
		if loop, _ := inbound.IsLoopback(ctx, cfg.AdminListen); !loop && !adminToken.IsSet() && (store != nil || cfg.AdminPprof) {
			log.Info("the admin listener is not loopback only: /healthz, /readyz and /metrics answer everyone, the outbox API and profiles only loopback clients; set --admin-token-file or "+proxy.EnvAdminToken+" to let others in with a bearer token",
				slog.String("admin", adminAddr))
		}
	}
	log.Info("orderguard serving",
		slog.String("listen", so.Listener.Addr().String()), slog.String("admin", adminAddr),
		slog.String("upstream", poolCfg.Upstream), slog.String("mode", cfg.Mode.String()),
		slog.String("budget", cfg.Budget.String()), slog.String("fallback", cfg.Fallback.String()),
		slog.String("outbox", cfg.OutboxPath), slog.String("api_key", apiKeySource), slog.String("admin_token", adminToken.Source()),
		slog.String("inbound_auth", inboundAuth(in)), slog.String("credentials", p.CredentialScope()),
		slog.String("tracing", tracer.String()),
		slog.String("version", bi.Version), slog.String("revision", bi.Revision), slog.String("build_time", bi.Time))
	logOut.Flush()
	return p.Serve(ctx, so)
}

// connGuard caps client connections under the process's descriptor limit,
// read once here and logged with the caps derived from it.
func connGuard(cfg proxy.Config, log *slog.Logger) *inbound.ConnGuard {
	upstream := cfg.MaxConns
	if cfg.Upstream == "" {
		upstream *= 2 // the embedded sandbox's server side holds a descriptor per connection too
	}
	limits := inbound.ConnLimits{MaxOpen: cfg.MaxOpenConns, MaxPerIP: cfg.MaxConnsPerIP}
	nofile, err := inbound.DescriptorLimit()
	if err != nil {
		log.Warn("cannot read the descriptor limit (getrlimit); connection caps only as given", slog.String("error", err.Error()))
		nofile = uint64(max(limits.MaxOpen, 1)) + uint64(upstream) + inbound.DescriptorReserve
	}
	limits = limits.WithDefaults(nofile, upstream)
	attrs := []any{slog.Uint64("descriptor_limit", nofile), slog.Int("max_open_conns", limits.MaxOpen),
		slog.Int("max_conns_per_ip", limits.MaxPerIP), slog.Int("upstream_conns", upstream),
		slog.String("first_request_within", cfg.ReadTimeout.String()), slog.String("idle_timeout", cfg.IdleTimeout.String())}
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
