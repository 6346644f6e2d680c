package proxy_test

import (
	"bufio"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/orderguard/orderguard/internal/proxy"
	"github.com/orderguard/orderguard/internal/sandbox"
)

// TestLogDurationsAreReadable drives every log line that carries a duration
// (an open and a closed fallback, the shutdown) and checks each JSON field:
// a duration is a string ("7s") or a number named *_ms, never raw
// nanoseconds, which is what slog.Duration writes in JSON.
func TestLogDurationsAreReadable(t *testing.T) {
	sb := startSandbox(t, sandbox.Config{}, false)
	for _, fb := range []proxy.Fallback{proxy.FallbackOpen, proxy.FallbackClosed} {
		t.Run(fb.String(), func(t *testing.T) {
			e := startProxy(t, envOpts{upstream: sb.URL, apiKey: "k", mut: func(c *proxy.Config) { c.Fallback = fb }})
			a := e.do("POST", "/v2/orders/dur-"+fb.String(), validOrder(t), "api-version", "2.3", "X-Sandbox-Fault", "503")
			if a.header.Get(proxy.HeaderFallback) == "" && a.status < 500 {
				t.Fatalf("want a fallback answer, got %d %s", a.status, a.body)
			}
			e.cancel() // the shutdown line says how long requests in flight may take
			select {
			case err := <-e.done:
				e.done <- err // for the cleanup
			case <-time.After(10 * time.Second):
				t.Fatal("proxy did not stop")
			}

			seen := map[string]bool{}
			sc := bufio.NewScanner(strings.NewReader(e.logs.String()))
			for sc.Scan() {
				var line map[string]any
				if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
					t.Fatalf("log line not JSON: %v: %s", err, sc.Text())
				}
				msg, _ := line["msg"].(string)
				for k, v := range line {
					n, isNum := v.(float64)
					switch {
					case strings.HasSuffix(k, "_ms"):
						if !isNum || n < 0 || n > 60_000 {
							t.Errorf("%q: %s = %v, want milliseconds", msg, k, v)
						}
						seen[k] = true
					case isNum && n >= 100_000:
						t.Errorf("%q: %s = %v: a duration in nanoseconds? Write a string or a %s_ms number", msg, k, v, k)
					case k == "within":
						if _, err := time.ParseDuration(v.(string)); err != nil {
							t.Errorf("%q: within = %v, want a duration string", msg, v)
						}
						seen[k] = true
					}
				}
			}
			for _, k := range []string{"duration_ms", "within"} {
				if !seen[k] {
					t.Errorf("no log line carried %s:\n%s", k, e.logs.String())
				}
			}
		})
	}
}
