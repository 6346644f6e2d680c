package load

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// preciseTicks is a timerfd read through the Go network poller: the kernel makes
// it readable at each interval, which wakes the poller's epoll wait at once,
// however long that wait was asked to be, and no goroutine sleeps holding a P
// (as one sleeping in nanosleep would). A read returns how many intervals have
// expired since the last one, so a late reader still learns every due time.
func preciseTicks(ctx context.Context, start time.Time, interval time.Duration) (ticks, func(), error) {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return nil, nil, fmt.Errorf("timerfd_create: %w", err)
	}
	// The timer is armed at absolute times on the monotonic clock, so that a
	// goroutine descheduled between reading the clock and arming the timer
	// cannot shift every later tick by however long it was away. Slots up to n
	// are due already (the goroutine may have started late); the first expiry
	// is slot n+1's due time, and a late read still counts every interval.
	startMono, err := monotonicNanos(start)
	if err != nil {
		unix.Close(fd)
		return nil, nil, err
	}
	n := max(int64(time.Since(start)/interval), 0)
	spec := unix.ItimerSpec{
		Interval: unix.NsecToTimespec(int64(interval)),
		Value:    unix.NsecToTimespec(startMono + (n+1)*int64(interval)),
	}
	if err := unix.TimerfdSettime(fd, unix.TFD_TIMER_ABSTIME, &spec, nil); err != nil {
		unix.Close(fd)
		return nil, nil, fmt.Errorf("timerfd_settime: %w", err)
	}
	f := os.NewFile(uintptr(fd), "timerfd") // non-blocking, so the poller waits on it
	unhook := context.AfterFunc(ctx, func() { f.Close() })
	told := false
	var buf [8]byte
	tick := func() int64 {
		if !told { // the slots due before the timer was armed
			told = true
			return n
		}
		if _, err := f.Read(buf[:]); err != nil {
			return -1
		}
		n += int64(binary.NativeEndian.Uint64(buf[:]))
		return n
	}
	stop := func() {
		unhook()
		f.Close()
	}
	return tick, stop, nil
}

// monotonicNanos is t on CLOCK_MONOTONIC, the clock Go's monotonic readings
// come from but do not expose. It reads both clocks back to back, and again if
// something came between them; what error is left (under the 20µs bound) can
// only make the result later, so the pacer may be late but never early.
func monotonicNanos(t time.Time) (int64, error) {
	for range 100 {
		before := time.Now()
		var ts unix.Timespec
		if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
			return 0, fmt.Errorf("clock_gettime: %w", err)
		}
		if took := time.Since(before); took < 20*time.Microsecond {
			return ts.Nano() - int64(before.Sub(t)), nil
		}
	}
	return 0, errors.New("clock_gettime: every read was interrupted")
}
