package load

import (
	"context"
	"runtime"
	"testing"
	"time"
)

// clocks are the pacer's clocks: the precise one where the system has it, and
// the portable timer everywhere.
func clocks(t *testing.T) map[string]func(context.Context, time.Time, time.Duration) (ticks, func()) {
	t.Helper()
	m := map[string]func(context.Context, time.Time, time.Duration) (ticks, func()){"timer": timerTicks}
	if _, stop, err := preciseTicks(context.Background(), time.Now(), time.Second); err == nil {
		stop()
		m["precise"] = func(ctx context.Context, start time.Time, interval time.Duration) (ticks, func()) {
			tick, stop, err := preciseTicks(ctx, start, interval)
			if err != nil {
				t.Fatal(err)
			}
			return tick, stop
		}
	} else if runtime.GOOS == "linux" {
		t.Fatalf("no precise clock on Linux: %v", err)
	}
	return m
}

// Every number leaves once, in order, and never before it is due, also when
// the run started before the pacer did (the first numbers are due at once).
func TestPaceInOrderNeverEarly(t *testing.T) {
	for name, newTicks := range clocks(t) {
		t.Run(name, func(t *testing.T) {
			const interval, total = 100 * time.Microsecond, 400
			start := time.Now().Add(-3 * time.Millisecond)
			tick, stop := newTicks(context.Background(), start, interval)
			defer stop()
			slots := make(chan int64, 4)
			go pace(context.Background(), tick, total, slots, nil)
			var want int64
			for i := range slots {
				now := time.Now()
				if i != want {
					t.Fatalf("got number %d, want %d", i, want)
				}
				if due := start.Add(time.Duration(i) * interval); now.Before(due) {
					t.Fatalf("number %d left %v before it was due", i, due.Sub(now))
				}
				want++
			}
			if want != total {
				t.Fatalf("pacer handed out %d numbers, want %d", want, total)
			}
		})
	}
}

// A pacer whose numbers nobody takes stops when told to, and closes slots.
func TestPaceQuits(t *testing.T) {
	for name, newTicks := range clocks(t) {
		t.Run(name, func(t *testing.T) {
			tick, stop := newTicks(context.Background(), time.Now(), 100*time.Microsecond)
			defer stop()
			slots, quit := make(chan int64, 1), make(chan struct{})
			done := make(chan struct{})
			go func() { pace(context.Background(), tick, 1e9, slots, quit); close(done) }()
			<-slots // it runs, and then blocks on the full channel
			close(quit)
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("pace still running 5s after quit")
			}
			for range slots { // closed: this ends
			}
		})
	}
}

// Cancelling the run stops a pacer that waits for a far-off due time.
func TestPaceStopsOnCancel(t *testing.T) {
	for name, newTicks := range clocks(t) {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			tick, stop := newTicks(ctx, time.Now(), time.Hour)
			defer stop()
			slots := make(chan int64, 4)
			done := make(chan struct{})
			go func() { pace(ctx, tick, 10, slots, nil); close(done) }()
			if i := <-slots; i != 0 {
				t.Fatalf("first number %d, want 0", i)
			}
			cancel()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("pace still waiting 5s after cancel")
			}
			if i, ok := <-slots; ok {
				t.Fatalf("got number %d after cancel; slots should be closed", i)
			}
		})
	}
}
