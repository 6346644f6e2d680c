//go:build !linux

package load

import (
	"context"
	"errors"
	"time"
)

// preciseTicks has no precise clock to offer off Linux; newClock falls back
// to timerTicks.
func preciseTicks(context.Context, time.Time, time.Duration) (ticks, func(), error) {
	return nil, nil, errors.New("no timerfd on this system")
}
