package proxy_test

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/orderguard/orderguard/gen"
	"github.com/orderguard/orderguard/internal/outbox"
	"github.com/orderguard/orderguard/internal/pool"
	"github.com/orderguard/orderguard/internal/proxy"
	"github.com/orderguard/orderguard/internal/sandbox"
	"github.com/orderguard/orderguard/internal/secret"
	"github.com/orderguard/orderguard/internal/testlog"
	"github.com/orderguard/orderguard/internal/tracing"
	"github.com/orderguard/orderguard/internal/validate"
)

// startSandbox runs the real sandbox on 127.0.0.1 until the test ends.
func startSandbox(t testing.TB, cfg sandbox.Config, tlsOn bool) *sandbox.Running {
	t.Helper()
	sb, err := sandbox.Start(sandbox.Options{Config: cfg, TLS: tlsOn})
	if err != nil {
		t.Fatalf("start sandbox: %v", err)
	}
	t.Cleanup(func() { _ = sb.Close() })
	return sb
}

// recOutbox records what the proxy hands to the outbox; err makes it refuse.
type recOutbox struct {
	mu   sync.Mutex
	reqs []outbox.Request
	err  error
}

func (o *recOutbox) Enqueue(r outbox.Request) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.err != nil {
		return o.err
	}
	o.reqs = append(o.reqs, r)
	return nil
}

func (o *recOutbox) got() []outbox.Request {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]outbox.Request(nil), o.reqs...)
}

// syncBuffer is a log sink safe for the proxy's goroutines.
type syncBuffer = testlog.Buffer

// env is a proxy serving on 127.0.0.1 in front of an upstream.
type env struct {
	t      testing.TB
	p      *proxy.Proxy
	pool   *pool.Pool
	url    string // the proxy
	admin  string // the admin listener
	outbox *recOutbox
	logs   *syncBuffer
	client *http.Client
	cancel context.CancelFunc
	done   chan error
}

type envOpts struct {
	upstream   string
	tls        *tls.Config
	apiKey     string
	mut        func(*proxy.Config)
	pool       func(*pool.Config) // the pool's settings, from pool.DefaultConfig with 2 warm connections
	ready      map[string]func() error
	outbox     outbox.Enqueuer      // nil: a recording one (env.outbox)
	key        *secret.Key          // instead of apiKey: a key that can be reloaded
	ops        []validate.Operation // nil: gen.Operations
	tracer     *tracing.Tracer      // nil: tracing off
	validators proxy.Validators     // nil: the operations' own
}

func startProxy(t testing.TB, o envOpts) *env {
	t.Helper()
	cfg := proxy.Defaults()
	cfg.APIVersion = "2.3" // the sandbox, like Forter, wants one
	if o.mut != nil {
		o.mut(&cfg)
	}
	pc := pool.DefaultConfig()
	pc.WarmConns = 2
	if o.pool != nil {
		o.pool(&pc)
	}
	pc.Upstream, pc.TLS = o.upstream, o.tls
	up, err := pool.New(pc)
	if err != nil {
		t.Fatalf("pool: %v", err)
	}
	_ = up.Start(context.Background()) // some tests start with the upstream down
	t.Cleanup(up.Close)
	logs := &syncBuffer{}
	e := &env{t: t, pool: up, outbox: &recOutbox{}, logs: logs, done: make(chan error, 1)}
	var key *secret.Key
	if o.apiKey != "" {
		key = secret.FromValue("api key", secret.New(o.apiKey))
	}
	if o.key != nil {
		key = o.key
	}
	var ob outbox.Enqueuer = e.outbox
	if o.outbox != nil {
		ob = o.outbox
	}
	ops := gen.Operations
	if o.ops != nil {
		ops = o.ops
	}
	e.p, err = proxy.New(cfg, proxy.Options{
		Operations: ops,
		Pool:       up,
		Outbox:     ob,
		Logger:     slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		APIKey:     key,
		Validators: o.validators,
		Tracer:     o.tracer,
	})
	if err != nil {
		t.Fatalf("proxy.New: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	aln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.url = "http://" + ln.Addr().String()
	e.admin = "http://" + aln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	go func() { e.done <- e.p.Serve(ctx, proxy.ServeOptions{Listener: ln, Admin: aln, Ready: o.ready}) }()
	e.client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	t.Cleanup(func() {
		cancel()
		select {
		case <-e.done:
		case <-time.After(10 * time.Second):
			t.Error("proxy did not stop within 10s")
		}
	})
	return e
}

type answer struct {
	status int
	header http.Header
	body   string
}

func (e *env) do(method, path, body string, hdr ...string) answer {
	e.t.Helper()
	req, err := http.NewRequest(method, e.url+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return answer{resp.StatusCode, resp.Header, string(b)}
}

func (e *env) get(url string) answer {
	e.t.Helper()
	resp, err := e.client.Get(url)
	if err != nil {
		e.t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, string(b)}
}

// metric reads one sample of the proxy's registry; labels are name=value pairs.
func metric(t testing.TB, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				if !hasLabel(m, labels[i], labels[i+1]) {
					continue next
				}
			}
			switch {
			case m.Counter != nil:
				return m.Counter.GetValue()
			case m.Gauge != nil:
				return m.Gauge.GetValue()
			case m.Histogram != nil:
				return float64(m.Histogram.GetSampleCount())
			}
		}
	}
	return 0
}

func hasLabel(m *dto.Metric, name, value string) bool {
	for _, l := range m.GetLabel() {
		if l.GetName() == name && l.GetValue() == value {
			return true
		}
	}
	return false
}
