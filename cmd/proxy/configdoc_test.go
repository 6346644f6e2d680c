package main

import (
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/orderguard/orderguard/internal/secret"
	"github.com/orderguard/orderguard/internal/settings"
)

var update = flag.Bool("update", false, "rewrite CONFIG.md from the settings")

// configDoc renders CONFIG.md: every setting of --help, its default, its
// environment variable and what it does.
func configDoc() string {
	var b strings.Builder
	b.WriteString("# orderguard serve: settings\n\n")
	b.WriteString("Generated from each package's `Settings` (gathered in `cmd/proxy/config.go`) by\n")
	b.WriteString("`go test ./cmd/proxy -run TestConfigDoc -update`; the package column says which package\n")
	b.WriteString("owns a setting (its `Config`, `Settings` and `Check`). `orderguard serve --help` prints the\n")
	b.WriteString("same, in the same order. Precedence: flags, then environment variables,\n")
	b.WriteString("then the YAML file of `--config` (keys are the flag names; per-operation maps and rule\n")
	b.WriteString("severities may be YAML mappings), then the defaults below.\n\n")
	b.WriteString(settingsTable())
	b.WriteString("\nSecrets have no flag and are never printed: the Forter API key comes from `--api-key-file`\n")
	b.WriteString("or `" + secret.EnvAPIKey + "`, the inbound shared secret from `--inbound-secret-file` or\n")
	b.WriteString("`" + secret.EnvInboundSecret + "`, the admin token from `--admin-token-file` or `" + secret.EnvAdminToken + "`.\n")
	b.WriteString("SIGHUP re-reads the files.\n")
	return b.String()
}

// settingsTable is the Markdown table of every setting, in CONFIG.md.
func settingsTable() string {
	def := defaultServeConfig()
	return settings.Table(def.groups())
}

const readmePath = "../../README.md"

// TestConfigDoc keeps CONFIG.md equal to the settings in the code, and the
// README pointing at it: the README links CONFIG.md instead of embedding the
// table (a newcomer reads the README's top half; the reference lives here).
func TestConfigDoc(t *testing.T) {
	want := configDoc()
	if *update {
		if err := os.WriteFile("CONFIG.md", []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile("CONFIG.md")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Fatal("CONFIG.md is stale: run go test ./cmd/proxy -run TestConfigDoc -update")
	}

	readme, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "](cmd/proxy/CONFIG.md)") {
		t.Error("README.md does not link cmd/proxy/CONFIG.md")
	}
	for _, line := range strings.Split(string(readme), "\n") {
		if strings.HasPrefix(line, "| `--listen` |") || strings.Contains(line, "serve-settings:begin") {
			t.Fatalf("README.md embeds the settings table (%q): link cmd/proxy/CONFIG.md instead", line)
		}
	}
}
