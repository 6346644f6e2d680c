package edgetest

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/orderguard/orderguard/gen"
	"github.com/orderguard/orderguard/internal/inbound"
	"github.com/orderguard/orderguard/internal/outbox"
	"github.com/orderguard/orderguard/internal/pool"
	"github.com/orderguard/orderguard/internal/proxy"
	"github.com/orderguard/orderguard/internal/sandbox"
	"github.com/orderguard/orderguard/internal/secret"
	"github.com/orderguard/orderguard/internal/testlog"
	"github.com/orderguard/orderguard/internal/tracing"
	"github.com/orderguard/orderguard/internal/tracing/otlptest"
)

// Credentials the leak test must never find in what the proxy logged,
// answered or exported. The API key goes to the sandbox (as Forter would
// get it); the client's own Authorization is replaced by it; the inbound
// secret is checked and dropped at the edge.
const (
	apiKey         = "ogk_live_7Hq2LeakCanaryKey9"
	clientAuthUser = "checkout-own-user"
	clientAuthPass = "checkout-own-Pa55"
	inboundSecret  = "inbound-Canary-Secret-3141"
	secretHeader   = inbound.DefaultSecretHeader
)

// syncBuffer is a log sink safe for the proxy's goroutines.
type syncBuffer = testlog.Buffer

// edge is a proxy served on 127.0.0.1 (inbound secret required) in front of
// a sandbox on 127.0.0.1 over TLS, logging everything at debug level.
type edge struct {
	store *outbox.Store
	sb    *sandbox.Running
	p     *proxy.Proxy
	addr  string
	admin string
	logs  *syncBuffer
	// Every edge traces every request to a real OTLP receiver, whose
	// exported spans the leak scan reads like the logs.
	tracer *tracing.Tracer
	traces *otlptest.Receiver
}

type edgeOpts struct {
	mode      proxy.Mode
	fallback  proxy.Fallback
	budget    time.Duration
	logFormat string
	// outbox keeps fallbacks in a real store with its resender running, as
	// serve wires it (the resender logs through the same logger).
	outbox bool
}

func startEdge(t *testing.T, o edgeOpts) *edge {
	t.Helper()
	sb, err := sandbox.Start(sandbox.Options{TLS: true})
	if err != nil {
		t.Fatalf("start sandbox: %v", err)
	}
	t.Cleanup(func() { _ = sb.Close() })

	dir := t.TempDir()
	keyFile := filepath.Join(dir, "api-key")
	secretFile := filepath.Join(dir, "inbound")
	if err := os.WriteFile(keyFile, []byte(apiKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(secretFile, []byte(inboundSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	key, err := secret.Load("api key", keyFile, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	inSecret, err := secret.Load("inbound secret", secretFile, "", nil)
	if err != nil {
		t.Fatal(err)
	}

	cfg := proxy.Defaults()
	cfg.Mode = o.mode
	cfg.Fallback = o.fallback
	cfg.Budget = o.budget
	cfg.RetryMinRemaining = 0
	cfg.APIVersion = "2.36"
	cfg.SiteID = "leaktest"
	cfg.BreakerFailures = 0 // every fallback path runs, none short-circuited

	logs := &syncBuffer{}
	hopts := &slog.HandlerOptions{Level: slog.LevelDebug}
	var h slog.Handler = slog.NewJSONHandler(logs, hopts)
	if o.logFormat == "text" {
		h = slog.NewTextHandler(logs, hopts)
	}
	log := slog.New(h)

	pc := pool.DefaultConfig()
	pc.Upstream, pc.TLS, pc.WarmConns = sb.URL, sb.ClientTLS(), 1
	up, err := pool.New(pc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(up.Close)
	if err := up.Start(context.Background()); err != nil {
		t.Fatalf("warm upstream: %v", err)
	}
	traces, tracer := otlptest.StartTracer(t)
	popts := proxy.Options{Operations: gen.Operations, Pool: up, Logger: log, APIKey: key, Tracer: tracer}
	var store *outbox.Store
	if o.outbox {
		store, err = outbox.Open(filepath.Join(dir, "outbox.db"), outbox.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = store.Close() })
		popts.Outbox = store
	}
	p, err := proxy.New(cfg, popts)
	if err != nil {
		t.Fatal(err)
	}
	if store != nil {
		rs := store.Resender(p.Sender(), outbox.ResendOptions{
			Rate: 100, BackoffMin: 10 * time.Millisecond, BackoffMax: 50 * time.Millisecond,
			Logf: func(format string, args ...any) {
				log.Info(fmt.Sprintf(format, args...), slog.String("component", "outbox"))
			},
		})
		rctx, rcancel := context.WithCancel(context.Background())
		rdone := make(chan struct{})
		go func() { defer close(rdone); _ = rs.Run(rctx) }()
		t.Cleanup(func() { rcancel(); <-rdone })
	}
	ln, err := inbound.Listen(context.Background(), inbound.Config{Addr: "127.0.0.1:0", Secret: inSecret})
	if err != nil {
		t.Fatal(err)
	}
	adminLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	check := &inbound.SecretCheck{Header: secretHeader, Key: inSecret}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		edge := &inbound.Edge{Secret: check, Logger: log}
		so := proxy.ServeOptions{Listener: ln, Admin: adminLn, Edge: edge}
		if store != nil { // the outbox API on the admin listener, as serve wires it
			admin := outbox.NewAdmin(store)
			so.AdminHandlers = map[string]http.Handler{"/outbox": admin, "/outbox/": admin}
		}
		done <- p.Serve(ctx, so)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return &edge{store: store, sb: sb, p: p, addr: ln.Addr().String(), admin: adminLn.Addr().String(), logs: logs,
		tracer: tracer, traces: traces}
}

// scanSpans exports the spans so far and scans every export request the
// receiver got, as bytes on the wire, and returns how many spans it holds.
func (e *edge) scanSpans(t *testing.T, s *leakScanner) []otlptest.Span {
	t.Helper()
	if err := e.tracer.Flush(context.Background()); err != nil {
		t.Fatalf("flush spans: %v", err)
	}
	for i, raw := range e.traces.Raw() {
		s.scan(fmt.Sprintf("exported spans (request %d)", i+1), raw)
	}
	return e.traces.Spans()
}
