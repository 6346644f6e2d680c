package sandbox

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"testing"
	"time"
)

// start runs a sandbox for one test and stops it when the test ends.
func start(t testing.TB, opts Options) *Running {
	t.Helper()
	r, err := Start(opts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := r.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return r
}

// client is an HTTP client for one test; fresh connections per request when
// noKeepAlive, so that a reset or hang cannot leak into the next request.
func client(t testing.TB, r *Running, noKeepAlive bool) *http.Client {
	t.Helper()
	tr := &http.Transport{TLSClientConfig: r.ClientTLS(), DisableKeepAlives: noKeepAlive}
	t.Cleanup(tr.CloseIdleConnections)
	// A generous bound so that a broken hang never stalls the suite.
	return &http.Client{Transport: tr, Timeout: 20 * time.Second}
}

func authValue(key string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(key+":"))
}

// req is one request to the sandbox; headers nil means valid auth and
// api-version, and Forter's load-test header so the rate limit stays out of
// the way.
type req struct {
	method  string
	path    string
	body    string
	headers map[string]string
}

func stdHeaders() map[string]string {
	return map[string]string{
		"Authorization":                authValue("k3y"),
		"api-version":                  "2.36",
		"Content-Type":                 "application/json",
		"x-forter-siteid":              "site1",
		"x-forter-disable-persistence": "true",
	}
}

func with(h map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range h {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			delete(out, kv[i])
			continue
		}
		out[kv[i]] = kv[i+1]
	}
	return out
}

func do(t testing.TB, c *http.Client, r *Running, q req) (int, []byte, error) {
	t.Helper()
	if q.method == "" {
		q.method = "POST"
	}
	hr, err := http.NewRequest(q.method, r.URL+q.path, bytes.NewReader([]byte(q.body)))
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	h := q.headers
	if h == nil {
		h = stdHeaders()
	}
	for k, v := range h {
		hr.Header.Set(k, v)
	}
	resp, err := c.Do(hr)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// mustDo is do that fails the test on a transport error.
func mustDo(t testing.TB, c *http.Client, r *Running, q req) (int, map[string]any) {
	t.Helper()
	code, b, err := do(t, c, r, q)
	if err != nil {
		t.Fatalf("%s %s: %v", q.method, q.path, err)
	}
	var m map[string]any
	if len(b) > 0 {
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s %s: answer is not JSON: %v: %q", q.method, q.path, err, b)
		}
	}
	return code, m
}

// orderTemplate is a body Forter's sandbox accepted (recorded by
// workarea-forter, testdata/realworld at the repository's root), so it passes the generated
// validators.
var orderTemplate = func() map[string]any {
	b, err := os.ReadFile("testdata/recorded/order-request/workarea_01_get-decision_approve.json")
	if err != nil {
		panic(err)
	}
	var m map[string]any
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber() // keep epoch milliseconds exact
	if err := d.Decode(&m); err != nil {
		panic(err)
	}
	return m
}()

// orderBody is the recorded order with orderId and accountOwner.email set
// (email "" removes the e-mail).
func orderBody(id, email string) string {
	var m map[string]any
	b, _ := json.Marshal(orderTemplate)
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		panic(err)
	}
	m["orderId"] = id
	owner, _ := m["accountOwner"].(map[string]any)
	if owner == nil {
		owner = map[string]any{}
		m["accountOwner"] = owner
	}
	if email == "" {
		delete(owner, "email")
	} else {
		owner["email"] = email
	}
	out, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return string(out)
}

// validOrder is an order without a test e-mail.
var validOrder = orderBody("any", "")

// statusBody is a recorded status update Forter's sandbox accepted.
var statusBody = func() string {
	b, err := os.ReadFile("testdata/recorded/status-request/workarea_01_update-status_canceled-by-merchant.json")
	if err != nil {
		panic(err)
	}
	return string(b)
}()
