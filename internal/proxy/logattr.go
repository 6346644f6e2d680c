package proxy

import (
	"log/slog"
	"math"
	"time"
)

// durationMS is a log attribute holding d in milliseconds with three
// decimals, as the request line writes them (validation_ms, total_ms):
// slog.Duration would print raw nanoseconds in JSON. Name it with _ms.
func durationMS(key string, d time.Duration) slog.Attr {
	return slog.Float64(key, math.Round(float64(d)/1e3)/1e3)
}
