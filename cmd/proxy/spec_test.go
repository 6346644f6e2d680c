package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSpecCheck(t *testing.T) {
	good, err := os.ReadFile("../../openapi/forter.yaml")
	if err != nil {
		t.Fatal(err)
	}
	rules, err := os.ReadFile("../../openapi/rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		from, to string // a mutation of the real spec; empty: unchanged
		wantCode int
		wantOut  string
	}{
		{"the real spec", "", "", 0, "ok"},
		{"a $ref that does not resolve", `#/components/schemas/Money"`, `#/components/schemas/Mony"`, 1, "Mony"},
		{"an example that breaks its schema", `amountUSD: "11.00"`, `amountUSD: 11`, 1, "value must be a string"},
		{"not YAML", "openapi: 3.0.3", "openapi: [3.0.3", 1, "forter.yaml"},
		{"an unknown fallback shape", "x-orderguard-fallback: claim", "x-orderguard-fallback: clam", 1, `x-orderguard-fallback "clam": want one of`},
		{"one operation name twice", "x-orderguard-name: claim", "x-orderguard-name: order", 1, `x-orderguard-name "order" is also`},
		{"a claim example with a date not YYYY-MM-DD", `issueDate: "2016-01-20"`, `issueDate: "20/01/2016"`, 1, "issueDate"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			doc := string(good)
			if tc.from != "" {
				doc = strings.Replace(doc, tc.from, tc.to, 1)
				if doc == string(good) {
					t.Fatalf("mutation %q not applied", tc.from)
				}
			}
			if err := os.WriteFile(filepath.Join(dir, "forter.yaml"), []byte(doc), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "rules.yaml"), rules, 0o644); err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			code := run([]string{"spec", "check", dir}, &stdout, &stderr)
			if code != tc.wantCode {
				t.Fatalf("exit code: got %d, want %d\nstdout: %s\nstderr: %s", code, tc.wantCode, stdout.String(), stderr.String())
			}
			if !strings.Contains(stdout.String(), tc.wantOut) {
				t.Errorf("output %q does not mention %q", stdout.String(), tc.wantOut)
			}
		})
	}
}

// A rules overlay is checked by applying it to the spec and compiling it.
func TestSpecCheckRulesOverlay(t *testing.T) {
	good, err := os.ReadFile("../../openapi/forter.yaml")
	if err != nil {
		t.Fatal(err)
	}
	rules, err := os.ReadFile("../../openapi/rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	broken := strings.Replace(string(rules), "    PayPal:\n", "    PayPal2:\n", 1)
	if broken == string(rules) {
		t.Fatal("mutation not applied")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "forter.yaml"), good, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "rules.yaml"), []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"spec", "check", dir}, &stdout, &stderr); code != 1 || !strings.Contains(stdout.String(), "PayPal2") {
		t.Errorf("rules on a schema the spec lacks: exit %d, output %q", code, stdout.String())
	}
}

func TestSpecCheckUsageErrors(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"spec", "check", filepath.Join(t.TempDir(), "missing")}, &stdout, &stderr); code != 2 {
		t.Errorf("missing directory: exit %d, want 2", code)
	}
	if code := run([]string{"spec", "nope"}, &stdout, &stderr); code != 2 {
		t.Errorf("unknown subcommand: exit %d, want 2", code)
	}
}
