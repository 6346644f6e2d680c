package proxy

import (
	"sync/atomic"
	"time"
)

// Circuit states, as the orderguard_circuit_state gauge reports them.
const (
	circuitClosed   int32 = 0
	circuitOpen     int32 = 1
	circuitHalfOpen int32 = 2
)

// breaker opens after `threshold` consecutive upstream failures, so that an
// outage costs a request microseconds instead of its whole budget. After
// `cooldown` it lets one request through as a probe (half-open): success
// closes it, failure opens it for another cooldown. The closed path is one
// atomic load per request and no write unless a failure was counted.
type breaker struct {
	threshold int32 // 0: never opens
	cooldown  time.Duration
	now       func() time.Time

	state    atomic.Int32
	fails    atomic.Int32
	openedAt atomic.Int64 // unix nanoseconds
	probing  atomic.Bool
	opens    atomic.Int64 // times it opened, for metrics
}

func newBreaker(threshold int, cooldown time.Duration) *breaker {
	return &breaker{threshold: int32(threshold), cooldown: cooldown, now: time.Now}
}

// allow says whether a request may call the upstream; probe is true when the
// request is the half-open probe and must report its outcome.
func (b *breaker) allow() (ok, probe bool) {
	if b.state.Load() == circuitClosed {
		return true, false
	}
	if b.now().UnixNano()-b.openedAt.Load() < int64(b.cooldown) {
		return false, false
	}
	if b.probing.CompareAndSwap(false, true) {
		b.state.Store(circuitHalfOpen)
		return true, true
	}
	return false, false
}

func (b *breaker) success(probe bool) {
	if b.fails.Load() != 0 {
		b.fails.Store(0)
	}
	if probe || b.state.Load() != circuitClosed {
		b.state.Store(circuitClosed)
		b.probing.Store(false)
	}
}

func (b *breaker) failure(probe bool) {
	if b.threshold <= 0 {
		return
	}
	if probe {
		b.open()
		b.probing.Store(false)
		return
	}
	if b.fails.Add(1) >= b.threshold && b.state.Load() == circuitClosed {
		b.open()
	}
}

func (b *breaker) open() {
	b.openedAt.Store(b.now().UnixNano())
	if b.state.Swap(circuitOpen) != circuitOpen {
		b.opens.Add(1)
	}
}
