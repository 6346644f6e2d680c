package proxy

import (
	"bytes"
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestRequestLogJSON(t *testing.T) {
	for _, id := range []string{"fortertest1234", `a"b\c`, "tab\there", "bad\xffutf8", "ünï"} {
		t.Run(id, func(t *testing.T) {
			var out bytes.Buffer
			l := newRequestLog(&out, "json")
			l.write(requestLine{operation: "orderV2", orderID: []byte(id), status: 200, violations: 2,
				validation: 12 * time.Microsecond, upstream: 1500 * time.Microsecond, total: 2 * time.Millisecond, at: time.Now()})
			if !strings.HasSuffix(out.String(), "}\n") || strings.Count(out.String(), "\n") != 1 {
				t.Fatalf("not one line: %q", out.String())
			}
			var got map[string]any
			if err := json.Unmarshal(out.Bytes(), &got); err != nil {
				t.Fatalf("not JSON: %v\n%s", err, out.String())
			}
			want := strings.ToValidUTF8(id, "\ufffd")
			if got["order_id"] != want || got["operation"] != "orderV2" || got["msg"] != "request" ||
				got["level"] != "INFO" || got["outcome"] != "forwarded" || got["status"] != 200.0 ||
				got["violations"] != 2.0 || got["validation_ms"] != 0.012 || got["upstream_ms"] != 1.5 || got["total_ms"] != 2.0 {
				t.Errorf("fields: %v", got)
			}
			if _, err := time.Parse(time.RFC3339Nano, got["time"].(string)); err != nil {
				t.Errorf("time: %v", err)
			}
		})
	}
}

// TestRequestLogNumbers: the hand-rolled time and millisecond formats write
// exactly what time.RFC3339Nano and strconv's shortest 'f' format write.
func TestRequestLogNumbers(t *testing.T) {
	l := newRequestLog(io.Discard, "json")
	east := time.FixedZone("east", 5*3600+30*60)
	times := []time.Time{
		time.Date(2026, 11, 21, 9, 0, 49, 0, time.UTC),
		time.Date(2026, 11, 21, 9, 0, 49, 1, time.UTC),
		time.Date(2026, 11, 21, 9, 0, 49, 897036035, time.UTC),
		time.Date(2026, 11, 21, 9, 0, 49, 500000000, time.UTC),
		time.Date(2026, 11, 21, 9, 0, 49, 120000000, east),
		time.Date(1999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Now(),
		time.Now().In(east),
	}
	for i := range 1000 {
		times = append(times, time.Unix(1_790_000_000+int64(i/3), int64(i)*7_919_999))
	}
	for _, at := range times {
		if got, want := string(l.appendTime(nil, at)), at.Format(time.RFC3339Nano); got != want {
			t.Errorf("appendTime(%v) = %q, want %q", at, got, want)
		}
	}
	durations := []time.Duration{0, time.Microsecond, 10 * time.Microsecond, 100 * time.Microsecond, 412 * time.Microsecond,
		time.Millisecond, 1500 * time.Microsecond, 2 * time.Second, 999 * time.Nanosecond, 123456789 * time.Microsecond, -1500 * time.Microsecond}
	for i := range 5000 {
		durations = append(durations, time.Duration(i*i*37)*time.Microsecond+time.Duration(i))
	}
	for _, d := range durations {
		if got, want := string(appendMillis(nil, d)), strconv.FormatFloat(millis(d), 'f', -1, 64); got != want {
			t.Errorf("appendMillis(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestRequestLogText(t *testing.T) {
	var out bytes.Buffer
	l := newRequestLog(&out, "text")
	l.write(requestLine{operation: "statusPut", orderID: []byte("has space=and\"quote"), status: 429, total: time.Millisecond})
	line := out.String()
	for _, want := range []string{" level=INFO msg=request operation=statusPut ", ` order_id="has space=and\"quote" `,
		" outcome=forwarded status=429 violations=0 validation_ms=0 upstream_ms=0 total_ms=1\n"} {
		if !strings.Contains(line, want) {
			t.Errorf("%q lacks %q", line, want)
		}
	}
}

func TestRequestLogAllocatesNothing(t *testing.T) {
	l := newRequestLog(io.Discard, "json")
	id := []byte("fortertest1234")
	n := testing.AllocsPerRun(100, func() {
		l.write(requestLine{operation: "orderV2", orderID: id, status: 200, total: time.Millisecond})
	})
	if n != 0 {
		t.Errorf("%v allocations per line, want 0", n)
	}
}

func BenchmarkRequestLog(b *testing.B) {
	l := newRequestLog(io.Discard, "json")
	id := []byte("fortertest1234")
	b.ReportAllocs()
	for b.Loop() {
		l.write(requestLine{operation: "orderV2", orderID: id, status: 200, validation: 3 * time.Microsecond, upstream: time.Millisecond, total: time.Millisecond, at: time.Now()})
	}
}
