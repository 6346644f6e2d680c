// Command genvalidators writes gen/validators.gen.go from the OpenAPI spec:
//
//	go run ../internal/codegen/cmd/genvalidators -spec ../openapi/forter.yaml -rules ../openapi/rules.yaml -out validators.gen.go
//
// It exits non-zero, naming the schema location, when the spec uses a
// keyword the generator does not compile.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/orderguard/orderguard/internal/codegen"
)

func main() { os.Exit(run(os.Args[1:], os.Stderr)) }

func run(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("genvalidators", flag.ContinueOnError)
	fs.SetOutput(stderr)
	spec := fs.String("spec", "../openapi/forter.yaml", "the OpenAPI document")
	out := fs.String("out", "validators.gen.go", "the Go file to write")
	pkg := fs.String("package", "gen", "the Go package of the output")
	rules := fs.String("rules", "", "a rules overlay (x-orderguard-rules by component schema), e.g. ../openapi/rules.yaml")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	doc, err := codegen.Load(*spec)
	if err != nil {
		fmt.Fprintln(stderr, "genvalidators:", err)
		return 1
	}
	source := *spec
	if *rules != "" {
		if err := codegen.ApplyRules(doc, *rules); err != nil {
			fmt.Fprintln(stderr, "genvalidators:", err)
			return 1
		}
		source += " and " + *rules
	}
	src, err := codegen.GenerateOperations(doc, codegen.Options{Package: *pkg, Source: source})
	if err != nil {
		fmt.Fprintln(stderr, "genvalidators:", err)
		return 1
	}
	if err := os.WriteFile(*out, src, 0o644); err != nil {
		fmt.Fprintln(stderr, "genvalidators:", err)
		return 1
	}
	return 0
}
