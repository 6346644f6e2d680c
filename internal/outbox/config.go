package outbox

import (
	"errors"
	"fmt"
	"time"

	"github.com/orderguard/orderguard/internal/settings"
)

// Config is the outbox of orderguard serve: which backend keeps the
// open-fallback requests, and how the resender drains it. The fleet
// backend's own settings are natsjs.Config's.
type Config struct {
	Path   string        // --outbox: a bbolt file, or nats://… for the fleet's JetStream outbox; empty keeps nothing
	Rate   float64       // --outbox-rate: resends per second (ResendOptions.Rate)
	MaxAge time.Duration // --outbox-max-age: older requests are dead-lettered (ResendOptions.MaxAge)
}

// DefaultConfig is the outbox with no settings given.
func DefaultConfig() Config {
	return Config{Path: "data/outbox.db", Rate: 5, MaxAge: 7 * 24 * time.Hour}
}

// Settings binds the outbox's settings to c's fields, in --help order.
func (c *Config) Settings() []settings.Setting {
	return []settings.Setting{
		{Name: "outbox", Help: "bbolt file keeping open-fallback requests until Forter has them, or nats://host:4222[,nats://…] for a fleet's shared JetStream outbox; empty keeps nothing (logs instead)", Value: settings.String(&c.Path)},
		{Name: "outbox-rate", Help: "resends per second from the outbox, besides live traffic", Value: settings.Float(&c.Rate)},
		{Name: "outbox-max-age", Help: "outbox requests older than this are dead-lettered", Value: settings.Duration(&c.MaxAge)},
	}
}

// Check reports every setting that cannot work, naming its flag.
func (c Config) Check() error {
	var errs []error
	if c.Rate <= 0 {
		errs = append(errs, fmt.Errorf("--outbox-rate %v: want more than 0", c.Rate))
	}
	if c.MaxAge <= 0 {
		errs = append(errs, fmt.Errorf("--outbox-max-age %s: want more than 0", c.MaxAge))
	}
	return errors.Join(errs...)
}

// ResendOptions are the resender's options as c sets them; the caller adds
// Paused and Logf.
func (c Config) ResendOptions() ResendOptions {
	return ResendOptions{Rate: c.Rate, MaxAge: c.MaxAge}
}
