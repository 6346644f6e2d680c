package settings

import (
	"flag"
	"io"
	"strings"

	"github.com/orderguard/orderguard/internal/cli"
)

// WriteFlags writes the flags: part of --help in the layout every
// subcommand shares (internal/cli): --config, then every setting of groups
// in order, with its type, default and environment variable. Bound to the
// defaults, the values print them.
func WriteFlags(w io.Writer, groups []Group) {
	configPath := ""
	all := All(groups)
	fs := newFlagSet(all, &configPath)
	flags := []*flag.Flag{fs.Lookup("config")}
	for _, s := range all {
		flags = append(flags, fs.Lookup(s.Name))
	}
	cli.WriteFlags(w, flags, func(f *flag.Flag) string {
		if f.Name == "config" {
			return "[$" + EnvConfig + "]"
		}
		return "[$" + Env(f.Name) + "]"
	})
}

// Table is the Markdown table of every setting of groups bound to their
// defaults, grouped by the package that owns them.
func Table(groups []Group) string {
	var b strings.Builder
	b.WriteString("| flag | default | environment | package | what it does |\n|---|---|---|---|---|\n")
	b.WriteString("| `--config` | none | `" + EnvConfig + "` | `internal/settings` | YAML file of settings |\n")
	for _, g := range groups {
		for _, s := range g.Settings {
			d := s.Value.String()
			if d == "" {
				d = "(empty)"
			}
			b.WriteString("| `--" + s.Name + "` | `" + d + "` | `" + Env(s.Name) + "` | `" + g.Owner + "` | " + strings.ReplaceAll(s.Help, "|", `\|`) + " |\n")
		}
	}
	return b.String()
}
