package proxy_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/orderguard/orderguard/gen"
	"github.com/orderguard/orderguard/internal/compiled"
	"github.com/orderguard/orderguard/internal/outbox"
	"github.com/orderguard/orderguard/internal/proxy"
	"github.com/orderguard/orderguard/internal/sandbox"
	"github.com/orderguard/orderguard/internal/validate"
)

// accountBody is a corpus body of the Accounts or Claims API.
func accountBody(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "realworld-accounts", rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Every account event and the Claims API are validated like orders: a body
// the spec refuses gets 400 in enforce mode without reaching Forter, a good
// one is forwarded and Forter's answer passed back.
func TestAccountsAndClaimsEnforced(t *testing.T) {
	sb := startSandbox(t, sandbox.Config{}, false)
	e := startProxy(t, envOpts{upstream: sb.URL, apiKey: "k"})
	for _, tc := range []struct{ path, file string }{
		{"/v2/accounts/signup/a1", "accountSignup/sfcc_01_customer-account-signup.json"},
		{"/v2/accounts/login/a2", "accountLogin/sfcc_02_customer-account-login.json"},
		{"/v2/accounts/logout/a3", "accountLogout/sfcc_03_customer-account-logout.json"},
		{"/v2/accounts/update/a4", "accountUpdate/sfcc_04_customer-account-update.json"},
		{"/v2/accounts/profile-access/a5", "accountProfileAccess/docs_01_profile-access-update-password.json"},
		{"/v2/accounts/authentication-result/a6", "accountAuthenticationResult/docs_02_authentication-attempt-sms.json"},
		{"/v2/claims", "claim/docs_03_claims-api.json"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			body := accountBody(t, tc.file)
			a := e.do("POST", tc.path, body)
			if a.status != 200 || a.header.Get(proxy.HeaderFallback) != "" {
				t.Fatalf("valid body: %d %v %s", a.status, a.header, a.body)
			}
			before := sb.Received().Total
			broken := strings.Replace(body, `"eventTime": 1`, `"eventTime": "1`, 1)
			broken = strings.Replace(broken, `"issueDate": "2016-01-20"`, `"issueDate": "20/01/2016"`, 1)
			if broken == body {
				t.Fatal("no mutation applied")
			}
			a = e.do("POST", tc.path, broken)
			var fe forterError
			if err := json.Unmarshal([]byte(a.body), &fe); err != nil || a.status != 400 || fe.Message != "Malformed request" || fe.ErrorsCount == 0 {
				t.Fatalf("broken body: %d %s", a.status, a.body)
			}
			if got := sb.Received().Total; got != before {
				t.Fatalf("a refused body reached the sandbox (%d requests, was %d)", got, before)
			}
		})
	}
	// The sandbox's identity test IPs come back through the proxy unchanged.
	body := strings.Replace(accountBody(t, "accountLogin/auth0_03_action-login-social.json"), "0.0.0.4", "0.0.0.5", 1)
	a := e.do("POST", "/v2/accounts/login/auth0%7C62eb11d417a992ea40acec3e", body)
	if a.status != 200 || !strings.Contains(a.body, `"forterDecision":"VERIFICATION_REQUIRED"`) || !strings.Contains(a.body, `"SMS_VERIFICATION"`) {
		t.Fatalf("0.0.0.5 login: %d %s", a.status, a.body)
	}
}

// When Forter does not answer in budget, an account event gets "not
// reviewed" with its account id and a claim 202; both are kept in the outbox
// with their operation and id.
// The same with the embedded spec compiled at start-up (serve --engine
// compiled).
func TestAccountAndClaimFallbacks(t *testing.T) {
	compiledSpec, err := compiled.Load(compiled.Sources{})
	if err != nil {
		t.Fatal(err)
	}
	for _, engine := range []struct {
		name string
		ops  []validate.Operation
	}{{"generated", gen.Operations}, {"compiled", compiledSpec.Operations}} {
		t.Run(engine.name, func(t *testing.T) { testAccountAndClaimFallbacks(t, engine.ops) })
	}
}

func testAccountAndClaimFallbacks(t *testing.T, ops []validate.Operation) {
	sb := startSandbox(t, sandbox.Config{}, false)
	e := startProxy(t, envOpts{upstream: sb.URL, apiKey: "k", ops: ops, mut: func(c *proxy.Config) { c.Budget = 150 * time.Millisecond }})
	for _, tc := range []struct {
		path, file, op, id string
		status             int
	}{
		{"/v2/accounts/login/fb1", "accountLogin/sfcc_02_customer-account-login.json", "accountLogin", "fb1", 200},
		{"/v2/accounts/reset-password/fb2", "accountLogout/sfcc_03_customer-account-logout.json", "accountResetPassword", "fb2", 200},
		{"/v2/claims", "claim/docs_03_claims-api.json", "claim", "", 202},
		{"/v2/orders/fb1", "", "orderV2", "fb1", 200}, // the same id as the account: another outbox line
	} {
		t.Run(tc.op, func(t *testing.T) {
			n := len(e.outbox.got())
			body := validOrder(t)
			if tc.file != "" {
				body = accountBody(t, tc.file)
			}
			a := e.do("POST", tc.path, body, sandboxFault, "hang")
			if a.status != tc.status || a.header.Get(proxy.HeaderFallback) != "timeout" {
				t.Fatalf("status %d fallback %q: %s", a.status, a.header.Get(proxy.HeaderFallback), a.body)
			}
			// The shape against the response schema: TestFallbackShapes.
			if strings.HasPrefix(tc.op, "account") && (!strings.Contains(a.body, `"forterDecision":"NOT_REVIEWED"`) || !strings.Contains(a.body, `"accountId":"`+tc.id+`"`)) {
				t.Fatalf("account fallback = %s", a.body)
			}
			got := e.outbox.got()
			if len(got) != n+1 {
				t.Fatalf("outbox holds %d requests, want %d", len(got), n+1)
			}
			q := got[n]
			line := tc.id // the outbox keeps order per line: order id, account:<id>, or claim
			switch {
			case strings.HasPrefix(tc.op, "account"):
				line = "account:" + tc.id
			case tc.op == "claim":
				line = "claim"
			}
			if q.Operation != tc.op || q.OrderID != line || q.Path != tc.path || string(q.Body) != body {
				t.Fatalf("outbox request = %s %q %s (%d bytes)", q.Operation, q.OrderID, q.Path, len(q.Body))
			}
		})
	}
}

// --op-mode and --op-budget take the account and claim operation ids.
func TestAccountPerOperationSettings(t *testing.T) {
	sb := startSandbox(t, sandbox.Config{}, false)
	e := startProxy(t, envOpts{upstream: sb.URL, apiKey: "k", mut: func(c *proxy.Config) {
		c.OpModes = map[string]proxy.Mode{"accountLogin": proxy.ModeReport, "claim": proxy.ModeOff}
		c.OpBudgets = map[string]time.Duration{"accountSignup": 150 * time.Millisecond}
	}})
	// Report: the broken login is forwarded (the sandbox refuses it) and counted.
	a := e.do("POST", "/v2/accounts/login/ps1", `{"eventTime":"x"}`)
	if a.header.Get(proxy.HeaderViolations) == "" || sb.Received().Order(sandbox.EndpointAccounts, "ps1").Received != 1 {
		t.Fatalf("login in report mode: %d %v %s", a.status, a.header, a.body)
	}
	// Off: the claim is not checked by the proxy at all.
	if a := e.do("POST", "/v2/claims", `{"orderId":7}`); a.header.Get(proxy.HeaderViolations) != "" || sb.Received().Endpoints[sandbox.EndpointClaims].Received != 1 {
		t.Fatalf("claim in off mode: %d %v %s", a.status, a.header, a.body)
	}
	// Enforce (the default) on logout: refused here.
	if a := e.do("POST", "/v2/accounts/logout/ps2", `{"eventTime":"x"}`); a.status != 400 {
		t.Fatalf("logout in enforce mode: %d %s", a.status, a.body)
	}
	// Signup's 150ms budget does not wait for a 400ms answer; login's 2s does.
	body := accountBody(t, "accountSignup/sfcc_01_customer-account-signup.json")
	if a := e.do("POST", "/v2/accounts/signup/ps3", body, sandboxFault, "slow:400"); a.header.Get(proxy.HeaderFallback) != "timeout" {
		t.Fatalf("signup with a 150ms budget: %d %v %s", a.status, a.header, a.body)
	}
	body = accountBody(t, "accountLogin/sfcc_02_customer-account-login.json")
	if a := e.do("POST", "/v2/accounts/login/ps4", body, sandboxFault, "slow:400"); a.status != 200 || a.header.Get(proxy.HeaderFallback) != "" {
		t.Fatalf("login with the default budget: %d %v %s", a.status, a.header, a.body)
	}
}

// TestAccountOutboxHandoff: account events and claims answered by the open
// fallback while the sandbox is down are kept in the outbox file, and the
// proxy's Sender delivers each to its own route once the sandbox is back. An
// order with the same id as the account, which Forter refuses on resend, is
// dead-lettered alone: the account's events are in a line of their own.
func TestAccountOutboxHandoff(t *testing.T) {
	sb := startSandbox(t, sandbox.Config{}, false)
	store := tempStore(t)
	e := startProxy(t, envOpts{upstream: sb.URL, apiKey: "k", outbox: store, mut: func(c *proxy.Config) {
		c.BreakerFailures = 0
		c.OpModes = map[string]proxy.Mode{"orderV2": proxy.ModeReport} // the broken order is forwarded, then queued
	}})
	if err := sb.Stop(); err != nil {
		t.Fatal(err)
	}
	if a := e.do("POST", "/v2/orders/ob-a", invalidOrder); a.header.Get(proxy.HeaderFallback) == "" {
		t.Fatalf("the broken order with the sandbox down: %d %v %s", a.status, a.header, a.body)
	}
	sends := []struct{ path, file string }{
		{"/v2/accounts/signup/ob-a", "accountSignup/sfcc_01_customer-account-signup.json"},
		{"/v2/accounts/login/ob-a", "accountLogin/sfcc_02_customer-account-login.json"},
		{"/v2/claims", "claim/docs_03_claims-api.json"},
	}
	for _, s := range sends {
		if a := e.do("POST", s.path, accountBody(t, s.file)); a.header.Get(proxy.HeaderFallback) == "" {
			t.Fatalf("%s with the sandbox down: %d %v %s", s.path, a.status, a.header, a.body)
		}
	}
	if st, _ := store.Stats(); st.Pending != len(sends)+1 {
		t.Fatalf("the outbox holds %+v, want %d pending", st, len(sends)+1)
	}
	if err := sb.Restart(); err != nil {
		t.Fatal(err)
	}
	startResender(t, store, e, outbox.ResendOptions{})
	deadline := time.Now().Add(10 * time.Second)
	for st, _ := store.Stats(); st.Pending != 0 || st.Delivered != uint64(len(sends)) || st.Dead != 1; st, _ = store.Stats() {
		if time.Now().After(deadline) {
			t.Fatalf("outbox not drained: %+v", st)
		}
		time.Sleep(20 * time.Millisecond)
	}
	rec := sb.Received()
	if c := rec.Order(sandbox.EndpointAccounts, "ob-a"); c.OK != 2 {
		t.Errorf("account ob-a: %+v, want its signup and login delivered", c)
	}
	if c := rec.Endpoints[sandbox.EndpointClaims]; c.OK != 1 {
		t.Errorf("claims: %+v, want one delivered", c)
	}
	ds, _ := store.Decisions(0)
	for _, d := range ds {
		if d.Status != 200 {
			t.Errorf("%s %s delivered with %d", d.Operation, d.Path, d.Status)
		}
	}
}

// tempStore is an outbox file in the test's temporary directory.
func tempStore(t *testing.T) *outbox.Store {
	t.Helper()
	store, err := outbox.Open(filepath.Join(t.TempDir(), "outbox.db"), outbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	return store
}

// startResender runs the store's resender through the proxy's Sender until
// the test ends, fast: 100 a second, backoff from 20 to 100ms.
func startResender(t *testing.T, store *outbox.Store, e *env, o outbox.ResendOptions) {
	o.Rate, o.BackoffMin, o.BackoffMax = 100, 20*time.Millisecond, 100*time.Millisecond
	rs := store.Resender(e.p.Sender(), o)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- rs.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}
