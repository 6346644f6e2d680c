package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/orderguard/orderguard/internal/compiled"
	"github.com/orderguard/orderguard/internal/inbound"
	"github.com/orderguard/orderguard/internal/outbox"
	"github.com/orderguard/orderguard/internal/outbox/natsjs"
	"github.com/orderguard/orderguard/internal/pool"
	"github.com/orderguard/orderguard/internal/proxy"
	"github.com/orderguard/orderguard/internal/secret"
	"github.com/orderguard/orderguard/internal/settings"
	"github.com/orderguard/orderguard/internal/tracing"
	"github.com/orderguard/orderguard/internal/validate"
)

// serveConfig is everything `orderguard serve` can be told, one Config per
// package that owns the settings. A new setting is a field and a line in
// its package's Settings; nothing here changes.
type serveConfig struct {
	Inbound inbound.Config   // the listener and what one client can make the proxy hold
	Proxy   proxy.Config     // modes, budgets, fallback, routes, rules, the admin listener
	Pool    pool.Config      // the upstream and its connections
	Secret  secret.Config    // the API key, inbound secret and admin token files
	Outbox  outbox.Config    // the outbox and its resender
	NATS    natsjs.Config    // the fleet outbox (--outbox nats://…)
	Spec    compiled.Config  // the spec validated against
	Tracing tracing.Settings // --otlp-endpoint
	Log     logConfig        // --log-format, --log-level
}

// defaultServeConfig is serve with no settings given.
func defaultServeConfig() serveConfig {
	return serveConfig{
		Inbound: inbound.DefaultConfig(),
		Proxy:   proxy.Defaults(),
		Pool:    pool.DefaultConfig(),
		Outbox:  outbox.DefaultConfig(),
		NATS:    natsjs.DefaultConfig(),
		Spec:    compiled.DefaultConfig(),
		Log:     logConfig{Format: "json", Level: "info"},
	}
}

// groups binds every setting to c's fields, by owning package, in --help
// and CONFIG.md order.
func (c *serveConfig) groups() []settings.Group {
	return []settings.Group{
		{Owner: "internal/inbound", Settings: c.Inbound.Settings()},
		{Owner: "internal/proxy", Settings: c.Proxy.Settings()},
		{Owner: "internal/pool", Settings: c.Pool.Settings()},
		{Owner: "internal/secret", Settings: c.Secret.Settings()},
		{Owner: "internal/outbox", Settings: c.Outbox.Settings()},
		{Owner: "internal/outbox/natsjs", Settings: c.NATS.Settings()},
		{Owner: "internal/compiled", Settings: c.Spec.Settings()},
		{Owner: "internal/tracing", Settings: c.Tracing.Settings()},
		{Owner: "cmd/proxy", Settings: c.Log.Settings()},
	}
}

// loadServe builds serve's configuration from, in increasing precedence,
// the defaults, the YAML file (--config or $ORDERGUARD_CONFIG), ORDERGUARD_*
// environment variables and flags (internal/settings). lookupEnv nil means
// os.LookupEnv. It returns flag.ErrHelp for -h/--help.
func loadServe(args []string, lookupEnv func(string) (string, bool)) (serveConfig, error) {
	scratch, cfg := defaultServeConfig(), defaultServeConfig()
	err := settings.Load(args, lookupEnv, settings.All(scratch.groups()), settings.All(cfg.groups()), cfg.Proxy.NoteRuleOrigins())
	if err != nil {
		return serveConfig{}, err
	}
	return cfg, nil
}

// check reports every setting that cannot work, naming its flag, each
// package's in the order of groups. ops are the spec's operations (the
// keys of --op-mode and --op-budget).
func (c *serveConfig) check(ops []validate.Operation) error {
	return errors.Join(c.Inbound.Check(), c.Proxy.Check(ops), c.Pool.Check(), c.Secret.Check(),
		c.Outbox.Check(), c.NATS.Check(), c.Spec.Check(), c.Log.Check())
}

// knownEnv lists every environment variable serve reads: the config
// file's, the secrets' and one per setting.
func knownEnv() []string {
	def := defaultServeConfig()
	return settings.KnownEnv(settings.All(def.groups()), append(append([]string{settings.EnvConfig}, secret.Env()...), natsjs.Env()...)...)
}

// serveUsageLine is the synopsis of orderguard serve, for --help and usage errors.
const serveUsageLine = "orderguard serve [flags]"

// serveUsage writes --help in the layout every subcommand shares
// (internal/cli): every setting, grouped by owning package, with its type,
// default and environment variable.
func serveUsage(w io.Writer) {
	def := defaultServeConfig()
	fmt.Fprintf(w, "usage: %s\n\n", serveUsageLine)
	fmt.Fprintf(w, "Runs the validating proxy in front of Forter (or, with no --upstream, the\n")
	fmt.Fprintf(w, "embedded sandbox). Settings come from flags, then %s* environment\n", settings.EnvPrefix)
	fmt.Fprintf(w, "variables, then the YAML file of --config (keys are flag names), then defaults.\n\n")
	fmt.Fprintf(w, "flags:\n")
	settings.WriteFlags(w, def.groups())
	fmt.Fprintf(w, "\nThe API key is read from --api-key-file or $%s only, the inbound secret from\n", secret.EnvAPIKey)
	fmt.Fprintf(w, "--inbound-secret-file or $%s only, the admin token from --admin-token-file or\n", secret.EnvInboundSecret)
	fmt.Fprintf(w, "$%s only; none is ever printed. SIGHUP re-reads the files.\n", secret.EnvAdminToken)
}

// logConfig is serve's own logger: the settings cmd/proxy owns.
type logConfig struct {
	Format string // --log-format json|text (the request lines too)
	Level  string // --log-level debug|info|warn|error
}

func (c *logConfig) Settings() []settings.Setting {
	return []settings.Setting{
		{Name: "log-format", Help: "json or text", Value: settings.String(&c.Format)},
		{Name: "log-level", Help: "debug, info, warn or error", Value: settings.String(&c.Level)},
	}
}

func (c logConfig) Check() error {
	var errs []error
	switch c.Format {
	case "json", "text":
	default:
		errs = append(errs, fmt.Errorf("--log-format %q: want json or text", c.Format))
	}
	switch c.Level {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("--log-level %q: want debug, info, warn or error", c.Level))
	}
	return errors.Join(errs...)
}
