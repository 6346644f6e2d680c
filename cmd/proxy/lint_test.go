package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The lint subcommand through the binary's own dispatcher, with the
// generated validators: exit codes 0, 1 and 2.
func TestLintCommand(t *testing.T) {
	dir := t.TempDir()
	valid, err := os.ReadFile(filepath.Join("..", "..", "internal", "lint", "testdata", "corpus", "valid", "order-web-card.json"))
	if err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string][]byte{
		"valid.json":   valid,
		"invalid.json": []byte(`{"orderId":"x","orderType":"NOPE"}`),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		args     []string
		want     int
		inStdout string
		inStderr string
	}{
		{[]string{"lint", filepath.Join(dir, "valid.json")}, 0, "1 file, 1 payload, 0 invalid", ""},
		{[]string{"lint", "--format", "json", dir}, 1, `"rule": "enum"`, ""},
		{[]string{"lint", filepath.Join(dir, "absent.json")}, 2, "", "absent.json"},
	}
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		if got := run(tt.args, &stdout, &stderr); got != tt.want {
			t.Errorf("%v: exit %d, want %d (stderr %q)", tt.args, got, tt.want, stderr.String())
		}
		if !strings.Contains(stdout.String(), tt.inStdout) || !strings.Contains(stderr.String(), tt.inStderr) {
			t.Errorf("%v: stdout %q, stderr %q; want %q and %q in them", tt.args, stdout.String(), stderr.String(), tt.inStdout, tt.inStderr)
		}
	}
}
