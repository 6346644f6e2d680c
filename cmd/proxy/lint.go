package main

import (
	"fmt"
	"io"
	"os"

	"github.com/orderguard/orderguard/internal/lint"
)

// runLint is `orderguard lint`: the generated validators and rules over
// payload files. Flags and exit codes are documented in internal/lint.
// --spec and --overlay lint against a spec compiled now instead.
func runLint(args []string, stdout, stderr io.Writer) int {
	src, args, err := splitSpecArgs(args)
	if err != nil {
		fmt.Fprintf(stderr, "orderguard lint: %v\n", err)
		return 2
	}
	ops, rules, ok := validatorsOf(src, stderr, "lint")
	if !ok {
		return 2
	}
	return lint.Command{
		Operations: ops,
		Rules:      rules,
		Version:    versionString(),
		Stdin:      os.Stdin,
		Stdout:     stdout,
		Stderr:     stderr,
	}.Run(args)
}
