package lint

import (
	"fmt"
	"os"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/orderguard/orderguard/internal/validate"
)

// Config is the part of orderguard's YAML configuration the linter reads. The
// proxy reads the same file with more keys; unknown keys are ignored here so
// that one file serves both:
//
//	rules:
//	  payment-method-exactly-one: error
//	  amounts-add-up: off
type Config struct {
	Rules map[string]validate.Severity `yaml:"rules"`
}

// LoadConfig reads a YAML configuration file.
func LoadConfig(name string) (Config, error) {
	var c Config
	b, err := os.ReadFile(name)
	if err != nil {
		return c, fmt.Errorf("read config: %w", err)
	}
	if err := yaml.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("config %s: %w", name, err)
	}
	return c, nil
}

// ParseRules reads the --rules flag: RULE=SEVERITY pairs separated by commas
// (the syntax of `orderguard serve --rules`).
func ParseRules(s string) (map[string]validate.Severity, error) {
	out := map[string]validate.Severity{}
	for _, pair := range strings.Split(s, ",") {
		pair = strings.TrimSpace(pair)
		if pair == "" {
			continue
		}
		id, val, ok := strings.Cut(pair, "=")
		if !ok || strings.TrimSpace(id) == "" {
			return nil, fmt.Errorf("rules %q: want RULE=error|warning|off", pair)
		}
		sev, err := validate.ParseSeverity(val)
		if err != nil {
			return nil, fmt.Errorf("rules: %s: %w", strings.TrimSpace(id), err)
		}
		out[strings.TrimSpace(id)] = sev
	}
	return out, nil
}
