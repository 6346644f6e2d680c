package compiled

import (
	"errors"
	"fmt"
	"time"

	"github.com/orderguard/orderguard/internal/settings"
)

// Config is which spec orderguard serve validates against and how it is
// reloaded: the settings this package owns. lint and spec take the first
// three too (SourceSettings).
type Config struct {
	Spec           string        // --spec: an OpenAPI document in place of the embedded spec
	Overlays       []string      // --overlay (repeatable): OpenAPI Overlay documents applied in order
	MaxSpecBytes   int           // --max-spec-bytes: cap of each spec and overlay file
	ReloadInterval time.Duration // --spec-reload-interval: re-read spec and overlays this often (0: SIGHUP and POST /spec/reload only)
	Engine         string        // --engine: generated or compiled; empty: compiled with --spec/--overlay, else generated
}

// DefaultConfig is the embedded spec with no settings given.
func DefaultConfig() Config { return Config{MaxSpecBytes: DefaultMaxSpecBytes} }

// Sources are the files c names.
func (c Config) Sources() Sources {
	return Sources{Spec: c.Spec, Overlays: c.Overlays, MaxBytes: int64(c.MaxSpecBytes)}
}

// Compiled reports whether c asks for a spec compiled at start-up rather
// than the generated validators.
func (c Config) Compiled() bool {
	return c.Spec != "" || len(c.Overlays) > 0 || c.Engine == "compiled"
}

// Settings binds the spec settings to c's fields, in --help order.
func (c *Config) Settings() []settings.Setting {
	return append(c.SourceSettings(),
		settings.Setting{Name: "spec-reload-interval", Help: "re-read --spec and --overlay files this often (mounted ConfigMaps); 0 reloads on SIGHUP and POST /spec/reload only", Value: settings.Duration(&c.ReloadInterval)},
		settings.Setting{Name: "engine", Help: "validators of the embedded spec: generated (Go code in gen/) or compiled (at start-up); --spec and --overlay always use compiled", Value: settings.String(&c.Engine)},
	)
}

// SourceSettings are --spec, --overlay and --max-spec-bytes, which lint
// and spec take with serve's meanings, types and defaults.
func (c *Config) SourceSettings() []settings.Setting {
	return []settings.Setting{
		{Name: "spec", Help: "OpenAPI 3.0 document (with x-orderguard-rules) validated against in place of the embedded spec, compiled at start-up", Value: settings.String(&c.Spec)},
		{Name: "overlay", Help: "OpenAPI Overlay 1.0.0/1.1.0 file applied to the spec, repeatable, in order (examples/overlays/)", Value: settings.List(&c.Overlays)},
		{Name: "max-spec-bytes", Help: "largest spec or overlay file (bytes, or with KiB/MiB)", Value: settings.Size(&c.MaxSpecBytes)},
	}
}

// Check reports every setting that cannot work, naming its flag.
func (c Config) Check() error {
	var errs []error
	switch {
	case c.Engine != "" && c.Engine != "generated" && c.Engine != "compiled":
		errs = append(errs, fmt.Errorf("--engine %q: want generated or compiled", c.Engine))
	case c.Engine == "generated" && (c.Spec != "" || len(c.Overlays) > 0):
		errs = append(errs, errors.New("--engine generated: --spec and --overlay are compiled at start-up; use --engine compiled or leave it out"))
	}
	if c.MaxSpecBytes <= 0 || c.ReloadInterval < 0 {
		errs = append(errs, fmt.Errorf("--max-spec-bytes %d, --spec-reload-interval %s: want more than 0 bytes and 0 (off) or more", c.MaxSpecBytes, c.ReloadInterval))
	}
	return errors.Join(errs...)
}
