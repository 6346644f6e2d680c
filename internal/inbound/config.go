package inbound

import (
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/orderguard/orderguard/internal/secret"
	"github.com/orderguard/orderguard/internal/settings"
)

// Config says where and how the proxy accepts requests, and what one client
// can make it hold: the settings of orderguard serve this package owns
// (Settings binds them; the comment of each field names its flag), and the
// collaborators serve adds (Secret, Guard).
type Config struct {
	// Addr is host:port or unix:/path (--listen, default 127.0.0.1:8080).
	Addr string
	// Insecure allows a non-loopback address with no inbound authentication
	// (--insecure-listen).
	Insecure bool

	// SecretHeader names the header carrying the shared secret
	// (default X-Orderguard-Secret); Secret holds it. Both come from
	// --inbound-secret-header and --inbound-secret-file / ORDERGUARD_INBOUND_SECRET.
	SecretHeader string
	Secret       *secret.Key

	// ClientCA is a PEM bundle of the CAs whose client certificates are
	// accepted (mTLS). It needs CertFile and KeyFile: the proxy's own
	// certificate. With CertFile and KeyFile but no ClientCA the listener
	// serves TLS without asking for client certificates.
	ClientCA string
	CertFile string
	KeyFile  string

	// SocketMode is the permission of a Unix socket (default 0660).
	SocketMode fs.FileMode

	// Limits are the request limits (--read-timeout, --max-concurrent, …);
	// MaxBodyBytes is the proxy's --max-body, set by the edge.
	Limits Limits
	// Conns are the connection caps Guard applies (--max-open-conns,
	// --max-conns-per-ip; zero: derived from the descriptor limit).
	Conns ConnLimits

	// Guard, when set, caps open connections and keeps the listener
	// accepting through descriptor exhaustion (see ConnGuard).
	Guard *ConnGuard
}

// DefaultSecretHeader is the header the shared secret travels in.
const DefaultSecretHeader = "X-Orderguard-Secret"

// DefaultConfig is orderguard serve's inbound side with no settings given:
// loopback, no authentication, the default limits.
func DefaultConfig() Config {
	return Config{
		Addr:         "127.0.0.1:8080",
		SecretHeader: DefaultSecretHeader,
		Limits: Limits{
			ReadTimeout:    DefaultReadTimeout,
			WriteTimeout:   DefaultWriteTimeout,
			IdleTimeout:    DefaultIdleTimeout,
			MaxHeaderBytes: DefaultMaxHeaderBytes,
			MaxHeaders:     DefaultMaxHeaders,
			MaxConcurrent:  DefaultMaxConcurrent,
		},
	}
}

// Settings binds the inbound settings of orderguard serve to c's fields, in
// --help order.
func (c *Config) Settings() []settings.Setting {
	return []settings.Setting{
		{Name: "listen", Help: "address checkout code connects to (host:port)", Value: settings.String(&c.Addr)},
		{Name: "insecure-listen", Help: "serve a non-loopback --listen with no inbound authentication (otherwise refused)", Value: settings.Bool(&c.Insecure)},
		{Name: "client-ca", Help: "PEM file of CAs whose client certificates --listen requires (mTLS; needs --tls-cert and --tls-key)", Value: settings.String(&c.ClientCA)},
		{Name: "tls-cert", Help: "PEM certificate the proxy presents on --listen (TLS)", Value: settings.String(&c.CertFile)},
		{Name: "tls-key", Help: "PEM private key of --tls-cert", Value: settings.String(&c.KeyFile)},
		{Name: "inbound-secret-header", Help: "header carrying the inbound shared secret; removed before forwarding", Value: settings.String(&c.SecretHeader)},
		{Name: "max-concurrent", Help: "requests served at once; more are answered 503 at once", Value: settings.Int(&c.Limits.MaxConcurrent)},
		{Name: "max-open-conns", Help: "most client connections open at once, busy or idle; more are closed when accepted (0: the descriptor limit less a reserve and the upstream's share, logged at start)", Value: settings.Int(&c.Conns.MaxOpen)},
		{Name: "max-conns-per-ip", Help: "most open connections from one peer address (an IPv6 /64); more are closed when accepted (0: half of --max-open-conns)", Value: settings.Int(&c.Conns.MaxPerIP)},
		{Name: "read-timeout", Help: "time to read one whole request, header and body; slower clients are cut off", Value: settings.Duration(&c.Limits.ReadTimeout)},
		{Name: "write-timeout", Help: "time to write one answer to the client", Value: settings.Duration(&c.Limits.WriteTimeout)},
		{Name: "idle-timeout", Help: "keep-alive client connections idle this long are closed", Value: settings.Duration(&c.Limits.IdleTimeout)},
		{Name: "max-header-bytes", Help: "largest request line plus header (bytes, or with KiB); larger gets 431", Value: settings.Size(&c.Limits.MaxHeaderBytes)},
		{Name: "max-headers", Help: "most request header fields; more get 431", Value: settings.Int(&c.Limits.MaxHeaders)},
	}
}

// Check reports every setting that cannot work, naming its flag. Whether
// the address may be served is CheckExposure's, at start.
func (c Config) Check() error {
	var errs []error
	if c.Addr == "" {
		errs = append(errs, errors.New("--listen: empty"))
	}
	for _, d := range []struct {
		flag string
		v    time.Duration
	}{{"--read-timeout", c.Limits.ReadTimeout}, {"--write-timeout", c.Limits.WriteTimeout}, {"--idle-timeout", c.Limits.IdleTimeout}} {
		if d.v <= 0 {
			errs = append(errs, fmt.Errorf("%s %s: want more than 0", d.flag, d.v))
		}
	}
	for _, n := range []struct {
		flag string
		v    int
	}{{"--max-concurrent", c.Limits.MaxConcurrent}, {"--max-header-bytes", c.Limits.MaxHeaderBytes}, {"--max-headers", c.Limits.MaxHeaders}} {
		if n.v <= 0 {
			errs = append(errs, fmt.Errorf("%s %d: want more than 0", n.flag, n.v))
		}
	}
	for _, n := range []struct {
		flag string
		v    int
	}{{"--max-open-conns", c.Conns.MaxOpen}, {"--max-conns-per-ip", c.Conns.MaxPerIP}} {
		if n.v < 0 {
			errs = append(errs, fmt.Errorf("%s %d: want 0 (off) or more", n.flag, n.v))
		}
	}
	if c.SecretHeader == "" {
		errs = append(errs, errors.New("--inbound-secret-header: empty"))
	}
	return errors.Join(errs...)
}
