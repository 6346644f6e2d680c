package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/orderguard/orderguard/internal/inbound"
	"github.com/orderguard/orderguard/internal/secret"
)

// ServeOptions say where the proxy listens and what the admin listener adds.
type ServeOptions struct {
	// Listener is where checkout code connects (inbound.Listen makes TCP,
	// TLS or Unix socket listeners). Serve closes it.
	Listener net.Listener
	// Admin, when set, serves /healthz, /readyz and /metrics (and
	// AdminHandlers) with net/http. Serve closes it.
	Admin net.Listener
	// Edge is what requests meet before the proxy's handler, in its one
	// order (inbound.Edge.Server); the caller registers its Collectors.
	// Serve sets its body cap to --max-body (Config.MaxBody) and counts the
	// bodies refused for it (TooLarge). Nil is the default limits and no
	// secret check.
	Edge *inbound.Edge
	// Ready are readiness checks besides the upstream's (the outbox can
	// write); an error makes /readyz answer 503 with its text.
	Ready map[string]func() error
	// AdminHandlers are more admin routes, e.g. "/outbox/" → the outbox's API.
	// They and the profiles answer loopback clients, and others only with
	// AdminToken (see privateAdmin).
	AdminHandlers map[string]http.Handler
	// AdminToken, when set, lets a non-loopback client reach AdminHandlers
	// and the profiles with "Authorization: Bearer <token>".
	AdminToken *secret.Key
	// ShutdownGrace is added to the longest budget for requests in flight
	// at shutdown (default 1s).
	ShutdownGrace time.Duration
}

// Serve serves until ctx is done, then shuts down gracefully: /readyz turns
// 503, listeners close (no new connections), requests in flight finish within
// their budget, idle connections close; then it returns nil.
func (p *Proxy) Serve(ctx context.Context, o ServeOptions) error {
	if o.Listener == nil {
		return errors.New("proxy serve: no listener")
	}
	var stopping atomic.Bool
	edge := o.Edge
	if edge == nil {
		edge = &inbound.Edge{Logger: p.log}
	}
	edge.Limits.MaxBodyBytes, edge.TooLarge = p.cfg.MaxBody, p.TooLarge
	srv := edge.Server(p.Handler)

	var admin *http.Server
	errc := make(chan error, 2)
	if o.Admin != nil {
		admin = &http.Server{
			Handler:           p.adminMux(&stopping, o),
			ReadHeaderTimeout: 5 * time.Second,
		}
		go func() {
			if err := admin.Serve(o.Admin); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("admin listener: %w", err)
			}
		}()
	}
	go func() {
		if err := srv.Serve(o.Listener); err != nil {
			errc <- fmt.Errorf("proxy listener: %w", err)
		}
	}()

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	stopping.Store(true)
	grace := o.ShutdownGrace
	if grace <= 0 {
		grace = time.Second
	}
	sctx, cancel := context.WithTimeout(context.Background(), p.cfg.MaxBudget()+grace)
	defer cancel()
	p.log.Info("shutting down: no new connections, finishing requests in flight", slog.String("within", (p.cfg.MaxBudget()+grace).String()))
	err := srv.ShutdownWithContext(sctx)
	p.checks.stopWorkers()
	if admin != nil {
		aerr := admin.Shutdown(sctx)
		err = errors.Join(err, aerr)
	}
	if serveErr != nil {
		return serveErr
	}
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	p.log.Info("stopped")
	return nil
}

func (p *Proxy) adminMux(stopping *atomic.Bool, o ServeOptions) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		failed := map[string]string{}
		if stopping.Load() {
			failed["server"] = "shutting down"
		}
		if !p.pool.Ready() {
			failed["upstream"] = "not warm: no answer from " + p.pool.Addr()
		}
		for name, check := range o.Ready {
			if err := check(); err != nil {
				failed[name] = err.Error()
			}
		}
		w.Header().Set("Content-Type", "application/json")
		if len(failed) > 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			_ = json.NewEncoder(w).Encode(map[string]any{"status": "not ready", "failed": failed})
			return
		}
		_, _ = w.Write([]byte(`{"status":"ready"}` + "\n"))
	})
	mux.Handle("/metrics", promhttp.HandlerFor(p.m.reg, promhttp.HandlerOpts{}))
	private := &privateAdmin{token: o.AdminToken, log: p.log, refused: p.m.adminRefused}
	if p.cfg.AdminPprof {
		// Off by default: a profile costs CPU while it runs.
		mux.Handle("/debug/pprof/", private.wrap(http.HandlerFunc(pprof.Index)))
		mux.Handle("/debug/pprof/cmdline", private.wrap(http.HandlerFunc(pprof.Cmdline)))
		mux.Handle("/debug/pprof/profile", private.wrap(http.HandlerFunc(pprof.Profile)))
		mux.Handle("/debug/pprof/symbol", private.wrap(http.HandlerFunc(pprof.Symbol)))
		mux.Handle("/debug/pprof/trace", private.wrap(http.HandlerFunc(pprof.Trace)))
	}
	for path, h := range o.AdminHandlers {
		mux.Handle(path, private.wrap(h))
	}
	return mux
}
