package proxy_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/orderguard/orderguard/gen"
	"github.com/orderguard/orderguard/internal/pool"
	"github.com/orderguard/orderguard/internal/pool/pooltest"
	"github.com/orderguard/orderguard/internal/proxy"
	"github.com/orderguard/orderguard/internal/sandbox"
	"github.com/orderguard/orderguard/internal/secret"
	"github.com/orderguard/orderguard/internal/validate"
)

type corpusFile struct {
	name, method, pathFmt, endpoint string
	body                            string
	errors, total                   int
}

// corpus reads testdata/corpus and works out, with the generated
// validators, what each body should get.
func corpus(t *testing.T) []corpusFile {
	t.Helper()
	paths, err := filepath.Glob("testdata/corpus/*.json")
	if err != nil || len(paths) == 0 {
		t.Fatalf("corpus: %v (%d files)", err, len(paths))
	}
	var out []corpusFile
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		f := corpusFile{name: filepath.Base(p), body: string(b)}
		opID := "orderV2"
		f.method, f.pathFmt, f.endpoint = "POST", "/v2/orders/%s", sandbox.EndpointOrderV2
		if strings.HasPrefix(f.name, "status-") {
			opID = "statusPut"
			f.method, f.pathFmt, f.endpoint = "PUT", "/v2/status/%s", sandbox.EndpointStatusPut
		}
		op, ok := gen.OperationByID(opID)
		if !ok {
			t.Fatalf("no operation %s", opID)
		}
		var r validate.Report
		op.Request(b, &r)
		f.errors, f.total = r.Errors(), len(r.Violations)
		out = append(out, f)
	}
	return out
}

type forterError struct {
	Status      any    `json:"status"` // "failed", or 400 in problem details
	Message     string `json:"message"`
	ErrorsCount int    `json:"errorsCount"`
	Errors      []struct {
		Message string `json:"message"`
		Path    string `json:"path"`
		Rule    string `json:"rule"`
		Kind    string `json:"kind"`
		Line    int    `json:"line"`
		Column  int    `json:"column"`
	} `json:"errors"`
	// problem+json
	Type   string `json:"type"`
	Title  string `json:"title"`
	Detail string `json:"detail"`
}

func TestCorpusModes(t *testing.T) {
	files := corpus(t)
	sawInvalid, sawValid := false, false
	for _, f := range files {
		sawInvalid = sawInvalid || f.errors > 0
		sawValid = sawValid || f.errors == 0
	}
	if !sawInvalid || !sawValid {
		t.Fatalf("corpus needs valid and invalid bodies (valid %v, invalid %v)", sawValid, sawInvalid)
	}
	sb := startSandbox(t, sandbox.Config{}, false)
	for _, mode := range []proxy.Mode{proxy.ModeEnforce, proxy.ModeReport, proxy.ModeOff} {
		t.Run(mode.String(), func(t *testing.T) {
			e := startProxy(t, envOpts{upstream: sb.URL, apiKey: "k", mut: func(c *proxy.Config) { c.Mode = mode }})
			for i, f := range files {
				t.Run(f.name, func(t *testing.T) {
					id := mode.String() + "-" + strconv.Itoa(i)
					a := e.do(f.method, fmt.Sprintf(f.pathFmt, id), f.body)
					received := sb.Received().Order(f.endpoint, id).Received
					switch {
					case mode == proxy.ModeEnforce && f.errors > 0:
						if a.status != 400 || received != 0 {
							t.Fatalf("enforce, %d errors: status %d, upstream received %d; want 400 and 0", f.errors, a.status, received)
						}
						var fe forterError
						if err := json.Unmarshal([]byte(a.body), &fe); err != nil {
							t.Fatalf("rejection is not JSON: %v: %s", err, a.body)
						}
						if fe.Status != "failed" || fe.Message != "Malformed request" || fe.ErrorsCount != f.errors || len(fe.Errors) != f.errors {
							t.Fatalf("rejection = %+v, want failed/Malformed request with %d errors", fe, f.errors)
						}
						for _, v := range fe.Errors {
							if !strings.HasPrefix(v.Path, "#/") && v.Path != "#" || v.Rule == "" || v.Kind == "" || v.Line < 1 || v.Column < 1 || v.Message == "" {
								t.Errorf("error entry incomplete: %+v", v)
							}
						}
						if got := a.header.Get(proxy.HeaderViolations); got != strconv.Itoa(f.total) {
							t.Errorf("%s = %q, want %d", proxy.HeaderViolations, got, f.total)
						}
					default:
						if received != 1 {
							t.Fatalf("upstream received %d requests for %s, want 1 (status %d: %s)", received, id, a.status, a.body)
						}
						if f.errors == 0 && a.status != 200 {
							t.Fatalf("a body the spec accepts got %d from the sandbox: %s", a.status, a.body)
						}
						got := a.header.Get(proxy.HeaderViolations)
						want := ""
						if mode == proxy.ModeReport {
							want = strconv.Itoa(f.total)
						} else if mode == proxy.ModeEnforce && f.total > 0 {
							want = strconv.Itoa(f.total) // warnings only: forwarded with the count
						}
						if got != want {
							t.Errorf("%s = %q, want %q", proxy.HeaderViolations, got, want)
						}
						if a.header.Get(proxy.HeaderFallback) != "" {
							t.Errorf("unexpected fallback: %v", a.header)
						}
					}
				})
			}
			if mode == proxy.ModeReport {
				// One log line per body with violations: rule ids and pointers.
				if !strings.Contains(e.logs.String(), `"msg":"request forwarded with violations"`) {
					t.Errorf("report mode logged no violation line:\n%s", e.logs.String())
				}
				if n := metric(t, e.p.Registry(), "orderguard_violations_total", "rule", "required"); n < 1 {
					t.Errorf("orderguard_violations_total{rule=required} = %v, want >= 1", n)
				}
			}
		})
	}
}

const invalidOrder = `{"orderId":"x","orderType":"NOT_A_TYPE","timeSentToForter":"soon"}`

func TestProblemJSON(t *testing.T) {
	sb := startSandbox(t, sandbox.Config{}, false)
	e := startProxy(t, envOpts{upstream: sb.URL, apiKey: "k"})
	for _, tc := range []struct {
		accept, wantType string
		problem          bool
	}{
		{"", "application/json", false},
		{"application/json", "application/json", false},
		{"application/problem+json", "application/problem+json", true},
		{"application/json, application/problem+json;q=0.9", "application/problem+json", true},
	} {
		t.Run(tc.accept, func(t *testing.T) {
			a := e.do("POST", "/v2/orders/p1", invalidOrder, "Accept", tc.accept)
			if a.status != 400 || a.header.Get("Content-Type") != tc.wantType {
				t.Fatalf("status %d, content type %q; want 400, %q", a.status, a.header.Get("Content-Type"), tc.wantType)
			}
			var fe forterError
			if err := json.Unmarshal([]byte(a.body), &fe); err != nil {
				t.Fatalf("not JSON: %v: %s", err, a.body)
			}
			if fe.ErrorsCount == 0 || len(fe.Errors) != fe.ErrorsCount {
				t.Fatalf("errors %d, errorsCount %d", len(fe.Errors), fe.ErrorsCount)
			}
			if tc.problem {
				var raw map[string]any
				_ = json.Unmarshal([]byte(a.body), &raw)
				if fe.Type != proxy.ProblemType || fe.Title == "" || raw["status"] != float64(400) || raw["instance"] != "/v2/orders/p1" {
					t.Fatalf("problem details incomplete: %s", a.body)
				}
			} else if fe.Status != "failed" || fe.Message != "Malformed request" {
				t.Fatalf("Forter shape wrong: %s", a.body)
			}
			if strings.Contains(a.body, "NOT_A_TYPE") || strings.Contains(a.body, "soon") {
				t.Fatalf("rejection echoes submitted values: %s", a.body)
			}
		})
	}
	if n := sb.Received().Order(sandbox.EndpointOrderV2, "p1").Received; n != 0 {
		t.Fatalf("upstream received %d rejected requests", n)
	}
}

// A corpus body that breaks business rules only (Forter accepted it) is
// forwarded with the defaults, the warnings counted; the same rules raised to
// error with --rules refuse it.
func TestRuleSeverityWarningDoesNotBlock(t *testing.T) {
	files := corpus(t)
	op, _ := gen.OperationByID("orderV2")
	for _, f := range files {
		if !strings.HasPrefix(f.name, "order-") {
			continue
		}
		var r validate.Report
		op.Request([]byte(f.body), &r)
		rules := map[string]validate.Severity{}
		onlyRules := len(r.Violations) > 0
		for _, v := range r.Violations {
			if v.Kind != validate.KindRule {
				onlyRules = false
			}
			rules[v.Rule] = validate.SeverityError
		}
		if !onlyRules {
			continue
		}
		sb := startSandbox(t, sandbox.Config{}, false)
		e := startProxy(t, envOpts{upstream: sb.URL, apiKey: "k"})
		a := e.do("POST", "/v2/orders/w1", f.body)
		if sb.Received().Order(sandbox.EndpointOrderV2, "w1").Received != 1 || a.status != 200 {
			t.Fatalf("%s with the default severities: status %d %s, not forwarded", f.name, a.status, a.body)
		}
		if a.header.Get(proxy.HeaderViolations) == "" {
			t.Fatalf("warnings not counted in %s", proxy.HeaderViolations)
		}
		strict := startProxy(t, envOpts{upstream: sb.URL, apiKey: "k", mut: func(c *proxy.Config) { c.Rules = rules }})
		if a := strict.do("POST", "/v2/orders/w2", f.body); a.status != 400 || sb.Received().Order(sandbox.EndpointOrderV2, "w2").Received != 0 {
			t.Fatalf("%s with rules %v as errors: status %d, want 400 and nothing forwarded", f.name, rules, a.status)
		}
		return
	}
	t.Fatal("no corpus body fails business rules only")
}

// sandboxFault is a header asking the sandbox for one fault.
const sandboxFault = sandbox.FaultHeader

func validOrder(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile("testdata/corpus/order-workarea_01_get-decision_approve.json")
	if err != nil {
		t.Fatal(err)
	}
	op, _ := gen.OperationByID("orderV2")
	var r validate.Report
	op.Request(b, &r)
	if !r.Valid() {
		t.Fatalf("the valid order has errors: %+v", r.Violations)
	}
	return string(b)
}

func TestBudgetHangFallsBackOpen(t *testing.T) {
	sb := startSandbox(t, sandbox.Config{}, false)
	e := startProxy(t, envOpts{upstream: sb.URL, apiKey: "k", mut: func(c *proxy.Config) { c.Budget = 200 * time.Millisecond }})
	body := validOrder(t)
	start := time.Now()
	a := e.do("POST", "/v2/orders/hang1?x=1", body, sandboxFault, "hang", "api-version", "2.3", "x-forter-siteid", "site1")
	took := time.Since(start)
	if a.status != 200 || a.header.Get(proxy.HeaderFallback) != "timeout" {
		t.Fatalf("hang: status %d, fallback %q: %s", a.status, a.header.Get(proxy.HeaderFallback), a.body)
	}
	if took > 1500*time.Millisecond {
		t.Fatalf("hang answered after %s with a 200ms budget", took)
	}
	var v2 map[string]any
	if err := json.Unmarshal([]byte(a.body), &v2); err != nil {
		t.Fatal(err)
	}
	if v2["status"] != "success" || v2["action"] != "not reviewed" || v2["transaction"] != "hang1" || v2["reasonCode"] != proxy.ReasonCodeFallback {
		t.Fatalf("fallback body = %s", a.body)
	}
	// The sandbox saw the attempt (and hung it), exactly once: a timeout
	// that used the whole budget leaves nothing to retry with.
	c := sb.Received().Order(sandbox.EndpointOrderV2, "hang1")
	if c.Received != 1 || c.Status[sandbox.StatusHang] != 1 {
		t.Fatalf("sandbox counts = %+v, want one hung request", c)
	}
	got := e.outbox.got()
	if len(got) != 1 {
		t.Fatalf("outbox got %d requests, want 1", len(got))
	}
	r := got[0]
	if r.Operation != "orderV2" || r.OrderID != "hang1" || r.Method != "POST" || r.Path != "/v2/orders/hang1?x=1" || string(r.Body) != body {
		t.Fatalf("outbox request = %s %s %s %s (%d bytes)", r.Operation, r.OrderID, r.Method, r.Path, len(r.Body))
	}
	if r.Header["api-version"] != "2.3" || r.Header["x-forter-siteid"] != "site1" || r.Header["authorization"] != "" {
		t.Fatalf("outbox headers = %v", r.Header)
	}
	if n := metric(t, e.p.Registry(), "orderguard_fallbacks_total", "operation", "orderV2", "reason", "timeout"); n != 1 {
		t.Fatalf("fallbacks metric = %v", n)
	}
}

func TestFallbackShapes(t *testing.T) {
	sb := startSandbox(t, sandbox.Config{}, false)
	e := startProxy(t, envOpts{upstream: sb.URL, apiKey: "k", mut: func(c *proxy.Config) {
		c.Budget = 150 * time.Millisecond
		c.Mode = proxy.ModeOff // the shapes, not the bodies, are under test
		c.BreakerFailures = 0  // six timeouts in a row must not open the circuit
	}})
	for _, tc := range []struct {
		method, path, op string
		status           int
	}{
		{"POST", "/v2/orders/f1", "orderV2", 200},
		{"POST", "/v3/orders/f2", "orderV3", 200},
		{"POST", "/v2/status/f3", "statusPost", 202},
		{"PUT", "/v2/status/f4", "statusPut", 202},
		{"POST", "/v2/accounts/profile-access/f5", "accountProfileAccess", 200},
		{"POST", "/v2/claims", "claim", 202},
	} {
		t.Run(tc.op, func(t *testing.T) {
			a := e.do(tc.method, tc.path, `{}`, sandboxFault, "hang")
			if a.status != tc.status || a.header.Get(proxy.HeaderFallback) != "timeout" {
				t.Fatalf("status %d fallback %q: %s", a.status, a.header.Get(proxy.HeaderFallback), a.body)
			}
			op, _ := gen.OperationByID(tc.op)
			var r validate.Report
			op.Response([]byte(a.body), &r)
			if !r.Valid() {
				t.Fatalf("fallback body %s breaks the %s response schema: %+v", a.body, tc.op, r.Violations)
			}
			if tc.op == "orderV3" && !strings.Contains(a.body, `"forterDecision":"NOT_REVIEWED"`) {
				t.Fatalf("v3 fallback = %s", a.body)
			}
		})
	}
}

func TestFallbackClosed(t *testing.T) {
	sb := startSandbox(t, sandbox.Config{}, false)
	e := startProxy(t, envOpts{upstream: sb.URL, apiKey: "k", mut: func(c *proxy.Config) {
		c.Budget = 200 * time.Millisecond
		c.Fallback = proxy.FallbackClosed
	}})
	body := validOrder(t)
	a := e.do("POST", "/v2/orders/c1", body, sandboxFault, "hang")
	if a.status != 504 || a.header.Get(proxy.HeaderFallback) != "timeout" || !strings.Contains(a.body, `"status":"failed"`) {
		t.Fatalf("closed timeout: %d %v %s", a.status, a.header, a.body)
	}
	a = e.do("POST", "/v2/orders/c2", body, sandboxFault, "500")
	if a.status != 502 || a.header.Get(proxy.HeaderFallback) != "upstream-error" {
		t.Fatalf("closed 500: %d %v %s", a.status, a.header, a.body)
	}
	if n := len(e.outbox.got()); n != 0 {
		t.Fatalf("closed fallback handed %d requests to the outbox", n)
	}
}

func TestOutboxFailureAnswersClosed(t *testing.T) {
	sb := startSandbox(t, sandbox.Config{}, false)
	e := startProxy(t, envOpts{upstream: sb.URL, apiKey: "k", mut: func(c *proxy.Config) { c.Budget = 200 * time.Millisecond }})
	e.outbox.err = &os.PathError{Op: "write", Path: "outbox.db", Err: syscall.ENOSPC}
	a := e.do("POST", "/v2/orders/o1", validOrder(t), sandboxFault, "hang")
	if a.status != 504 || a.header.Get(proxy.HeaderFallback) != "timeout" {
		t.Fatalf("outbox down: %d %s; want 504 (no promise of a resend)", a.status, a.body)
	}
	if n := metric(t, e.p.Registry(), "orderguard_outbox_enqueue_errors_total", "cause", "no_space"); n != 1 {
		t.Fatalf("enqueue errors{cause=no_space} = %v, want 1", n)
	}
}

// failOnce answers 503 (or status) to the first request of each order id
// and hands the rest to the sandbox: a flaky Forter.
type failOnce struct {
	mu     sync.Mutex
	seen   map[string]int
	status int
	sb     fasthttp.RequestHandler
}

func (f *failOnce) handle(ctx *fasthttp.RequestCtx) {
	f.mu.Lock()
	n := f.seen[string(ctx.Path())]
	f.seen[string(ctx.Path())] = n + 1
	f.mu.Unlock()
	if n == 0 && ctx.IsPost() {
		ctx.SetStatusCode(f.status)
		ctx.SetBodyString(`{"status":"failed","message":"unavailable"}`)
		return
	}
	f.sb(ctx)
}

func (f *failOnce) count(path string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.seen[path]
}

func TestRetryAfter503Succeeds(t *testing.T) {
	sb, err := sandbox.New(sandbox.Config{})
	if err != nil {
		t.Fatal(err)
	}
	flaky := &failOnce{seen: map[string]int{}, status: 503, sb: sb.Handler()}
	up := pooltest.Start(t, flaky.handle, false)
	e := startProxy(t, envOpts{upstream: up.URL, apiKey: "k"})
	a := e.do("POST", "/v2/orders/r1", validOrder(t))
	if a.status != 200 || a.header.Get(proxy.HeaderFallback) != "" || !strings.Contains(a.body, `"transaction":"r1"`) {
		t.Fatalf("after one 503: %d %v %s", a.status, a.header, a.body)
	}
	if n := flaky.count("/v2/orders/r1"); n != 2 {
		t.Fatalf("upstream saw %d attempts, want 2", n)
	}
	if n := metric(t, e.p.Registry(), "orderguard_upstream_retries_total", "operation", "orderV2"); n != 1 {
		t.Fatalf("retries metric = %v", n)
	}
}

func TestNoRetryWithoutBudget(t *testing.T) {
	sb, err := sandbox.New(sandbox.Config{})
	if err != nil {
		t.Fatal(err)
	}
	flaky := &failOnce{seen: map[string]int{}, status: 503, sb: sb.Handler()}
	up := pooltest.Start(t, flaky.handle, false)
	// 250ms budget, 300ms must remain: the 503 cannot be retried.
	e := startProxy(t, envOpts{upstream: up.URL, apiKey: "k", mut: func(c *proxy.Config) { c.Budget = 250 * time.Millisecond }})
	a := e.do("POST", "/v2/orders/r2", validOrder(t))
	if a.status != 200 || a.header.Get(proxy.HeaderFallback) != "upstream-error" {
		t.Fatalf("503 without budget to retry: %d %v %s", a.status, a.header, a.body)
	}
	if n := flaky.count("/v2/orders/r2"); n != 1 {
		t.Fatalf("upstream saw %d attempts, want 1", n)
	}
}

func TestClientErrorsNotRetried(t *testing.T) {
	for _, status := range []int{400, 429} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			sb, err := sandbox.New(sandbox.Config{})
			if err != nil {
				t.Fatal(err)
			}
			flaky := &failOnce{seen: map[string]int{}, status: status, sb: sb.Handler()}
			up := pooltest.Start(t, flaky.handle, false)
			e := startProxy(t, envOpts{upstream: up.URL, apiKey: "k"})
			a := e.do("POST", "/v2/orders/n1", validOrder(t))
			if a.status != status || a.body != `{"status":"failed","message":"unavailable"}` || a.header.Get(proxy.HeaderFallback) != "" {
				t.Fatalf("%d from upstream: client got %d %s", status, a.status, a.body)
			}
			if n := flaky.count("/v2/orders/n1"); n != 1 {
				t.Fatalf("upstream saw %d attempts, want 1", n)
			}
		})
	}
	// And the sandbox's own 400 for a body only the proxy was told not to check.
	sb := startSandbox(t, sandbox.Config{}, false)
	e := startProxy(t, envOpts{upstream: sb.URL, apiKey: "k", mut: func(c *proxy.Config) { c.Mode = proxy.ModeOff }})
	a := e.do("POST", "/v2/orders/n2", invalidOrder)
	if a.status != 400 || sb.Received().Order(sandbox.EndpointOrderV2, "n2").Received != 1 {
		t.Fatalf("sandbox 400: client got %d, sandbox received %d", a.status, sb.Received().Order(sandbox.EndpointOrderV2, "n2").Received)
	}
}

func TestAuthAndHeaders(t *testing.T) {
	var mu sync.Mutex
	var seen http.Header
	up := pooltest.Start(t, func(ctx *fasthttp.RequestCtx) {
		if ctx.IsGet() {
			return // warm-up
		}
		h := http.Header{}
		ctx.Request.Header.VisitAll(func(k, v []byte) { h.Add(string(k), string(v)) })
		mu.Lock()
		seen = h
		mu.Unlock()
		ctx.Response.Header.Set("Keep-Alive", "timeout=5")
		ctx.Response.Header.Set("X-Upstream", "yes")
		ctx.SetBodyString(`{"status":"success","transaction":"a1","action":"approve"}`)
	}, false)
	last := func() http.Header {
		mu.Lock()
		defer mu.Unlock()
		return seen
	}
	body := validOrder(t)

	t.Run("configured key replaces the client's", func(t *testing.T) {
		e := startProxy(t, envOpts{upstream: up.URL, apiKey: "secret-key", mut: func(c *proxy.Config) {
			c.SiteID = "site-7"
			c.APIVersion = "2.17"
		}})
		a := e.do("POST", "/v2/orders/a1", body, "Authorization", "Basic Y2xpZW50Og==", "Proxy-Authorization", "x", "Upgrade", "h2c", "X-Custom", "kept", "Expect", "100-continue")
		if a.status != 200 || a.header.Get("X-Upstream") != "yes" || a.header.Get("Keep-Alive") != "" {
			t.Fatalf("answer %d %v", a.status, a.header)
		}
		h := last()
		want := "Basic " + base64.StdEncoding.EncodeToString([]byte("secret-key:"))
		if h.Get("Authorization") != want || h.Get("X-Forter-Siteid") != "site-7" || h.Get("Api-Version") != "2.17" {
			t.Fatalf("injected headers wrong: %v", h)
		}
		if h.Get("Proxy-Authorization") != "" || h.Get("Upgrade") != "" || h.Get("Expect") != "" || h.Get("X-Custom") != "kept" {
			t.Fatalf("hop-by-hop handling wrong: %v", h)
		}
		// The client's api-version wins over the default.
		e.do("POST", "/v2/orders/a1", body, "api-version", "2.3")
		if got := last().Get("Api-Version"); got != "2.3" {
			t.Fatalf("api-version = %q, want the client's 2.3", got)
		}
		if strings.Contains(e.logs.String(), "secret-key") {
			t.Fatal("the API key was logged")
		}
	})
	t.Run("no key keeps the client's", func(t *testing.T) {
		e := startProxy(t, envOpts{upstream: up.URL, mut: func(c *proxy.Config) { c.APIVersion = "" }})
		e.do("POST", "/v2/orders/a1", body, "Authorization", "Basic Y2xpZW50Og==")
		h := last()
		if h.Get("Authorization") != "Basic Y2xpZW50Og==" || h.Get("Api-Version") != "" || h.Get("X-Forter-Siteid") != "" {
			t.Fatalf("headers = %v", h)
		}
	})
}

func TestPassthroughAndUnknownRoutes(t *testing.T) {
	sb := startSandbox(t, sandbox.Config{}, false)
	// Off the spec, the API key goes only to an allowlisted route: the
	// sandbox, like Forter, answers 401 without it.
	bare := startProxy(t, envOpts{upstream: sb.URL, apiKey: "k"})
	if a := bare.do("GET", "/credentials/test", ""); a.status != 401 {
		t.Fatalf("credentials passthrough, not allowlisted: %d %s; want the sandbox's 401 (no key sent)", a.status, a.body)
	}
	e := startProxy(t, envOpts{upstream: sb.URL, apiKey: "k", mut: func(c *proxy.Config) {
		c.PassthroughRoutes = []string{"GET /credentials/test"}
	}})
	a := e.do("GET", "/credentials/test", "")
	if a.status != 200 || sb.Received().Endpoints[sandbox.EndpointCredentials].Received != 2 {
		t.Fatalf("credentials passthrough, allowlisted: %d %s", a.status, a.body)
	}
	// A wrong method on a spec path is not the operation: passed through.
	a = e.do("GET", "/v2/orders/g1", "")
	if a.status != 404 {
		t.Fatalf("GET /v2/orders/g1: %d, want the sandbox's 404", a.status)
	}
	if n := metric(t, e.p.Registry(), "orderguard_requests_total", "operation", "passthrough", "outcome", "passthrough"); n != 2 {
		t.Fatalf("passthrough count = %v, want 2", n)
	}

	before := sb.Received().Total
	r := startProxy(t, envOpts{upstream: sb.URL, apiKey: "k", mut: func(c *proxy.Config) { c.RejectUnknown = true }})
	a = r.do("GET", "/credentials/test", "")
	if a.status != 404 || !strings.Contains(a.body, `"status":"failed"`) {
		t.Fatalf("reject: %d %s", a.status, a.body)
	}
	a = r.do("POST", "/v2/orders/ok1", validOrder(t))
	if a.status != 200 {
		t.Fatalf("known route with reject: %d %s", a.status, a.body)
	}
	if got := sb.Received().Total - before; got != 1+uint64(2) { // one order plus the two warm-up GETs
		t.Fatalf("sandbox received %d new requests, want 3 (warm-up x2, the order)", got)
	}
}

func TestBodyCap(t *testing.T) {
	sb := startSandbox(t, sandbox.Config{}, false)
	e := startProxy(t, envOpts{upstream: sb.URL, apiKey: "k", mut: func(c *proxy.Config) { c.MaxBody = 4096 }})
	big := `{"orderId":"` + strings.Repeat("x", 5000) + `"}`
	a := e.do("POST", "/v2/orders/big1", big)
	if a.status != 413 || !strings.Contains(a.body, `"status":"failed"`) {
		t.Fatalf("oversized body: %d %s", a.status, a.body)
	}
	if n := sb.Received().Order(sandbox.EndpointOrderV2, "big1").Received; n != 0 {
		t.Fatalf("oversized body reached the upstream %d times", n)
	}
	if n := metric(t, e.p.Registry(), "orderguard_requests_total", "operation", "orderV2", "outcome", "too_large"); n != 1 {
		t.Fatalf("too_large count = %v", n)
	}
	// Just under the cap passes.
	if a := e.do("POST", "/v2/orders/small1", validOrder(t)); a.status != 200 {
		t.Fatalf("body under the cap: %d %s", a.status, a.body)
	}
}

func TestCircuitBreaker(t *testing.T) {
	sb := startSandbox(t, sandbox.Config{}, false)
	e := startProxy(t, envOpts{upstream: sb.URL, apiKey: "k", mut: func(c *proxy.Config) {
		c.BreakerFailures = 3
		c.BreakerCooldown = 300 * time.Millisecond
		c.RetryMinRemaining = time.Hour // no retries: count failures one by one
	}})
	body := validOrder(t)
	if err := sb.Stop(); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		a := e.do("POST", fmt.Sprintf("/v2/orders/cb%d", i), body)
		if a.status != 200 || a.header.Get(proxy.HeaderFallback) != "upstream-error" {
			t.Fatalf("request %d with upstream down: %d %v", i, a.status, a.header)
		}
	}
	if e.p.CircuitState() != 1 {
		t.Fatalf("circuit state %d after 3 failures, want open", e.p.CircuitState())
	}
	a := e.do("POST", "/v2/orders/cb3", body)
	if a.header.Get(proxy.HeaderFallback) != "circuit-open" {
		t.Fatalf("open circuit: fallback %q", a.header.Get(proxy.HeaderFallback))
	}
	if err := sb.Restart(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(350 * time.Millisecond) // the cooldown
	a = e.do("POST", "/v2/orders/cb4", body)
	if a.status != 200 || a.header.Get(proxy.HeaderFallback) != "" {
		t.Fatalf("probe after cooldown: %d %v %s", a.status, a.header, a.body)
	}
	if e.p.CircuitState() != 0 {
		t.Fatalf("circuit state %d after a good probe, want closed", e.p.CircuitState())
	}
	if n := len(e.outbox.got()); n != 4 {
		t.Fatalf("outbox got %d requests, want the 4 fallbacks", n)
	}
}

func TestResponseDrift(t *testing.T) {
	up := pooltest.Start(t, func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("application/json")
		ctx.SetBodyString(`{"status":"maybe","action":42}`)
	}, false)
	e := startProxy(t, envOpts{upstream: up.URL})
	a := e.do("POST", "/v2/orders/d1", validOrder(t))
	if a.status != 200 || a.body != `{"status":"maybe","action":42}` {
		t.Fatalf("drifting answer not passed unchanged: %d %s", a.status, a.body)
	}
	// Checked after the answer was written: counted within moments.
	waitMetric(t, e.p.Registry(), 1, "orderguard_response_drift_total", "operation", "orderV2")
}

func TestAdmin(t *testing.T) {
	sb := startSandbox(t, sandbox.Config{}, false)
	var outboxErr error
	var mu sync.Mutex
	e := startProxy(t, envOpts{upstream: sb.URL, apiKey: "k", ready: map[string]func() error{
		"outbox": func() error { mu.Lock(); defer mu.Unlock(); return outboxErr },
	}})
	if a := e.get(e.admin + "/healthz"); a.status != 200 {
		t.Fatalf("healthz %d", a.status)
	}
	if a := e.get(e.admin + "/readyz"); a.status != 200 {
		t.Fatalf("readyz %d %s", a.status, a.body)
	}
	mu.Lock()
	outboxErr = errors.New("outbox: not writable")
	mu.Unlock()
	if a := e.get(e.admin + "/readyz"); a.status != 503 || !strings.Contains(a.body, "not writable") {
		t.Fatalf("readyz with a broken outbox: %d %s", a.status, a.body)
	}
	e.do("POST", "/v2/orders/m1", validOrder(t))
	a := e.get(e.admin + "/metrics")
	for _, want := range []string{
		`orderguard_requests_total{mode="enforce",operation="orderV2",outcome="forwarded"} 1`,
		`orderguard_upstream_connections_opened_total 2`,
		`orderguard_circuit_state 0`,
		`orderguard_validation_duration_seconds_count{operation="orderV2"} 1`,
		`orderguard_upstream_tls_handshakes_total{resumed="false"} 0`,
	} {
		if !strings.Contains(a.body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func TestAdminPprof(t *testing.T) {
	sb := startSandbox(t, sandbox.Config{}, false)
	for _, on := range []bool{false, true} {
		t.Run(fmt.Sprint("admin-pprof=", on), func(t *testing.T) {
			e := startProxy(t, envOpts{upstream: sb.URL, apiKey: "k", mut: func(c *proxy.Config) { c.AdminPprof = on }})
			a := e.get(e.admin + "/debug/pprof/goroutine?debug=1")
			served := a.status == 200 && strings.Contains(a.body, "goroutine profile")
			if served != on {
				t.Fatalf("with --admin-pprof=%v: /debug/pprof/goroutine answered %d", on, a.status)
			}
		})
	}
}

func TestReadyzWithUpstreamDown(t *testing.T) {
	sb := startSandbox(t, sandbox.Config{}, false)
	url := sb.URL
	if err := sb.Stop(); err != nil {
		t.Fatal(err)
	}
	e := startProxy(t, envOpts{upstream: url, apiKey: "k"})
	if a := e.get(e.admin + "/readyz"); a.status != 503 || !strings.Contains(a.body, "upstream") {
		t.Fatalf("readyz with the upstream down: %d %s", a.status, a.body)
	}
}

func TestRetryOnceAfterConnectionReset(t *testing.T) {
	sb := startSandbox(t, sandbox.Config{}, false)
	e := startProxy(t, envOpts{upstream: sb.URL, apiKey: "k"})
	a := e.do("POST", "/v2/orders/rst1", validOrder(t), sandboxFault, "reset")
	if a.status != 200 || a.header.Get(proxy.HeaderFallback) != "upstream-error" {
		t.Fatalf("reset twice: %d %v %s", a.status, a.header, a.body)
	}
	c := sb.Received().Order(sandbox.EndpointOrderV2, "rst1")
	if c.Received != 2 || c.Status[sandbox.StatusReset] != 2 {
		t.Fatalf("sandbox counts = %+v, want the attempt and one retry, both reset", c)
	}
}

// TestBodyForwardedByteForByte: the proxy validates and forwards the same
// bytes; whitespace, escapes and key order survive.
func TestBodyForwardedByteForByte(t *testing.T) {
	var mu sync.Mutex
	var got []byte
	up := pooltest.Start(t, func(ctx *fasthttp.RequestCtx) {
		if ctx.IsPost() {
			mu.Lock()
			got = append([]byte(nil), ctx.PostBody()...)
			mu.Unlock()
		}
		ctx.SetBodyString(`{"status":"success","transaction":"b1","action":"approve"}`)
	}, false)
	e := startProxy(t, envOpts{upstream: up.URL})
	body := validOrder(t)
	body = strings.Replace(body, `"orderId"`, "\t \"orderId\"", 1)
	body = strings.Replace(body, `"WEB"`, `"W\u0045B"`, 1)
	a := e.do("POST", "/v2/orders/b1", body)
	if a.status != 200 {
		t.Fatalf("status %d: %s", a.status, a.body)
	}
	mu.Lock()
	defer mu.Unlock()
	if string(got) != body {
		t.Fatalf("upstream got %d bytes that differ from the %d sent", len(got), len(body))
	}
}

// TestRetryAfterReadTimeout: an attempt cut off by --upstream-read-timeout
// before any answer leaves budget for one retry.
func TestRetryAfterReadTimeout(t *testing.T) {
	sb := startSandbox(t, sandbox.Config{}, false)
	e := startProxy(t, envOpts{upstream: sb.URL, apiKey: "k",
		mut:  func(c *proxy.Config) { c.Budget = 2 * time.Second },
		pool: func(c *pool.Config) { c.ReadTimeout = 300 * time.Millisecond }})
	start := time.Now()
	a := e.do("POST", "/v2/orders/rt1", validOrder(t), sandboxFault, "slow:1500")
	if a.status != 200 || a.header.Get(proxy.HeaderFallback) != "timeout" {
		t.Fatalf("two slow attempts: %d %v %s", a.status, a.header, a.body)
	}
	if took := time.Since(start); took > 1500*time.Millisecond {
		t.Fatalf("answered after %s; two 300ms attempts should take well under the 2s budget", took)
	}
	if n := sb.Received().Order(sandbox.EndpointOrderV2, "rt1").Received; n != 2 {
		t.Fatalf("sandbox received %d attempts, want 2", n)
	}
}

// TestAPIKeyRotation: a reloaded key file (SIGHUP in serve) is used from the
// next request on, without a restart.
func TestAPIKeyRotation(t *testing.T) {
	var mu sync.Mutex
	var auth string
	up := pooltest.Start(t, func(ctx *fasthttp.RequestCtx) {
		mu.Lock()
		auth = string(ctx.Request.Header.Peek("Authorization"))
		mu.Unlock()
		ctx.SetBodyString(`{"status":"success","transaction":"k1","action":"approve"}`)
	}, false)
	path := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(path, []byte("first-key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	key, err := secret.Load("api key", path, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	e := startProxy(t, envOpts{upstream: up.URL, key: key})
	basic := func(k string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(k+":")) }
	last := func() string { mu.Lock(); defer mu.Unlock(); return auth }
	e.do("POST", "/v2/orders/k1", validOrder(t))
	if got := last(); got != basic("first-key") {
		t.Fatalf("Authorization = %q, want the first key", got)
	}
	if err := os.WriteFile(path, []byte("second-key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := key.Reload(); err != nil {
		t.Fatal(err)
	}
	e.do("POST", "/v2/orders/k1", validOrder(t))
	if got := last(); got != basic("second-key") {
		t.Fatalf("after reload: Authorization = %q, want the second key", got)
	}
	if strings.Contains(e.logs.String(), "first-key") || strings.Contains(e.logs.String(), "second-key") {
		t.Fatal("a key was logged")
	}
}

// TestPerOperationSettings: --op-budget and --op-mode apply to their
// operation only.
func TestPerOperationSettings(t *testing.T) {
	sb := startSandbox(t, sandbox.Config{}, false)
	e := startProxy(t, envOpts{upstream: sb.URL, apiKey: "k", mut: func(c *proxy.Config) {
		c.OpBudgets = map[string]time.Duration{"orderV3": 150 * time.Millisecond}
		c.OpModes = map[string]proxy.Mode{"orderV3": proxy.ModeOff}
	}})
	// v3: 150ms budget, unchecked: a 400ms answer is too late.
	a := e.do("POST", "/v3/orders/po1", validOrder(t), sandboxFault, "slow:400")
	if a.header.Get(proxy.HeaderFallback) != "timeout" {
		t.Fatalf("v3 with a 150ms budget: %d %v %s", a.status, a.header, a.body)
	}
	// v2: the 2s default budget waits for the same answer.
	a = e.do("POST", "/v2/orders/po2", validOrder(t), sandboxFault, "slow:400")
	if a.status != 200 || a.header.Get(proxy.HeaderFallback) != "" {
		t.Fatalf("v2 with the default budget: %d %v %s", a.status, a.header, a.body)
	}
	// v3 is off: an invalid body is forwarded; v2 enforces.
	if a := e.do("POST", "/v3/orders/po3", invalidOrder); sb.Received().Order(sandbox.EndpointOrderV3, "po3").Received != 1 {
		t.Fatalf("v3 in off mode did not forward: %d %s", a.status, a.body)
	}
	if a := e.do("POST", "/v2/orders/po4", invalidOrder); a.status != 400 || sb.Received().Order(sandbox.EndpointOrderV2, "po4").Received != 0 {
		t.Fatalf("v2 in enforce mode: %d %s", a.status, a.body)
	}
}

// duplicate-key is a rule id like the others: a warning by default (parsers,
// Forter's most likely too, keep the last value), error for the strict-JSON
// promise, off to say nothing.
func TestDuplicateKeySeverity(t *testing.T) {
	sb := startSandbox(t, sandbox.Config{}, false)
	body := strings.Replace(validOrder(t), `"orderType":`, `"orderType": "WEB", "orderType":`, 1)
	for _, c := range []struct {
		sev        string
		status     int
		forwarded  uint64
		violations string // X-Orderguard-Violations
	}{
		{"", 200, 1, "1"},
		{"warning", 200, 1, "1"},
		{"error", 400, 0, ""},
		{"off", 200, 1, ""},
	} {
		t.Run("duplicate-key="+c.sev, func(t *testing.T) {
			e := startProxy(t, envOpts{upstream: sb.URL, apiKey: "k", mut: func(cfg *proxy.Config) {
				if c.sev != "" {
					s, err := validate.ParseSeverity(c.sev)
					if err != nil {
						t.Fatal(err)
					}
					cfg.Rules = map[string]validate.Severity{validate.DuplicateKeyRule: s}
				}
			}})
			id := "dup-" + c.sev
			a := e.do("POST", "/v2/orders/"+id, body)
			if a.status != c.status || sb.Received().Order(sandbox.EndpointOrderV2, id).Received != c.forwarded {
				t.Fatalf("status %d, forwarded %d; want %d, %d: %s", a.status, sb.Received().Order(sandbox.EndpointOrderV2, id).Received, c.status, c.forwarded, a.body)
			}
			if c.status == 400 && !strings.Contains(a.body, `"rule":"duplicate-key"`) {
				t.Errorf("400 does not name duplicate-key: %s", a.body)
			}
			if c.status == 200 && a.header.Get(proxy.HeaderViolations) != c.violations {
				t.Errorf("%s: %q, want %q", proxy.HeaderViolations, a.header.Get(proxy.HeaderViolations), c.violations)
			}
		})
	}
}
