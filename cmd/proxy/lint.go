package main

import (
	"io"
	"os"

	"github.com/orderguard/orderguard/gen"
	"github.com/orderguard/orderguard/internal/lint"
)

// runLint is `orderguard lint`: the generated validators and rules over
// payload files. Flags and exit codes are documented in internal/lint.
func runLint(args []string, stdout, stderr io.Writer) int {
	return lint.Command{
		Operations: gen.Operations,
		Rules:      gen.Rules,
		Version:    build().Version,
		Stdin:      os.Stdin,
		Stdout:     stdout,
		Stderr:     stderr,
	}.Run(args)
}
