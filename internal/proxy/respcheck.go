package proxy

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/orderguard/orderguard/internal/validate"
)

// The response check is report-only (drift is counted, never blocks), so the
// client does not wait for it: the handler copies Forter's answer into a
// pooled job and queues it, and a worker checks it once the client has its
// answer. The copy is needed: fasthttp reuses ctx.Response as soon as the
// handler returns. A full queue drops the check and counts it
// (orderguard_response_checks_dropped_total) rather than slow the path.

// checkQueue bounds the answers waiting for their check: 0.2 s of traffic at
// 5,000 req/s, 40 of the worker's ticks; a check takes about a microsecond.
const checkQueue = 1024

// checkTick is how often the worker drains the queue while answers arrive;
// checkIdle of empty ticks parks it again (see checkWorker).
const (
	checkTick = 5 * time.Millisecond
	checkIdle = time.Second
)

type checkJob struct {
	st      *opState
	f       validate.Func
	status  int
	orderID []byte
	body    []byte
}

type responseChecks struct {
	jobs chan *checkJob
	// free recycles jobs and their buffers. A channel rather than a
	// sync.Pool: jobs are put back by the workers, on other Ps, where a
	// pool's per-P cache would leave the handler allocating a new one.
	free  chan *checkJob
	start sync.Once
	stop  chan struct{}
	halt  sync.Once
}

func newResponseChecks() *responseChecks {
	return &responseChecks{
		jobs: make(chan *checkJob, checkQueue),
		free: make(chan *checkJob, checkQueue+8),
		stop: make(chan struct{}),
	}
}

// queueResponseCheck hands Forter's answer to the check workers (started on
// first use) and returns at once. op is the validators the request started
// with: the job keeps its Func, so a spec reloaded meanwhile does not change
// which program checks the answer.
func (p *Proxy) queueResponseCheck(resp *fasthttp.Response, st *opState, op validate.Operation, orderID []byte) {
	code := resp.StatusCode()
	var f validate.Func
	switch {
	case code >= 200 && code < 300:
		f = op.Response
	case code >= 400 && code < 500:
		f = op.Error
	}
	if f == nil || len(resp.Header.ContentEncoding()) > 0 {
		return
	}
	c := p.checks
	c.start.Do(func() { go p.checkWorker() })
	j := c.get()
	j.st, j.f, j.status = st, f, code
	j.orderID = append(j.orderID[:0], orderID...)
	j.body = append(j.body[:0], resp.Body()...)
	select {
	case c.jobs <- j:
	default:
		p.m.checksDropped.Inc()
		c.put(j)
	}
}

func (c *responseChecks) get() *checkJob {
	select {
	case j := <-c.free:
		return j
	default:
		return &checkJob{body: make([]byte, 0, 4096)} // most answers are under 1 KB
	}
}

func (c *responseChecks) put(j *checkJob) {
	j.st, j.f = nil, nil
	if cap(j.body) > 64<<10 {
		return // do not keep one huge answer's buffer
	}
	select {
	case c.free <- j:
	default:
	}
}

// stopWorkers ends the workers (Serve, at shutdown); checks still queued are
// dropped: they are report-only.
func (c *responseChecks) stopWorkers() { c.halt.Do(func() { close(c.stop) }) }

// checkWorker checks queued answers. Waking a parked goroutine for every
// answer would put a futex wake-up (microseconds, more than the check of a
// small answer) on the request path, so while traffic flows the worker does
// not wait on the queue: it drains it every checkTick, and the handler's send
// is a plain copy into the buffered channel. After checkIdle of empty ticks
// it parks on the queue again, and the first answer of the next burst wakes it.
func (p *Proxy) checkWorker() {
	c := p.checks
	t := time.NewTicker(checkTick)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case j := <-c.jobs:
			p.checkResponse(j)
			c.put(j)
		}
		t.Reset(checkTick)
		for idle := time.Duration(0); idle < checkIdle; {
			select {
			case <-c.stop:
				return
			case <-t.C:
			}
			idle += checkTick
			for drained := false; !drained; {
				select {
				case j := <-c.jobs:
					p.checkResponse(j)
					c.put(j)
					idle = 0
				default:
					drained = true
				}
			}
		}
	}
}

// checkResponse validates one of Forter's answers in report-only mode:
// drift is counted and logged at debug level.
func (p *Proxy) checkResponse(j *checkJob) {
	r := p.reports.Get().(*validate.Report)
	r.Reset()
	r.Limits = validate.Limits{} // the limits bound requests, not Forter's answers
	j.f(j.body, r)
	if r.Errors() > 0 {
		j.st.drift.Inc()
		if p.log.Enabled(context.Background(), slog.LevelDebug) {
			var sb strings.Builder
			for i := range r.Violations {
				sb.WriteString(r.Violations[i].Rule + "@" + r.Violations[i].Pointer + " ")
			}
			p.log.LogAttrs(context.Background(), slog.LevelDebug, "response drift",
				slog.String("operation", j.st.op.ID), slog.String("order_id", string(shownID(j.orderID))),
				slog.Int("status", j.status), slog.String("violations", strings.TrimSpace(sb.String())))
		}
	}
	p.reports.Put(r)
}
