package main

import (
	"flag"

	"github.com/orderguard/orderguard/gen"
	"github.com/orderguard/orderguard/internal/compiled"
	"github.com/orderguard/orderguard/internal/proxy"
	"github.com/orderguard/orderguard/internal/validate"
)

// specFlags registers serve's --spec, --overlay (repeatable) and
// --max-spec-bytes on a command's flag set; after parsing, the settings
// they hold give the spec sources (specSources).
func specFlags(fs *flag.FlagSet) *proxy.Config {
	cfg := proxy.Defaults()
	proxy.SpecSettings(fs, &cfg)
	return &cfg
}

// validatorsOf are the generated validators, or with --spec/--overlay the
// spec compiled now.
func validatorsOf(cfg *proxy.Config) ([]validate.Operation, []validate.RuleInfo, error) {
	if cfg.Spec == "" && len(cfg.Overlays) == 0 {
		return gen.Operations, compiledRules(), nil
	}
	p, err := compiled.Load(specSources(*cfg))
	if err != nil {
		return nil, nil, err
	}
	return p.Operations, p.Rules, nil
}
