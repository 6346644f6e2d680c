package main

import (
	"flag"

	"github.com/orderguard/orderguard/gen"
	"github.com/orderguard/orderguard/internal/compiled"
	"github.com/orderguard/orderguard/internal/settings"
	"github.com/orderguard/orderguard/internal/validate"
)

// specFlags registers serve's --spec, --overlay (repeatable) and
// --max-spec-bytes on a command's flag set; after parsing, the settings
// they hold give the spec sources (compiled.Config.Sources).
func specFlags(fs *flag.FlagSet) *compiled.Config {
	cfg := compiled.DefaultConfig()
	settings.Register(fs, cfg.SourceSettings())
	return &cfg
}

// validatorsOf are the generated validators, or with --spec/--overlay the
// spec compiled now.
func validatorsOf(cfg *compiled.Config) ([]validate.Operation, []validate.RuleInfo, error) {
	if cfg.Spec == "" && len(cfg.Overlays) == 0 {
		return gen.Operations, compiledRules(), nil
	}
	p, err := compiled.Load(cfg.Sources())
	if err != nil {
		return nil, nil, err
	}
	return p.Operations, p.Rules, nil
}
