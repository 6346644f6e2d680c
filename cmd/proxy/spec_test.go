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

func TestSpecCheckUsageErrors(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"spec", "check", filepath.Join(t.TempDir(), "missing")}, &stdout, &stderr); code != 2 {
		t.Errorf("missing directory: exit %d, want 2", code)
	}
	if code := run([]string{"spec", "nope"}, &stdout, &stderr); code != 2 {
		t.Errorf("unknown subcommand: exit %d, want 2", code)
	}
}

func TestVersion(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"version"}, &stdout, &stderr); code != 0 || !strings.HasPrefix(stdout.String(), "orderguard ") {
		t.Errorf("version: exit %d, output %q", code, stdout.String())
	}
}
