package load

import (
	"context"
	"time"
)

// Why a pacer, rather than a timer per worker: a Go timer sleeps in the
// runtime's network poller, whose wait is counted in whole milliseconds, so at
// 5,000 req/s the requests due within one millisecond would leave together, in
// a burst, and the last of each burst would wait for the target to finish the
// ones ahead of it. That measures the generator's millisecond, not the target.
// The precise clock (timerfd on Linux) wakes the poller at each due time.

// ticks waits for the next due time and returns the highest sequence number
// due by now (number i is due at start + i*interval), or -1 once it is stopped.
type ticks func() int64

// Clock names, for Result.Pacer.
const (
	PacerTimerfd = "timerfd"  // each request released at its due time
	PacerGoTimer = "go-timer" // released on the Go poller's millisecond
)

// newClock returns the most precise clock this system has, its stop and its name.
func newClock(ctx context.Context, start time.Time, interval time.Duration) (ticks, func(), string) {
	if t, stop, err := preciseTicks(ctx, start, interval); err == nil {
		return t, stop, PacerTimerfd
	}
	t, stop := timerTicks(ctx, start, interval)
	return t, stop, PacerGoTimer
}

// pace hands out sequence numbers 0..total-1 on slots as tick says they are
// due. It closes slots when it has handed out all of them, or early when the
// clock stops, ctx is done or quit is closed. Numbers leave in order, so the
// ones taken are always a prefix.
func pace(ctx context.Context, tick ticks, total int64, slots chan<- int64, quit <-chan struct{}) {
	defer close(slots)
	var next int64
	for next < total {
		due := tick()
		if due < 0 {
			return
		}
		for ; next <= due && next < total; next++ {
			select {
			case slots <- next:
			case <-quit:
				return
			case <-ctx.Done():
				return
			}
		}
	}
}

// timerTicks is the portable clock: a Go timer, with the poller's millisecond
// granularity described above.
func timerTicks(ctx context.Context, start time.Time, interval time.Duration) (ticks, func()) {
	timer := time.NewTimer(time.Hour)
	var n int64 = -1
	tick := func() int64 {
		n++
		if wait := time.Until(start.Add(time.Duration(n) * interval)); wait > 0 {
			timer.Reset(wait) // Go 1.23+: Reset needs no drain
			select {
			case <-ctx.Done():
				return -1
			case <-timer.C:
			}
		}
		return max(n, int64(time.Since(start)/interval))
	}
	return tick, func() { timer.Stop() }
}
