package proxy

import (
	"errors"
	"fmt"
	"strings"
	"time"

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

// Config is the proxy's settings of orderguard serve: how it decides,
// forwards within the budget and falls back, and its admin listener.
// Settings binds them (load.go); the comment of each field names its flag.
// The listener, the pool, the outbox, the secrets and the spec own theirs
// (inbound.Config, pool.Config, outbox.Config, secret.Config,
// compiled.Config); cmd/proxy gathers them all.
type Config struct {
	AdminListen string // --admin-listen: /healthz, /readyz, /metrics (empty: none)
	AdminPprof  bool   // --admin-pprof: Go's /debug/pprof/ profiles on the admin listener

	Mode    Mode            // --mode
	OpModes map[string]Mode // --op-mode orderV2=report,…: per operationId

	Budget            time.Duration            // --budget: one deadline per request, from arrival
	OpBudgets         map[string]time.Duration // --op-budget orderV3=1500ms,…
	RetryMinRemaining time.Duration            // --retry-min-remaining: retry only with this much budget left
	Fallback          Fallback                 // --fallback
	RejectUnknown     bool                     // --unknown-routes reject (default pass)
	PassthroughRoutes []string                 // --passthrough-routes 'GET /v2/x/{id}',…: outside the spec, forwarded with the API key
	MaxBody           int                      // --max-body: bytes; larger bodies get 413
	// --outbox-enqueue-reserve: with the JetStream outbox, the upstream call
	// ends this long before the budget so that the publish and its ack fit
	// in what is left (outbox.DeadlineEnqueuer); bbolt ignores it.
	OutboxEnqueueReserve time.Duration

	SiteID     string // --site-id: injected as x-forter-siteid
	APIVersion string // --api-version: api-version header when the client sent none

	Rules map[string]validate.Severity // --rules RULE=warning,…: business rule severities
	// RuleOrigins says where Load found each rule id of Rules: "--rules",
	// "$ORDERGUARD_RULES" or "config FILE" (NoteRuleOrigins).
	RuleOrigins map[string]string

	BreakerFailures int           // --breaker-failures: consecutive upstream failures that open the circuit
	BreakerCooldown time.Duration // --breaker-cooldown: open time before one probe request

	CheckResponses bool // --check-responses: check answers against the spec (drift metric only)

	MaxDepth  int // --max-depth: JSON nesting; deeper bodies get 400 (0: off)
	MaxString int // --max-string: bytes of one JSON string; longer get 400 (0: off)
	MaxArray  int // --max-array: elements of one JSON array; more get 400 (0: off)
}

// Defaults returns the proxy's configuration with no settings given.
func Defaults() Config {
	return Config{
		AdminListen:          "127.0.0.1:9090",
		Mode:                 ModeEnforce,
		Budget:               2 * time.Second,
		RetryMinRemaining:    300 * time.Millisecond,
		Fallback:             FallbackOpen,
		MaxBody:              1 << 20,
		OutboxEnqueueReserve: 250 * time.Millisecond,
		BreakerFailures:      5,
		BreakerCooldown:      5 * time.Second,
		CheckResponses:       true,
	}
}

// Check reports every setting that cannot work, naming its flag.
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
	if c.OutboxEnqueueReserve < 0 {
		errs = append(errs, fmt.Errorf("--outbox-enqueue-reserve %s: want 0 or more", c.OutboxEnqueueReserve))
	}
	if c.BreakerFailures < 0 {
		errs = append(errs, fmt.Errorf("--breaker-failures %d: want 0 (off) or more", c.BreakerFailures))
	}
	if c.BreakerCooldown <= 0 {
		errs = append(errs, fmt.Errorf("--breaker-cooldown %s: want more than 0", c.BreakerCooldown))
	}
	for _, n := range []struct {
		flag string
		v    int
	}{{"--max-depth", c.MaxDepth}, {"--max-string", c.MaxString}, {"--max-array", c.MaxArray}} {
		if n.v < 0 {
			errs = append(errs, fmt.Errorf("%s %d: want 0 (off) or more", n.flag, n.v))
		}
	}
	if _, err := compileAllowlist(c.PassthroughRoutes); err != nil {
		errs = append(errs, err)
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
