package proxy

import (
	"io"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// requestLog writes the one line per forwarded request, in the same shape as
// the logger's JSON or text handler. It exists because slog costs about 3 µs
// and several allocations per line, 9% of the proxy's CPU under load in a
// profile of `orderguard bench`; this writer costs a fraction of that and
// allocates nothing. Every other line still goes through slog.
type requestLog struct {
	w    io.Writer
	text bool
	bufs sync.Pool
}

func newRequestLog(w io.Writer, format string) *requestLog {
	l := &requestLog{w: w, text: format == "text"}
	l.bufs.New = func() any { b := make([]byte, 0, 512); return &b }
	return l
}

type requestLine struct {
	operation  string
	orderID    []byte
	status     int
	violations int
	validation time.Duration
	upstream   time.Duration
	total      time.Duration
}

func (l *requestLog) write(r requestLine) {
	bp := l.bufs.Get().(*[]byte)
	b := (*bp)[:0]
	if l.text {
		b = l.appendText(b, r)
	} else {
		b = l.appendJSON(b, r)
	}
	_, _ = l.w.Write(b) // a log that cannot be written must not fail the request
	*bp = b
	l.bufs.Put(bp)
}

func (l *requestLog) appendJSON(b []byte, r requestLine) []byte {
	b = append(b, `{"time":"`...)
	b = time.Now().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","level":"INFO","msg":"request","operation":`...)
	b = appendString(b, []byte(r.operation))
	b = append(b, `,"order_id":`...)
	b = appendString(b, r.orderID)
	b = append(b, `,"outcome":"`+outcomeForwarded+`","status":`...)
	b = strconv.AppendInt(b, int64(r.status), 10)
	b = append(b, `,"violations":`...)
	b = strconv.AppendInt(b, int64(r.violations), 10)
	b = append(b, `,"validation_ms":`...)
	b = appendMillis(b, r.validation)
	b = append(b, `,"upstream_ms":`...)
	b = appendMillis(b, r.upstream)
	b = append(b, `,"total_ms":`...)
	b = appendMillis(b, r.total)
	return append(b, "}\n"...)
}

func (l *requestLog) appendText(b []byte, r requestLine) []byte {
	b = append(b, "time="...)
	b = time.Now().AppendFormat(b, time.RFC3339Nano)
	b = append(b, " level=INFO msg=request operation="...)
	b = appendTextValue(b, r.operation)
	b = append(b, " order_id="...)
	b = appendTextValue(b, string(r.orderID))
	b = append(b, " outcome="+outcomeForwarded+" status="...)
	b = strconv.AppendInt(b, int64(r.status), 10)
	b = append(b, " violations="...)
	b = strconv.AppendInt(b, int64(r.violations), 10)
	b = append(b, " validation_ms="...)
	b = appendMillis(b, r.validation)
	b = append(b, " upstream_ms="...)
	b = appendMillis(b, r.upstream)
	b = append(b, " total_ms="...)
	b = appendMillis(b, r.total)
	return append(b, '\n')
}

func appendMillis(b []byte, d time.Duration) []byte {
	return strconv.AppendFloat(b, millis(d), 'f', -1, 64)
}

// appendTextValue appends s bare when it is safe to, quoted otherwise (as
// slog's text handler does).
func appendTextValue(b []byte, s string) []byte {
	if s == "" {
		return append(b, `""`...)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c == '=' || c == '"' || c >= utf8.RuneSelf {
			return strconv.AppendQuote(b, s)
		}
	}
	return append(b, s...)
}
