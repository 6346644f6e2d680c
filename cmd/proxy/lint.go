package main

import (
	"flag"
	"io"
	"os"

	"github.com/orderguard/orderguard/gen"
	"github.com/orderguard/orderguard/internal/lint"
	"github.com/orderguard/orderguard/internal/validate"
)

// runLint is `orderguard lint`: the generated validators and rules over
// payload files. Flags and exit codes are documented in internal/lint.
// --spec and --overlay lint against a spec compiled now instead.
func runLint(args []string, stdout, stderr io.Writer) int {
	return lint.Command{
		Operations: gen.Operations,
		Rules:      gen.Rules,
		Version:    build().Version,
		Stdin:      os.Stdin,
		Stdout:     stdout,
		Stderr:     stderr,
		SpecFlags: func(fs *flag.FlagSet) func() ([]validate.Operation, []validate.RuleInfo, error) {
			cfg := specFlags(fs)
			return func() ([]validate.Operation, []validate.RuleInfo, error) { return validatorsOf(cfg) }
		},
	}.Run(args)
}
