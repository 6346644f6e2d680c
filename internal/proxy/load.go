package proxy

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/orderguard/orderguard/internal/validate"
)

// EnvPrefix starts every environment variable orderguard serve reads.
const EnvPrefix = "ORDERGUARD_"

// EnvAPIKey holds the API key itself when --api-key-file is not given. The
// key is read from a file or this variable only, never from a flag or the
// config file, so that it never appears in a process list or a config dump.
const EnvAPIKey = "ORDERGUARD_API_KEY"

// EnvInboundSecret holds the inbound shared secret itself when
// --inbound-secret-file is not given (file or environment only, as the API key).
const EnvInboundSecret = "ORDERGUARD_INBOUND_SECRET"

// EnvConfig names the YAML config file when --config is not given.
const EnvConfig = "ORDERGUARD_CONFIG"

// setting is one configurable value: its flag name (also its YAML key, and,
// upper-cased with _ for -, its environment variable after EnvPrefix).
type setting struct {
	name  string
	help  string
	value flag.Value
}

// SpecSettings registers serve's --spec, --overlay and --max-spec-bytes on
// fs, with serve's meanings, types and defaults, into c: lint and spec check
// and rules take the same spec sources.
func SpecSettings(fs *flag.FlagSet, c *Config) {
	for _, s := range settings(c) {
		switch s.name {
		case "spec", "overlay", "max-spec-bytes":
			fs.Var(s.value, s.name, s.help)
		}
	}
}

func envName(flagName string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// settings binds every setting to a field of c, in --help order.
func settings(c *Config) []setting {
	return []setting{
		{"listen", "address checkout code connects to (host:port)", (*stringValue)(&c.Listen)},
		{"admin-listen", "address of /healthz, /readyz and /metrics; empty turns the admin listener off", (*stringValue)(&c.AdminListen)},
		{"admin-pprof", "serve Go's /debug/pprof/ CPU, heap and goroutine profiles on the admin listener (they show code paths, never request bodies)", (*boolValue)(&c.AdminPprof)},
		{"admin-token-file", "file holding the admin token, which clients not on loopback send as a bearer token to reach the outbox API and profiles (else $" + EnvAdminToken + "; with neither, those routes answer loopback clients only)", (*stringValue)(&c.AdminTokenFile)},
		{"upstream", "Forter base URL, scheme and host (https://<site>.api.forter-secure.com); empty starts the embedded sandbox on a loopback port", (*stringValue)(&c.Upstream)},
		{"upstream-ca", "PEM file of a private CA trusted for the upstream, besides the system roots", (*stringValue)(&c.UpstreamCA)},
		{"upstream-server-name", "TLS server name checked on the upstream's certificate; empty means the URL's host", (*stringValue)(&c.UpstreamServerName)},
		{"mode", "enforce (400 without calling Forter), report (forward, count, header) or off", (*modeValue)(&c.Mode)},
		{"op-mode", "per-operation modes, e.g. orderV2=report,statusPut=off", (*opModesValue)(&c.OpModes)},
		{"budget", "deadline of each request, counted from its arrival", (*durationValue)(&c.Budget)},
		{"op-budget", "per-operation budgets, e.g. orderV3=1500ms", (*opBudgetsValue)(&c.OpBudgets)},
		{"retry-min-remaining", "retry once (connection error, timeout before an answer, 500/502/503/504) only with this much budget left", (*durationValue)(&c.RetryMinRemaining)},
		{"fallback", "when Forter does not answer in budget: open (200 \"not reviewed\", queued for resend) or closed (504/502)", (*fallbackValue)(&c.Fallback)},
		{"unknown-routes", "other paths: pass (forwarded unchecked, without the API key) or reject (404)", (*unknownValue)(&c.RejectUnknown)},
		{"passthrough-routes", "routes outside the spec forwarded with the API key, e.g. 'GET /v2/orders/{id}/history,POST /v2/x'; other paths keep the client's own Authorization", (*routesValue)(&c.PassthroughRoutes)},
		{"max-body", "largest request body (bytes, or with KiB/MiB); larger gets 413", (*sizeValue)(&c.MaxBody)},
		{"warm-conns", "upstream connections opened at start and kept warm while idle", (*intValue)(&c.WarmConns)},
		{"warm-path", "path requested (GET) to open and refresh warm connections", (*stringValue)(&c.WarmPath)},
		{"max-conns", "most upstream connections, busy or idle", (*intValue)(&c.MaxConns)},
		{"max-conn-wait", "how long a request waits for a free upstream connection", (*durationValue)(&c.MaxConnWait)},
		{"max-idle-conn", "idle upstream connections are closed after this", (*durationValue)(&c.MaxIdleConn)},
		{"dial-timeout", "upstream TCP connect plus TLS handshake", (*durationValue)(&c.DialTimeout)},
		{"upstream-read-timeout", "reading one upstream answer (the budget applies too)", (*durationValue)(&c.UpstreamReadTimeout)},
		{"upstream-write-timeout", "writing one upstream request (the budget applies too)", (*durationValue)(&c.UpstreamWriteTimeout)},
		{"max-response-body", "largest upstream answer (bytes, or with KiB/MiB)", (*sizeValue)(&c.MaxResponseBody)},
		{"api-key-file", "file holding the Forter API key, sent as Basic auth (else $" + EnvAPIKey + "; with neither, the client's Authorization is kept)", (*stringValue)(&c.APIKeyFile)},
		{"site-id", "sent as x-forter-siteid when set", (*stringValue)(&c.SiteID)},
		{"api-version", "api-version header added when the client sent none; empty adds nothing", (*stringValue)(&c.APIVersion)},
		{"rules", "business rule severities by rule id (orderguard spec rules lists them), e.g. web-token=warning,billing-details=off", (*rulesValue)(&c.Rules)},
		{"breaker-failures", "consecutive upstream failures that open the circuit; 0 disables the breaker", (*intValue)(&c.BreakerFailures)},
		{"breaker-cooldown", "how long the circuit stays open before one probe request", (*durationValue)(&c.BreakerCooldown)},
		{"check-responses", "check Forter's answers against the spec (counted as drift, never blocking)", (*boolValue)(&c.CheckResponses)},
		{"outbox", "bbolt file keeping open-fallback requests until Forter has them, or nats://host:4222[,nats://…] for a fleet's shared JetStream outbox; empty keeps nothing (logs instead)", (*stringValue)(&c.OutboxPath)},
		{"outbox-rate", "resends per second from the outbox, besides live traffic", (*floatValue)(&c.OutboxRate)},
		{"outbox-max-age", "outbox requests older than this are dead-lettered", (*durationValue)(&c.OutboxMaxAge)},
		{"outbox-stream", "JetStream stream of a nats:// outbox (its dead letters and decisions get _DEAD and _DELIVERED)", (*stringValue)(&c.OutboxStream)},
		{"outbox-replicas", "replicas of a nats:// outbox's streams (1 only for a single server: a warning at start)", (*intValue)(&c.OutboxReplicas)},
		{"outbox-nats-creds", "NATS .creds file for a nats:// outbox (else user/password or token from $ORDERGUARD_OUTBOX_NATS_USER, _PASSWORD, _TOKEN)", (*stringValue)(&c.OutboxNATSCreds)},
		{"outbox-nats-ca", "CA file for a nats:// outbox's TLS (tls:// URLs or servers that require TLS)", (*stringValue)(&c.OutboxNATSCA)},
		{"outbox-ack-wait", "nats:// outbox: how long a resend a dead pod held waits before another pod gets it (the fleet's consumer: give every pod the same value)", (*durationValue)(&c.OutboxAckWait)},
		{"outbox-enqueue-reserve", "nats:// outbox with --fallback open: the end of the budget kept for JetStream to acknowledge a fallback's request (the upstream call gets the rest; must be less than every budget); ignored for a bbolt file", (*durationValue)(&c.OutboxEnqueueReserve)},
		{"log-format", "json or text", (*stringValue)(&c.LogFormat)},
		{"log-level", "debug, info, warn or error", (*stringValue)(&c.LogLevel)},
		{"otlp-endpoint", "OTLP collector URL for traces (http://host:4318, or http://host:4317 with OTEL_EXPORTER_OTLP_PROTOCOL=grpc); wins over $OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, then $OTEL_EXPORTER_OTLP_ENDPOINT; none of the three: tracing off. Sampling: $OTEL_TRACES_SAMPLER/_ARG (default parentbased_always_on); resource: $OTEL_SERVICE_NAME, $OTEL_RESOURCE_ATTRIBUTES", (*stringValue)(&c.OTLPEndpoint)},
		{"insecure-listen", "serve a non-loopback --listen with no inbound authentication (otherwise refused)", (*boolValue)(&c.InsecureListen)},
		{"client-ca", "PEM file of CAs whose client certificates --listen requires (mTLS; needs --tls-cert and --tls-key)", (*stringValue)(&c.ClientCA)},
		{"tls-cert", "PEM certificate the proxy presents on --listen (TLS)", (*stringValue)(&c.TLSCert)},
		{"tls-key", "PEM private key of --tls-cert", (*stringValue)(&c.TLSKey)},
		{"inbound-secret-file", "file holding a shared secret every client must send in --inbound-secret-header (else $" + EnvInboundSecret + "; with neither, no check)", (*stringValue)(&c.InboundSecretFile)},
		{"inbound-secret-header", "header carrying the inbound shared secret; removed before forwarding", (*stringValue)(&c.InboundSecretHeader)},
		{"secret-reload-interval", "re-read the API key and inbound secret files this often (for mounted Kubernetes Secrets); 0 re-reads them on SIGHUP only", (*durationValue)(&c.SecretReloadInterval)},
		{"max-concurrent", "requests served at once; more are answered 503 at once", (*intValue)(&c.MaxConcurrent)},
		{"max-open-conns", "most client connections open at once, busy or idle; more are closed when accepted (0: the descriptor limit less a reserve and the upstream's share, logged at start)", (*intValue)(&c.MaxOpenConns)},
		{"max-conns-per-ip", "most open connections from one peer address (an IPv6 /64); more are closed when accepted (0: half of --max-open-conns)", (*intValue)(&c.MaxConnsPerIP)},
		{"read-timeout", "time to read one whole request, header and body; slower clients are cut off", (*durationValue)(&c.ReadTimeout)},
		{"write-timeout", "time to write one answer to the client", (*durationValue)(&c.WriteTimeout)},
		{"idle-timeout", "keep-alive client connections idle this long are closed", (*durationValue)(&c.IdleTimeout)},
		{"max-header-bytes", "largest request line plus header (bytes, or with KiB); larger gets 431", (*sizeValue)(&c.MaxHeaderBytes)},
		{"max-headers", "most request header fields; more get 431", (*intValue)(&c.MaxHeaders)},
		{"max-depth", "deepest nesting of JSON objects and arrays in a body, on every route and mode; deeper gets 400 (0: off; the validators refuse more than 64 on spec routes)", (*intValue)(&c.MaxDepth)},
		{"max-string", "longest JSON string in a body, in bytes as sent; longer gets 400 (0: off)", (*sizeValue)(&c.MaxString)},
		{"max-array", "most elements of one JSON array in a body; more get 400 (0: off)", (*intValue)(&c.MaxArray)},
		{"spec", "OpenAPI 3.0 document (with x-orderguard-rules) validated against in place of the embedded spec, compiled at start-up", (*stringValue)(&c.Spec)},
		{"overlay", "OpenAPI Overlay 1.0.0/1.1.0 file applied to the spec, repeatable, in order (examples/overlays/)", (*listValue)(&c.Overlays)},
		{"max-spec-bytes", "largest spec or overlay file (bytes, or with KiB/MiB)", (*sizeValue)(&c.MaxSpecBytes)},
		{"spec-reload-interval", "re-read --spec and --overlay files this often (mounted ConfigMaps); 0 reloads on SIGHUP and POST /spec/reload only", (*durationValue)(&c.SpecReloadInterval)},
		{"engine", "validators of the embedded spec: generated (Go code in gen/) or compiled (at start-up); --spec and --overlay always use compiled", (*stringValue)(&c.Engine)},
	}
}

// Load builds the configuration from, in increasing precedence: Defaults,
// the YAML file (--config or $ORDERGUARD_CONFIG), ORDERGUARD_* environment
// variables, and flags. lookupEnv nil means os.LookupEnv. It returns
// flag.ErrHelp for -h/--help (the caller prints Usage).
func Load(args []string, lookupEnv func(string) (string, bool)) (Config, error) {
	if lookupEnv == nil {
		lookupEnv = os.LookupEnv
	}
	// First pass: which flags are given, and where the config file is.
	var scratch Config
	configPath := ""
	fs := newFlagSet(&scratch, &configPath)
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if configPath == "" {
		configPath, _ = lookupEnv(EnvConfig)
	}

	cfg := Defaults()
	bound := settings(&cfg)
	// Where each rule id was set, for errors about it (an unknown rule in the
	// YAML file names the file, not --rules).
	cfg.RuleOrigins = map[string]string{}
	noteRules := noteRuleOrigins(&cfg)
	if configPath != "" {
		if err := applyFile(configPath, bound); err != nil {
			return Config{}, err
		}
		noteRules("config " + configPath)
	}
	for _, s := range bound {
		v, ok := lookupEnv(envName(s.name))
		if !ok || v == "" {
			continue
		}
		if err := s.value.Set(v); err != nil {
			return Config{}, fmt.Errorf("$%s: %w", envName(s.name), err)
		}
	}
	noteRules("$" + envName("rules"))
	// Flags last: parse again onto the layered configuration.
	fs = newFlagSet(&cfg, &configPath)
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	noteRules("--rules")
	return cfg, nil
}

// noteRuleOrigins returns a function that, called after each layer of Load,
// records that layer as the origin of every rule id it set or changed.
func noteRuleOrigins(c *Config) func(origin string) {
	seen := map[string]validate.Severity{}
	return func(origin string) {
		for id, sev := range c.Rules {
			if old, ok := seen[id]; !ok || old != sev {
				c.RuleOrigins[id] = origin
				seen[id] = sev
			}
		}
	}
}

func newFlagSet(c *Config, configPath *string) *flag.FlagSet {
	fs := flag.NewFlagSet("orderguard serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // Usage is printed by the caller, errors returned
	fs.StringVar(configPath, "config", "", "`path` of a YAML file of settings (keys are the flag names)")
	for _, s := range settings(c) {
		fs.Var(s.value, s.name, s.help)
	}
	return fs
}

// applyFile reads a YAML mapping whose keys are flag names. Scalars are set
// as a flag would be; a mapping (op-mode, op-budget, rules) becomes k=v pairs;
// a list sets each element in turn.
func applyFile(path string, bound []setting) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read config: %w", err)
	}
	var doc map[string]yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("config %s: %w", path, err)
	}
	keys := make([]string, 0, len(doc))
	for k := range doc {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		i := slices.IndexFunc(bound, func(s setting) bool { return s.name == key })
		if i < 0 {
			return fmt.Errorf("config %s: unknown setting %q (keys are flag names, e.g. listen, budget)", path, key)
		}
		node := doc[key]
		var vals []string
		switch node.Kind {
		case yaml.ScalarNode:
			vals = []string{node.Value}
		case yaml.MappingNode:
			pairs := make([]string, 0, len(node.Content)/2)
			for j := 0; j+1 < len(node.Content); j += 2 {
				pairs = append(pairs, node.Content[j].Value+"="+node.Content[j+1].Value)
			}
			vals = []string{strings.Join(pairs, ",")}
		case yaml.SequenceNode:
			for _, n := range node.Content {
				vals = append(vals, n.Value)
			}
			if _, ok := bound[i].value.(*routesValue); ok {
				vals = []string{strings.Join(vals, ",")} // one list, not each element replacing the last
			}
		default:
			return fmt.Errorf("config %s: %s: want a value, a mapping or a list", path, key)
		}
		for _, v := range vals {
			if err := bound[i].value.Set(v); err != nil {
				return fmt.Errorf("config %s: %s: %w", path, key, err)
			}
		}
	}
	return nil
}

// Flag values. Each prints the way it parses, so --help shows defaults as
// they would be typed.

type stringValue string

func (v *stringValue) String() string     { return string(*v) }
func (v *stringValue) Set(s string) error { *v = stringValue(s); return nil }

// listValue is a repeatable setting: each flag, list item or
// comma-separated entry adds one value.
type listValue []string

func (v *listValue) String() string { return strings.Join(*v, ",") }
func (v *listValue) Set(s string) error {
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			*v = append(*v, x)
		}
	}
	return nil
}

type intValue int

func (v *intValue) String() string { return strconv.Itoa(int(*v)) }
func (v *intValue) Set(s string) error {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("%q: want a whole number", s)
	}
	*v = intValue(n)
	return nil
}

type floatValue float64

func (v *floatValue) String() string { return strconv.FormatFloat(float64(*v), 'g', -1, 64) }
func (v *floatValue) Set(s string) error {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return fmt.Errorf("%q: want a number", s)
	}
	*v = floatValue(f)
	return nil
}

type boolValue bool

func (v *boolValue) String() string   { return strconv.FormatBool(bool(*v)) }
func (v *boolValue) IsBoolFlag() bool { return true }
func (v *boolValue) Set(s string) error {
	b, err := strconv.ParseBool(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("%q: want true or false", s)
	}
	*v = boolValue(b)
	return nil
}

type durationValue time.Duration

func (v *durationValue) String() string { return time.Duration(*v).String() }
func (v *durationValue) Set(s string) error {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("%q: want a duration such as 2s or 300ms", s)
	}
	*v = durationValue(d)
	return nil
}

type sizeValue int

func (v *sizeValue) String() string {
	n := int(*v)
	switch {
	case n > 0 && n%(1<<20) == 0:
		return strconv.Itoa(n>>20) + "MiB"
	case n > 0 && n%(1<<10) == 0:
		return strconv.Itoa(n>>10) + "KiB"
	}
	return strconv.Itoa(n)
}

func (v *sizeValue) Set(s string) error {
	t := strings.TrimSpace(s)
	mult := 1
	for _, u := range []struct {
		suffix string
		mult   int
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}} {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.Atoi(t)
	if err != nil || n < 0 || n > (1<<40)/mult {
		return fmt.Errorf("%q: want a size in bytes, or with KiB, MiB or GiB", s)
	}
	*v = sizeValue(n * mult)
	return nil
}

type modeValue Mode

func (v *modeValue) String() string { return Mode(*v).String() }
func (v *modeValue) Set(s string) error {
	m, err := ParseMode(s)
	*v = modeValue(m)
	return err
}

type fallbackValue Fallback

func (v *fallbackValue) String() string { return Fallback(*v).String() }
func (v *fallbackValue) Set(s string) error {
	f, err := ParseFallback(s)
	*v = fallbackValue(f)
	return err
}

type unknownValue bool

func (v *unknownValue) String() string {
	if *v {
		return "reject"
	}
	return "pass"
}

func (v *unknownValue) Set(s string) error {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "pass":
		*v = false
	case "reject":
		*v = true
	default:
		return fmt.Errorf("%q: want pass or reject", s)
	}
	return nil
}

// pairs splits "a=1,b=2" (spaces allowed) for the map-valued settings.
func pairs(s string, each func(k, v string) error) error {
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		k, v, ok := strings.Cut(p, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" {
			return fmt.Errorf("%q: want name=value", p)
		}
		if err := each(k, v); err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
	}
	return nil
}

func joinMap[V any](m map[string]V, str func(V) string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + str(m[k])
	}
	return strings.Join(parts, ",")
}

// routesValue is a comma-separated list of "METHOD /path" routes.
type routesValue []string

func (v *routesValue) String() string { return strings.Join(*v, ",") }
func (v *routesValue) Set(s string) error {
	var rs []string
	for _, r := range strings.Split(s, ",") {
		if r = strings.Join(strings.Fields(r), " "); r != "" {
			rs = append(rs, r)
		}
	}
	if _, err := compileAllowlist(rs); err != nil {
		return err
	}
	*v = rs
	return nil
}

type opModesValue map[string]Mode

func (v *opModesValue) String() string { return joinMap(*v, Mode.String) }
func (v *opModesValue) Set(s string) error {
	return pairs(s, func(k, val string) error {
		m, err := ParseMode(val)
		if err != nil {
			return err
		}
		if *v == nil {
			*v = map[string]Mode{}
		}
		(*v)[k] = m
		return nil
	})
}

type opBudgetsValue map[string]time.Duration

func (v *opBudgetsValue) String() string { return joinMap(*v, time.Duration.String) }
func (v *opBudgetsValue) Set(s string) error {
	return pairs(s, func(k, val string) error {
		d, err := time.ParseDuration(val)
		if err != nil {
			return errors.New("want a duration such as 1500ms")
		}
		if *v == nil {
			*v = map[string]time.Duration{}
		}
		(*v)[k] = d
		return nil
	})
}

type rulesValue map[string]validate.Severity

func (v *rulesValue) String() string { return joinMap(*v, validate.Severity.String) }
func (v *rulesValue) Set(s string) error {
	return pairs(s, func(k, val string) error {
		sev, err := validate.ParseSeverity(val)
		if err != nil {
			return err
		}
		if *v == nil {
			*v = map[string]validate.Severity{}
		}
		(*v)[k] = sev
		return nil
	})
}
