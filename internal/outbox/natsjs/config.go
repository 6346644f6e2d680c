package natsjs

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/orderguard/orderguard/internal/settings"
)

// Config is the fleet outbox's settings of orderguard serve (used when
// --outbox is a nats:// URL; outbox.Config has the rest).
type Config struct {
	Stream   string // --outbox-stream: the JetStream stream (Options.Stream)
	Replicas int    // --outbox-replicas: its replicas (Options.Replicas)
	Creds    string // --outbox-nats-creds: a NATS .creds file (ConnOptions)
	CA       string // --outbox-nats-ca: CA file for the servers' TLS certificates (ConnOptions)
	// --outbox-ack-wait: a dead pod's un-acknowledged resends come back
	// after this (Options.AckWait)
	AckWait time.Duration
}

// DefaultConfig is the fleet outbox with no settings given.
func DefaultConfig() Config {
	return Config{Stream: DefaultStream, Replicas: 3, AckWait: 30 * time.Second}
}

// Settings binds the fleet outbox's settings to c's fields, in --help order.
func (c *Config) Settings() []settings.Setting {
	return []settings.Setting{
		{Name: "outbox-stream", Help: "JetStream stream of a nats:// outbox (its dead letters and decisions get _DEAD and _DELIVERED)", Value: settings.String(&c.Stream)},
		{Name: "outbox-replicas", Help: "replicas of a nats:// outbox's streams (1 only for a single server: a warning at start)", Value: settings.Int(&c.Replicas)},
		{Name: "outbox-nats-creds", Help: "NATS .creds file for a nats:// outbox (else user/password or token from $" + EnvUser + ", _PASSWORD, _TOKEN)", Value: settings.String(&c.Creds)},
		{Name: "outbox-nats-ca", Help: "CA file for a nats:// outbox's TLS (tls:// URLs or servers that require TLS)", Value: settings.String(&c.CA)},
		{Name: "outbox-ack-wait", Help: "nats:// outbox: how long a resend a dead pod held waits before another pod gets it (the fleet's consumer: give every pod the same value)", Value: settings.Duration(&c.AckWait)},
	}
}

// Check reports every setting that cannot work, naming its flag; they are
// checked whatever --outbox is.
func (c Config) Check() error {
	var errs []error
	if c.Replicas < 1 || c.Replicas > 5 {
		errs = append(errs, fmt.Errorf("--outbox-replicas %d: want 1 to 5 (JetStream's limit)", c.Replicas))
	}
	if c.Stream == "" || strings.ContainsAny(c.Stream, " \t.*>/\\") {
		errs = append(errs, fmt.Errorf("--outbox-stream %q: want a JetStream stream name (no spaces, dots, *, >, slashes)", c.Stream))
	}
	if c.AckWait <= 0 {
		errs = append(errs, fmt.Errorf("--outbox-ack-wait %s: want more than 0", c.AckWait))
	}
	return errors.Join(errs...)
}

// Options are Open's options as c sets them, with the connection options
// ConnOptions makes from c's credentials and CA (and getenv's variables).
func (c Config) Options(getenv func(string) string) (Options, error) {
	conn, err := ConnOptions(c.Creds, c.CA, getenv)
	if err != nil {
		return Options{}, err
	}
	return Options{Stream: c.Stream, Replicas: c.Replicas, AckWait: c.AckWait, Conn: conn}, nil
}
