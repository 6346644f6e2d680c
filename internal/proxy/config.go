package proxy

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/orderguard/orderguard/internal/inbound"
	"github.com/orderguard/orderguard/internal/validate"
)

// Mode says what the proxy does with a request body that breaks the spec.
type Mode uint8

const (
	ModeEnforce Mode = iota // answer 400 in Forter's error shape; upstream not called
	ModeReport              // forward anyway; violations in a header, a log line and metrics
	ModeOff                 // forward unchecked
)

func (m Mode) String() string {
	switch m {
	case ModeEnforce:
		return "enforce"
	case ModeReport:
		return "report"
	case ModeOff:
		return "off"
	}
	return "unknown"
}

// ParseMode reads enforce, report or off.
func ParseMode(s string) (Mode, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "enforce":
		return ModeEnforce, nil
	case "report", "report-only":
		return ModeReport, nil
	case "off":
		return ModeOff, nil
	}
	return 0, fmt.Errorf("mode %q: want enforce, report or off", s)
}

// Fallback says how the proxy answers when Forter did not, within the budget.
type Fallback uint8

const (
	FallbackOpen   Fallback = iota // 200 "not reviewed" (202 for status updates), request queued in the outbox
	FallbackClosed                 // 504 on timeout, else 502, in Forter's error shape
)

func (f Fallback) String() string {
	if f == FallbackClosed {
		return "closed"
	}
	return "open"
}

// ParseFallback reads open or closed.
func ParseFallback(s string) (Fallback, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "open":
		return FallbackOpen, nil
	case "closed":
		return FallbackClosed, nil
	}
	return 0, fmt.Errorf("fallback %q: want open or closed", s)
}

// Config is everything `orderguard serve` can be told. The doc comment of
// each field names its flag; defaults are in Defaults and in doc.go's table.
type Config struct {
	Listen      string // --listen: where checkout code connects
	AdminListen string // --admin-listen: /healthz, /readyz, /metrics (empty: none)
	AdminPprof  bool   // --admin-pprof: Go's /debug/pprof/ profiles on the admin listener
	// --admin-token-file (or ORDERGUARD_ADMIN_TOKEN): lets non-loopback clients
	// reach the outbox API and profiles with a bearer token
	AdminTokenFile string

	Upstream           string // --upstream: Forter's base URL; empty starts the embedded sandbox
	UpstreamCA         string // --upstream-ca: PEM of a private CA to trust as well
	UpstreamServerName string // --upstream-server-name: TLS server name, if not the URL's host

	Mode    Mode            // --mode
	OpModes map[string]Mode // --op-mode orderV2=report,…: per operationId

	Budget            time.Duration            // --budget: one deadline per request, from arrival
	OpBudgets         map[string]time.Duration // --op-budget orderV3=1500ms,…
	RetryMinRemaining time.Duration            // --retry-min-remaining: retry only with this much budget left
	Fallback          Fallback                 // --fallback
	RejectUnknown     bool                     // --unknown-routes reject (default pass)
	PassthroughRoutes []string                 // --passthrough-routes 'GET /v2/x/{id}',…: outside the spec, forwarded with the API key
	MaxBody           int                      // --max-body: bytes; larger bodies get 413

	WarmConns            int           // --warm-conns
	WarmPath             string        // --warm-path
	MaxConns             int           // --max-conns
	MaxConnWait          time.Duration // --max-conn-wait
	MaxIdleConn          time.Duration // --max-idle-conn
	DialTimeout          time.Duration // --dial-timeout
	UpstreamReadTimeout  time.Duration // --upstream-read-timeout
	UpstreamWriteTimeout time.Duration // --upstream-write-timeout
	MaxResponseBody      int           // --max-response-body

	APIKeyFile string // --api-key-file (or ORDERGUARD_API_KEY): injected as Basic auth
	SiteID     string // --site-id: injected as x-forter-siteid
	APIVersion string // --api-version: api-version header when the client sent none

	Rules map[string]validate.Severity // --rules RULE=warning,…: business rule severities
	// RuleOrigins says where Load found each rule id of Rules: "--rules",
	// "$ORDERGUARD_RULES" or "config FILE".
	RuleOrigins map[string]string

	BreakerFailures int           // --breaker-failures: consecutive upstream failures that open the circuit
	BreakerCooldown time.Duration // --breaker-cooldown: open time before one probe request

	CheckResponses bool // --check-responses: check answers against the spec (drift metric only)

	OutboxPath   string        // --outbox: bbolt file of requests kept for resend; empty logs them instead
	OutboxRate   float64       // --outbox-rate: resends per second
	OutboxMaxAge time.Duration // --outbox-max-age: older requests are dead-lettered
	// The fleet outbox (--outbox nats://…): see internal/outbox/natsjs.
	OutboxStream    string        // --outbox-stream: JetStream stream name
	OutboxReplicas  int           // --outbox-replicas: the stream's replicas
	OutboxNATSCreds string        // --outbox-nats-creds: a NATS .creds file
	OutboxNATSCA    string        // --outbox-nats-ca: CA file for the NATS servers' TLS certificates
	OutboxAckWait   time.Duration // --outbox-ack-wait: a dead pod's un-acknowledged resends come back after this
	// --outbox-enqueue-reserve: with the JetStream outbox, the upstream call
	// ends this long before the budget so that the publish and its ack fit
	// in what is left (outbox.DeadlineEnqueuer); bbolt ignores it.
	OutboxEnqueueReserve time.Duration

	LogFormat string // --log-format json|text
	LogLevel  string // --log-level debug|info|warn|error
	// --otlp-endpoint: OTLP collector for traces; with it empty, the
	// OTEL_EXPORTER_OTLP_* variables decide (internal/tracing), and with
	// neither, tracing is off.
	OTLPEndpoint string

	// The inbound side (internal/inbound): who may connect, and what one
	// client can make the proxy hold.
	InsecureListen       bool          // --insecure-listen: serve a non-loopback --listen without inbound authentication
	ClientCA             string        // --client-ca: PEM of CAs whose client certificates are required (mTLS)
	TLSCert              string        // --tls-cert: the proxy's own certificate for TLS on --listen
	TLSKey               string        // --tls-key: its private key
	InboundSecretFile    string        // --inbound-secret-file (or ORDERGUARD_INBOUND_SECRET): shared secret clients send
	InboundSecretHeader  string        // --inbound-secret-header: the header it travels in
	SecretReloadInterval time.Duration // --secret-reload-interval: re-read secret files this often (0: only on SIGHUP)
	MaxConcurrent        int           // --max-concurrent: requests served at once; more get 503
	MaxOpenConns         int           // --max-open-conns: client connections open at once (0: from the descriptor limit)
	MaxConnsPerIP        int           // --max-conns-per-ip: open connections of one peer (0: from the descriptor limit)
	ReadTimeout          time.Duration // --read-timeout: reading one whole request
	WriteTimeout         time.Duration // --write-timeout: writing one answer
	IdleTimeout          time.Duration // --idle-timeout: keep-alive connections idle this long are closed
	MaxHeaderBytes       int           // --max-header-bytes: request line plus header; larger gets 431
	MaxHeaders           int           // --max-headers: header fields; more get 431
	MaxDepth             int           // --max-depth: JSON nesting; deeper bodies get 400 (0: off)
	MaxString            int           // --max-string: bytes of one JSON string; longer get 400 (0: off)
	MaxArray             int           // --max-array: elements of one JSON array; more get 400 (0: off)

	// The spec at run time (internal/compiled).
	Spec               string        // --spec: an OpenAPI document in place of the embedded spec
	Overlays           []string      // --overlay (repeatable): OpenAPI Overlay documents applied in order
	MaxSpecBytes       int           // --max-spec-bytes: cap of each spec and overlay file
	SpecReloadInterval time.Duration // --spec-reload-interval: re-read spec and overlays this often (0: SIGHUP and POST /spec/reload only)
	Engine             string        // --engine: generated or compiled; empty: compiled with --spec/--overlay, else generated
}

// Defaults returns the configuration of `orderguard serve` with no flags.
func Defaults() Config {
	return Config{
		Listen:               "127.0.0.1:8080",
		AdminListen:          "127.0.0.1:9090",
		Mode:                 ModeEnforce,
		Budget:               2 * time.Second,
		RetryMinRemaining:    300 * time.Millisecond,
		Fallback:             FallbackOpen,
		MaxBody:              1 << 20,
		WarmConns:            4,
		WarmPath:             "/",
		MaxConns:             256,
		MaxConnWait:          250 * time.Millisecond,
		MaxIdleConn:          50 * time.Second,
		DialTimeout:          time.Second,
		UpstreamReadTimeout:  2 * time.Second,
		UpstreamWriteTimeout: 2 * time.Second,
		MaxResponseBody:      1 << 20,
		BreakerFailures:      5,
		BreakerCooldown:      5 * time.Second,
		CheckResponses:       true,
		OutboxPath:           "data/outbox.db",
		OutboxRate:           5,
		OutboxMaxAge:         7 * 24 * time.Hour,
		OutboxStream:         "ORDERGUARD_OUTBOX",
		OutboxReplicas:       3,
		OutboxAckWait:        30 * time.Second,
		OutboxEnqueueReserve: 250 * time.Millisecond,
		LogFormat:            "json",
		LogLevel:             "info",
		InboundSecretHeader:  inbound.DefaultSecretHeader,
		MaxConcurrent:        inbound.DefaultMaxConcurrent,
		ReadTimeout:          inbound.DefaultReadTimeout,
		WriteTimeout:         inbound.DefaultWriteTimeout,
		IdleTimeout:          inbound.DefaultIdleTimeout,
		MaxHeaderBytes:       inbound.DefaultMaxHeaderBytes,
		MaxHeaders:           inbound.DefaultMaxHeaders,
		MaxSpecBytes:         4 << 20,
	}
}

// Check reports the first setting that cannot work, naming its flag.
func (c *Config) Check(ops []validate.Operation) error {
	known := func(id string) bool {
		for _, op := range ops {
			if op.ID == id {
				return true
			}
		}
		return false
	}
	var errs []error
	if c.Listen == "" {
		errs = append(errs, errors.New("--listen: empty"))
	}
	if c.Budget <= 0 {
		errs = append(errs, fmt.Errorf("--budget %s: want more than 0", c.Budget))
	}
	for id, b := range c.OpBudgets {
		if !known(id) {
			errs = append(errs, fmt.Errorf("--op-budget: unknown operation %q", id))
		}
		if b <= 0 {
			errs = append(errs, fmt.Errorf("--op-budget %s=%s: want more than 0", id, b))
		}
	}
	for id := range c.OpModes {
		if !known(id) {
			errs = append(errs, fmt.Errorf("--op-mode: unknown operation %q", id))
		}
	}
	if c.RetryMinRemaining < 0 {
		errs = append(errs, fmt.Errorf("--retry-min-remaining %s: want 0 or more", c.RetryMinRemaining))
	}
	if c.MaxBody <= 0 {
		errs = append(errs, fmt.Errorf("--max-body %d: want more than 0", c.MaxBody))
	}
	if c.MaxResponseBody <= 0 {
		errs = append(errs, fmt.Errorf("--max-response-body %d: want more than 0", c.MaxResponseBody))
	}
	if c.WarmConns < 0 {
		errs = append(errs, fmt.Errorf("--warm-conns %d: want 0 or more", c.WarmConns))
	}
	if c.MaxConns <= 0 || c.MaxConns < c.WarmConns {
		errs = append(errs, fmt.Errorf("--max-conns %d: want at least 1 and at least --warm-conns", c.MaxConns))
	}
	if c.BreakerFailures < 0 {
		errs = append(errs, fmt.Errorf("--breaker-failures %d: want 0 (off) or more", c.BreakerFailures))
	}
	if c.BreakerCooldown <= 0 {
		errs = append(errs, fmt.Errorf("--breaker-cooldown %s: want more than 0", c.BreakerCooldown))
	}
	if !strings.HasPrefix(c.WarmPath, "/") {
		errs = append(errs, fmt.Errorf("--warm-path %q: want an absolute path", c.WarmPath))
	}
	if c.OutboxRate <= 0 {
		errs = append(errs, fmt.Errorf("--outbox-rate %v: want more than 0", c.OutboxRate))
	}
	if c.OutboxReplicas < 1 || c.OutboxReplicas > 5 {
		errs = append(errs, fmt.Errorf("--outbox-replicas %d: want 1 to 5 (JetStream's limit)", c.OutboxReplicas))
	}
	if c.OutboxStream == "" || strings.ContainsAny(c.OutboxStream, " \t.*>/\\") {
		errs = append(errs, fmt.Errorf("--outbox-stream %q: want a JetStream stream name (no spaces, dots, *, >, slashes)", c.OutboxStream))
	}
	if c.OutboxMaxAge <= 0 {
		errs = append(errs, fmt.Errorf("--outbox-max-age %s: want more than 0", c.OutboxMaxAge))
	}
	if c.OutboxAckWait <= 0 {
		errs = append(errs, fmt.Errorf("--outbox-ack-wait %s: want more than 0", c.OutboxAckWait))
	}
	if c.OutboxEnqueueReserve < 0 {
		errs = append(errs, fmt.Errorf("--outbox-enqueue-reserve %s: want 0 or more", c.OutboxEnqueueReserve))
	}
	for _, d := range []struct {
		flag string
		v    time.Duration
	}{{"--read-timeout", c.ReadTimeout}, {"--write-timeout", c.WriteTimeout}, {"--idle-timeout", c.IdleTimeout}} {
		if d.v <= 0 {
			errs = append(errs, fmt.Errorf("%s %s: want more than 0", d.flag, d.v))
		}
	}
	switch {
	case c.Engine != "" && c.Engine != "generated" && c.Engine != "compiled":
		errs = append(errs, fmt.Errorf("--engine %q: want generated or compiled", c.Engine))
	case c.Engine == "generated" && (c.Spec != "" || len(c.Overlays) > 0):
		errs = append(errs, errors.New("--engine generated: --spec and --overlay are compiled at start-up; use --engine compiled or leave it out"))
	}
	if c.MaxSpecBytes <= 0 || c.SpecReloadInterval < 0 {
		errs = append(errs, fmt.Errorf("--max-spec-bytes %d, --spec-reload-interval %s: want more than 0 bytes and 0 (off) or more", c.MaxSpecBytes, c.SpecReloadInterval))
	}
	if c.SecretReloadInterval < 0 {
		errs = append(errs, fmt.Errorf("--secret-reload-interval %s: want 0 (off) or more", c.SecretReloadInterval))
	}
	for _, n := range []struct {
		flag string
		v    int
	}{{"--max-concurrent", c.MaxConcurrent}, {"--max-header-bytes", c.MaxHeaderBytes}, {"--max-headers", c.MaxHeaders}} {
		if n.v <= 0 {
			errs = append(errs, fmt.Errorf("%s %d: want more than 0", n.flag, n.v))
		}
	}
	for _, n := range []struct {
		flag string
		v    int
	}{{"--max-depth", c.MaxDepth}, {"--max-string", c.MaxString}, {"--max-array", c.MaxArray},
		{"--max-open-conns", c.MaxOpenConns}, {"--max-conns-per-ip", c.MaxConnsPerIP}} {
		if n.v < 0 {
			errs = append(errs, fmt.Errorf("%s %d: want 0 (off) or more", n.flag, n.v))
		}
	}
	if _, err := compileAllowlist(c.PassthroughRoutes); err != nil {
		errs = append(errs, err)
	}
	if c.InboundSecretHeader == "" {
		errs = append(errs, errors.New("--inbound-secret-header: empty"))
	}
	switch c.LogFormat {
	case "json", "text":
	default:
		errs = append(errs, fmt.Errorf("--log-format %q: want json or text", c.LogFormat))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("--log-level %q: want debug, info, warn or error", c.LogLevel))
	}
	return errors.Join(errs...)
}

// modeOf and budgetOf resolve per-operation overrides.
func (c *Config) modeOf(id string) Mode {
	if m, ok := c.OpModes[id]; ok {
		return m
	}
	return c.Mode
}

func (c *Config) budgetOf(id string) time.Duration {
	if b, ok := c.OpBudgets[id]; ok {
		return b
	}
	return c.Budget
}

// MaxBudget is the longest budget of any operation: how long shutdown waits
// for requests in flight.
func (c *Config) MaxBudget() time.Duration {
	m := c.Budget
	for _, b := range c.OpBudgets {
		m = max(m, b)
	}
	return m
}

// checkEnqueueReserve is asked only when the outbox takes a reserve (the
// JetStream one, with --fallback open): every budget must leave the upstream
// call some time after it.
func (c *Config) checkEnqueueReserve() error {
	if c.OutboxEnqueueReserve >= c.Budget {
		return fmt.Errorf("--outbox-enqueue-reserve %s: want less than --budget %s (the upstream call gets the budget minus the reserve)", c.OutboxEnqueueReserve, c.Budget)
	}
	for id, b := range c.OpBudgets {
		if c.OutboxEnqueueReserve >= b {
			return fmt.Errorf("--outbox-enqueue-reserve %s: want less than --op-budget %s=%s (the upstream call gets the budget minus the reserve)", c.OutboxEnqueueReserve, id, b)
		}
	}
	return nil
}
