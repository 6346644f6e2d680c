package lint

import (
	"fmt"
	"os"

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
