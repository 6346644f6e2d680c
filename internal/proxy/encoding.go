package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"

	"github.com/valyala/fasthttp"

	"github.com/orderguard/orderguard/internal/contentcoding"
)

// A body sent with Content-Encoding: gzip or deflate is decoded for the
// validator, under the --max-body cap, and forwarded (and kept in the
// outbox) as received, header included. An uncompressed body is validated
// in place: that path does no more than look the header up.

// bodyNext is what the handler does with a body after bodyToCheck.
type bodyNext uint8

const (
	bodyValidate bodyNext = iota // validate the bytes returned
	bodySkip                     // forward unchecked (mode off, no validator, or report mode and a body it cannot read)
	bodyAnswered                 // the proxy has answered (413, 415, 400)
)

// decodedBodies recycles the buffers compressed bodies are decoded into.
var decodedBodies = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

func releaseBody(buf *[]byte) {
	if buf == nil {
		return
	}
	if cap(*buf) > 256<<10 {
		return // one large order must not pin its buffer in the pool
	}
	decodedBodies.Put(buf)
}

// bodyToCheck returns the bytes the validator reads: the body as received,
// or the decoded body in a pooled buffer (buf, given back with releaseBody
// once the report is done with). A body decoded past --max-body gets 413 in
// every mode that validates; one in a coding the proxy cannot read gets 415,
// and one that does not decode as its coding 400, in enforce mode, while
// report mode forwards it unchecked (report mode never blocks), counted and
// logged either way.
func (p *Proxy) bodyToCheck(ctx *fasthttp.RequestCtx, st *opState, orderID []byte) (body []byte, buf *[]byte, next bodyNext) {
	if !st.validated() {
		return nil, nil, bodySkip
	}
	body, buf, err := p.decode(&ctx.Request)
	if err != nil {
		return nil, nil, p.undecodable(ctx, st, orderID, err)
	}
	return body, buf, bodyValidate
}

// decode returns req's body as received, or decoded into a pooled buffer
// (buf, given back with releaseBody) when it was sent compressed, under
// --max-body.
func (p *Proxy) decode(req *fasthttp.Request) (body []byte, buf *[]byte, err error) {
	if len(req.Header.ContentEncoding()) == 0 {
		return req.Body(), nil, nil
	}
	coding, err := requestCoding(&req.Header)
	if err != nil {
		return nil, nil, err
	}
	if coding == contentcoding.Identity {
		return req.Body(), nil, nil
	}
	buf = decodedBodies.Get().(*[]byte)
	*buf, err = contentcoding.Decode((*buf)[:0], coding, req.Body(), p.cfg.MaxBody)
	if err != nil {
		releaseBody(buf)
		return nil, nil, err
	}
	return *buf, buf, nil
}

// requestCoding is the coding of the body: every Content-Encoding field
// line, in order (two lines are a list, RFC 9110 5.3).
func requestCoding(h *fasthttp.RequestHeader) (contentcoding.Coding, error) {
	found := contentcoding.Identity
	for _, v := range h.PeekAll(fasthttp.HeaderContentEncoding) {
		c, err := contentcoding.Parse(v)
		if err != nil {
			return c, err
		}
		if c != contentcoding.Identity && found != contentcoding.Identity {
			return contentcoding.Identity, fmt.Errorf("%w: %s applied over %s (this proxy reads one coding)", contentcoding.ErrUnsupported, c, found)
		}
		if c != contentcoding.Identity {
			found = c
		}
	}
	return found, nil
}

// undecodable answers (or, in report mode, lets through) a body that could
// not be decoded; err says why and names no submitted value.
func (p *Proxy) undecodable(ctx *fasthttp.RequestCtx, st *opState, orderID []byte, err error) bodyNext {
	status := fasthttp.StatusBadRequest
	msg := "Malformed request: " + err.Error()
	switch {
	case errors.Is(err, contentcoding.ErrTooLarge):
		st.tooLarge.Inc()
		p.log.LogAttrs(context.Background(), slog.LevelWarn, "request refused: body too large once decoded",
			slog.String("operation", st.op.ID), slog.String("order_id", string(orderID)), slog.Int("max_body", p.cfg.MaxBody))
		writeJSON(ctx, fasthttp.StatusRequestEntityTooLarge, contentJSON,
			appendFailed(nil, "Request body too large: more than "+strconv.Itoa(p.cfg.MaxBody)+" bytes once decoded (--max-body)"))
		return bodyAnswered
	case errors.Is(err, contentcoding.ErrUnsupported):
		status = fasthttp.StatusUnsupportedMediaType
		msg = "Unsupported Media Type: " + err.Error()
	}
	p.m.violations.WithLabelValues("content-encoding", "syntax").Inc()
	if st.mode == ModeReport {
		p.log.LogAttrs(context.Background(), slog.LevelWarn, "request forwarded unchecked: its body cannot be decoded",
			slog.String("operation", st.op.ID), slog.String("order_id", string(orderID)),
			slog.String("mode", st.mode.String()), slog.String("error", err.Error()))
		return bodySkip
	}
	p.log.LogAttrs(context.Background(), slog.LevelInfo, "request rejected: its body cannot be decoded",
		slog.String("operation", st.op.ID), slog.String("order_id", string(orderID)),
		slog.String("mode", st.mode.String()), slog.Int("status", status), slog.String("error", err.Error()))
	if status == fasthttp.StatusUnsupportedMediaType {
		ctx.Response.Header.Set(fasthttp.HeaderAcceptEncoding, "gzip, deflate") // RFC 9110 12.5.3
	}
	writeJSON(ctx, status, contentJSON, appendFailed(nil, msg))
	st.rejected.Inc()
	return bodyAnswered
}
