// Package cli is the one help layout every orderguard subcommand shares:
// --help prints `usage: orderguard CMD …`, a description and every flag as
//
//	--name type
//		meaning (default value)
//
// on standard output and exits 0; a usage error prints the error, the usage
// line and where to find the flags on standard error and exits 2.
package cli

import (
	"flag"
	"fmt"
	"io"
	"sort"
)

// ExitUsage is the exit status of a usage error, for every subcommand.
const ExitUsage = 2

// Typed is a flag.Value that names its type for --help (e.g. "duration",
// "size"); flag.UnquoteUsage calls every custom value a "value".
type Typed interface {
	Type() string
}

// Visible returns fs's flags that have a meaning (an empty usage marks a
// hidden flag), sorted by name.
func Visible(fs *flag.FlagSet) []*flag.Flag {
	var out []*flag.Flag
	fs.VisitAll(func(f *flag.Flag) {
		if f.Usage != "" {
			out = append(out, f)
		}
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// TypeName is the word after --name in --help: the value's own Type, the
// back-quoted word of its usage, or flag's name for a standard type; "" for
// a boolean flag, which takes no value.
func TypeName(f *flag.Flag) (typ, meaning string) {
	typ, meaning = flag.UnquoteUsage(f)
	if t, ok := f.Value.(Typed); ok {
		typ = t.Type()
	}
	if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
		typ = ""
	}
	return typ, meaning
}

// WriteFlags writes flags in the shared layout, in the order given; extra
// (may be nil) adds text after the default, e.g. the environment variable.
func WriteFlags(w io.Writer, flags []*flag.Flag, extra func(*flag.Flag) string) {
	for _, f := range flags {
		typ, meaning := TypeName(f)
		if typ != "" {
			typ = " " + typ
		}
		def := f.DefValue
		if def == "" {
			def = `""`
		}
		more := ""
		if extra != nil {
			if more = extra(f); more != "" {
				more = " " + more
			}
		}
		fmt.Fprintf(w, "  --%s%s\n\t%s (default %s)%s\n", f.Name, typ, meaning, def, more)
	}
}

// UsageError writes a usage error of subcommand cmd ("lint", "spec rules")
// to w: the error, the usage line, and where the flags are; it returns
// ExitUsage.
func UsageError(w io.Writer, cmd, usage string, err error) int {
	fmt.Fprintf(w, "orderguard %s: %v\n\nusage: %s\nRun 'orderguard %s --help' for the flags.\n", cmd, err, usage, cmd)
	return ExitUsage
}
