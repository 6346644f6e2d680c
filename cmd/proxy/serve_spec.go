package main

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/orderguard/orderguard/gen"
	"github.com/orderguard/orderguard/internal/compiled"
	"github.com/orderguard/orderguard/internal/validate"
)

// specEngine is what validates bodies: the generated code of gen/ (live is
// nil), or a spec compiled at start-up that reloads (--spec, --overlay,
// --engine compiled).
type specEngine struct {
	ops   []validate.Operation
	rules []validate.RuleInfo
	live  *compiled.Live
}

func newSpecEngine(cfg compiled.Config, log *slog.Logger) (*specEngine, error) {
	if !cfg.Compiled() {
		return &specEngine{ops: gen.Operations, rules: gen.Rules}, nil
	}
	src := cfg.Sources()
	p, err := compiled.Load(src)
	if err != nil {
		return nil, err
	}
	log.Info("spec compiled", slog.String("source", p.Source), slog.String("sha256", p.SHA256), slog.Duration("compile", p.Compile))
	return &specEngine{ops: p.Operations, rules: p.Rules, live: compiled.NewLive(p, src, log)}, nil
}

// adminHandlers are GET /spec (which spec serves) and POST /spec/reload,
// behind the admin listener's guard (loopback or the admin token).
func (e *specEngine) adminHandlers(h map[string]http.Handler) {
	h["/spec"] = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			http.Error(w, `{"error":"GET only"}`, http.StatusMethodNotAllowed)
			return
		}
		writeJSON(w, http.StatusOK, e.info())
	})
	h["/spec/reload"] = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.Error(w, `{"error":"POST only"}`, http.StatusMethodNotAllowed)
			return
		}
		if e.live == nil {
			writeJSON(w, http.StatusConflict, map[string]string{"error": "the generated validators serve the embedded spec; start with --spec, --overlay or --engine compiled to reload"})
			return
		}
		if err := e.live.Reload("POST /spec/reload"); err != nil {
			writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"error": err.Error(), "serving": e.info()})
			return
		}
		writeJSON(w, http.StatusOK, e.info())
	})
}

type specInfo struct {
	Engine         string  `json:"engine"`
	Source         string  `json:"source"`
	SHA256         string  `json:"sha256,omitempty"`
	CompileMillis  float64 `json:"compile_ms,omitempty"`
	Operations     int     `json:"operations"`
	Rules          int     `json:"rules"`
	ReloadFailures uint64  `json:"reload_failures"`
}

func (e *specEngine) info() specInfo {
	if e.live == nil {
		return specInfo{Engine: "generated", Source: "embedded", Operations: len(e.ops), Rules: len(e.rules)}
	}
	p := e.live.Program()
	return specInfo{Engine: "compiled", Source: p.Source, SHA256: p.SHA256, CompileMillis: float64(p.Compile.Microseconds()) / 1000,
		Operations: len(p.Operations), Rules: len(p.Rules), ReloadFailures: e.live.Failures()}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// watch reloads on SIGHUP and every --spec-reload-interval.
func (e *specEngine) watch(interval time.Duration) (stop func()) {
	if e.live == nil {
		return func() {}
	}
	return e.live.Watch(interval)
}

var (
	specInfoDesc     = prometheus.NewDesc("orderguard_spec_info", "The spec serving now: 1 for its source and sha256 (empty for the generated validators).", []string{"engine", "source", "sha256"}, nil)
	specFailuresDesc = prometheus.NewDesc("orderguard_spec_reload_failures_total", "Spec reloads refused (the file did not read, check or compile); the previous spec kept serving.", nil, nil)
)

// Describe and Collect make the engine a Prometheus collector.
func (e *specEngine) Describe(ch chan<- *prometheus.Desc) {
	ch <- specInfoDesc
	ch <- specFailuresDesc
}

func (e *specEngine) Collect(ch chan<- prometheus.Metric) {
	i := e.info()
	ch <- prometheus.MustNewConstMetric(specInfoDesc, prometheus.GaugeValue, 1, i.Engine, i.Source, i.SHA256)
	ch <- prometheus.MustNewConstMetric(specFailuresDesc, prometheus.CounterValue, float64(i.ReloadFailures))
}
