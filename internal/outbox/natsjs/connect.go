package natsjs

import (
	"fmt"
	"os"
	"strings"

	"github.com/nats-io/nats.go"
)

// Environment variables for credentials that must not be flag values (a
// flag's value is visible to every user of the machine in ps).
const (
	EnvUser     = "ORDERGUARD_OUTBOX_NATS_USER"
	EnvPassword = "ORDERGUARD_OUTBOX_NATS_PASSWORD"
	EnvToken    = "ORDERGUARD_OUTBOX_NATS_TOKEN"
)

// Env lists the variables Connect reads, for serve's check of unknown
// ORDERGUARD_* variables.
func Env() []string { return []string{EnvUser, EnvPassword, EnvToken} }

// IsURL reports whether an --outbox value names NATS servers rather than a
// bbolt file: every comma-separated part is a nats:// or tls:// URL.
func IsURL(v string) bool {
	if v == "" {
		return false
	}
	for _, u := range strings.Split(v, ",") {
		u = strings.TrimSpace(u)
		if !strings.HasPrefix(u, "nats://") && !strings.HasPrefix(u, "tls://") {
			return false
		}
	}
	return true
}

// ConnOptions builds the connection's credentials and TLS: a .creds file, or
// user and password, or a token from the environment (getenv), and a CA file.
// Two kinds of credentials at once is an error, not a silent choice.
func ConnOptions(credsFile, caFile string, getenv func(string) string) ([]nats.Option, error) {
	var opts []nats.Option
	kinds := 0
	if credsFile != "" {
		if _, err := os.Stat(credsFile); err != nil {
			return nil, fmt.Errorf("--outbox-nats-creds: %w", err)
		}
		opts = append(opts, nats.UserCredentials(credsFile))
		kinds++
	}
	user, pass, token := getenv(EnvUser), getenv(EnvPassword), getenv(EnvToken)
	if user != "" || pass != "" {
		if user == "" || pass == "" {
			return nil, fmt.Errorf("$%s and $%s: set both or neither", EnvUser, EnvPassword)
		}
		opts = append(opts, nats.UserInfo(user, pass))
		kinds++
	}
	if token != "" {
		opts = append(opts, nats.Token(token))
		kinds++
	}
	if kinds > 1 {
		return nil, fmt.Errorf("NATS credentials: give one of --outbox-nats-creds, $%s/$%s or $%s", EnvUser, EnvPassword, EnvToken)
	}
	if caFile != "" {
		if _, err := os.Stat(caFile); err != nil {
			return nil, fmt.Errorf("--outbox-nats-ca: %w", err)
		}
		opts = append(opts, nats.RootCAs(caFile))
	}
	return opts, nil
}
