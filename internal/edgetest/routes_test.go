package edgetest

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// captured is one request as it reached the upstream.
type captured struct {
	method, target, auth string
}

// captureServer is a plain HTTP/1.1 server on 127.0.0.1 that records the
// method, the request target byte for byte and the Authorization of every
// request that reaches it, and answers each 200.
type captureServer struct {
	addr string
	mu   sync.Mutex
	reqs []captured
}

func startCapture(t *testing.T) *captureServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &captureServer{addr: ln.Addr().String()}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	return s
}

func (s *captureServer) serve(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		_, _ = io.Copy(io.Discard, req.Body)
		s.mu.Lock()
		s.reqs = append(s.reqs, captured{req.Method, req.RequestURI, req.Header.Get("Authorization")})
		s.mu.Unlock()
		body := `{"status":"success","transaction":"x","action":"approve"}`
		if _, err := fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body); err != nil {
			return
		}
	}
}

// since returns the requests other than warm-ups (GET /) after the n-th.
func (s *captureServer) since(n int) []captured {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []captured
	for _, r := range s.reqs[n:] {
		if r.target != "/" {
			out = append(out, r)
		}
	}
	return out
}

func (s *captureServer) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.reqs)
}

func firstLine(raw string) string { l, _, _ := strings.Cut(raw, "\r\n"); return l }

// request builds a raw request: method and target exactly as given.
func request(method, target, body string, headers ...string) string {
	h := "Host: og\r\nContent-Type: application/json\r\napi-version: 2.3\r\n"
	for _, x := range headers {
		h += x + "\r\n"
	}
	return fmt.Sprintf("%s %s HTTP/1.1\r\n%sContent-Length: %d\r\n\r\n%s", method, target, h, len(body), body)
}

// 17.2 and 16.3, on a real process in front of a raw capture server, with
// ORDERGUARD_API_KEY set and the default --unknown-routes pass: the key
// arrives only with a spec operation or a --passthrough-routes route; an
// operation's path reaches the upstream byte for byte as matched; a near
// miss of an operation gets a 404 naming it, a path whose raw and decoded
// forms route differently a 400, TRACE, CONNECT and OPTIONS * a 405, and
// none of these reach the upstream.
func TestServeCredentialsOnlyForDescribedRoutes(t *testing.T) {
	const key = "ogk_route_scope_key"
	bin := orderguard(t)
	order, err := os.ReadFile(filepath.Join("..", "..", "testdata", "realworld", "order-request", "workarea_01_get-decision_approve.json"))
	if err != nil {
		t.Fatal(err)
	}
	const clientAuth = "Basic Y2xpZW50LW93bjo=" // the checkout's own credential
	cases := []struct {
		name, method, target, body string
		headers                    []string
		status                     int
		in                         string // in the answer
		arrives                    bool   // reaches the upstream, with this exact target
		withKey                    bool   // and with the merchant's key
	}{
		{"an operation", "POST", "/v2/orders/fortertest1234", string(order), nil, 200, "", true, true},
		{"an operation with a query string", "POST", "/v2/orders/fortertest1234?a=1", string(order), nil, 200, "", true, true},
		{"an invalid order on an operation", "POST", "/v2/orders/x", `{"orderId":"x"}`, nil, 400, "Malformed request", false, false},
		{"an allowlisted route", "GET", "/v2/allowed/abc", "", nil, 200, "", true, true},
		{"a foreign path", "GET", "/v2/whatever", "", nil, 200, "", true, false},
		{"a foreign path keeps the client's Authorization", "POST", "/v2/whatever", `{}`, []string{"Authorization: " + clientAuth}, 200, "", true, false},
		{"a wrong method on an operation's path", "GET", "/v2/orders/o24", "", nil, 200, "", true, false},
		{"OPTIONS on a path", "OPTIONS", "/v2/orders/o24", "", nil, 200, "", true, false},
		{"a trailing slash", "POST", "/v2/orders/o24/", `{"orderId":"x"}`, nil, 404, "resembles orderV2 (POST /v2/orders/{orderId})", false, false},
		{"letter case", "POST", "/V2/Orders/x", `{"orderId":"x"}`, nil, 404, "resembles orderV2", false, false},
		{"one segment upper-cased", "POST", "/v2/Orders/x", `{"orderId":"x"}`, nil, 404, "resembles orderV2", false, false},
		{"a status path's case", "PUT", "/v2/STATUS/x", `{}`, nil, 404, "resembles statusPut", false, false},
		{"a repeated slash", "POST", "//v2/orders/x", `{"orderId":"x"}`, nil, 404, "resembles orderV2", false, false},
		{"a repeated inner slash", "POST", "/v2/orders//x", `{"orderId":"x"}`, nil, 404, "resembles orderV2", false, false},
		{"an escaped slash in the id", "POST", "/v2/orders/a%2Fb", `{"orderId":"x"}`, nil, 400, "routes differently", false, false},
		{"a dot segment", "POST", "/v2/./orders/x", `{"orderId":"x"}`, nil, 400, "routes differently", false, false},
		{"escaped dots into another operation", "POST", "/v2/orders/..%2Fstatus%2Fx", `{}`, nil, 400, "routes differently", false, false},
		{"an escaped slash on an allowlisted route", "GET", "/v2/allowed/a%2Fb", "", nil, 400, "routes differently", false, false},
		{"TRACE", "TRACE", "/v2/orders/x", "", nil, 405, "never forwards", false, false},
		{"CONNECT", "CONNECT", "api.forter-secure.com:443", "", nil, 405, "never forwards", false, false},
		{"OPTIONS *", "OPTIONS", "*", "", nil, 405, "never forwards", false, false},
	}
	for _, unknown := range []string{"pass", "reject"} {
		t.Run("--unknown-routes="+unknown, func(t *testing.T) {
			up := startCapture(t)
			p := startProc(t, []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "ORDERGUARD_API_KEY=" + key},
				bin, "serve", "--listen=127.0.0.1:0", "--admin-listen=127.0.0.1:0", "--upstream=http://"+up.addr,
				"--outbox=", "--warm-conns=1", "--unknown-routes="+unknown, "--passthrough-routes=GET /v2/allowed/{id}")
			// The operations are the spec's (more come with it); the allowlist is ours.
			if !regexp.MustCompile(`"credentials":"spec operations \([^)]*orderV2, orderV3, statusPost, statusPut[^)]*\) and --passthrough-routes GET /v2/allowed/\{id\}; other paths keep the client's own Authorization"`).MatchString(p.logs.String()) {
				t.Error("the startup line does not say which requests get the API key")
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					arrives, status := c.arrives, c.status
					if unknown == "reject" && c.arrives && !c.withKey {
						// A genuinely foreign path keeps --unknown-routes.
						arrives, status = false, 404
					}
					n := up.count()
					got, body := exchangeOn(t, "tcp", p.listen, request(c.method, c.target, c.body, c.headers...))
					if got != status || !strings.Contains(body, c.in) {
						t.Fatalf("%s %s: %d %s; want %d with %q", c.method, c.target, got, body, status, c.in)
					}
					if status >= 400 && !strings.Contains(body, `"status":"failed"`) {
						t.Errorf("refusal not in Forter's error shape: %s", body)
					}
					reached := up.since(n)
					if !arrives {
						if len(reached) > 0 {
							t.Fatalf("reached the upstream: %+v", reached)
						}
						return
					}
					if len(reached) != 1 || reached[0].method != c.method || reached[0].target != c.target {
						t.Fatalf("upstream got %+v; want one %s %s, byte for byte", reached, c.method, c.target)
					}
					wantAuth := ""
					if c.withKey {
						wantAuth = basic(key)
					} else if len(c.headers) > 0 {
						wantAuth = clientAuth
					}
					if reached[0].auth != wantAuth {
						t.Fatalf("upstream got Authorization %q, want %q", reached[0].auth, wantAuth)
					}
				})
			}
			if strings.Contains(p.logs.String(), key) {
				t.Error("the API key was logged")
			}
		})
	}
}
