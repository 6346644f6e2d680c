package outbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/orderguard/orderguard/internal/redact"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// Admin API, served by the proxy's admin listener (loopback by default) and
// used by `orderguard outbox --admin URL`:
//
//	GET  /outbox                 stats and the first pending, dead and delivered entries
//	GET  /outbox/stats           stats
//	GET  /outbox/list?state=pending|dead|delivered&limit=N
//	GET  /outbox/export          NDJSON of pending and dead entries, bodies included
//	POST /outbox/retry/{id|all}  make a pending entry due now, or bring a dead one back
//	POST /outbox/drop/{id}       delete a pending or dead entry
//
// Paths are matched from "/outbox" on, so the handler can be mounted under a prefix.

// Overview is the body of GET /outbox.
type Overview struct {
	Stats     Stats   `json:"stats"`
	Pending   []Entry `json:"pending"`
	Dead      []Entry `json:"dead"`
	Delivered []Entry `json:"delivered"`
}

// overviewLimit bounds each list in the overview; /outbox/list pages further.
const overviewLimit = 100

// Admin serves the admin API for a backend; it only reads and repairs the
// backend through the Backend contract, so one handler serves bbolt and
// JetStream alike.
type Admin struct{ b Backend }

// NewAdmin returns the admin API handler for b.
func NewAdmin(b Backend) *Admin { return &Admin{b: b} }

// Response answers one admin request, independent of the HTTP server in use
// (ServeHTTP wraps it for net/http). w is written only by export, which
// streams; for the others the answer is returned.
func (a *Admin) Response(method, path, rawQuery string, w io.Writer) (status int, contentType string, body []byte) {
	i := strings.Index(path, "/outbox")
	if i < 0 {
		return jsonError(http.StatusNotFound, "not an outbox path")
	}
	route := strings.TrimSuffix(path[i+len("/outbox"):], "/")
	get := method == http.MethodGet || method == http.MethodHead
	switch {
	case route == "" && get:
		var ov Overview
		var err error
		if ov.Stats, err = a.b.Stats(); err == nil {
			if ov.Pending, err = a.b.List(StatePending, overviewLimit); err == nil {
				if ov.Dead, err = a.b.List(StateDead, overviewLimit); err == nil {
					ov.Delivered, err = a.b.List(StateDelivered, overviewLimit)
				}
			}
		}
		shown(ov.Pending)
		shown(ov.Dead)
		shown(ov.Delivered)
		return jsonAnswer(ov, err)
	case route == "/stats" && get:
		st, err := a.b.Stats()
		return jsonAnswer(st, err)
	case route == "/list" && get:
		q := parseQuery(rawQuery)
		state := State(q["state"])
		switch state {
		case "":
			state = StatePending
		case StatePending, StateDead, StateDelivered:
		default:
			return jsonError(http.StatusBadRequest, fmt.Sprintf("state %q: want pending, dead or delivered", state))
		}
		limit := overviewLimit
		if v := q["limit"]; v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				return jsonError(http.StatusBadRequest, fmt.Sprintf("limit %q: want a number", v))
			}
			limit = n
		}
		list, err := a.b.List(state, limit)
		if list == nil {
			list = []Entry{}
		}
		shown(list)
		return jsonAnswer(list, err)
	case route == "/export" && get:
		if err := a.b.Export(w); err != nil {
			return jsonError(statusFor(err), err.Error())
		}
		return http.StatusOK, "application/x-ndjson", nil
	case strings.HasPrefix(route, "/retry/") || strings.HasPrefix(route, "/drop/"):
		if method != http.MethodPost {
			return jsonError(http.StatusMethodNotAllowed, "use POST")
		}
		verb, arg, _ := strings.Cut(strings.TrimPrefix(route, "/"), "/")
		if verb == "retry" && arg == "all" {
			n, err := a.b.RetryAllDead()
			return jsonAnswer(map[string]any{"retried": n}, err)
		}
		id, err := strconv.ParseUint(arg, 10, 64)
		if err != nil {
			return jsonError(http.StatusBadRequest, fmt.Sprintf("id %q: want a number", arg))
		}
		if verb == "retry" {
			err = a.b.Retry(id)
		} else {
			err = a.b.Drop(id)
		}
		return jsonAnswer(map[string]any{verb: id}, err)
	default:
		return jsonError(http.StatusNotFound, "unknown outbox route "+path)
	}
}

// ServeHTTP serves the admin API on net/http.
func (a *Admin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasSuffix(strings.TrimSuffix(r.URL.Path, "/"), "/outbox/export") {
		w.Header().Set("Content-Type", "application/x-ndjson")
	}
	sw := &deferredWriter{w: w}
	status, ctype, body := a.Response(r.Method, r.URL.Path, r.URL.RawQuery, sw)
	if sw.started {
		return // export streamed its answer
	}
	w.Header().Set("Content-Type", ctype)
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// deferredWriter lets an export that fails before its first byte still answer
// with an error status.
type deferredWriter struct {
	w       http.ResponseWriter
	started bool
}

func (d *deferredWriter) Write(p []byte) (int, error) {
	d.started = true
	return d.w.Write(p)
}

func parseQuery(raw string) map[string]string {
	out := map[string]string{}
	for _, kv := range strings.Split(raw, "&") {
		k, v, _ := strings.Cut(kv, "=")
		if k != "" {
			out[k] = v
		}
	}
	return out
}

func jsonAnswer(v any, err error) (int, string, []byte) {
	if err != nil {
		return jsonError(statusFor(err), err.Error())
	}
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return jsonError(http.StatusInternalServerError, err.Error())
	}
	return http.StatusOK, "application/json", append(data, '\n')
}

func jsonError(status int, msg string) (int, string, []byte) {
	data, _ := json.Marshal(map[string]string{"error": msg})
	return status, "application/json", append(data, '\n')
}

func statusFor(err error) int {
	switch {
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, ErrClosed):
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// WritePrometheus writes the stats in the Prometheus text format, for a
// /metrics handler that writes its own text.
func (st Stats) WritePrometheus(w io.Writer) error {
	var b strings.Builder
	metric := func(name, kind, help string, v float64) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n%s %s\n", name, help, name, kind, name, strconv.FormatFloat(v, 'g', -1, 64))
	}
	metric("orderguard_outbox_depth", "gauge", "Requests waiting in the outbox to be resent.", float64(st.Pending))
	metric("orderguard_outbox_dead", "gauge", "Requests in the outbox's dead-letter bucket.", float64(st.Dead))
	metric("orderguard_outbox_oldest_age_seconds", "gauge", "Age of the oldest waiting request since its first try.", st.OldestAgeSec)
	metric("orderguard_outbox_enqueued_total", "counter", "Requests kept by the outbox (lifetime of the file).", float64(st.Enqueued))
	metric("orderguard_outbox_deduplicated_total", "counter", "Enqueues of a request already kept.", float64(st.Deduplicated))
	metric("orderguard_outbox_delivered_total", "counter", "Requests delivered by the resender (lifetime of the file).", float64(st.Delivered))
	metric("orderguard_outbox_dead_lettered_total", "counter", "Requests moved to dead-letter (lifetime of the file).", float64(st.DeadLettered))
	metric("orderguard_outbox_resend_attempts_total", "counter", "Resend attempts by this process.", float64(st.Attempts))
	metric("orderguard_outbox_resend_failures_total", "counter", "Resend attempts answered 429 or 5xx or failed in transport, this process.", float64(st.Failures))
	paused := 0.0
	if st.Paused {
		paused = 1
	}
	metric("orderguard_outbox_paused", "gauge", "1 while the resender waits for the upstream circuit to close.", paused)
	_, err := io.WriteString(w, b.String())
	return err
}

// shown masks a card number in the order ids and paths of entries listed to
// an operator (first six, last four digits); the store keeps them as sent,
// so the resender still delivers to the real path.
func shown(es []Entry) {
	for i := range es {
		es[i].OrderID = redact.MaskString(es[i].OrderID)
		es[i].Path = redact.MaskString(es[i].Path)
	}
}
