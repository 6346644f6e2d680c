package main

import (
	"bytes"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// subcommands is every command line that has its own flags: each entry of
// commands, and the nested ones of spec.
func subcommands() []string {
	var names []string
	for name := range commands {
		names = append(names, name)
	}
	sort.Strings(names)
	return append(names, "spec check", "spec rules")
}

var (
	flagLine    = regexp.MustCompile(`^  --[a-z0-9][a-z0-9-]*( \S+)?$`)
	meaningLine = regexp.MustCompile(`^\t\S.* \(default .*\)`)
)

// TestHelpLayout: every subcommand's --help goes to stdout with exit 0, opens
// with `usage: orderguard CMD`, and lists each flag as `--name type` over a
// tab-indented line with its meaning and default; a usage error goes to
// stderr with exit 2, naming the subcommand, its usage line and --help.
func TestHelpLayout(t *testing.T) {
	for _, name := range subcommands() {
		t.Run(name, func(t *testing.T) {
			args := strings.Fields(name)
			var stdout, stderr bytes.Buffer
			if code := run(append(args, "--help"), &stdout, &stderr); code != 0 || stderr.Len() != 0 {
				t.Fatalf("--help: exit %d, stderr %q; want 0 and nothing on stderr", code, stderr.String())
			}
			out := stdout.String()
			if !strings.HasPrefix(out, "usage: orderguard "+name) {
				t.Errorf("--help starts %q, want usage: orderguard %s", firstLine(out), name)
			}
			lines := strings.Split(out, "\n")
			inFlags, flags := false, 0
			for i, l := range lines {
				if l == "flags:" {
					inFlags = true // prose above may mention flags in its own way
				}
				if !inFlags || !strings.HasPrefix(l, "  --") {
					continue
				}
				if !flagLine.MatchString(l) {
					t.Errorf("flag line %q: want `  --name type`", l)
					continue
				}
				flags++
				if i+1 >= len(lines) || !meaningLine.MatchString(lines[i+1]) {
					t.Errorf("%s: next line %q, want a tab, the meaning and (default …)", strings.TrimSpace(l), lines[min(i+1, len(lines)-1)])
				}
			}
			if strings.Contains(out, "flags:\n") && flags == 0 {
				t.Error("a flags: section with no flag in the layout")
			}

			stdout.Reset()
			stderr.Reset()
			if code := run(append(args, "--no-such-flag"), &stdout, &stderr); code != 2 || stdout.Len() != 0 {
				t.Fatalf("usage error: exit %d, stdout %q; want 2 and nothing on stdout", code, stdout.String())
			}
			for _, want := range []string{"orderguard " + name + ": ", "\nusage: orderguard " + name, "Run 'orderguard " + name + " --help'"} {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("usage error %q lacks %q", stderr.String(), want)
				}
			}
		})
	}
}

// TestNoArguments: orderguard alone lists every subcommand, as a usage error
// (stderr, exit 2); --help lists them on stdout with exit 0.
func TestNoArguments(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(nil, &stdout, &stderr); code != 2 || stdout.Len() != 0 {
		t.Fatalf("no arguments: exit %d, stdout %q; want 2 and the list on stderr", code, stdout.String())
	}
	var help, none bytes.Buffer
	if code := run([]string{"--help"}, &help, &none); code != 0 || none.Len() != 0 {
		t.Fatalf("--help: exit %d, stderr %q", code, none.String())
	}
	for name, c := range commands {
		want := "  " + name + " "
		if !strings.Contains(stderr.String(), want) || !strings.Contains(help.String(), c.summary) {
			t.Errorf("subcommand %s (%s) not listed", name, c.summary)
		}
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
