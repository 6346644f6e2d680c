package proxy_test

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/orderguard/orderguard/internal/pool/pooltest"
	"github.com/orderguard/orderguard/internal/proxy"
)

// capture is an upstream that records what reached it, byte for byte.
type capture struct {
	mu       sync.Mutex
	bodies   [][]byte
	encoding []string
	status   int // 0: 200 with a decision
}

func (c *capture) handler(ctx *fasthttp.RequestCtx) {
	if ctx.IsGet() {
		return // the pool's warm-up
	}
	c.mu.Lock()
	c.bodies = append(c.bodies, append([]byte(nil), ctx.PostBody()...))
	c.encoding = append(c.encoding, string(ctx.Request.Header.ContentEncoding()))
	status := c.status
	c.mu.Unlock()
	if status != 0 {
		ctx.SetStatusCode(status)
		return
	}
	ctx.SetContentType("application/json")
	ctx.SetBodyString(`{"status":"success","transaction":"x","action":"approve","message":"","reasonCode":"Test"}`)
}

func (c *capture) got() ([][]byte, []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([][]byte(nil), c.bodies...), append([]string(nil), c.encoding...)
}

// compressed codes b with a writer of compress/*.
func compressed(t testing.TB, b []byte, writer func(io.Writer) io.WriteCloser) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := writer(&buf)
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gzipped(t testing.TB, b []byte) []byte {
	return compressed(t, b, func(w io.Writer) io.WriteCloser { return gzip.NewWriter(w) })
}

func zlibbed(t testing.TB, b []byte) []byte {
	return compressed(t, b, func(w io.Writer) io.WriteCloser { return zlib.NewWriter(w) })
}

// post sends raw bytes with a Content-Encoding (net/http's client would
// otherwise not touch a request body's coding).
func (e *env) post(path string, body []byte, encoding ...string) answer {
	e.t.Helper()
	req, err := http.NewRequest("POST", e.url+path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for _, v := range encoding {
		req.Header.Add("Content-Encoding", v)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, string(b)}
}

// TestCompressedBodies is issue 16.4: a gzip or deflate body is validated
// decoded and forwarded as received (header included); a coding the proxy
// cannot read gets 415 and a body that is not what its header says 400, in
// Forter's error shape, and Forter is not called. Before, a real gzip order
// was refused as a JSON syntax error and plain JSON labelled gzip passed.
func TestCompressedBodies(t *testing.T) {
	up := &capture{}
	srv := pooltest.Start(t, up.handler, false)
	e := startProxy(t, envOpts{upstream: srv.URL})
	order := []byte(validOrder(t))
	broken := []byte(`{"orderId":"x","orderType":"WEBB"}`)
	forwarded := 0
	for _, tc := range []struct {
		name     string
		body     []byte
		encoding []string
		status   int
		says     string // in the answer
	}{
		{"gzip", gzipped(t, order), []string{"gzip"}, 200, `"action":"approve"`},
		{"x-gzip", gzipped(t, order), []string{"x-gzip"}, 200, `"action":"approve"`},
		{"deflate", zlibbed(t, order), []string{"deflate"}, 200, `"action":"approve"`},
		{"identity", order, []string{"identity"}, 200, `"action":"approve"`},
		{"gzip, broken order: schema errors, not syntax", gzipped(t, broken), []string{"gzip"}, 400, `"rule":"required"`},
		{"plain JSON labelled gzip", order, []string{"gzip"}, 400, `labelled gzip but not gzip data`},
		{"truncated gzip", gzipped(t, order)[:100], []string{"gzip"}, 400, `truncated`},
		{"br", order, []string{"br"}, 415, `Unsupported Media Type: unsupported content coding \"br\"`},
		{"zstd", order, []string{"zstd"}, 415, `\"zstd\"`},
		{"unknown coding", order, []string{"foo"}, 415, `an unregistered coding`},
		{"stacked in one line", gzipped(t, gzipped(t, order)), []string{"gzip, gzip"}, 415, `gzip applied over gzip`},
		{"stacked in two lines", gzipped(t, gzipped(t, order)), []string{"gzip", "gzip"}, 415, `gzip applied over gzip`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := e.post("/v2/orders/enc-1", tc.body, tc.encoding...)
			if a.status != tc.status || !strings.Contains(a.body, tc.says) {
				t.Fatalf("%d %s; want %d saying %s", a.status, a.body, tc.status, tc.says)
			}
			bodies, encodings := up.got()
			if tc.status != 200 {
				if !strings.HasPrefix(a.body, `{"status":"failed"`) {
					t.Errorf("answer not in Forter's error shape: %s", a.body)
				}
				if len(bodies) != forwarded {
					t.Fatalf("a refused body reached Forter")
				}
				if tc.status == 415 && a.header.Get("Accept-Encoding") != "gzip, deflate" {
					t.Errorf("415 without Accept-Encoding: %v", a.header)
				}
				return
			}
			forwarded++
			if len(bodies) != forwarded {
				t.Fatalf("Forter got %d requests, want %d", len(bodies), forwarded)
			}
			if !bytes.Equal(bodies[forwarded-1], tc.body) || encodings[forwarded-1] != tc.encoding[0] {
				t.Errorf("forwarded %d bytes with Content-Encoding %q; want the %d bytes as received with %q",
					len(bodies[forwarded-1]), encodings[forwarded-1], len(tc.body), tc.encoding[0])
			}
		})
	}
}

// TestDecompressionBomb: a small gzip body that decodes past --max-body gets
// 413 and goes no further; decoding stops at the cap.
func TestDecompressionBomb(t *testing.T) {
	up := &capture{}
	srv := pooltest.Start(t, up.handler, false)
	e := startProxy(t, envOpts{upstream: srv.URL, mut: func(c *proxy.Config) { c.MaxBody = 64 << 10 }})
	bomb := gzipped(t, append([]byte(`{"orderId":"`), bytes.Repeat([]byte("0"), 50<<20)...)) // 50 MiB in about 50 KB
	if len(bomb) > 64<<10 {
		t.Fatalf("the bomb is %d bytes compressed: over --max-body itself", len(bomb))
	}
	start := time.Now()
	a := e.post("/v2/orders/bomb", bomb, "gzip")
	if a.status != 413 || !strings.Contains(a.body, "once decoded") {
		t.Fatalf("bomb: %d %s, want 413", a.status, a.body)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("the bomb took %v: decoded past the cap?", took)
	}
	if bodies, _ := up.got(); len(bodies) != 0 {
		t.Fatal("the bomb reached Forter")
	}
	if n := metric(t, e.p.Registry(), "orderguard_requests_total", "operation", "orderV2", "outcome", "too_large"); n != 1 {
		t.Errorf("too_large = %v, want 1", n)
	}
}

// TestCompressedReportAndOff: report mode never blocks (a coding it cannot
// read is forwarded unchecked and counted); off does not decode at all.
func TestCompressedReportAndOff(t *testing.T) {
	up := &capture{}
	srv := pooltest.Start(t, up.handler, false)
	order := []byte(validOrder(t))
	for _, mode := range []proxy.Mode{proxy.ModeReport, proxy.ModeOff} {
		t.Run(mode.String(), func(t *testing.T) {
			e := startProxy(t, envOpts{upstream: srv.URL, mut: func(c *proxy.Config) { c.Mode = mode }})
			if a := e.post("/v2/orders/r1", order, "br"); a.status != 200 {
				t.Fatalf("br in %s mode: %d %s, want forwarded", mode, a.status, a.body)
			}
			want := 0.0
			if mode == proxy.ModeReport {
				want = 1
			}
			if n := metric(t, e.p.Registry(), "orderguard_violations_total", "rule", "content-encoding"); n != want {
				t.Errorf("content-encoding violations = %v, want %v", n, want)
			}
		})
	}
}

// TestCompressedBodyKeptAsReceived: the outbox keeps the bytes as received
// and their Content-Encoding, so that the resend is the same request.
func TestCompressedBodyKeptAsReceived(t *testing.T) {
	up := &capture{status: 503}
	srv := pooltest.Start(t, up.handler, false)
	e := startProxy(t, envOpts{upstream: srv.URL})
	body := gzipped(t, []byte(validOrder(t)))
	if a := e.post("/v2/orders/kept", body, "gzip"); a.status != 200 || a.header.Get(proxy.HeaderFallback) == "" {
		t.Fatalf("fallback: %d %v %s", a.status, a.header, a.body)
	}
	got := e.outbox.got()
	if len(got) != 1 || !bytes.Equal(got[0].Body, body) || got[0].Header["content-encoding"] != "gzip" {
		t.Fatalf("outbox kept %+v, want the gzip bytes as received with content-encoding gzip", got)
	}
}
