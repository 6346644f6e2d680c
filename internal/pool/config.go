package pool

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/orderguard/orderguard/internal/settings"
)

// Config says how to reach one upstream: the settings of orderguard serve
// that this package owns (Settings binds them; the comment of each field
// names its flag) and, below them, what tests and the embedded sandbox set.
// Zero durations and sizes take the defaults of DefaultConfig; fasthttp's own defaults (unlimited read time,
// unlimited body) suit no latency budget, so every limit is set here.
type Config struct {
	// Upstream is the base URL, scheme and host only: https://host[:port] or
	// http://host[:port]. A path is refused: the proxy forwards the client's path.
	Upstream string
	// CAFile is a PEM bundle of extra trusted roots (a private CA), added to
	// the system pool.
	CAFile string
	// ServerName overrides the TLS server name (SNI and verification);
	// empty means the upstream's host.
	ServerName string

	MaxConns            int           // connections to the upstream, in use or idle
	MaxConnWaitTimeout  time.Duration // how long a request waits for a free connection
	MaxIdleConnDuration time.Duration // idle keep-alive connections are closed after this
	DialTimeout         time.Duration // TCP connect plus TLS handshake
	ReadTimeout         time.Duration // reading one response (the request deadline also applies)
	WriteTimeout        time.Duration // writing one request (the request deadline also applies)
	MaxResponseBodySize int           // larger answers fail with fasthttp.ErrBodyTooLarge

	// WarmConns connections are opened by Warm and kept open while idle.
	WarmConns int
	// WarmPath is requested with GET to open and refresh connections. (Not
	// HEAD: fasthttp closes the connection after a HEAD answer that carries
	// no Content-Length, which would defeat the warm-up.)
	WarmPath string
	// KeepWarmInterval is how often idle connections are refreshed; it must be
	// shorter than MaxIdleConnDuration and than the server's idle timeout.
	KeepWarmInterval time.Duration

	// TLS is the base TLS configuration (tests set RootCAs here). Its
	// MinVersion is raised to TLS 1.2 and a session cache is added if missing.
	TLS *tls.Config
	// Dial opens the raw connection (TCP by default). Tests pass in-memory
	// listeners' dialers here.
	Dial func(addr string, timeout time.Duration) (net.Conn, error)
}

// DefaultConfig returns the defaults of orderguard serve's settings, also
// the limits used when a field is left zero.
func DefaultConfig() Config {
	return Config{
		MaxConns:            256,
		MaxConnWaitTimeout:  250 * time.Millisecond,
		MaxIdleConnDuration: 50 * time.Second, // below common 60 s server idle timeouts
		DialTimeout:         time.Second,
		ReadTimeout:         2 * time.Second,
		WriteTimeout:        2 * time.Second,
		MaxResponseBodySize: 1 << 20,
		WarmConns:           4,
		WarmPath:            "/",
		KeepWarmInterval:    20 * time.Second,
	}
}

func (c *Config) fillDefaults() {
	d := DefaultConfig()
	if c.MaxConns <= 0 {
		c.MaxConns = d.MaxConns
	}
	if c.MaxConnWaitTimeout <= 0 {
		c.MaxConnWaitTimeout = d.MaxConnWaitTimeout
	}
	if c.MaxIdleConnDuration <= 0 {
		c.MaxIdleConnDuration = d.MaxIdleConnDuration
	}
	if c.DialTimeout <= 0 {
		c.DialTimeout = d.DialTimeout
	}
	if c.ReadTimeout <= 0 {
		c.ReadTimeout = d.ReadTimeout
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = d.WriteTimeout
	}
	if c.MaxResponseBodySize <= 0 {
		c.MaxResponseBodySize = d.MaxResponseBodySize
	}
	if c.WarmConns < 0 {
		c.WarmConns = 0
	}
	if c.WarmPath == "" {
		c.WarmPath = d.WarmPath
	}
	if c.KeepWarmInterval <= 0 {
		c.KeepWarmInterval = d.KeepWarmInterval
		if c.KeepWarmInterval >= c.MaxIdleConnDuration {
			c.KeepWarmInterval = c.MaxIdleConnDuration / 2
		}
	}
}

// Settings binds the pool's settings of orderguard serve to c's fields, in
// --help order.
func (c *Config) Settings() []settings.Setting {
	return []settings.Setting{
		{Name: "upstream", Help: "Forter base URL, scheme and host (https://<site>.api.forter-secure.com); empty starts the embedded sandbox on a loopback port", Value: settings.String(&c.Upstream)},
		{Name: "upstream-ca", Help: "PEM file of a private CA trusted for the upstream, besides the system roots", Value: settings.String(&c.CAFile)},
		{Name: "upstream-server-name", Help: "TLS server name checked on the upstream's certificate; empty means the URL's host", Value: settings.String(&c.ServerName)},
		{Name: "warm-conns", Help: "upstream connections opened at start and kept warm while idle", Value: settings.Int(&c.WarmConns)},
		{Name: "warm-path", Help: "path requested (GET) to open and refresh warm connections", Value: settings.String(&c.WarmPath)},
		{Name: "max-conns", Help: "most upstream connections, busy or idle", Value: settings.Int(&c.MaxConns)},
		{Name: "max-conn-wait", Help: "how long a request waits for a free upstream connection", Value: settings.Duration(&c.MaxConnWaitTimeout)},
		{Name: "max-idle-conn", Help: "idle upstream connections are closed after this", Value: settings.Duration(&c.MaxIdleConnDuration)},
		{Name: "dial-timeout", Help: "upstream TCP connect plus TLS handshake", Value: settings.Duration(&c.DialTimeout)},
		{Name: "upstream-read-timeout", Help: "reading one upstream answer (the budget applies too)", Value: settings.Duration(&c.ReadTimeout)},
		{Name: "upstream-write-timeout", Help: "writing one upstream request (the budget applies too)", Value: settings.Duration(&c.WriteTimeout)},
		{Name: "max-response-body", Help: "largest upstream answer (bytes, or with KiB/MiB)", Value: settings.Size(&c.MaxResponseBodySize)},
	}
}

// Check reports every setting that cannot work, naming its flag. (New
// checks the upstream URL and the CA file.)
func (c Config) Check() error {
	var errs []error
	if c.MaxResponseBodySize <= 0 {
		errs = append(errs, fmt.Errorf("--max-response-body %d: want more than 0", c.MaxResponseBodySize))
	}
	if c.WarmConns < 0 {
		errs = append(errs, fmt.Errorf("--warm-conns %d: want 0 or more", c.WarmConns))
	}
	if c.MaxConns <= 0 || c.MaxConns < c.WarmConns {
		errs = append(errs, fmt.Errorf("--max-conns %d: want at least 1 and at least --warm-conns", c.MaxConns))
	}
	if !strings.HasPrefix(c.WarmPath, "/") {
		errs = append(errs, fmt.Errorf("--warm-path %q: want an absolute path", c.WarmPath))
	}
	return errors.Join(errs...)
}
