package lint

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/orderguard/orderguard/internal/cli"
	"github.com/orderguard/orderguard/internal/validate"
)

// Exit codes of `orderguard lint`.
const (
	ExitOK      = 0 // no error-severity violation (and warnings within --max-warnings)
	ExitInvalid = 1 // an error-severity violation, or too many warnings
	ExitUsage   = 2 // bad flags or configuration, a missing or unreadable input
)

// Command is what `orderguard lint` runs with: the compiled validators and
// rules (gen.Operations, gen.Rules) and the process's streams.
type Command struct {
	Operations []validate.Operation
	Rules      []validate.RuleInfo
	Version    string
	Stdin      io.Reader
	Stdout     io.Writer
	Stderr     io.Writer
	// IsTerminal reports whether w is a terminal (text colors); nil means
	// an *os.File that is a character device.
	IsTerminal func(w io.Writer) bool
	// SpecFlags, when set, adds flags to lint's (orderguard's --spec and
	// --overlay) and returns what gives, once they are parsed, the
	// validators and rules to lint with in place of Operations and Rules.
	SpecFlags func(fs *flag.FlagSet) (load func() ([]validate.Operation, []validate.RuleInfo, error))
}

const usageLine = "orderguard lint [flags] PATH..."

const usageText = `usage: ` + usageLine + `

Checks Forter order and status payloads against the specs and business rules.
PATH is a file, a directory (recursive: *.json, *.ndjson, *.har), a glob
(quote it; ** matches any depth) or - for standard input.
NDJSON: one payload per line. HAR: every request to /v2/orders/{id},
/v3/orders/{id}, /v2/status/{id}, /v2/accounts/{event}/{id} or /v2/claims,
named by its entry index; text, sarif and github give the place in the
recording (the entry and the position within its request.postData.text in
the message), json and junit the position within request.postData.text.

Exit status: 0 no error, 1 an error-severity violation (or more warnings than
--max-warnings), 2 usage or I/O error.

flags:
`

// Run parses args (after "lint"), lints and writes the report; it returns the
// process exit code.
func (c Command) Run(args []string) int {
	fs := flag.NewFlagSet("orderguard lint", flag.ContinueOnError)
	format := fs.String("format", "text", "report format: "+strings.Join(Formats, ", "))
	mode := fs.String("operation", ModeAuto, "operation of the payloads: "+strings.Join(ModeNames(c.Operations), ", ")+" (auto: from the HAR URL, else by top-level members: processorChargebackCaseId a claim, accountId without orderId an account event, which is an error until its event is named, updatedStatus or eventTime a status update, anything else an order)")
	configFile := fs.String("config", "", "YAML `FILE` with rule severities (rules: {rule-id: error|warning|off}); the same file and key as orderguard serve --config")
	rules := fs.String("rules", "", "rule severities over the config file's, as `RULE=SEVERITY,…` (the syntax of orderguard serve --rules)")
	maxWarnings := fs.Int("max-warnings", -1, "exit 1 when there are more warnings than this (-1: no limit)")
	color := fs.String("color", "auto", "text colors: auto (on a terminal, unless NO_COLOR is set), always or never")
	output := fs.String("output", "", "write the report to `FILE` instead of standard output")
	workers := fs.Int("workers", 0, "files linted at once (0: one per core)")
	var load func() ([]validate.Operation, []validate.RuleInfo, error)
	if c.SpecFlags != nil {
		load = c.SpecFlags(fs)
	}
	fs.SetOutput(io.Discard) // help and errors are written below, in the shared layout
	fs.Usage = func() {}
	paths, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(c.Stdout, usageText)
		cli.WriteFlags(c.Stdout, cli.Visible(fs), nil)
		return ExitOK
	}
	if err != nil {
		return cli.UsageError(c.Stderr, "lint", usageLine, err)
	}
	fail := func(err error) int {
		fmt.Fprintf(c.Stderr, "orderguard lint: %v\n", err)
		return ExitUsage
	}
	if len(paths) == 0 {
		return cli.UsageError(c.Stderr, "lint", usageLine, errors.New("no PATH given"))
	}
	if load != nil {
		if c.Operations, c.Rules, err = load(); err != nil {
			return fail(err)
		}
	}
	if !validFormat(*format) {
		return fail(fmt.Errorf("format %q: want %s", *format, strings.Join(Formats, ", ")))
	}
	if *color != "auto" && *color != "always" && *color != "never" {
		return fail(fmt.Errorf("color %q: want auto, always or never", *color))
	}
	var sev map[string]validate.Severity
	origin := map[string]string{} // where each rule id was set, for an unknown one
	if *configFile != "" {
		cfg, err := LoadConfig(*configFile)
		if err != nil {
			return fail(err)
		}
		sev = cfg.Rules
		for id := range sev {
			origin[id] = "config " + *configFile + ": rules"
		}
	}
	if *rules != "" {
		over, err := ParseRules(*rules)
		if err != nil {
			return fail(err)
		}
		if sev == nil {
			sev = map[string]validate.Severity{}
		}
		for id, s := range over {
			sev[id] = s
			origin[id] = "--rules"
		}
	}
	for id := range sev {
		if !slices.ContainsFunc(c.Rules, func(r validate.RuleInfo) bool { return r.ID == id }) {
			return fail(fmt.Errorf("%s: unknown rule %q (see 'orderguard spec rules')", origin[id], id))
		}
	}
	l, err := New(Options{Operations: c.Operations, Rules: c.Rules, Mode: *mode, Severities: sev, Workers: *workers})
	if err != nil {
		return fail(err)
	}
	inputs, err := Discover(paths, c.Stdin)
	if err != nil {
		return fail(err)
	}
	res, err := l.Lint(inputs)
	if err != nil {
		return fail(err)
	}

	out := c.Stdout
	if *output != "" {
		f, err := os.Create(*output)
		if err != nil {
			return fail(fmt.Errorf("create report: %w", err))
		}
		defer f.Close()
		out = f
	}
	useColor := *color == "always" ||
		*color == "auto" && os.Getenv("NO_COLOR") == "" && os.Getenv("TERM") != "dumb" && c.isTerminal(out)
	if err := Write(out, *format, res, FormatOptions{Color: useColor, Rules: c.Rules, Version: c.Version}); err != nil {
		return fail(fmt.Errorf("write report: %w", err))
	}
	if f, ok := out.(*os.File); ok && *output != "" {
		if err := f.Close(); err != nil {
			return fail(fmt.Errorf("write report: %w", err))
		}
	}
	if res.Summary.Errors > 0 {
		return ExitInvalid
	}
	if *maxWarnings >= 0 && res.Summary.Warnings > *maxWarnings {
		fmt.Fprintf(c.Stderr, "orderguard lint: %d warnings, more than --max-warnings %d\n", res.Summary.Warnings, *maxWarnings)
		return ExitInvalid
	}
	return ExitOK
}

func (c Command) isTerminal(w io.Writer) bool {
	if c.IsTerminal != nil {
		return c.IsTerminal(w)
	}
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// parseInterspersed lets flags follow paths (`lint dir --format json`), as
// CI scripts often write them; "--" ends flags.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var paths []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return paths, nil
		}
		// flag stops at "--" (consumed) or at the first non-flag.
		if len(args) >= len(rest)+1 && args[len(args)-len(rest)-1] == "--" {
			return append(paths, rest...), nil
		}
		paths = append(paths, rest[0])
		args = rest[1:]
	}
}

func validFormat(f string) bool {
	for _, v := range Formats {
		if v == f {
			return true
		}
	}
	return false
}
