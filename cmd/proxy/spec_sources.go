package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/orderguard/orderguard/gen"
	"github.com/orderguard/orderguard/internal/compiled"
	"github.com/orderguard/orderguard/internal/validate"
)

// splitSpecArgs takes --spec, --overlay (repeatable) and --max-spec-bytes
// out of a command line (before a "--"), leaving the command's own flags.
func splitSpecArgs(args []string) (src compiled.Sources, rest []string, err error) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			rest = append(rest, args[i:]...)
			break
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || (name != "spec" && name != "overlay" && name != "max-spec-bytes") {
			rest = append(rest, a)
			continue
		}
		if !hasVal {
			if i+1 >= len(args) {
				return src, nil, fmt.Errorf("flag --%s needs a value", name)
			}
			i++
			val = args[i]
		}
		switch name {
		case "spec":
			src.Spec = val
		case "overlay":
			src.Overlays = append(src.Overlays, val)
		case "max-spec-bytes":
			n, err := strconv.ParseInt(val, 10, 64)
			if err != nil || n <= 0 {
				return src, nil, fmt.Errorf("--max-spec-bytes %q: want a number of bytes", val)
			}
			src.MaxBytes = n
		}
	}
	return src, rest, nil
}

// validatorsOf are the generated validators, or with --spec/--overlay the
// spec compiled now.
func validatorsOf(src compiled.Sources, stderr io.Writer, cmd string) ([]validate.Operation, []validate.RuleInfo, bool) {
	if src.Spec == "" && len(src.Overlays) == 0 {
		return gen.Operations, compiledRules(), true
	}
	p, err := compiled.Load(src)
	if err != nil {
		fmt.Fprintf(stderr, "orderguard %s: %v\n", cmd, err)
		return nil, nil, false
	}
	return p.Operations, p.Rules, true
}
