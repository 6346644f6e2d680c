package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"text/tabwriter"

	"github.com/orderguard/orderguard/internal/spec"
)

func runSpec(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stderr, `usage: orderguard spec <check|rules> [flags]

  check [DIR]              validate every OpenAPI document in DIR (default: openapi):
                           structure, every $ref resolved, every example against its schema.
                           Exit 0 when clean, 1 with one line per problem.
  rules [--format text|json]
                           list the business rules compiled into this binary
                           (id, severity, description, source).
`)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	switch args[0] {
	case "check":
		return specCheck(args[1:], stdout, stderr)
	case "rules":
		return specRules(args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "orderguard spec: unknown subcommand %q (want check or rules)\n", args[0])
	return 2
}

func specCheck(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("spec check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	dir := "openapi"
	if fs.NArg() > 1 {
		fmt.Fprintln(stderr, "orderguard spec check: at most one directory")
		return 2
	}
	if fs.NArg() == 1 {
		dir = fs.Arg(0)
	}
	var files []string
	for _, pattern := range []string{"*.yaml", "*.yml", "*.json"} {
		m, err := filepath.Glob(filepath.Join(dir, pattern))
		if err != nil {
			fmt.Fprintf(stderr, "orderguard spec check: %v\n", err)
			return 2
		}
		files = append(files, m...)
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		fmt.Fprintf(stderr, "orderguard spec check: %s is not a directory\n", dir)
		return 2
	}
	if len(files) == 0 {
		fmt.Fprintf(stderr, "orderguard spec check: no OpenAPI document (*.yaml, *.yml, *.json) in %s\n", dir)
		return 2
	}
	sort.Strings(files)
	problems := 0
	for _, f := range files {
		doc, err := spec.Load(f)
		if err == nil {
			err = spec.Validate(doc)
		}
		for _, line := range spec.ErrorLines(err) {
			fmt.Fprintf(stdout, "%s: %s\n", f, line)
			problems++
		}
	}
	if problems > 0 {
		return 1
	}
	fmt.Fprintf(stdout, "%d document(s) in %s: ok\n", len(files), dir)
	return 0
}

func specRules(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("spec rules", flag.ContinueOnError)
	fs.SetOutput(stderr)
	format := fs.String("format", "text", "output format: text or json")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	rules := compiledRules()
	switch *format {
	case "json":
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rules); err != nil {
			fmt.Fprintf(stderr, "orderguard spec rules: %v\n", err)
			return 2
		}
	case "text":
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tSEVERITY\tDESCRIPTION\tSOURCE")
		for _, r := range rules {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.ID, r.Severity, r.Description, r.Source)
		}
		tw.Flush()
	default:
		fmt.Fprintf(stderr, "orderguard spec rules: unknown format %q (want text or json)\n", *format)
		return 2
	}
	return 0
}
