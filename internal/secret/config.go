package secret

import (
	"fmt"
	"time"

	"github.com/orderguard/orderguard/internal/settings"
)

// The environment variables that hold a secret itself when its file setting
// is empty. A secret is read from a file or one of these only, never from a
// flag or the config file, so that it never appears in a process list or a
// config dump.
const (
	EnvAPIKey        = "ORDERGUARD_API_KEY"        // the Forter API key (--api-key-file)
	EnvInboundSecret = "ORDERGUARD_INBOUND_SECRET" // the inbound shared secret (--inbound-secret-file)
	EnvAdminToken    = "ORDERGUARD_ADMIN_TOKEN"    // the admin token (--admin-token-file)
)

// Env is every environment variable that holds a secret.
func Env() []string { return []string{EnvAPIKey, EnvInboundSecret, EnvAdminToken} }

// Config says where orderguard serve reads its secrets and how often it
// re-reads them: the settings this package owns. Each file setting, when
// empty, falls back to its variable (EnvAPIKey, …).
type Config struct {
	APIKeyFile        string        // --api-key-file: the Forter API key, injected as Basic auth
	InboundSecretFile string        // --inbound-secret-file: the shared secret clients send
	AdminTokenFile    string        // --admin-token-file: the bearer token of the admin API for non-loopback clients
	ReloadInterval    time.Duration // --secret-reload-interval: re-read the files this often (0: only on SIGHUP)
}

// Settings binds the secret settings to c's fields, in --help order.
func (c *Config) Settings() []settings.Setting {
	return []settings.Setting{
		{Name: "api-key-file", Help: "file holding the Forter API key, sent as Basic auth (else $" + EnvAPIKey + "; with neither, the client's Authorization is kept)", Value: settings.String(&c.APIKeyFile)},
		{Name: "inbound-secret-file", Help: "file holding a shared secret every client must send in --inbound-secret-header (else $" + EnvInboundSecret + "; with neither, no check)", Value: settings.String(&c.InboundSecretFile)},
		{Name: "admin-token-file", Help: "file holding the admin token, which clients not on loopback send as a bearer token to reach the outbox API and profiles (else $" + EnvAdminToken + "; with neither, those routes answer loopback clients only)", Value: settings.String(&c.AdminTokenFile)},
		{Name: "secret-reload-interval", Help: "re-read the API key and inbound secret files this often (for mounted Kubernetes Secrets); 0 re-reads them on SIGHUP only", Value: settings.Duration(&c.ReloadInterval)},
	}
}

// Check reports a setting that cannot work, naming its flag.
func (c Config) Check() error {
	if c.ReloadInterval < 0 {
		return fmt.Errorf("--secret-reload-interval %s: want 0 (off) or more", c.ReloadInterval)
	}
	return nil
}
