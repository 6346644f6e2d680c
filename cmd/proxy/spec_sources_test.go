package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSpecSourcesCommands: spec check, spec rules and lint take --spec and
// --overlay, and report a broken overlay by its file.
func TestSpecSourcesCommands(t *testing.T) {
	ex := "../../examples/overlays/item-category-rule/"
	broken := filepath.Join(t.TempDir(), "broken.yaml")
	if err := os.WriteFile(broken, []byte("overlay: 1.1.0\ninfo: {title: t, version: '1'}\nactions:\n  - target: $.nope\n    remove: true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name    string
		args    string
		code    int
		wantOut string
	}{
		{"check verbose embedded", "spec check --verbose ../../openapi", 0, "embedded: compiled in"},
		{"check overlay", "spec check --overlay " + ex + "overlay.yaml --verbose", 0, "overlay " + ex + "overlay.yaml: compiled in"},
		{"check broken overlay", "spec check --overlay " + broken, 1, broken},
		{"check spec file", "spec check --spec ../../openapi/forter.yaml", 0, "forter.yaml: ok"},
		{"check spec over the cap", "spec check --spec ../../openapi/forter.yaml --max-spec-bytes 1KiB", 1, "larger than 1024 bytes (--max-spec-bytes)"},
		{"rules overlay", "spec rules --overlay=" + ex + "overlay.yaml", 0, "merchant-item-category"},
		{"lint overlay refuses", "lint --overlay " + ex + "overlay.yaml " + ex + "refuse", 1, "merchant-item-category"},
		{"lint overlay accepts", "lint --overlay " + ex + "overlay.yaml " + ex + "accept", 0, "0 errors"},
		{"lint overlay by operation name", "lint --overlay " + ex + "overlay.yaml --operation account-login ../../testdata/realworld-accounts/accountLogin/sfcc_02_customer-account-login.json", 0, "0 errors"},
		{"lint broken overlay", "lint --overlay " + broken + " " + ex + "accept", 2, ""},
		{"lint flag without value", "lint --overlay", 2, ""},
		{"serve generated with an overlay", "serve --engine generated --overlay " + ex + "overlay.yaml", 2, "--engine generated"},
		{"serve unknown engine", "serve --engine fast", 2, "--engine \"fast\""},
		{"serve broken overlay", "serve --overlay " + broken, 2, broken},
	} {
		t.Run(c.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(strings.Fields(c.args), &out, &errb)
			if code != c.code || !strings.Contains(out.String()+errb.String(), c.wantOut) {
				t.Fatalf("orderguard %s: exit %d, want %d with %q\nstdout: %s\nstderr: %s", c.args, code, c.code, c.wantOut, out.String(), errb.String())
			}
		})
	}
}
