package lint

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/orderguard/orderguard/gen"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

const corpus = "testdata/corpus"

var goldenName = map[string]string{"text": "corpus.txt", "json": "corpus.json", "sarif": "corpus.sarif", "junit": "corpus.junit.xml", "github": "corpus.github.txt"}

// golden compares got with testdata/golden/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", "golden", filepath.FromSlash(name))
	if *update {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/lint -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (run go test ./internal/lint -update and review the diff)\ngot:\n%s", p, got)
	}
}

// lintCorpus runs the real command with the generated validators and rules.
func lintCorpus(t *testing.T, args ...string) (int, []byte) {
	t.Helper()
	code, stdout, stderr := runCmd(t, gen.Operations, gen.Rules, "", append([]string{"--color=never"}, args...)...)
	if stderr != "" {
		t.Errorf("stderr: %s", stderr)
	}
	return code, []byte(stdout)
}

// Every format on the whole corpus: valid and invalid JSON files, NDJSON and HAR.
func TestGoldenFormats(t *testing.T) {
	for _, format := range Formats {
		t.Run(format, func(t *testing.T) {
			code, out := lintCorpus(t, "--format", format, corpus)
			if code != ExitInvalid {
				t.Errorf("exit code: got %d, want %d", code, ExitInvalid)
			}
			golden(t, goldenName[format], out)
		})
	}
}

// One subtest per corpus file: its JSON report is a golden, and files under
// valid/, invalid/ and warning/ exit 0, 1 and 0 with warnings only.
func TestGoldenFiles(t *testing.T) {
	err := filepath.WalkDir(corpus, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel := filepath.ToSlash(strings.TrimPrefix(p, corpus+string(filepath.Separator)))
		t.Run(rel, func(t *testing.T) {
			code, out := lintCorpus(t, "--format", "json", p)
			golden(t, "files/"+rel+".json", out)
			switch strings.SplitN(rel, "/", 2)[0] {
			case "valid":
				if code != ExitOK {
					t.Errorf("exit code: got %d, want %d\n%s", code, ExitOK, out)
				}
			case "invalid":
				if code != ExitInvalid {
					t.Errorf("exit code: got %d, want %d", code, ExitInvalid)
				}
			case "warning":
				if code != ExitOK || !bytes.Contains(out, []byte(`"severity": "warning"`)) || bytes.Contains(out, []byte(`"severity": "error"`)) {
					t.Errorf("exit code %d, want %d with warnings only\n%s", code, ExitOK, out)
				}
			}
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// The SARIF report carries metadata for every rule a result names and
// regions at the violations' lines and columns.
func TestSARIF(t *testing.T) {
	_, out := lintCorpus(t, "--format", "sarif", corpus)
	var log SARIFLog
	if err := json.Unmarshal(out, &log); err != nil {
		t.Fatal(err)
	}
	if log.Version != "2.1.0" || len(log.Runs) != 1 || log.Schema == "" {
		t.Fatalf("not a SARIF 2.1.0 log with one run: version %q, %d runs", log.Version, len(log.Runs))
	}
	run := log.Runs[0]
	rules := run.Tool.Driver.Rules
	byID := map[string]SARIFRule{}
	for _, r := range rules {
		if r.ID == "" || r.ShortDescription.Text == "" || r.Properties.Source == "" || r.DefaultConfiguration.Level == "" {
			t.Errorf("rule without id, description, source or level: %+v", r)
		}
		if _, dup := byID[r.ID]; dup {
			t.Errorf("rule %s listed twice", r.ID)
		}
		byID[r.ID] = r
	}
	for _, r := range gen.Rules {
		got, ok := byID[r.ID]
		if !ok {
			t.Errorf("business rule %s missing from tool.driver.rules", r.ID)
			continue
		}
		if got.ShortDescription.Text != r.Description || got.Properties.Source != r.Source {
			t.Errorf("rule %s: got description %q source %q, want %q %q", r.ID, got.ShortDescription.Text, got.Properties.Source, r.Description, r.Source)
		}
	}

	// Regions agree with the JSON report, violation by violation.
	_, jsonOut := lintCorpus(t, "--format", "json", corpus)
	var rep struct {
		Files []struct {
			Path       string
			Violations []struct {
				Rule                 string
				Line, Column, Offset int
			}
		}
	}
	if err := json.Unmarshal(jsonOut, &rep); err != nil {
		t.Fatal(err)
	}
	k := 0
	for _, f := range rep.Files {
		for _, v := range f.Violations {
			if k >= len(run.Results) {
				t.Fatalf("SARIF has %d results, fewer than the JSON report", len(run.Results))
			}
			r := run.Results[k]
			k++
			if r.RuleIndex < 0 || r.RuleIndex >= len(rules) || rules[r.RuleIndex].ID != r.RuleID || r.RuleID != v.Rule {
				t.Errorf("result %d: ruleId %s, ruleIndex %d does not name it (JSON rule %s)", k, r.RuleID, r.RuleIndex, v.Rule)
			}
			loc := r.Locations[0].PhysicalLocation
			if strings.HasSuffix(f.Path, ".har") {
				// Regions are in the recording; the message gives the place
				// within the entry's postData text (TestPositionsMatchOffsets
				// checks the mapping).
				if want := fmt.Sprintf("request.postData.text line %d, column %d", v.Line, v.Column); !strings.Contains(r.Message.Text, want) {
					t.Errorf("result %d: message %q lacks %q", k, r.Message.Text, want)
				}
				if loc.ArtifactLocation.URI != f.Path || loc.Region.StartLine <= 1 || loc.Region.ByteOffset <= v.Offset {
					t.Errorf("result %d: region %+v is not in the recording", k, loc.Region)
				}
				continue
			}
			if loc.ArtifactLocation.URI != f.Path || loc.Region.StartLine != v.Line || loc.Region.StartColumn != v.Column || loc.Region.ByteOffset != v.Offset {
				t.Errorf("result %d: got %s %d:%d@%d, want %s %d:%d@%d", k,
					loc.ArtifactLocation.URI, loc.Region.StartLine, loc.Region.StartColumn, loc.Region.ByteOffset,
					f.Path, v.Line, v.Column, v.Offset)
			}
		}
	}
	if k != len(run.Results) || k == 0 {
		t.Errorf("SARIF has %d results, JSON report %d", len(run.Results), k)
	}

	// A known place: the orderType enum fault of invalid/order-faults.json.
	found := false
	for _, r := range run.Results {
		loc := r.Locations[0].PhysicalLocation
		if loc.ArtifactLocation.URI == corpus+"/invalid/order-faults.json" && r.RuleID == "enum" {
			found = true
			if loc.Region.StartLine != 3 || loc.Region.StartColumn != 16 || r.Level != "error" {
				t.Errorf("orderType enum: got %d:%d %s, want 3:16 error", loc.Region.StartLine, loc.Region.StartColumn, r.Level)
			}
		}
	}
	if !found {
		t.Error("no enum result for invalid/order-faults.json")
	}
}

func TestJUnit(t *testing.T) {
	_, out := lintCorpus(t, "--format", "junit", corpus)
	var got JUnitSuites
	if err := xml.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	_, jsonOut := lintCorpus(t, "--format", "json", corpus)
	var rep struct{ Summary Summary }
	if err := json.Unmarshal(jsonOut, &rep); err != nil {
		t.Fatal(err)
	}
	if len(got.Suites) != rep.Summary.Files || got.Tests != rep.Summary.Payloads || got.Failures != rep.Summary.Invalid {
		t.Errorf("got %d suites, %d tests, %d failures; want %d, %d, %d",
			len(got.Suites), got.Tests, got.Failures, rep.Summary.Files, rep.Summary.Payloads, rep.Summary.Invalid)
	}
	for _, s := range got.Suites {
		n := 0
		for _, c := range s.Cases {
			if c.Failure != nil {
				n++
				if c.Failure.Text == "" || c.Failure.Message == "" {
					t.Errorf("%s %s: failure without text", s.Name, c.Name)
				}
			}
		}
		if n != s.Failures || len(s.Cases) != s.Tests {
			t.Errorf("suite %s: counts %d/%d do not match its cases %d/%d", s.Name, s.Failures, s.Tests, n, len(s.Cases))
		}
	}
}

// Submitted values never appear in any format: the corpus holds a full card
// number, bad enum values and order ids in HAR URLs.
func TestNoValuesEchoed(t *testing.T) {
	secrets := []string{"4111", "ONLINE", "11.0.0", "KIOSK", "SHIPPED", "yesterday", "og-har-", "og-lint-", "Crouse", "123ABC"}
	for _, format := range Formats {
		_, out := lintCorpus(t, "--format", format, corpus)
		for _, s := range secrets {
			if bytes.Contains(out, []byte(s)) {
				t.Errorf("%s output contains the submitted value %q", format, s)
			}
		}
	}
}

// A missing file is exit 2 and the message names it; nothing is written to stdout.
func TestMissingFile(t *testing.T) {
	code, stdout, stderr := runCmd(t, gen.Operations, gen.Rules, "", corpus+"/valid", corpus+"/valid/nope.json")
	if code != ExitUsage || !strings.Contains(stderr, "nope.json") || stdout != "" {
		t.Errorf("got exit %d, stderr %q, stdout %q; want 2 naming nope.json and no report", code, stderr, stdout)
	}
}

// --config with the real rules: by default they are warnings (the file exits
// 0), a config raises some to error and turns one off, and --max-warnings
// counts the warnings.
func TestGoldenConfig(t *testing.T) {
	const file = corpus + "/warning/order-rules.json"
	const cfg = "testdata/config/raise.yaml"
	code, plain := lintCorpus(t, file)
	if code != ExitOK {
		t.Errorf("without config: exit %d, want %d (the rules default to warning)", code, ExitOK)
	}
	for _, rule := range []string{"web-token", "card-fields", "delivery-details", "money-decimals"} {
		if !bytes.Contains(plain, []byte("warning "+rule+":")) {
			t.Errorf("without config: no %s warning; the file no longer exercises the rule\n%s", rule, plain)
		}
	}

	code, out := lintCorpus(t, "--config", cfg, file)
	golden(t, "config-raise.txt", out)
	if code != ExitInvalid {
		t.Errorf("with config: exit %d, want %d", code, ExitInvalid)
	}
	if bytes.Contains(out, []byte("card-fields")) {
		t.Errorf("with config: card-fields (off) remains\n%s", out)
	}
	for rule, sev := range map[string]string{"web-token": "error", "delivery-details": "error", "money-decimals": "warning"} {
		if !bytes.Contains(out, []byte(sev+" "+rule+":")) {
			t.Errorf("with config: %s not a%s %s\n%s", rule, map[bool]string{true: "n", false: ""}[sev == "error"], sev, out)
		}
	}
	if code, _, stderr := runCmd(t, gen.Operations, gen.Rules, "", "--max-warnings", "4", file); code != ExitInvalid ||
		!strings.Contains(stderr, "5 warnings, more than --max-warnings 4") {
		t.Errorf("5 warnings, --max-warnings 4: exit %d (stderr %q), want %d", code, stderr, ExitInvalid)
	}
	if code, _ := lintCorpus(t, "--max-warnings", "5", file); code != ExitOK {
		t.Errorf("5 warnings, --max-warnings 5: exit %d, want %d", code, ExitOK)
	}

	// --rules over the file: card-fields back on as an error.
	code, out = lintCorpus(t, "--config", cfg, "--rules", "card-fields=error, web-token=off", file)
	if code != ExitInvalid || !bytes.Contains(out, []byte("error card-fields:")) || bytes.Contains(out, []byte("web-token")) {
		t.Errorf("--rules over --config: exit %d\n%s", code, out)
	}
	for _, bad := range []string{"card-fields", "card-fields=sometimes"} {
		if code, _, stderr := runCmd(t, gen.Operations, gen.Rules, "", "--rules", bad, file); code != ExitUsage || !strings.Contains(stderr, "card-fields") {
			t.Errorf("--rules %s: exit %d, stderr %q", bad, code, stderr)
		}
	}

	// An unknown rule is reported where it was written: the file, or --rules.
	code, stdout, stderr := runCmd(t, gen.Operations, gen.Rules, "", "--config", "testdata/config/unknown-rule.yaml", file)
	if code != ExitUsage || !strings.Contains(stderr, `config testdata/config/unknown-rule.yaml: rules: unknown rule "web-tokens"`) || stdout != "" {
		t.Errorf("unknown rule in the config file: exit %d, stderr %q", code, stderr)
	}
	code, _, stderr = runCmd(t, gen.Operations, gen.Rules, "", "--config", "testdata/config/unknown-rule.yaml", "--rules", "web-tokens=off", file)
	if code != ExitUsage || !strings.Contains(stderr, `--rules: unknown rule "web-tokens"`) {
		t.Errorf("unknown rule in --rules over the file: exit %d, stderr %q", code, stderr)
	}
}

// TestHARTextPointsIntoTheRecording: for a HAR entry, text output gives the
// same path:line:col as the GitHub annotation (the place in the recording an
// editor opens), with the entry and the postData position in the message.
func TestHARTextPointsIntoTheRecording(t *testing.T) {
	const har = "testdata/corpus/har/checkout.har"
	_, text, _ := runCmd(t, gen.Operations, gen.Rules, "", "--format", "text", har)
	_, gh, _ := runCmd(t, gen.Operations, gen.Rules, "", "--format", "github", har)
	place := regexp.MustCompile(`file=([^,]+),line=(\d+),col=(\d+)`)
	var want []string
	for _, m := range place.FindAllStringSubmatch(gh, -1) {
		want = append(want, m[1]+":"+m[2]+":"+m[3]+":")
	}
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		if strings.HasPrefix(line, har+":") {
			got = append(got, line[:strings.Index(line, ": ")+1])
			if !regexp.MustCompile(`\[HAR entry \d+, request\.postData\.text line \d+, column \d+\]$`).MatchString(line) {
				t.Errorf("%q: want the entry and the postData position at the end", line)
			}
		}
	}
	if len(want) == 0 || strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("text places %q, want the GitHub annotations' %q", got, want)
	}
}
