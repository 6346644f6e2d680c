package proxy

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/orderguard/orderguard/internal/settings"
	"github.com/orderguard/orderguard/internal/validate"
)

// Settings binds the proxy's settings of orderguard serve to c's fields, in
// --help order. A new setting is one line here, a field of Config, its
// default in Defaults and its test in Check.
func (c *Config) Settings() []settings.Setting {
	return []settings.Setting{
		{Name: "admin-listen", Help: "address of /healthz, /readyz and /metrics; empty turns the admin listener off", Value: settings.String(&c.AdminListen)},
		{Name: "admin-pprof", Help: "serve Go's /debug/pprof/ CPU, heap and goroutine profiles on the admin listener (they show code paths, never request bodies)", Value: settings.Bool(&c.AdminPprof)},
		{Name: "mode", Help: "enforce (400 without calling Forter), report (forward, count, header) or off", Value: (*modeValue)(&c.Mode)},
		{Name: "op-mode", Help: "per-operation modes, e.g. orderV2=report,statusPut=off", Value: (*opModesValue)(&c.OpModes)},
		{Name: "budget", Help: "deadline of each request, counted from its arrival", Value: settings.Duration(&c.Budget)},
		{Name: "op-budget", Help: "per-operation budgets, e.g. orderV3=1500ms", Value: (*opBudgetsValue)(&c.OpBudgets)},
		{Name: "retry-min-remaining", Help: "retry once (connection error, timeout before an answer, 500/502/503/504) only with this much budget left", Value: settings.Duration(&c.RetryMinRemaining)},
		{Name: "fallback", Help: "when Forter does not answer in budget: open (200 \"not reviewed\", queued for resend) or closed (504/502)", Value: (*fallbackValue)(&c.Fallback)},
		{Name: "outbox-enqueue-reserve", Help: "nats:// outbox with --fallback open: the end of the budget kept for JetStream to acknowledge a fallback's request (the upstream call gets the rest; must be less than every budget); ignored for a bbolt file", Value: settings.Duration(&c.OutboxEnqueueReserve)},
		{Name: "unknown-routes", Help: "other paths: pass (forwarded unchecked, without the API key) or reject (404)", Value: (*unknownValue)(&c.RejectUnknown)},
		{Name: "passthrough-routes", Help: "routes outside the spec forwarded with the API key, e.g. 'GET /v2/orders/{id}/history,POST /v2/x'; other paths keep the client's own Authorization", Value: (*routesValue)(&c.PassthroughRoutes)},
		{Name: "max-body", Help: "largest request body (bytes, or with KiB/MiB); larger gets 413", Value: settings.Size(&c.MaxBody)},
		{Name: "site-id", Help: "sent as x-forter-siteid when set", Value: settings.String(&c.SiteID)},
		{Name: "api-version", Help: "api-version header added when the client sent none; empty adds nothing", Value: settings.String(&c.APIVersion)},
		{Name: "rules", Help: "business rule severities by rule id (orderguard spec rules lists them), e.g. web-token=warning,billing-details=off", Value: (*rulesValue)(&c.Rules)},
		{Name: "breaker-failures", Help: "consecutive upstream failures that open the circuit; 0 disables the breaker", Value: settings.Int(&c.BreakerFailures)},
		{Name: "breaker-cooldown", Help: "how long the circuit stays open before one probe request", Value: settings.Duration(&c.BreakerCooldown)},
		{Name: "check-responses", Help: "check Forter's answers against the spec (counted as drift, never blocking)", Value: settings.Bool(&c.CheckResponses)},
		{Name: "max-depth", Help: "deepest nesting of JSON objects and arrays in a body, on every route and mode; deeper gets 400 (0: off; the validators refuse more than 64 on spec routes)", Value: settings.Int(&c.MaxDepth)},
		{Name: "max-string", Help: "longest JSON string in a body, in bytes as sent; longer gets 400 (0: off)", Value: settings.Size(&c.MaxString)},
		{Name: "max-array", Help: "most elements of one JSON array in a body; more get 400 (0: off)", Value: settings.Int(&c.MaxArray)},
	}
}

// NoteRuleOrigins returns the function settings.Load calls after each
// layer: it records that layer as the origin of every rule id the layer set
// or changed (an unknown rule in the YAML file is then reported with the
// file's name, not --rules).
func (c *Config) NoteRuleOrigins() func(settings.Origin) {
	c.RuleOrigins = map[string]string{}
	seen := map[string]validate.Severity{}
	return func(o settings.Origin) {
		for id, sev := range c.Rules {
			if old, ok := seen[id]; !ok || old != sev {
				c.RuleOrigins[id] = o.Of("rules")
				seen[id] = sev
			}
		}
	}
}

// The values of the proxy's own types. Each prints the way it parses and
// names its type for --help (cli.Typed).

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

func (v *opModesValue) String() string { return settings.JoinMap(*v, Mode.String) }
func (v *opModesValue) Set(s string) error {
	return settings.Pairs(s, func(k, val string) error {
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

func (v *opBudgetsValue) String() string { return settings.JoinMap(*v, time.Duration.String) }
func (v *opBudgetsValue) Set(s string) error {
	return settings.Pairs(s, func(k, val string) error {
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

func (v *rulesValue) String() string { return settings.JoinMap(*v, validate.Severity.String) }
func (v *rulesValue) Set(s string) error {
	return settings.Pairs(s, func(k, val string) error {
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

// OneList: a YAML list of routes is one value, not each element replacing
// the last.
func (*routesValue) OneList() {}

func (*modeValue) Type() string      { return "enforce|report|off" }
func (*fallbackValue) Type() string  { return "open|closed" }
func (*unknownValue) Type() string   { return "pass|reject" }
func (*opModesValue) Type() string   { return "op=mode,…" }
func (*opBudgetsValue) Type() string { return "op=duration,…" }
func (*rulesValue) Type() string     { return "rule=severity,…" }
