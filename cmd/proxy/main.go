// Command orderguard is the one binary of the project: the proxy (serve), the
// linter (lint), the sandbox, the benchmark, the outbox tools and spec tools.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"

	"github.com/orderguard/orderguard/internal/buildinfo"
	"github.com/orderguard/orderguard/internal/cli"
)

// A command runs with its arguments (after the subcommand name) and returns the
// process exit code. Each lives in its own file, named after the subcommand.
type command struct {
	summary string
	run     func(args []string, stdout, stderr io.Writer) int
}

var commands = map[string]command{
	"serve":   {"run the validating proxy in front of Forter (or the embedded sandbox)", runServe},
	"lint":    {"check payload files (JSON, NDJSON, HAR) against the specs and rules", runLint},
	"sandbox": {"run the emulator of Forter's test site", runSandbox},
	"spec":    {"check the specs, list the business rules", runSpec},
	"outbox":  {"inspect and replay the outbox of undelivered requests", runOutbox},
	"bench":   {"measure the latency the proxy adds, against baselines", runBench},
	"version": {"print the version, commit and build date", runVersion},
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		// A usage error like any other: the list of subcommands on stderr.
		usage(stderr)
		return cli.ExitUsage
	}
	if args[0] == "--version" || args[0] == "-version" {
		return runVersion(args[1:], stdout, stderr)
	}
	if args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "orderguard: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	return cmd.run(args[1:], stdout, stderr)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: orderguard <command> [flags]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for name := range commands {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Fprintf(w, "  %-8s %s\n", name, commands[name].summary)
	}
	fmt.Fprintln(w, "\nRun 'orderguard <command> --help' for a command's flags.")
}

// runVersion prints one line: module version, commit (and "(modified)" for
// a dirty checkout), commit time, toolchain.
func runVersion(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	if err == nil && fs.NArg() > 0 {
		err = fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	switch {
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(stdout, "usage: orderguard version\n\nPrints the version of this binary: module version, commit, commit time, toolchain.\n")
		return 0
	case err != nil:
		return cli.UsageError(stderr, "version", "orderguard version", err)
	}
	fmt.Fprintln(stdout, build().String())
	return 0
}

// build is the running binary's identity.
func build() buildinfo.Info { return buildinfo.Read() }
