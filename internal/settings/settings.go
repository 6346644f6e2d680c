package settings

import (
	"flag"
	"strings"
)

// EnvPrefix starts every environment variable orderguard serve reads.
const EnvPrefix = "ORDERGUARD_"

// EnvConfig names the YAML config file when --config is not given.
const EnvConfig = "ORDERGUARD_CONFIG"

// Setting is one configurable value, bound to a field of its package's
// Config.
type Setting struct {
	Name  string     // flag name and YAML key; the environment variable is Env(Name)
	Help  string     // one line of --help and of the table
	Value flag.Value // the field; String is its default when bound to Defaults
}

// Group is the settings one package owns, in --help order.
type Group struct {
	Owner    string // the package, e.g. internal/pool
	Settings []Setting
}

// Env is the environment variable of a setting: ORDERGUARD_ and the flag
// name in upper case with _ for -.
func Env(name string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// All is every setting of groups, in order.
func All(groups []Group) []Setting {
	var all []Setting
	for _, g := range groups {
		all = append(all, g.Settings...)
	}
	return all
}

// Register adds the settings to fs as flags (for a command that takes a few
// of serve's settings, e.g. lint's --spec and --overlay).
func Register(fs *flag.FlagSet, ss []Setting) {
	for _, s := range ss {
		fs.Var(s.Value, s.Name, s.Help)
	}
}
