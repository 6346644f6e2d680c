package sandbox

import (
	"crypto/tls"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/orderguard/orderguard/internal/validate"
)

// ForterRateLimit is the test site's documented limit: 10 requests per second
// per site, unless the request disables persistence.
const ForterRateLimit = 10

// DefaultReceivedMax is how many (endpoint, order id) pairs the received log
// keeps when Config.ReceivedMax is zero.
const DefaultReceivedMax = 1000

// DefaultMaxBodySize caps a request body when Config.MaxBodySize is zero.
const DefaultMaxBodySize = 4 << 20

// Config says how a sandbox behaves. The zero value is a well-behaved Forter
// without a rate limit: no faults, no latency, decisions as documented, bodies
// checked by the generated validators. DefaultConfig is the test site as
// Forter documents it (rate limit included), which `orderguard sandbox` serves.
type Config struct {
	// Operations are the validators checked against request bodies, matched
	// to routes by method and path template. Nil means the generated ones
	// (gen.Operations) once they exist. Only schema and syntax violations are
	// answered, as Forter would; business rules are not Forter's business.
	Operations []validate.Operation
	// SkipValidation answers every body that is one JSON document, whatever
	// its shape.
	SkipValidation bool

	// RateLimit is the number of requests per second per site (the
	// x-forter-siteid header, else the API key) above which the sandbox
	// answers 429. Zero disables the limit; Forter's test site uses 10.
	RateLimit int
	// RequireSiteID answers 401 "unauthorized, invalid site" when the
	// x-forter-siteid header is missing, as api.forter-secure.com did in a
	// recorded exchange. Off by default: site-prefixed hosts did not need it.
	RequireSiteID bool

	// Latency delays every API answer (and every injected error).
	Latency Latency
	// ErrorRate is the fraction (0–1) of API requests answered 500 or 503
	// (half each) instead of a decision.
	ErrorRate float64
	// HangRate is the fraction (0–1) of API requests accepted and never
	// answered: the connection stays open until the client gives up or the
	// server is closed.
	HangRate float64
	// ResetRate is the fraction (0–1) of API requests whose connection is
	// reset (TCP RST) after the request was read, before any answer.
	ResetRate float64

	// Seed makes random decisions, latencies and faults differ between
	// sandboxes; the same seed gives the same decision for the same order id.
	Seed uint64

	// ReceivedMax bounds the received log's per-order entries (oldest first
	// out). Zero means DefaultReceivedMax.
	ReceivedMax int
	// MaxBodySize is the largest request body accepted, in bytes. Zero means
	// DefaultMaxBodySize.
	MaxBodySize int

	// TLS, when set, makes Serve and ListenAndServe answer HTTPS. See
	// SelfSigned for a certificate generated at start.
	TLS *tls.Config

	// Now is the clock of the rate limit; nil means time.Now. Tests set it.
	Now func() time.Time
}

// DefaultConfig is Forter's test site as documented: 10 requests per second
// per site, no faults.
func DefaultConfig() Config {
	return Config{RateLimit: ForterRateLimit}
}

// Latency is a delay distribution: fixed (Fixed > 0, P99 zero) or log-normal
// given its median and 99th percentile (P50 and P99 both > 0). The zero value
// adds no delay.
type Latency struct {
	Fixed time.Duration
	P50   time.Duration
	P99   time.Duration
}

// z99 is the standard normal quantile at 0.99: P99 = P50·exp(σ·z99).
const z99 = 2.3263478740408408

// IsZero reports whether the latency adds no delay.
func (l Latency) IsZero() bool { return l.Fixed == 0 && l.P50 == 0 && l.P99 == 0 }

// String describes the distribution as the flags spell it.
func (l Latency) String() string {
	switch {
	case l.P50 > 0 || l.P99 > 0:
		return fmt.Sprintf("lognormal(p50=%s, p99=%s)", l.P50, l.P99)
	case l.Fixed > 0:
		return "fixed " + l.Fixed.String()
	}
	return "none"
}

func (l Latency) check() error {
	if l.Fixed < 0 || l.P50 < 0 || l.P99 < 0 {
		return errors.New("latency: durations must not be negative")
	}
	if (l.P50 > 0) != (l.P99 > 0) {
		return errors.New("latency: a log-normal latency needs both p50 and p99")
	}
	if l.P50 > 0 && l.P99 < l.P50 {
		return fmt.Errorf("latency: p99 %s is below p50 %s", l.P99, l.P50)
	}
	if l.P50 > 0 && l.Fixed > 0 {
		return errors.New("latency: give either a fixed latency or p50 and p99, not both")
	}
	return nil
}

// sample draws one delay; norm is a standard normal variate.
func (l Latency) sample(norm float64) time.Duration {
	if l.P50 > 0 {
		mu := math.Log(float64(l.P50))
		sigma := (math.Log(float64(l.P99)) - mu) / z99
		d := math.Exp(mu + sigma*norm)
		// A far tail must not overflow a Duration or hold a request for
		// longer than a test can wait: cap at 100 × p99.
		if limit := 100 * float64(l.P99); d > limit {
			d = limit
		}
		return time.Duration(d)
	}
	return l.Fixed
}

func (c Config) check() error {
	if err := c.Latency.check(); err != nil {
		return err
	}
	for _, r := range []struct {
		name string
		v    float64
	}{{"error rate", c.ErrorRate}, {"hang rate", c.HangRate}, {"reset rate", c.ResetRate}} {
		if math.IsNaN(r.v) || r.v < 0 || r.v > 1 {
			return fmt.Errorf("%s %v: want a fraction between 0 and 1", r.name, r.v)
		}
	}
	if sum := c.ErrorRate + c.HangRate + c.ResetRate; sum > 1 {
		return fmt.Errorf("error, hang and reset rates add up to %v: want at most 1", sum)
	}
	if c.RateLimit < 0 {
		return fmt.Errorf("rate limit %d: want 0 (off) or more", c.RateLimit)
	}
	if c.ReceivedMax < 0 || c.MaxBodySize < 0 {
		return errors.New("received max and max body size must not be negative")
	}
	return nil
}
