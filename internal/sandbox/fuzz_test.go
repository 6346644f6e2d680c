package sandbox

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

// FuzzHandler: whatever the method, path, headers and body, the sandbox
// answers with a status and (except 204 and faults) one JSON document that
// never contains the Authorization value, and never panics.
func FuzzHandler(f *testing.F) {
	f.Add("POST", "/v2/orders/o1", authValue("k"), "2.3", "", []byte(orderBody("o1", "decline@forter.com")))
	f.Add("POST", "/v3/orders/o1", authValue("k"), "2.3", "", []byte(`{"orderId":"o1","orderType":"NOPE"}`))
	f.Add("PUT", "/v2/status/o1", authValue("k"), "2.3", "", []byte(statusBody))
	f.Add("POST", "/v2/accounts/login/a1", authValue("k"), "2.3", "", []byte(`{"connectionInformation":{"customerIP":"0.0.0.4"}}`))
	f.Add("POST", "/v2/accounts/authentication-result/a1", authValue("k"), "2.3", "", []byte(`{"eventTime":1,"connectionInformation":{"customerIP":"0.0.0.5"},"additionalAuthenticationMethod":{"verificationOutcome":"SUCCESS"}}`))
	f.Add("POST", "/v2/claims", authValue("k"), "2.3", "", []byte(`{"orderId":"o1","amount":{"amountUSD":"1.00"},"issueDate":"2016-01-20"}`))
	f.Add("GET", "/credentials/test", "Basic Og==", "", "500", []byte(nil))
	f.Add("POST", "/v2/orders/%22%5C", authValue("k"), "2.3", "bogus", []byte(`{"a":`))
	f.Add("GET", "/_sandbox/received", "", "", "", []byte(nil))
	srv, err := New(Config{RateLimit: 1000})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, method, path, auth, version, fault string, body []byte) {
		if strings.HasPrefix(strings.TrimSpace(fault), "slow") || path == "" || path[0] != '/' {
			return // slow:<ms> would sleep; fasthttp never hands over a relative path
		}
		var ctx fasthttp.RequestCtx
		ctx.Request.Header.SetMethod(method)
		ctx.Request.SetRequestURI(path)
		ctx.Request.Header.Set("Authorization", auth)
		ctx.Request.Header.Set("api-version", version)
		ctx.Request.Header.Set(FaultHeader, fault)
		ctx.Request.SetBody(body)
		srv.handle(&ctx)
		if ctx.Hijacked() {
			return // hang or reset: no answer by design
		}
		code := ctx.Response.StatusCode()
		out := ctx.Response.Body()
		if code == fasthttp.StatusNoContent {
			return
		}
		if !json.Valid(out) {
			t.Fatalf("%s %q: status %d, answer not JSON: %q", method, path, code, out)
		}
		if len(auth) > 8 && bytes.Contains(out, []byte(auth)) {
			t.Fatalf("answer echoes the Authorization value: %q", out)
		}
	})
}
