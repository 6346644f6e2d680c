package outbox

import (
	"context"
	"errors"
	"fmt"
	"github.com/orderguard/orderguard/internal/redact"
	"math/rand/v2"
	"sync/atomic"
	"time"
)

// Sender delivers one kept request upstream. The proxy supplies it (its pool,
// with the configured credentials injected); the outbox never dials itself.
// status is the upstream's HTTP status when one was received; err is a
// transport error (no status). ctx carries the per-attempt deadline.
type Sender interface {
	Send(ctx context.Context, r Request) (status int, body []byte, err error)
}

// SenderFunc adapts a function to Sender.
type SenderFunc func(ctx context.Context, r Request) (int, []byte, error)

// Send calls f.
func (f SenderFunc) Send(ctx context.Context, r Request) (int, []byte, error) { return f(ctx, r) }

// ResendOptions tune the resender. The zero value is the production default.
type ResendOptions struct {
	// Rate caps sends per second (--outbox-rate). Default 5, so that with live
	// traffic a test site's 10 requests/s limit is respected.
	Rate float64
	// MaxAge dead-letters a request this long after its first try
	// (--outbox-max-age). Default 7 days.
	MaxAge time.Duration
	// BackoffMin and BackoffMax bound the exponential backoff, per request and
	// for the loop after consecutive failures. Defaults 1s and 1m.
	BackoffMin, BackoffMax time.Duration
	// SendTimeout bounds one delivery attempt. Default 10s: this is not the
	// checkout's budget, nobody is waiting.
	SendTimeout time.Duration
	// Paused reports whether the upstream is known to be down (the proxy's
	// circuit breaker is open); the resender sends nothing while it is true.
	// Nil means never paused.
	Paused func() bool
	// PausePoll is how often Paused is asked while paused. Default 250ms.
	PausePoll time.Duration
	// ProbeEvery is how long the resender stays paused before it sends one
	// request anyway, as its own probe. A circuit breaker that only probes
	// on live traffic stays open forever when the traffic stops (a night,
	// a test); the queue must not wait for the next customer. While its own
	// sends succeed the resender goes on despite Paused; its first failure
	// pauses it again. Default 5s.
	ProbeEvery time.Duration
	// Logf, if set, gets one line per outcome other than delivery (ids,
	// operations and statuses only, never bodies).
	Logf func(format string, args ...any)
}

// WithDefaults fills in the defaults, for backends outside this package.
func (o ResendOptions) WithDefaults() ResendOptions { return o.withDefaults() }

func (o ResendOptions) withDefaults() ResendOptions {
	if o.Rate <= 0 {
		o.Rate = 5
	}
	if o.MaxAge <= 0 {
		o.MaxAge = 7 * 24 * time.Hour
	}
	if o.BackoffMin <= 0 {
		o.BackoffMin = time.Second
	}
	if o.BackoffMax <= 0 {
		o.BackoffMax = time.Minute
	}
	if o.BackoffMax < o.BackoffMin {
		o.BackoffMax = o.BackoffMin
	}
	if o.SendTimeout <= 0 {
		o.SendTimeout = 10 * time.Second
	}
	if o.PausePoll <= 0 {
		o.PausePoll = 250 * time.Millisecond
	}
	if o.ProbeEvery <= 0 {
		o.ProbeEvery = 5 * time.Second
	}
	if o.Paused == nil {
		o.Paused = func() bool { return false }
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	return o
}

// Resender is the background loop that delivers the queue. Create it with
// Store.Resender and run it with Run.
type Resender struct {
	s    *Store
	send Sender
	o    ResendOptions

	running, paused atomic.Bool
	attempts        atomic.Uint64
	failures        atomic.Uint64
	lastAttempt     atomic.Int64 // unix nanos

	// Loop state, touched only by Run's goroutine.
	nextSlot    time.Time // rate cap: earliest time of the next send
	consecutive int       // failures in a row, for the loop's own backoff
	holdUntil   time.Time // no send before this after a failure
	pausedAt    time.Time // when Paused was first seen true; zero when not paused
	trusting    bool      // a probe succeeded: Paused is ignored until a send fails
}

// Resender returns the store's resender; one per store (a second call
// replaces the one Stats reports on).
func (s *Store) Resender(send Sender, o ResendOptions) *Resender {
	r := &Resender{s: s, send: send, o: o.withDefaults()}
	s.resender.Store(r)
	return r
}

// outcome of one attempt, for the loop.
type outcome int

const (
	skipped outcome = iota // gone, or waiting behind an earlier request of its order
	delivered
	deadLettered // the upstream answered a 4xx other than 429
	expired      // older than MaxAge, dead-lettered without a send
	failed       // 429, 5xx, transport: retried later
)

// Run delivers until ctx is done; it returns nil then, or an error if the
// store was closed under it.
func (r *Resender) Run(ctx context.Context) error {
	r.running.Store(true)
	defer r.running.Store(false)
	for {
		if ctx.Err() != nil {
			return nil
		}
		probe := false
		if r.o.Paused() && !r.trusting {
			r.paused.Store(true)
			if r.pausedAt.IsZero() {
				r.pausedAt = time.Now()
			}
			if time.Since(r.pausedAt) < r.o.ProbeEvery {
				if !sleep(ctx, r.o.PausePoll, nil) {
					return nil
				}
				continue
			}
			probe = true
		} else if !r.o.Paused() {
			r.paused.Store(false)
			r.pausedAt, r.trusting = time.Time{}, false
		}
		if wait := time.Until(r.holdUntil); wait > 0 {
			// The upstream failed last time: wait before trying anything else
			// so an outage without a circuit breaker is not hammered; an
			// operator's Retry (not an enqueue) ends the wait: "due now".
			if !sleep(ctx, wait, r.s.retried) {
				return nil
			}
			if time.Until(r.holdUntil) > 0 {
				r.holdUntil = time.Time{}
			}
			continue // the circuit may have opened meanwhile
		}
		ids, next := r.s.due(time.Now(), 64)
		if len(ids) == 0 {
			wait := time.Minute
			if !next.IsZero() {
				wait = max(time.Until(next), time.Millisecond)
			}
			if probe {
				wait = min(wait, r.o.PausePoll)
			}
			if !sleep(ctx, wait, r.s.wake) {
				return nil
			}
			continue
		}
		sent := false
		for _, id := range ids {
			if ctx.Err() != nil || (!probe && !r.trusting && r.o.Paused()) {
				break
			}
			out, err := r.attempt(ctx, id)
			if err != nil {
				if errors.Is(err, ErrClosed) {
					if ctx.Err() != nil {
						return nil // closed as part of a shutdown that cancelled ctx
					}
					return err
				}
				// A store that cannot write is a reason to slow down too.
				r.o.Logf("outbox: resend #%d: %v", id, err)
				out = failed
			}
			if out == failed {
				r.consecutive++
				r.holdUntil = time.Now().Add(r.backoff(r.consecutive))
				if r.trusting || probe {
					// Back to paused if the circuit is still open; the next
					// probe waits ProbeEvery.
					r.trusting, r.pausedAt = false, time.Now()
				}
				break
			}
			if out == skipped || out == expired {
				sent = sent || out == expired
				continue
			}
			// The upstream answered: it is up, whatever the circuit says.
			sent = true
			r.consecutive = 0
			if probe {
				probe, r.trusting = false, true
				r.paused.Store(false)
				r.o.Logf("outbox: probe delivered while the circuit is open; resending")
			}
		}
		if !sent && r.consecutive == 0 {
			// Everything due was skipped (an earlier request of the same
			// order is being indexed): do not spin.
			if !sleep(ctx, 10*time.Millisecond, nil) {
				return nil
			}
		}
	}
}

// attempt sends one entry if it is still the head of its order's line and
// records the outcome.
func (r *Resender) attempt(ctx context.Context, id uint64) (outcome, error) {
	e, ok, err := r.s.head(id)
	if err != nil || !ok {
		return skipped, err
	}
	if age := time.Since(e.AgeFrom); age > r.o.MaxAge {
		reason := fmt.Sprintf("older than the maximum age %s (first try %s)", r.o.MaxAge, e.FirstTry.Format(time.RFC3339))
		r.o.Logf("outbox: #%d %s order %q dead-lettered: %s", id, e.Operation, redact.MaskString(e.OrderID), reason)
		return expired, r.s.markDead(id, 0, reason, nil, false)
	}
	if !r.waitSlot(ctx) {
		return skipped, nil
	}
	r.attempts.Add(1)
	r.lastAttempt.Store(time.Now().UnixNano())
	sctx, cancel := context.WithTimeout(ctx, r.o.SendTimeout)
	status, body, err := r.send.Send(sctx, e.Request())
	cancel()
	attempts := e.Attempts + 1
	switch {
	case err != nil || status == 429 || status >= 500:
		if ctx.Err() != nil && err != nil {
			// Shutting down mid-send: not the upstream's fault, try again next run.
			return skipped, nil
		}
		text := ""
		if err != nil {
			text = err.Error()
		}
		next := time.Now().Add(r.backoff(attempts))
		r.o.Logf("outbox: #%d %s order %q attempt %d failed (status %d %s); next try %s", id, e.Operation, redact.MaskString(e.OrderID), attempts, status, text, next.UTC().Format(time.RFC3339))
		err := r.s.markFailed(id, status, text, body, next)
		r.failures.Add(1) // after the record, so that Stats never runs ahead of List
		return failed, err
	case status >= 200 && status < 300:
		return delivered, r.s.markDelivered(id, status, body, attempts)
	default: // 4xx other than 429, and statuses a Forter endpoint never sends
		reason := fmt.Sprintf("upstream answered %d", status)
		r.o.Logf("outbox: #%d %s order %q dead-lettered: %s", id, e.Operation, redact.MaskString(e.OrderID), reason)
		return deadLettered, r.s.markDead(id, status, reason, body, true)
	}
}

// waitSlot enforces the rate cap; false if ctx ended while waiting.
func (r *Resender) waitSlot(ctx context.Context) bool {
	now := time.Now()
	if r.nextSlot.After(now) {
		if !sleep(ctx, r.nextSlot.Sub(now), nil) {
			return false
		}
		now = time.Now()
	}
	interval := time.Duration(float64(time.Second) / r.o.Rate)
	r.nextSlot = now.Add(interval)
	return true
}

// backoff is the delay after n failures: BackoffMin doubled n-1 times, capped
// at BackoffMax, with "equal jitter" (half fixed, half random) so that many
// requests failing together do not come back together.
func (r *Resender) backoff(n int) time.Duration {
	return Backoff(n, r.o.BackoffMin, r.o.BackoffMax)
}

// Backoff is the delay after n failures between lo and hi (see
// Resender.backoff), for every backend's resender.
func Backoff(n int, lo, hi time.Duration) time.Duration {
	d := lo
	for i := 1; i < n && d < hi; i++ {
		d *= 2
	}
	d = min(d, hi)
	half := d / 2
	return half + time.Duration(rand.Int64N(int64(half)+1))
}

// Sleep waits d; false if ctx ended first. For every backend's resender.
func Sleep(ctx context.Context, d time.Duration) bool { return sleep(ctx, d, nil) }

// sleep waits d, or until wake fires; false if ctx ended.
func sleep(ctx context.Context, d time.Duration, wake <-chan struct{}) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
	case <-wake:
	}
	return true
}
