package main

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/orderguard/orderguard/gen"
	"github.com/orderguard/orderguard/internal/proxy"
	"github.com/orderguard/orderguard/internal/validate"
)

func envMap(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "orderguard.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadDefaults(t *testing.T) {
	cfg, err := loadServe(nil, envMap(nil))
	if err != nil {
		t.Fatal(err)
	}
	// The defaults, exactly.
	if cfg.Inbound.Addr != "127.0.0.1:8080" || cfg.Proxy.AdminListen != "127.0.0.1:9090" || cfg.Proxy.Mode != proxy.ModeEnforce ||
		cfg.Proxy.Budget != 2*time.Second || cfg.Proxy.Fallback != proxy.FallbackOpen || cfg.Pool.Upstream != "" ||
		cfg.Proxy.MaxBody != 1<<20 || cfg.Pool.WarmConns != 4 || cfg.Proxy.RetryMinRemaining != 300*time.Millisecond || cfg.Proxy.RejectUnknown {
		t.Fatalf("defaults = %+v", cfg)
	}
	if err := cfg.check(gen.Operations); err != nil {
		t.Fatalf("defaults do not pass Check: %v", err)
	}
}

func TestLoadPrecedence(t *testing.T) {
	file := writeFile(t, `
listen: 127.0.0.1:7000
admin-listen: 127.0.0.1:7001
budget: 1s
mode: report
max-body: 64KiB
op-mode:
  orderV2: off
rules:
  web-token: warning
  billing-details: off
`)
	env := map[string]string{
		"ORDERGUARD_CONFIG":       file,
		"ORDERGUARD_ADMIN_LISTEN": "127.0.0.1:8001",
		"ORDERGUARD_BUDGET":       "1500ms",
		"ORDERGUARD_RULES":        "web-token=error",
		"ORDERGUARD_FALLBACK":     "closed",
	}
	cfg, err := loadServe([]string{"--budget", "700ms", "--rules=paypal-fields=off", "--unknown-routes", "reject"}, envMap(env))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		what      string
		got, want any
	}{
		{"listen (file)", cfg.Inbound.Addr, "127.0.0.1:7000"},
		{"admin-listen (env over file)", cfg.Proxy.AdminListen, "127.0.0.1:8001"},
		{"budget (flag over env over file)", cfg.Proxy.Budget, 700 * time.Millisecond},
		{"mode (file)", cfg.Proxy.Mode, proxy.ModeReport},
		{"op-mode (file)", cfg.Proxy.OpModes["orderV2"], proxy.ModeOff},
		{"max-body (file, with unit)", cfg.Proxy.MaxBody, 64 << 10},
		{"fallback (env)", cfg.Proxy.Fallback, proxy.FallbackClosed},
		{"unknown-routes (flag)", cfg.Proxy.RejectUnknown, true},
		{"rule from file only", cfg.Proxy.Rules["billing-details"], validate.SeverityOff},
		{"rule: env over file", cfg.Proxy.Rules["web-token"], validate.SeverityError},
		{"rule: flag", cfg.Proxy.Rules["paypal-fields"], validate.SeverityOff},
		{"default kept", cfg.Pool.WarmConns, 4},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
		}
	}
	// --config on the command line wins over $ORDERGUARD_CONFIG.
	other := writeFile(t, "listen: 127.0.0.1:7777\n")
	cfg, err = loadServe([]string{"--config", other}, envMap(env))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Inbound.Addr != "127.0.0.1:7777" {
		t.Fatalf("--config ignored: listen %s", cfg.Inbound.Addr)
	}
}

func TestLoadErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		file string
		want string
	}{
		{"unknown flag", []string{"--nope"}, nil, "", "nope"},
		{"bad mode", []string{"--mode", "strict"}, nil, "", "enforce, report or off"},
		{"bad duration env", nil, map[string]string{"ORDERGUARD_BUDGET": "2"}, "", "ORDERGUARD_BUDGET"},
		{"bad size", []string{"--max-body", "1 parsec"}, nil, "", "size"},
		{"bad pair", []string{"--op-mode", "orderV2"}, nil, "", "name=value"},
		{"bad severity", []string{"--rules", "x=fatal"}, nil, "", "error, warning or off"},
		{"unknown key in file", nil, nil, "lisen: x\n", `unknown setting "lisen"`},
		{"bad value in file", nil, nil, "fallback: maybe\n", "fallback"},
		{"not YAML", nil, nil, "listen: [\n", "config"},
		{"missing file", []string{"--config", "/no/such/file.yaml"}, nil, "", "read config"},
		{"argument", []string{"extra"}, nil, "", "unexpected argument"},
		{"bad passthrough route", []string{"--passthrough-routes", "GET /v2/x,TRACE /v2/y"}, nil, "", `--passthrough-routes "TRACE /v2/y"`},
		{"passthrough route without a method", nil, nil, "passthrough-routes: [/v2/x]\n", "want METHOD /path"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := tc.args
			if tc.file != "" {
				args = append([]string{"--config", writeFile(t, tc.file)}, args...)
			}
			_, err := loadServe(args, envMap(tc.env))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want it to mention %q", err, tc.want)
			}
		})
	}
	if _, err := loadServe([]string{"--help"}, envMap(nil)); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("--help: %v, want flag.ErrHelp", err)
	}
}

// --passthrough-routes: a comma list on the command line, a YAML list in
// the file (every element kept), the flag replacing the file's list.
func TestLoadPassthroughRoutes(t *testing.T) {
	file := writeFile(t, "passthrough-routes:\n  - GET /v2/a/{id}\n  - POST  /v2/b\n")
	cfg, err := loadServe([]string{"--config", file}, envMap(nil))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(cfg.Proxy.PassthroughRoutes, "|"); got != "GET /v2/a/{id}|POST /v2/b" {
		t.Fatalf("from the file: %q", got)
	}
	cfg, err = loadServe([]string{"--config", file, "--passthrough-routes", "GET /v2/c, PUT /v2/d"}, envMap(nil))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(cfg.Proxy.PassthroughRoutes, "|"); got != "GET /v2/c|PUT /v2/d" {
		t.Fatalf("flag over file: %q", got)
	}
}

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name string
		mut  func(*serveConfig)
		want string
	}{
		{"zero budget", func(c *serveConfig) { c.Proxy.Budget = 0 }, "--budget"},
		{"unknown op", func(c *serveConfig) { c.Proxy.OpModes = map[string]proxy.Mode{"orderV9": proxy.ModeOff} }, `unknown operation "orderV9"`},
		{"warm above max", func(c *serveConfig) { c.Pool.WarmConns = 10; c.Pool.MaxConns = 5 }, "--max-conns"},
		{"log format", func(c *serveConfig) { c.Log.Format = "xml" }, "--log-format"},
		{"negative connection cap", func(c *serveConfig) { c.Inbound.Conns.MaxPerIP = -1 }, "--max-conns-per-ip -1"},
		{"bad passthrough route", func(c *serveConfig) { c.Proxy.PassthroughRoutes = []string{"CONNECT /x"} }, "--passthrough-routes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := defaultServeConfig()
			tc.mut(&c)
			if err := c.check(gen.Operations); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Check = %v, want %q", err, tc.want)
			}
		})
	}
}

// TestUsage: every setting is in --help with its default and its variable,
// and the API key's value never could be (it has no flag).
func TestUsage(t *testing.T) {
	var b bytes.Buffer
	serveUsage(&b)
	out := b.String()
	for _, want := range []string{
		"--listen string\n", "(default 127.0.0.1:8080) [$ORDERGUARD_LISTEN]",
		"(default 127.0.0.1:9090) [$ORDERGUARD_ADMIN_LISTEN]",
		"(default enforce) [$ORDERGUARD_MODE]", "(default 2s) [$ORDERGUARD_BUDGET]",
		"(default open) [$ORDERGUARD_FALLBACK]", "(default 1MiB) [$ORDERGUARD_MAX_BODY]",
		"(default 4) [$ORDERGUARD_WARM_CONNS]", "(default 300ms) [$ORDERGUARD_RETRY_MIN_REMAINING]",
		"(default pass) [$ORDERGUARD_UNKNOWN_ROUTES]", `(default "") [$ORDERGUARD_UPSTREAM]`,
		"$ORDERGUARD_API_KEY", "--config path\n", "--budget duration\n", "--max-body size\n", "--admin-pprof\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("--help lacks %q", want)
		}
	}
	if strings.Contains(out, "--api-key ") {
		t.Error("--help offers the API key as a flag")
	}
}
