package settings

import (
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Origin is one layer Load applied: the config file, the environment or the
// flags. A setting that remembers where each of its entries came from
// (proxy's rules) asks it after each layer.
type Origin struct {
	layer layer
	file  string
}

type layer uint8

const (
	fromFile layer = iota
	fromEnv
	fromFlags
)

// Of names where setting name was given in this layer: "config FILE",
// "$ORDERGUARD_NAME" or "--name".
func (o Origin) Of(name string) string {
	switch o.layer {
	case fromFile:
		return "config " + o.file
	case fromEnv:
		return "$" + Env(name)
	}
	return "--" + name
}

// Load applies to target, in increasing precedence, the YAML file (--config
// or $ORDERGUARD_CONFIG), ORDERGUARD_* environment variables and the flags
// in args; target's values hold the defaults. scratch is the same settings
// bound to a throwaway copy: the flags are parsed onto it first, to find
// --config and refuse a bad flag before anything is read. after, when not
// nil, is called after each layer (the file's only when there is one).
// lookupEnv nil means os.LookupEnv. Load returns flag.ErrHelp for -h/--help.
func Load(args []string, lookupEnv func(string) (string, bool), scratch, target []Setting, after func(Origin)) error {
	if lookupEnv == nil {
		lookupEnv = os.LookupEnv
	}
	if after == nil {
		after = func(Origin) {}
	}
	configPath := ""
	fs := newFlagSet(scratch, &configPath)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if configPath == "" {
		configPath, _ = lookupEnv(EnvConfig)
	}
	if configPath != "" {
		if err := applyFile(configPath, target); err != nil {
			return err
		}
		after(Origin{layer: fromFile, file: configPath})
	}
	for _, s := range target {
		v, ok := lookupEnv(Env(s.Name))
		if !ok || v == "" {
			continue
		}
		if err := s.Value.Set(v); err != nil {
			return fmt.Errorf("$%s: %w", Env(s.Name), err)
		}
	}
	after(Origin{layer: fromEnv})
	// Flags last: parse again onto the layered configuration.
	fs = newFlagSet(target, &configPath)
	if err := fs.Parse(args); err != nil {
		return err
	}
	after(Origin{layer: fromFlags})
	return nil
}

func newFlagSet(ss []Setting, configPath *string) *flag.FlagSet {
	fs := flag.NewFlagSet("orderguard serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // Usage is printed by the caller, errors returned
	fs.StringVar(configPath, "config", "", "`path` of a YAML file of settings (keys are the flag names)")
	Register(fs, ss)
	return fs
}

// OneList is a setting whose YAML list is one value (joined with commas),
// not each element replacing the last.
type OneList interface {
	flag.Value
	OneList()
}

// applyFile reads a YAML mapping whose keys are flag names. Scalars are set
// as a flag would be; a mapping (op-mode, op-budget, rules) becomes k=v pairs;
// a list sets each element in turn, or, for a OneList, all of it at once.
func applyFile(path string, bound []Setting) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read config: %w", err)
	}
	var doc map[string]yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("config %s: %w", path, err)
	}
	keys := make([]string, 0, len(doc))
	for k := range doc {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		i := slices.IndexFunc(bound, func(s Setting) bool { return s.Name == key })
		if i < 0 {
			return fmt.Errorf("config %s: unknown setting %q (keys are flag names, e.g. listen, budget)", path, key)
		}
		node := doc[key]
		var vals []string
		switch node.Kind {
		case yaml.ScalarNode:
			vals = []string{node.Value}
		case yaml.MappingNode:
			pairs := make([]string, 0, len(node.Content)/2)
			for j := 0; j+1 < len(node.Content); j += 2 {
				pairs = append(pairs, node.Content[j].Value+"="+node.Content[j+1].Value)
			}
			vals = []string{strings.Join(pairs, ",")}
		case yaml.SequenceNode:
			for _, n := range node.Content {
				vals = append(vals, n.Value)
			}
			if _, ok := bound[i].Value.(OneList); ok {
				vals = []string{strings.Join(vals, ",")}
			}
		default:
			return fmt.Errorf("config %s: %s: want a value, a mapping or a list", path, key)
		}
		for _, v := range vals {
			if err := bound[i].Value.Set(v); err != nil {
				return fmt.Errorf("config %s: %s: %w", path, key, err)
			}
		}
	}
	return nil
}
