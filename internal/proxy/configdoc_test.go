package proxy

import (
	"flag"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite CONFIG.md and the README's settings table from the settings")

// configDoc renders CONFIG.md: every setting of --help, its default, its
// environment variable and what it does.
func configDoc() string {
	var b strings.Builder
	b.WriteString("# orderguard serve: settings\n\n")
	b.WriteString("Generated from `internal/proxy/load.go` by `go test ./internal/proxy -run TestConfigDoc -update`;\n")
	b.WriteString("`orderguard serve --help` prints the same. Precedence: flags, then environment variables,\n")
	b.WriteString("then the YAML file of `--config` (keys are the flag names; per-operation maps and rule\n")
	b.WriteString("severities may be YAML mappings), then the defaults below.\n\n")
	b.WriteString(settingsTable())
	b.WriteString("\nSecrets have no flag and are never printed: the Forter API key comes from `--api-key-file`\n")
	b.WriteString("or `" + EnvAPIKey + "`, the inbound shared secret from `--inbound-secret-file` or\n")
	b.WriteString("`" + EnvInboundSecret + "`, the admin token from `--admin-token-file` or `" + EnvAdminToken + "`.\n")
	b.WriteString("SIGHUP re-reads the files.\n")
	return b.String()
}

// settingsTable is the Markdown table of every setting, in CONFIG.md.
func settingsTable() string {
	var b strings.Builder
	b.WriteString("| flag | default | environment | what it does |\n|---|---|---|---|\n")
	b.WriteString("| `--config` | none | `" + EnvConfig + "` | YAML file of settings |\n")
	def := Defaults()
	for _, s := range settings(&def) {
		d := s.value.String()
		if d == "" {
			d = "(empty)"
		}
		b.WriteString("| `--" + s.name + "` | `" + d + "` | `" + envName(s.name) + "` | " + strings.ReplaceAll(s.help, "|", `\|`) + " |\n")
	}
	return b.String()
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
		t.Fatal("CONFIG.md is stale: run go test ./internal/proxy -run TestConfigDoc -update")
	}

	readme, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "](internal/proxy/CONFIG.md)") {
		t.Error("README.md does not link internal/proxy/CONFIG.md")
	}
	for _, line := range strings.Split(string(readme), "\n") {
		if strings.HasPrefix(line, "| `--listen` |") || strings.Contains(line, "serve-settings:begin") {
			t.Fatalf("README.md embeds the settings table (%q): link internal/proxy/CONFIG.md instead", line)
		}
	}
}
