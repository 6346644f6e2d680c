package sandbox

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"
)

// FaultHeader forces one fault for one request: hang, reset, 500, 503 or
// slow:<ms>.
const FaultHeader = "X-Sandbox-Fault"

// maxSlow bounds slow:<ms> so a typo cannot hold a connection for days.
const maxSlow = 10 * time.Minute

type faultKind uint8

const (
	faultNone faultKind = iota
	faultHang
	faultReset
	fault500
	fault503
	faultSlow
)

type fault struct {
	kind  faultKind
	delay time.Duration // faultSlow only
}

var errBadFault = errors.New("X-Sandbox-Fault: want hang, reset, 500, 503 or slow:<ms>")

func parseFault(v []byte) (fault, error) {
	v = bytes.TrimSpace(v)
	switch string(v) {
	case "hang":
		return fault{kind: faultHang}, nil
	case "reset":
		return fault{kind: faultReset}, nil
	case "500":
		return fault{kind: fault500}, nil
	case "503":
		return fault{kind: fault503}, nil
	}
	if ms, ok := bytes.CutPrefix(v, []byte("slow:")); ok {
		n, err := strconv.ParseUint(string(ms), 10, 32)
		if err != nil || time.Duration(n)*time.Millisecond > maxSlow {
			return fault{}, fmt.Errorf("%w (slow takes 0 to %d milliseconds)", errBadFault, maxSlow.Milliseconds())
		}
		return fault{kind: faultSlow, delay: time.Duration(n) * time.Millisecond}, nil
	}
	return fault{}, errBadFault
}

// drawFault picks the configured random fault for one request, if any, and
// the latency to add before answering.
func (s *Server) drawFault() (fault, time.Duration) {
	c := &s.cfg
	needRand := c.ErrorRate > 0 || c.HangRate > 0 || c.ResetRate > 0 || c.Latency.P50 > 0
	if !needRand {
		return fault{}, c.Latency.Fixed
	}
	s.rndMu.Lock()
	u := s.rnd.Float64()
	split := s.rnd.Float64()
	norm := s.rnd.NormFloat64()
	s.rndMu.Unlock()

	f := fault{}
	switch {
	case u < c.HangRate:
		f.kind = faultHang
	case u < c.HangRate+c.ResetRate:
		f.kind = faultReset
	case u < c.HangRate+c.ResetRate+c.ErrorRate:
		f.kind = fault500
		if split >= 0.5 {
			f.kind = fault503
		}
	}
	return f, c.Latency.sample(norm)
}

// wait sleeps for d unless the server closes or shuts down first; it reports
// whether the whole delay passed.
func wait(d time.Duration, done <-chan struct{}) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-done:
		return false
	}
}

// hang takes the connection over without answering. It stays open until the
// client closes it or the server closes (Close, Shutdown), whichever is first.
func (s *Server) hang(ctx *fasthttp.RequestCtx, g *generation) {
	raw := ctx.Conn()
	if !g.track(raw) {
		// Closing already: drop the connection instead of hanging forever.
		s.reset(ctx)
		return
	}
	ctx.HijackSetNoResponse(true)
	ctx.Hijack(func(c net.Conn) {
		defer g.untrack(raw)
		var buf [512]byte
		for {
			// Reads return when the client closes or Close closes raw.
			if _, err := c.Read(buf[:]); err != nil {
				return
			}
		}
	})
}

// reset drops the connection with a TCP RST (SO_LINGER 0) and no answer.
func (s *Server) reset(ctx *fasthttp.RequestCtx) {
	raw := ctx.Conn()
	tcp := raw
	if nc, ok := raw.(interface{ NetConn() net.Conn }); ok {
		// Under TLS, reset the TCP connection itself: closing the TLS
		// layer would send a close_notify alert first, a polite EOF.
		tcp = nc.NetConn()
	}
	if l, ok := tcp.(interface{ SetLinger(int) error }); ok {
		_ = l.SetLinger(0)
	}
	ctx.HijackSetNoResponse(true)
	ctx.Hijack(func(net.Conn) { _ = tcp.Close() })
}
