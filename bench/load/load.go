package load

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/valyala/fasthttp"
)

// Request is one request the generator can send; Requests are sent in turn.
type Request struct {
	Method string
	// Path is the request target (path and query), starting with "/".
	Path string
	Body []byte
	// Header holds extra headers for this request only.
	Header []Header
}

// Header is one request header.
type Header struct{ Name, Value string }

// Config describes one run against one target.
type Config struct {
	// Target is the base URL: http://127.0.0.1:8080 or https://host.
	Target string
	// Rate is the number of requests per second; 0 means "max": a closed loop in
	// which each connection sends its next request as soon as the last one answered.
	Rate float64
	// Duration is the measured part of the run.
	Duration time.Duration
	// Warmup runs before Duration at the same rate; nothing in it is recorded.
	Warmup time.Duration
	// Connections is the number of client connections (and of concurrent
	// requests). Default 32.
	Connections int
	// Requests are sent round-robin; at least one is needed.
	Requests []Request
	// Header is added to every request (credentials, api-version, ...).
	Header []Header
	// Timeout bounds one request from its send. Default 5s.
	Timeout time.Duration
	// Drain is how long, after the last scheduled send time, requests that are
	// still queued or in flight may take before the run stops. Default 5s.
	Drain time.Duration
	// TLSConfig is used for https targets; a session cache is added when it has none.
	TLSConfig *tls.Config
}

// Errors kinds counted in Result.Errors.
const (
	ErrKindTimeout    = "timeout"
	ErrKindConnection = "connection"
	ErrKindUnsent     = "unsent"
	ErrKindOther      = "other"
)

// Result is what one run measured.
type Result struct {
	Target string
	// Rate is the requested rate; 0 for a closed-loop ("max") run.
	Rate float64
	// Closed is true for a "max" run: latency is then measured from the actual send.
	Closed bool
	// Pacer names the clock that released an open loop's requests (Pacer...).
	Pacer       string
	Duration    time.Duration
	Connections int
	// Scheduled is the number of requests the clock scheduled in the measured window
	// (for a closed loop: the number sent).
	Scheduled int64
	// Sent counts every request sent, warmup included: the work the target did
	// during the run, to divide its CPU time by.
	Sent int64
	// Responses is the number of HTTP responses received for measured requests.
	Responses int64
	// Elapsed runs from the start of the measured window to the last measured
	// completion (or to its end, whichever is later).
	Elapsed time.Duration
	// Achieved is Responses per second over Elapsed.
	Achieved float64
	// Latency holds nanoseconds: every response, every timeout (at the time it gave
	// up) and every request never sent (at the time the run stopped); the last two
	// are lower bounds. Connection errors are counted, not recorded.
	Latency *hdrhistogram.Histogram
	// Status counts responses by HTTP status code.
	Status map[int]int64
	// TimerLag holds, in nanoseconds, how late the generator woke for requests it
	// was idle waiting to send: its own scheduling noise, part of every latency
	// above. (Waiting for a busy connection is the target's doing and not in it.)
	TimerLag *hdrhistogram.Histogram
	// Errors counts failed requests by kind (ErrKind...).
	Errors map[string]int64
	Conn   ConnStats
}

// ConnStats counts connection work over the whole run, warmup included.
type ConnStats struct {
	Dials      int64 `json:"dials"`
	Handshakes int64 `json:"tls_handshakes"`
	Resumed    int64 `json:"tls_resumed"`
}

// Histogram bounds: 1 ns to 5 minutes, 3 significant digits.
const (
	histMin    = 1
	histMax    = int64(5 * time.Minute)
	histDigits = 3
)

// NewHistogram returns an empty latency histogram with the generator's bounds.
func NewHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(histMin, histMax, histDigits)
}

func (c *Config) defaults() error {
	if c.Connections <= 0 {
		c.Connections = 32
	}
	if c.Timeout <= 0 {
		c.Timeout = 5 * time.Second
	}
	if c.Drain <= 0 {
		c.Drain = 5 * time.Second
	}
	if c.Rate < 0 || math.IsNaN(c.Rate) || math.IsInf(c.Rate, 0) {
		return fmt.Errorf("rate %v: must be a positive number of requests per second, or 0 for max", c.Rate)
	}
	if c.Duration <= 0 {
		return fmt.Errorf("duration %v: must be positive", c.Duration)
	}
	if c.Warmup < 0 {
		return fmt.Errorf("warmup %v: must not be negative", c.Warmup)
	}
	if len(c.Requests) == 0 {
		return errors.New("no requests to send")
	}
	return nil
}

// Run sends load to one target as cfg describes and returns what it measured.
// It returns early, with what was measured so far, when ctx is done.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	u, err := url.Parse(cfg.Target)
	if err != nil {
		return nil, fmt.Errorf("parse target %q: %w", cfg.Target, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("target %q: want http://host[:port] or https://host[:port]", cfg.Target)
	}
	isTLS := u.Scheme == "https"
	base := u.Scheme + "://" + u.Host + trimSlash(u.Path)

	var stats connCounters
	hc := &fasthttp.HostClient{
		Addr:                          fasthttp.AddMissingPort(u.Host, isTLS),
		IsTLS:                         isTLS,
		MaxConns:                      cfg.Connections,
		MaxConnWaitTimeout:            cfg.Timeout,
		MaxIdleConnDuration:           time.Minute,
		ReadTimeout:                   cfg.Timeout,
		WriteTimeout:                  cfg.Timeout,
		NoDefaultUserAgentHeader:      true,
		DisableHeaderNamesNormalizing: true,
		DialTimeout: func(addr string, timeout time.Duration) (net.Conn, error) {
			stats.dials.Add(1)
			return fasthttp.DialTimeout(addr, timeout)
		},
	}
	if isTLS {
		hc.TLSConfig = countingTLS(cfg.TLSConfig, u.Hostname(), &stats)
	}
	defer hc.CloseIdleConnections()

	r := &runner{cfg: cfg, hc: hc, base: base}
	res := r.run(ctx)
	res.Target = cfg.Target
	res.Conn = ConnStats{Dials: stats.dials.Load(), Handshakes: stats.handshakes.Load(), Resumed: stats.resumed.Load()}
	return res, ctx.Err()
}

func trimSlash(p string) string {
	for len(p) > 0 && p[len(p)-1] == '/' {
		p = p[:len(p)-1]
	}
	return p
}

type connCounters struct {
	dials, handshakes, resumed atomic.Int64
}

// countingTLS clones base (or a default) and counts every handshake, full or
// resumed, through VerifyConnection, which Go calls on both.
func countingTLS(base *tls.Config, serverName string, stats *connCounters) *tls.Config {
	var c *tls.Config
	if base != nil {
		c = base.Clone()
	} else {
		c = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if c.ServerName == "" {
		c.ServerName = serverName
	}
	if c.ClientSessionCache == nil {
		c.ClientSessionCache = tls.NewLRUClientSessionCache(256)
	}
	prev := c.VerifyConnection
	c.VerifyConnection = func(cs tls.ConnectionState) error {
		stats.handshakes.Add(1)
		if cs.DidResume {
			stats.resumed.Add(1)
		}
		if prev != nil {
			return prev(cs)
		}
		return nil
	}
	return c
}

type runner struct {
	cfg  Config
	hc   *fasthttp.HostClient
	base string

	pacer string
	next  atomic.Int64 // sequence numbers claimed (open loop: taken from the pacer, a prefix)
}

// worker holds one goroutine's measurements; they are merged at the end so the
// hot path takes no lock.
type worker struct {
	hist     *hdrhistogram.Histogram
	lag      *hdrhistogram.Histogram
	status   map[int]int64
	errs     map[string]int64
	sent     int64
	all      int64 // sent, warmup included
	resps    int64
	lastDone time.Time
}

func (r *runner) run(ctx context.Context) *Result {
	cfg := r.cfg
	start := time.Now()
	measureFrom := start.Add(cfg.Warmup)
	end := measureFrom.Add(cfg.Duration)
	hardStop := end.Add(cfg.Drain)

	var interval time.Duration
	var total int64 // requests the clock schedules, warmup included
	if cfg.Rate > 0 {
		interval = time.Duration(float64(time.Second) / cfg.Rate)
		if interval <= 0 {
			interval = 1
		}
		total = int64((cfg.Warmup + cfg.Duration) / interval)
	}

	workers := make([]*worker, cfg.Connections)
	slots := make(chan int64, cfg.Connections)
	quit := make(chan struct{})
	paced := make(chan struct{})
	if cfg.Rate > 0 {
		tick, stop, pacer := newClock(ctx, start, interval)
		r.pacer = pacer
		go func() {
			defer close(paced)
			defer stop()
			pace(ctx, tick, total, slots, quit)
		}()
	} else {
		close(paced)
	}
	var wg sync.WaitGroup
	for i := range workers {
		w := &worker{hist: NewHistogram(), lag: NewHistogram(), status: map[int]int64{}, errs: map[string]int64{}}
		workers[i] = w
		wg.Add(1)
		go func() {
			defer wg.Done()
			if cfg.Rate > 0 {
				r.openLoop(ctx, w, slots, start, interval, measureFrom, hardStop)
			} else {
				r.closedLoop(ctx, w, measureFrom, end)
			}
		}()
	}
	wg.Wait()
	close(quit)
	<-paced

	res := &Result{
		Rate:        cfg.Rate,
		Closed:      cfg.Rate == 0,
		Pacer:       r.pacer,
		Duration:    cfg.Duration,
		Connections: cfg.Connections,
		Latency:     NewHistogram(),
		TimerLag:    NewHistogram(),
		Status:      map[int]int64{},
		Errors:      map[string]int64{},
	}
	last := end
	for _, w := range workers {
		res.Latency.Merge(w.hist)
		res.TimerLag.Merge(w.lag)
		for k, v := range w.status {
			res.Status[k] += v
		}
		for k, v := range w.errs {
			res.Errors[k] += v
		}
		res.Responses += w.resps
		res.Scheduled += w.sent
		res.Sent += w.all
		if w.lastDone.After(last) {
			last = w.lastDone
		}
	}
	if cfg.Rate > 0 {
		// Requests the clock scheduled in the measured window but no worker got to
		// send before the hard stop: count them and record the latency they had
		// reached, so a saturated target cannot look fast by leaving work undone.
		claimed := min(r.next.Load(), total)
		firstMeasured := int64((cfg.Warmup + interval - 1) / interval)
		for i := max(claimed, firstMeasured); i < total; i++ {
			res.Errors[ErrKindUnsent]++
			res.Scheduled++
			lat := hardStop.Sub(start.Add(time.Duration(i) * interval))
			_ = res.Latency.RecordValue(clampLatency(lat))
		}
		if claimed < total && hardStop.After(last) {
			last = hardStop
		}
	}
	res.Elapsed = last.Sub(measureFrom)
	if res.Elapsed > 0 {
		res.Achieved = float64(res.Responses) / res.Elapsed.Seconds()
	}
	return res
}

// openLoop takes sequence numbers from the pacer; number i is due at start +
// i*interval. A worker that takes a number late (all connections were busy)
// sends at once, and the latency it records still counts from the due time.
func (r *runner) openLoop(ctx context.Context, w *worker, slots <-chan int64, start time.Time, interval time.Duration, measureFrom, hardStop time.Time) {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	for ctx.Err() == nil {
		if time.Now().After(hardStop) {
			return
		}
		var i int64
		var ok, waited bool
		select {
		case i, ok = <-slots: // due already: the target kept every connection busy
		default:
			waited = true
			select {
			case i, ok = <-slots:
			case <-ctx.Done():
				return
			}
		}
		if !ok {
			return
		}
		r.next.Add(1)
		due := start.Add(time.Duration(i) * interval)
		measured := !due.Before(measureFrom)
		if waited && measured {
			_ = w.lag.RecordValue(clampLatency(time.Since(due)))
		}
		r.do(w, req, resp, i, due, measured)
	}
}

// closedLoop sends back to back until end; latency counts from the actual send.
func (r *runner) closedLoop(ctx context.Context, w *worker, measureFrom, end time.Time) {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	for ctx.Err() == nil {
		now := time.Now()
		if !now.Before(end) {
			return
		}
		i := r.next.Add(1) - 1
		r.do(w, req, resp, i, now, !now.Before(measureFrom))
	}
}

func (r *runner) do(w *worker, req *fasthttp.Request, resp *fasthttp.Response, i int64, from time.Time, measured bool) {
	spec := &r.cfg.Requests[int(i%int64(len(r.cfg.Requests)))]
	req.Reset()
	resp.Reset()
	req.SetRequestURI(r.base + spec.Path)
	req.Header.SetMethod(spec.Method)
	for _, h := range r.cfg.Header {
		req.Header.Set(h.Name, h.Value)
	}
	for _, h := range spec.Header {
		req.Header.Set(h.Name, h.Value)
	}
	if len(spec.Body) > 0 {
		req.Header.SetContentType("application/json")
		req.SetBodyRaw(spec.Body)
	}
	err := r.hc.DoTimeout(req, resp, r.cfg.Timeout)
	done := time.Now()
	w.all++
	if !measured {
		return
	}
	w.sent++
	if done.After(w.lastDone) {
		w.lastDone = done
	}
	if err != nil {
		kind := ErrorKind(err)
		w.errs[kind]++
		if kind == ErrKindTimeout {
			_ = w.hist.RecordValue(clampLatency(done.Sub(from)))
		}
		return
	}
	w.resps++
	w.status[resp.StatusCode()]++
	_ = w.hist.RecordValue(clampLatency(done.Sub(from)))
}

func clampLatency(d time.Duration) int64 {
	if d < histMin {
		return histMin
	}
	if int64(d) > histMax {
		return histMax
	}
	return int64(d)
}

// ErrorKind sorts a client error into one of the ErrKind... kinds.
func ErrorKind(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, fasthttp.ErrTimeout), errors.Is(err, fasthttp.ErrDialTimeout),
		errors.Is(err, fasthttp.ErrTLSHandshakeTimeout), errors.Is(err, os.ErrDeadlineExceeded),
		errors.Is(err, fasthttp.ErrNoFreeConns):
		return ErrKindTimeout
	case errors.As(err, &ne) && ne.Timeout():
		return ErrKindTimeout
	case errors.Is(err, fasthttp.ErrConnectionClosed), errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.As(err, &ne):
		return ErrKindConnection
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) {
		return ErrKindConnection
	}
	return ErrKindOther
}
