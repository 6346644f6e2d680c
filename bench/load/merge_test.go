package load

import (
	"testing"
	"time"
)

func TestMerge(t *testing.T) {
	a := &Result{Rate: 100, Duration: time.Second, Elapsed: time.Second, Scheduled: 100, Responses: 100, Latency: NewHistogram(),
		Status: map[int]int64{200: 90, 400: 10}, Errors: map[string]int64{}, Conn: ConnStats{Dials: 2}}
	b := &Result{Rate: 100, Duration: time.Second, Elapsed: 3 * time.Second, Scheduled: 100, Responses: 98, Latency: NewHistogram(),
		Status: map[int]int64{200: 98}, Errors: map[string]int64{ErrKindTimeout: 2}, Conn: ConnStats{Dials: 3}}
	_ = a.Latency.RecordValues(int64(time.Millisecond), 100)
	_ = b.Latency.RecordValues(int64(time.Second), 100)
	m := Merge(a, b)
	if m.Scheduled != 200 || m.Responses != 198 || m.Status[200] != 188 || m.Status[400] != 10 || m.Errors[ErrKindTimeout] != 2 || m.Conn.Dials != 5 {
		t.Errorf("merged counts wrong: %+v", m)
	}
	if m.Duration != 2*time.Second || m.Achieved != 198.0/4 {
		t.Errorf("duration %v, achieved %v; want 2s and %v", m.Duration, m.Achieved, 198.0/4)
	}
	if got := Summarize(m.Latency); got.P50 > 2*time.Millisecond || got.P90 < 900*time.Millisecond {
		t.Errorf("merged percentiles %+v: want p50 from a, p90 from b", got)
	}
	if Merge() != nil {
		t.Error("Merge() should be nil")
	}
}
