package proxy

import (
	"flag"
	"fmt"
	"io"

	"github.com/orderguard/orderguard/internal/cli"
)

// UsageLine is the synopsis of orderguard serve, for --help and usage errors.
const UsageLine = "orderguard serve [flags]"

// Usage writes --help in the layout every subcommand shares (internal/cli):
// every setting, in the order of settings, with its type, default and
// environment variable.
func Usage(w io.Writer) {
	def := Defaults()
	configPath := ""
	fs := newFlagSet(&def, &configPath)
	fmt.Fprintf(w, "usage: %s\n\n", UsageLine)
	fmt.Fprintf(w, "Runs the validating proxy in front of Forter (or, with no --upstream, the\n")
	fmt.Fprintf(w, "embedded sandbox). Settings come from flags, then %s* environment\n", EnvPrefix)
	fmt.Fprintf(w, "variables, then the YAML file of --config (keys are flag names), then defaults.\n\n")
	fmt.Fprintf(w, "flags:\n")
	flags := []*flag.Flag{fs.Lookup("config")}
	for _, s := range settings(&def) {
		flags = append(flags, fs.Lookup(s.name))
	}
	cli.WriteFlags(w, flags, func(f *flag.Flag) string {
		if f.Name == "config" {
			return "[$" + EnvConfig + "]"
		}
		return "[$" + envName(f.Name) + "]"
	})
	fmt.Fprintf(w, "\nThe API key is read from --api-key-file or $%s only, the inbound secret from\n", EnvAPIKey)
	fmt.Fprintf(w, "--inbound-secret-file or $%s only, the admin token from --admin-token-file or\n", EnvInboundSecret)
	fmt.Fprintf(w, "$%s only; none is ever printed. SIGHUP re-reads the files.\n", EnvAdminToken)
}

// The type word of each setting in --help (cli.Typed).

func (*stringValue) Type() string    { return "string" }
func (*listValue) Type() string      { return "file" }
func (*intValue) Type() string       { return "int" }
func (*floatValue) Type() string     { return "float" }
func (*durationValue) Type() string  { return "duration" }
func (*sizeValue) Type() string      { return "size" }
func (*modeValue) Type() string      { return "enforce|report|off" }
func (*fallbackValue) Type() string  { return "open|closed" }
func (*unknownValue) Type() string   { return "pass|reject" }
func (*opModesValue) Type() string   { return "op=mode,…" }
func (*opBudgetsValue) Type() string { return "op=duration,…" }
func (*rulesValue) Type() string     { return "rule=severity,…" }
