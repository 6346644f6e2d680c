package sandbox

import (
	"sync"
	"time"
)

// limiter counts requests per site in fixed one-second windows of the
// configured clock. A fixed window (rather than a token bucket) makes "the
// 11th request within a second is refused" exact and testable with a frozen
// clock. The map is cleared at each new window, so it holds at most the sites
// seen within one second.
type limiter struct {
	limit  int
	now    func() time.Time
	mu     sync.Mutex
	window int64
	counts map[string]int
}

func newLimiter(limit int, now func() time.Time) *limiter {
	if now == nil {
		now = time.Now
	}
	return &limiter{limit: limit, now: now, counts: map[string]int{}}
}

// allow counts one request of site and reports whether it is within the limit.
func (l *limiter) allow(site string) bool {
	if l.limit <= 0 {
		return true
	}
	w := l.now().Unix()
	l.mu.Lock()
	defer l.mu.Unlock()
	if w != l.window {
		l.window = w
		clear(l.counts)
	}
	n := l.counts[site] + 1
	l.counts[site] = n
	return n <= l.limit
}
