package natsjs

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/orderguard/orderguard/internal/outbox"
	pan "github.com/orderguard/orderguard/internal/redact" // the package has its own redact (of URLs)
)

// Resender drains the shared queue through the fleet's one durable consumer.
// Outcomes follow the bbolt resender's rules (outbox.Resender): 2xx → the
// decision is kept and the message acknowledged; 4xx other than 429 →
// dead-lettered (with the order's later requests), then acknowledged; 429,
// 5xx, transport → the next try is due after outbox.Backoff(attempts), kept in
// the attempts record, and the message is NakWithDelay'd for at most
// Options.Tick (attempts.go); older than MaxAge → dead-lettered without a send.
type Resender struct {
	s    *Store
	send outbox.Sender
	o    outbox.ResendOptions

	running, paused atomic.Bool
	attempts        atomic.Uint64
	failures        atomic.Uint64
	lastAttempt     atomic.Int64

	nextSlot time.Time // rate cap; the lease makes it the fleet's
	pausedAt time.Time // when Paused was first seen true; zero when not paused
	trusting bool      // a probe succeeded: Paused is ignored until a send fails
	lease    *lease
}

// NewResender implements outbox.Backend.
func (s *Store) NewResender(send outbox.Sender, o outbox.ResendOptions) outbox.Runner {
	r := &Resender{s: s, send: send, o: o.WithDefaults()}
	s.rmu.Lock()
	s.resender = r
	s.rmu.Unlock()
	return r
}

func (r *Resender) fill(st *outbox.Stats) {
	st.Resender, st.Paused = r.running.Load(), r.paused.Load()
	st.Attempts, st.Failures = r.attempts.Load(), r.failures.Load()
	if ns := r.lastAttempt.Load(); ns != 0 {
		st.LastAttemptAt = time.Unix(0, ns).UTC()
	}
}

// ConsumerName is the fleet's durable consumer on the pending stream.
func (s *Store) ConsumerName() string { return s.o.Stream + "_RESENDER" }

// Run delivers until ctx is done.
func (r *Resender) Run(ctx context.Context) error {
	r.running.Store(true)
	defer r.running.Store(false)
	var cons jetstream.Consumer
	for cons == nil {
		cctx, cancel := r.s.ctx()
		c, err := r.s.js.CreateOrUpdateConsumer(cctx, r.s.pending.CachedInfo().Config.Name, jetstream.ConsumerConfig{
			Durable: r.s.ConsumerName(), AckPolicy: jetstream.AckExplicitPolicy,
			AckWait: r.s.o.AckWait, MaxAckPending: 256, MaxDeliver: -1,
		})
		cancel()
		if err == nil {
			cons = c
			break
		}
		if r.s.closed.Load() {
			return outbox.ErrClosed
		}
		r.o.Logf("outbox: JetStream consumer: %v; retrying", err)
		if !outbox.Sleep(ctx, time.Second) {
			return nil
		}
	}
	var l *lease
	for l == nil {
		lctx, cancel := r.s.ctx()
		var err error
		l, err = r.s.newLease(lctx)
		cancel()
		if err != nil {
			if r.s.closed.Load() {
				return outbox.ErrClosed
			}
			r.o.Logf("%v; retrying", err)
			if !outbox.Sleep(ctx, time.Second) {
				return nil
			}
		}
	}
	lctx, stopLease := context.WithCancel(ctx)
	leaseDone := make(chan struct{})
	go func() { l.keep(lctx, r.s.o.Timeout); close(leaseDone) }()
	defer func() { stopLease(); <-leaseDone }()
	r.lease = l
	for ctx.Err() == nil {
		if r.s.closed.Load() {
			return outbox.ErrClosed
		}
		if !l.held.Load() {
			// Another resender of the fleet sends; wait to take over.
			if !outbox.Sleep(ctx, 100*time.Millisecond) {
				return nil
			}
			continue
		}
		// The circuit is open: wait, but send one request every ProbeEvery
		// as the resender's own probe (as outbox.Resender does): a breaker
		// that probes only on live traffic would otherwise hold the queue
		// for as long as no customer comes.
		probe := false
		if r.o.Paused() && !r.trusting {
			r.paused.Store(true)
			if r.pausedAt.IsZero() {
				r.pausedAt = time.Now()
			}
			if time.Since(r.pausedAt) < r.o.ProbeEvery {
				if !outbox.Sleep(ctx, r.o.PausePoll) {
					return nil
				}
				continue
			}
			probe = true
		} else if !r.o.Paused() {
			r.paused.Store(false)
			r.pausedAt, r.trusting = time.Time{}, false
		}
		// About a second of sends per batch, so that a lost lease stops
		// this resender within a second or so.
		n := max(1, min(16, int(r.o.Rate)))
		if probe {
			n = 1
		}
		batch, err := cons.Fetch(n, jetstream.FetchMaxWait(time.Second))
		if err != nil {
			r.o.Logf("outbox: JetStream fetch: %v", err)
			if !outbox.Sleep(ctx, time.Second) {
				return nil
			}
			continue
		}
		for m := range batch.Messages() {
			switch r.handle(ctx, m) {
			case answered:
				if probe {
					probe, r.trusting = false, true
					r.paused.Store(false)
					r.o.Logf("outbox: probe delivered while the circuit is open; resending")
				}
			case failed:
				if probe || r.trusting {
					r.trusting, r.pausedAt = false, time.Now()
				}
			}
		}
	}
	return nil
}

// outcome of one message, for the loop.
type outcome int

const (
	skipped  outcome = iota // not sent: behind its order, expired, or shutting down
	answered                // the upstream answered: 2xx, or a 4xx dead letter
	failed                  // 429, 5xx, transport
)

// handle sends one message if it is the head of its order's line.
func (r *Resender) handle(ctx context.Context, m jetstream.Msg) outcome {
	meta, err := m.Metadata()
	if err != nil {
		r.o.Logf("outbox: JetStream message without metadata: %v", err)
		_ = m.Nak()
		return skipped
	}
	seq := meta.Sequence.Stream
	e, err := decode(&jetstream.RawStreamMsg{Subject: m.Subject(), Sequence: seq, Data: m.Data()}, outbox.StatePending)
	if err != nil {
		// Not ours to send, but not to be lost either: its bytes go to the
		// dead-letter stream as they are, then it leaves the queue.
		r.o.Logf("outbox: #%d: %v; moved to the dead letters as it is", seq, err)
		ctx, cancel := r.s.ctx()
		_, perr := r.s.js.Publish(ctx, r.s.deadSubject(seq), m.Data())
		cancel()
		if perr != nil {
			_ = m.NakWithDelay(r.o.BackoffMax)
			return skipped
		}
		_ = m.Term()
		return skipped
	}
	var rec attempt
	if meta.NumDelivered > 1 {
		if r.s.wasDelivered(seq) {
			// Forter has it; only the acknowledgement was lost (a resender
			// died or timed out between the two).
			r.ack(m, seq)
			r.s.forgetAttempts(seq)
			return skipped
		}
		// Only a message delivered before can have failed: the first
		// delivery pays no read.
		if rec, err = r.s.attemptOf(seq); err != nil {
			r.o.Logf("%v; trying it now", err)
		}
		if wait := time.Until(rec.NextTry); wait > 0 {
			// Not due yet: come back for the rest of the backoff, capped,
			// so that a Retry meanwhile is seen within a Tick.
			_ = m.NakWithDelay(min(wait, r.s.o.Tick))
			return skipped
		}
	}
	e.Attempts, e.LastStatus, e.LastError = rec.Attempts, rec.LastStatus, rec.LastError
	if head, err := r.s.first(m.Subject(), 0); err != nil || head.Sequence < seq {
		// An earlier request of this order waits (or the stream cannot say):
		// come back shortly, behind it.
		_ = m.NakWithDelay(min(r.o.BackoffMin/4, r.s.o.Tick))
		return skipped
	}
	if age := time.Since(e.AgeFrom); age > r.o.MaxAge {
		reason := fmt.Sprintf("older than the maximum age %s (first try %s)", r.o.MaxAge, e.FirstTry.Format(time.RFC3339))
		r.dead(m, e, 0, reason, nil, false)
		return skipped
	}
	if !r.waitSlot(ctx) || !r.lease.held.Load() {
		// Shutting down, or the lease went to another resender meanwhile.
		_ = m.Nak()
		return skipped
	}
	r.attempts.Add(1)
	r.lastAttempt.Store(time.Now().UnixNano())
	sctx, cancel := context.WithTimeout(ctx, r.o.SendTimeout)
	status, body, err := r.send.Send(sctx, e.Request())
	cancel()
	attempts := rec.Attempts + 1
	switch {
	case err != nil || status == 429 || status >= 500:
		if ctx.Err() != nil && err != nil {
			_ = m.Nak()
			return skipped
		}
		r.failures.Add(1)
		delay := outbox.Backoff(attempts, r.o.BackoffMin, r.o.BackoffMax)
		text := ""
		if err != nil {
			text = err.Error()
		}
		r.o.Logf("outbox: #%d %s order %q attempt %d failed (status %d %s); next try in %s", seq, e.Operation, pan.MaskString(e.OrderID), attempts, status, text, delay.Round(time.Millisecond))
		next := attempt{Attempts: attempts, NextTry: time.Now().Add(delay).UTC(), LastStatus: status, LastError: text}
		if err := r.s.putAttempt(seq, next); err != nil {
			// Without the record the consumer's timer is the backoff.
			r.o.Logf("%v; next try by the consumer's redelivery", err)
			_ = m.NakWithDelay(delay)
			return failed
		}
		_ = m.NakWithDelay(min(delay, r.s.o.Tick))
		return failed
	case status >= 200 && status < 300:
		if err := r.s.recordDelivered(e, status, body, attempts); err != nil {
			r.o.Logf("outbox: #%d delivered, decision not kept: %v", seq, err)
		}
		r.ack(m, seq)
		if rec.Attempts > 0 {
			r.s.forgetAttempts(seq)
		}
	default:
		r.dead(m, e, status, fmt.Sprintf("upstream answered %d", status), body, true)
	}
	return answered
}

func (r *Resender) dead(m jetstream.Msg, e outbox.Entry, status int, reason string, body []byte, attempted bool) {
	r.o.Logf("outbox: #%d %s order %q dead-lettered: %s", e.ID, e.Operation, pan.MaskString(e.OrderID), reason)
	if _, err := r.s.markDead(e, status, reason, body, attempted); err != nil {
		r.o.Logf("outbox: #%d: %v; it stays pending", e.ID, err)
		_ = m.NakWithDelay(r.o.BackoffMin)
		return
	}
	r.ack(m, e.ID)
}

// ack waits for the server's confirmation: an ack lost on the way would
// redeliver a request Forter already has.
func (r *Resender) ack(m jetstream.Msg, seq uint64) {
	ctx, cancel := r.s.ctx()
	defer cancel()
	if err := m.DoubleAck(ctx); err != nil && !errors.Is(err, context.Canceled) {
		r.o.Logf("outbox: #%d ack: %v (it may be delivered again)", seq, err)
	}
}

// waitSlot enforces --outbox-rate; only the lease holder sends, so it is the fleet's.
func (r *Resender) waitSlot(ctx context.Context) bool {
	now := time.Now()
	if r.nextSlot.After(now) {
		if !outbox.Sleep(ctx, r.nextSlot.Sub(now)) {
			return false
		}
		now = time.Now()
	}
	r.nextSlot = now.Add(time.Duration(float64(time.Second) / r.o.Rate))
	return true
}
