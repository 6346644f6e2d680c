package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"text/tabwriter"

	"github.com/orderguard/orderguard/internal/cli"
	"github.com/orderguard/orderguard/internal/codegen"
	"github.com/orderguard/orderguard/internal/compiled"
	"github.com/orderguard/orderguard/internal/spec"
	"gopkg.in/yaml.v3"
)

const specUsageLine = "orderguard spec <check|rules> [flags]"

const specUsage = `usage: ` + specUsageLine + `

commands:
  check [DIR]   validate every OpenAPI document in DIR (default: openapi):
                structure, every $ref resolved, every example against its schema,
                the rules compile. Exit 0 when clean, 1 with one line per problem.
                With --spec/--overlay, check the spec serve would compile instead.
  rules         list the business rules compiled into this binary, or of the spec
                --spec/--overlay give (id, severity, description, source).

Run 'orderguard spec check --help' or 'orderguard spec rules --help' for their flags.
`

func runSpec(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		return cli.UsageError(stderr, "spec", specUsageLine, errors.New("no command given (check or rules)"))
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, specUsage)
		return 0
	case "check":
		return specCheck(args[1:], stdout, stderr)
	case "rules":
		return specRules(args[1:], stdout, stderr)
	}
	return cli.UsageError(stderr, "spec", specUsageLine, fmt.Errorf("unknown command %q (want check or rules)", args[0]))
}

// parseSpecFlags parses a spec subcommand's flags in the shared layout: help
// on stdout (done is true, code 0), a usage error on stderr (code 2).
func parseSpecFlags(fs *flag.FlagSet, args []string, usageLine, about string, stdout, stderr io.Writer) (done bool, code int) {
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(stdout, "usage: %s\n\n%s", usageLine, about)
		if flags := cli.Visible(fs); len(flags) > 0 {
			fmt.Fprint(stdout, "\nflags:\n")
			cli.WriteFlags(stdout, flags, nil)
		}
		return true, 0
	}
	if err != nil {
		return true, cli.UsageError(stderr, fs.Name(), usageLine, err)
	}
	return false, 0
}

func specCheck(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("spec check", flag.ContinueOnError)
	const usageLine = "orderguard spec check [DIR]"
	cfg := specFlags(fs)
	verbose := fs.Bool("verbose", false, "also print the compile time of the spec served (embedded, or --spec/--overlay)")
	if done, code := parseSpecFlags(fs, args, usageLine, "Validates every OpenAPI document in DIR (default: openapi): structure, every $ref\nresolved, every example against its schema, the rules compile. Exit 0 when clean,\n1 with one line per problem, 2 for a usage error. With --spec or --overlay, checks\nand compiles the spec orderguard serve would compile from them instead.\n", stdout, stderr); done {
		return code
	}
	src := cfg.Sources()
	if src.Spec != "" || len(src.Overlays) > 0 || *verbose {
		if src.Spec != "" || len(src.Overlays) > 0 {
			return specCheckSources(src, *verbose, stdout)
		}
		if code := specCheckSources(src, true, stdout); code != 0 {
			return code
		}
	}
	dir := "openapi"
	if fs.NArg() > 1 {
		return cli.UsageError(stderr, "spec check", usageLine, errors.New("at most one directory"))
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
	report := func(file string, err error) {
		for _, line := range spec.ErrorLines(err) {
			fmt.Fprintf(stdout, "%s: %s\n", file, line)
			problems++
		}
	}
	// A file without a top-level `openapi` key is a rules overlay
	// (x-orderguard-rules by component schema): it is checked by applying it
	// to every document of the directory and compiling the result.
	var docs, overlays []string
	for _, f := range files {
		isDoc, err := isOpenAPIDocument(f)
		switch {
		case err != nil:
			report(f, err)
		case isDoc:
			docs = append(docs, f)
		default:
			overlays = append(overlays, f)
		}
	}
	for _, f := range docs {
		doc, err := spec.Load(f)
		if err == nil {
			err = spec.Validate(doc)
		}
		if err != nil {
			report(f, err)
			continue
		}
		for _, o := range overlays {
			if err := codegen.ApplyRules(doc, o); err != nil {
				report(o, err)
			}
		}
		if _, err := codegen.GenerateOperations(doc, codegen.Options{Package: "gen", Source: f}); err != nil {
			report(f, fmt.Errorf("compile validators and rules: %w", err))
		}
	}
	if len(docs) == 0 {
		fmt.Fprintf(stdout, "%s: no OpenAPI document (a file with a top-level openapi key)\n", dir)
		problems++
	}
	if problems > 0 {
		return 1
	}
	fmt.Fprintf(stdout, "%d document(s) and %d rules file(s) in %s: ok\n", len(docs), len(overlays), dir)
	return 0
}

// specCheckSources loads, checks and compiles the spec as serve would
// (internal/compiled): one line per problem, exit 1; verbose adds the
// compile time.
func specCheckSources(src compiled.Sources, verbose bool, stdout io.Writer) int {
	p, err := compiled.Load(src)
	if err != nil {
		for _, line := range spec.ErrorLines(err) {
			fmt.Fprintf(stdout, "%s: %s\n", src.Source(), line)
		}
		return 1
	}
	if verbose {
		fmt.Fprintf(stdout, "%s: compiled in %.1f ms: %d operations, %d rules, sha256 %s\n",
			p.Source, float64(p.Compile.Microseconds())/1000, len(p.Operations), len(p.Rules), p.SHA256)
	} else {
		fmt.Fprintf(stdout, "%s: ok\n", p.Source)
	}
	return 0
}

// isOpenAPIDocument reports whether a YAML or JSON file has a top-level openapi key.
func isOpenAPIDocument(path string) (bool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return false, err
	}
	var top map[string]any
	if err := yaml.Unmarshal(b, &top); err != nil {
		return false, fmt.Errorf("parse: %w", err)
	}
	_, ok := top["openapi"]
	return ok, nil
}

func specRules(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("spec rules", flag.ContinueOnError)
	const usageLine = "orderguard spec rules [flags]"
	format := fs.String("format", "text", "output format: `text|json`")
	cfg := specFlags(fs)
	if done, code := parseSpecFlags(fs, args, usageLine, "Lists the business rules compiled into this binary (or of the spec --spec and\n--overlay give): id, default severity, description and source.\n", stdout, stderr); done {
		return code
	}
	if fs.NArg() > 0 {
		return cli.UsageError(stderr, "spec rules", usageLine, fmt.Errorf("unexpected argument %q", fs.Arg(0)))
	}
	_, rules, err := validatorsOf(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "orderguard spec rules: %v\n", err)
		return 2
	}
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
		fmt.Fprintln(tw, "ID\tSEVERITY\tDESCRIPTION\tSOURCE\tWHY THIS DEFAULT")
		for _, r := range rules {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.ID, r.Severity, r.Description, r.Source, r.Reason)
		}
		tw.Flush()
	default:
		return cli.UsageError(stderr, "spec rules", usageLine, fmt.Errorf("unknown format %q (want text or json)", *format))
	}
	return 0
}
