package lint

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/orderguard/orderguard/internal/validate"
)

func runCmd(t *testing.T, ops []validate.Operation, rules []validate.RuleInfo, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	c := Command{Operations: ops, Rules: rules, Version: "test", Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb}
	code = c.Run(args)
	return code, out.String(), errb.String()
}

func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"valid.json":   `{"orderId":"1"}`,
		"invalid.json": `{"orderId":"1","orderType":"BAD"}`,
		"warn.json":    `{"orderId":"1","a":"WARN","b":"WARN"}`,
		"rule.json":    `{"orderId":"1","a":"RULE"}`,
		"cfg.yaml":     "rules:\n  fake-rule: warning\n",
		"cfgoff.yaml":  "rules:\n  fake-warn: off\n",
		"cfgbad.yaml":  "rules:\n  no-such-rule: off\n",
	})
	j := func(n string) string { return filepath.Join(dir, n) }
	tests := []struct {
		name       string
		args       []string
		stdin      string
		want       int
		wantStderr string
	}{
		{"valid", []string{j("valid.json")}, "", ExitOK, ""},
		{"invalid", []string{j("valid.json"), j("invalid.json")}, "", ExitInvalid, ""},
		{"warnings only", []string{j("warn.json")}, "", ExitOK, ""},
		{"max-warnings exceeded", []string{"--max-warnings", "1", j("warn.json")}, "", ExitInvalid, "2 warnings, more than --max-warnings 1"},
		{"max-warnings met", []string{"--max-warnings=2", j("warn.json")}, "", ExitOK, ""},
		{"max-warnings 0 with a clean file", []string{"--max-warnings=0", j("valid.json")}, "", ExitOK, ""},
		{"config downgrades rule", []string{"--config", j("cfg.yaml"), j("rule.json")}, "", ExitOK, ""},
		{"config rule off", []string{"--config", j("cfgoff.yaml"), "--max-warnings=0", j("warn.json")}, "", ExitOK, ""},
		{"config unknown rule", []string{"--config", j("cfgbad.yaml"), j("valid.json")}, "", ExitUsage, `unknown rule "no-such-rule"`},
		{"config missing", []string{"--config", j("nope.yaml"), j("valid.json")}, "", ExitUsage, "nope.yaml"},
		{"missing file", []string{j("valid.json"), j("missing.json")}, "", ExitUsage, "missing.json"},
		{"no paths", nil, "", ExitUsage, "no PATH given"},
		{"bad format", []string{"--format", "xml", j("valid.json")}, "", ExitUsage, `format "xml"`},
		{"bad color", []string{"--color", "rainbow", j("valid.json")}, "", ExitUsage, `color "rainbow"`},
		{"bad operation", []string{"--operation", "refund", j("valid.json")}, "", ExitUsage, `operation "refund"`},
		{"bad flag", []string{"--nope", j("valid.json")}, "", ExitUsage, "flag provided but not defined"},
		{"flags after paths", []string{j("invalid.json"), "--operation", "status"}, "", ExitInvalid, ""},
		{"stdin valid", []string{"-"}, `{"orderId":"1"}`, ExitOK, ""},
		{"stdin invalid", []string{"-"}, `{"orderType":"BAD"}`, ExitInvalid, ""},
		{"help", []string{"--help"}, "", ExitOK, ""}, // on stdout, in the shared layout: TestHelpLayout in cmd/proxy
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runCmd(t, fakeOps, fakeRules, tt.stdin, tt.args...)
			if code != tt.want {
				t.Errorf("exit code: got %d, want %d (stderr %q)", code, tt.want, stderr)
			}
			if tt.wantStderr != "" && !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("stderr %q does not contain %q", stderr, tt.wantStderr)
			}
		})
	}
}

func TestOutputFileAndColor(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"invalid.json": `{"orderType":"BAD","n":"WARN"}`})
	report := filepath.Join(dir, "out", "..", "report.json")
	code, stdout, _ := runCmd(t, fakeOps, fakeRules, "", "--format=json", "--output", report, filepath.Join(dir, "invalid.json"))
	if code != ExitInvalid || stdout != "" {
		t.Errorf("got code %d stdout %q, want 1 and nothing on stdout", code, stdout)
	}
	b, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid(b) {
		t.Errorf("report is not JSON: %s", b)
	}

	_, plain, _ := runCmd(t, fakeOps, fakeRules, "", filepath.Join(dir, "invalid.json"))
	if strings.Contains(plain, "\x1b[") {
		t.Errorf("colors written to a non-terminal: %q", plain)
	}
	_, colored, _ := runCmd(t, fakeOps, fakeRules, "", "--color=always", filepath.Join(dir, "invalid.json"))
	for _, want := range []string{ansiRed + "error" + ansiReset, ansiYellow + "warning" + ansiReset} {
		if !strings.Contains(colored, want) {
			t.Errorf("--color=always output lacks %q: %q", want, colored)
		}
	}
	var out bytes.Buffer
	c := Command{Operations: fakeOps, Stdout: &out, Stderr: io.Discard, IsTerminal: func(io.Writer) bool { return true }}
	t.Setenv("NO_COLOR", "")
	t.Setenv("TERM", "xterm")
	c.Run([]string{filepath.Join(dir, "invalid.json")})
	if !strings.Contains(out.String(), ansiRed) {
		t.Errorf("no colors on a terminal: %q", out.String())
	}
	out.Reset()
	t.Setenv("NO_COLOR", "1")
	c.Run([]string{filepath.Join(dir, "invalid.json")})
	if strings.Contains(out.String(), "\x1b[") {
		t.Errorf("colors despite NO_COLOR: %q", out.String())
	}
}

func TestGitHubEscaping(t *testing.T) {
	res := &Result{Files: []FileResult{{Path: "a,b:c.json", Payloads: []Payload{{
		Path: "a,b:c.json", Index: -1, Operation: OpOrderV2,
		Violations: []Violation{{Violation: validate.Violation{
			Pointer: "/x", Rule: "enum", Message: "100% wrong\nreally", Line: 2, Column: 3, Severity: validate.SeverityWarning,
		}, File: Position{Line: 2, Column: 3}}},
	}}}}}
	var b bytes.Buffer
	if err := Write(&b, "github", res, FormatOptions{}); err != nil {
		t.Fatal(err)
	}
	want := "::warning file=a%2Cb%3Ac.json,line=2,col=3,title=orderguard enum::100%25 wrong%0Areally (#/x)\n"
	if b.String() != want {
		t.Errorf("got  %q\nwant %q", b.String(), want)
	}
}

// JUnit escapes what XML needs escaped and stays parseable.
func TestJUnitParses(t *testing.T) {
	res := &Result{Files: []FileResult{{Path: `a&b<"c">.json`, Payloads: []Payload{{
		Path: `a&b<"c">.json`, Index: -1, Operation: OpOrderV2,
		Violations: []Violation{{Violation: validate.Violation{Pointer: "/a~1b", Rule: "enum", Message: "must be one of <A>, B & C", Line: 1, Column: 1}}},
	}}}}}
	var b bytes.Buffer
	if err := Write(&b, "junit", res, FormatOptions{}); err != nil {
		t.Fatal(err)
	}
	var got JUnitSuites
	if err := xml.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	if got.Tests != 1 || got.Failures != 1 || got.Suites[0].Name != `a&b<"c">.json` ||
		!strings.Contains(got.Suites[0].Cases[0].Failure.Text, "must be one of <A>, B & C (#/a~1b)") {
		t.Errorf("round trip lost data: %+v", got)
	}
}

// Warnings go to system-out, a failure only for errors; "]]>" survives CDATA.
func TestJUnitWarningsAndCDATA(t *testing.T) {
	res := &Result{Files: []FileResult{{Path: "w.json", Payloads: []Payload{{
		Path: "w.json", Index: -1, Operation: OpOrderV2,
		Violations: []Violation{{Violation: validate.Violation{Rule: "fake-warn", Message: "a ]]> b", Line: 1, Column: 1, Severity: validate.SeverityWarning}}},
	}}}}}
	var b bytes.Buffer
	if err := Write(&b, "junit", res, FormatOptions{}); err != nil {
		t.Fatal(err)
	}
	var got JUnitSuites
	if err := xml.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	c := got.Suites[0].Cases[0]
	if c.Failure != nil || got.Failures != 0 {
		t.Errorf("a warning failed the test case: %+v", c.Failure)
	}
	if c.SystemOut == nil || !strings.Contains(c.SystemOut.Text, "warning fake-warn: a ]]> b") {
		t.Errorf("system-out: got %+v", c.SystemOut)
	}
}

// The streamed JSON report is byte for byte what encoding/json writes for the
// whole report, with payloads and without any.
func TestJSONStreamMatchesEncoder(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"a.json":     `{"orderId":"1","x":"BAD","y":"WARN"}`,
		"b.ndjson":   "{\"orderId\":\"2\"}\n{\"z\":\"<&>\"}\n",
		"empty.har":  `{"log":{"entries":[]}}`,
		"c/d.json":   `{"orderId":"3"}`,
		"c/e.ndjson": "\n",
	})
	for _, paths := range [][]string{{dir}, {filepath.Join(dir, "empty.har")}} {
		res := lintPaths(t, newFake(t, Options{}), paths...)
		var got bytes.Buffer
		if err := Write(&got, "json", res, FormatOptions{}); err != nil {
			t.Fatal(err)
		}
		whole := struct {
			Files   []jsonFile `json:"files"`
			Summary Summary    `json:"summary"`
		}{Files: []jsonFile{}, Summary: res.Summary}
		for _, f := range res.Files {
			for _, p := range f.Payloads {
				jf := jsonFile{Path: p.Path, Operation: p.Operation, Valid: p.Valid(), Violations: []jsonViolation{}}
				if p.Index >= 0 {
					idx := p.Index
					jf.Index = &idx
				}
				for _, v := range p.Violations {
					jf.Violations = append(jf.Violations, jsonViolation{v.Pointer, v.Kind, v.Rule, v.Severity, v.Message, v.Line, v.Column, v.Offset})
				}
				whole.Files = append(whole.Files, jf)
			}
		}
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(whole); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Errorf("%v:\ngot  %s\nwant %s", paths, got.String(), want.String())
		}
	}
}
