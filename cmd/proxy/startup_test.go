package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// startupLines runs serve until its "orderguard serving" line and returns
// every JSON line logged up to it.
func startupLines(t *testing.T, dir, args string, env ...string) []map[string]any {
	t.Helper()
	sp := startServe(t, dir, "--listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 --outbox= "+args, env...)
	sp.serving(t)
	var lines []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(sp.raw.Bytes()))
	for sc.Scan() {
		var l map[string]any
		if json.Unmarshal(sc.Bytes(), &l) == nil {
			lines = append(lines, l)
		}
	}
	return lines
}

func find(lines []map[string]any, msgPrefix string) map[string]any {
	for _, l := range lines {
		if m, _ := l["msg"].(string); strings.HasPrefix(m, msgPrefix) {
			return l
		}
	}
	return nil
}

// TestStartupSaysWhereTheAPIKeyCameFrom: the serving line's api_key is
// file "…", env ORDERGUARD_API_KEY or none, never the key.
func TestStartupSaysWhereTheAPIKeyCameFrom(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key")
	if err := os.WriteFile(keyFile, []byte("file-key-123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, args string
		env        []string
		want       string
	}{
		{"none", "", nil, "none (a demo key for the embedded sandbox)"},
		{"env", "", []string{"ORDERGUARD_API_KEY=env-key-456"}, "env ORDERGUARD_API_KEY"},
		{"file", "--api-key-file " + keyFile, []string{"ORDERGUARD_API_KEY=env-key-456"}, `file "` + keyFile + `"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lines := startupLines(t, dir, tc.args, tc.env...)
			serving := find(lines, "orderguard serving")
			if serving == nil || serving["api_key"] != tc.want {
				t.Fatalf("serving line %v: api_key want %q", serving, tc.want)
			}
		})
	}
}

// TestStartupWarnsOfUnknownEnv: ORDERGUARD_MODEE=report is a typo that
// changes nothing; serve says so at start, with the name it resembles and
// never the value.
func TestStartupWarnsOfUnknownEnv(t *testing.T) {
	lines := startupLines(t, t.TempDir(), "", "ORDERGUARD_MODEE=report", "ORDERGUARD_API_KEYY=secret-value-789", "ORDERGUARD_MODE=enforce")
	var warned []string
	for _, l := range lines {
		if m, _ := l["msg"].(string); strings.HasPrefix(m, "environment variable names no setting") {
			if l["level"] != "WARN" {
				t.Errorf("%v: want level WARN", l)
			}
			warned = append(warned, l["variable"].(string)+"→"+l["did_you_mean"].(string))
		}
	}
	if got := strings.Join(warned, " "); got != "ORDERGUARD_API_KEYY→ORDERGUARD_API_KEY ORDERGUARD_MODEE→ORDERGUARD_MODE" {
		t.Errorf("warnings %q", got)
	}
	all, _ := json.Marshal(lines)
	if bytes.Contains(all, []byte("secret-value-789")) {
		t.Error("the value of an unknown variable was logged")
	}
}

// TestUnknownRuleNamesItsOrigin: an unknown rule id is reported where it was
// written: the YAML file, the environment variable or --rules.
func TestUnknownRuleNamesItsOrigin(t *testing.T) {
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "orderguard.yaml")
	if err := os.WriteFile(cfgFile, []byte("rules:\n  web-token: warning\n  no-such-rule: off\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"file", []string{"--config", cfgFile}, nil, "orderguard serve: config " + cfgFile + `: rules: unknown rule "no-such-rule"`},
		{"env", nil, map[string]string{"ORDERGUARD_RULES": "no-such-rule=off"}, `orderguard serve: $ORDERGUARD_RULES: unknown rule "no-such-rule"`},
		{"flag", []string{"--rules", "web-token=off,no-such-rule=off"}, nil, `orderguard serve: --rules: unknown rule "no-such-rule"`},
		{"flag over file", []string{"--config", cfgFile, "--rules", "no-such-rule=warning"}, nil, `orderguard serve: --rules: unknown rule "no-such-rule"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			var stdout, stderr bytes.Buffer
			if code := run(append([]string{"serve"}, tc.args...), &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), tc.want) {
				t.Fatalf("exit %d, stderr %q: want 2 and %q", code, stderr.String(), tc.want)
			}
		})
	}
}
