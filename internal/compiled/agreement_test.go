package compiled

import (
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/orderguard/orderguard/gen"
	"github.com/orderguard/orderguard/internal/validate"
)

var (
	embeddedOnce sync.Once
	embeddedProg *Program
	embeddedErr  error
)

func embedded(t testing.TB) *Program {
	t.Helper()
	embeddedOnce.Do(func() { embeddedProg, embeddedErr = Load(Sources{}) })
	if embeddedErr != nil {
		t.Fatal(embeddedErr)
	}
	return embeddedProg
}

// corpora are the bodies the agreement tests run: the real-world corpus,
// the lint and proxy test corpora, the rule tests' bodies, the generator's
// fuzz seeds and the load mix of make bench.
var corpora = []string{
	"../../testdata/realworld",
	"../lint/testdata",
	"../proxy/testdata",
	"../codegen/testdata",
	"../../bench/testdata/load",
}

func corpusFiles(t testing.TB) []string {
	t.Helper()
	var files []string
	for _, dir := range corpora {
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			// codegen's suite test builds its programs in scratch folders
			// under its testdata while the packages' tests run in parallel:
			// they come and go, and are not corpus.
			if d.IsDir() && strings.HasPrefix(d.Name(), "suitegen-") {
				return filepath.SkipDir
			}
			if !d.IsDir() && filepath.Ext(p) != ".md" && filepath.Ext(p) != ".golden" {
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("corpus %s: %v", dir, err)
		}
	}
	sort.Strings(files)
	return files
}

// slots are the three validators of an operation, by name.
func slots(op validate.Operation) map[string]validate.Func {
	return map[string]validate.Func{"request": op.Request, "response": op.Response, "error": op.Error}
}

// compare runs body through every validator of both engines and reports
// the first difference.
func compare(t testing.TB, p *Program, name string, body []byte) {
	t.Helper()
	var a, b validate.Report
	for _, g := range gen.Operations {
		c, ok := p.OperationByID(g.ID)
		if !ok {
			t.Fatalf("compiled spec lacks operation %s", g.ID)
		}
		cs := slots(c)
		for slot, gf := range slots(g) {
			a.Reset()
			b.Reset()
			gf(body, &a)
			cs[slot](body, &b)
			if !reflect.DeepEqual(a.Violations, b.Violations) {
				t.Errorf("%s as %s %s:\ngenerated %v\ncompiled  %v", name, g.ID, slot, a.Violations, b.Violations)
				return
			}
		}
	}
}

func TestEmbeddedOperationsMatchGenerated(t *testing.T) {
	p := embedded(t)
	if len(p.Operations) != len(gen.Operations) {
		t.Fatalf("compiled %d operations, generated %d", len(p.Operations), len(gen.Operations))
	}
	for i, g := range gen.Operations {
		c := p.Operations[i]
		if c.ID != g.ID || c.Method != g.Method || c.Path != g.Path || c.Name != g.Name || c.Fallback != g.Fallback {
			t.Errorf("operation %d: compiled %s %s %s (name %q, fallback %q), generated %s %s %s (name %q, fallback %q)",
				i, c.ID, c.Method, c.Path, c.Name, c.Fallback, g.ID, g.Method, g.Path, g.Name, g.Fallback)
		}
	}
	if !reflect.DeepEqual(p.Rules, gen.Rules) {
		t.Errorf("rules differ:\ncompiled  %v\ngenerated %v", p.Rules, gen.Rules)
	}
}

// TestCorporaMatchGenerated: every body of every corpus, through every
// validator of every operation, gives the same report from both engines
// (messages, rule ids, kinds, pointers, offsets, lines, columns, severities).
func TestCorporaMatchGenerated(t *testing.T) {
	p := embedded(t)
	files := corpusFiles(t)
	if len(files) < 100 {
		t.Fatalf("only %d corpus files found", len(files))
	}
	violations := 0
	for _, f := range files {
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(f, func(t *testing.T) { compare(t, p, f, body) })
		var r validate.Report
		gen.Operations[0].Request(body, &r)
		violations += len(r.Violations)
	}
	if violations == 0 {
		t.Error("no corpus body has a violation: the comparison proves little")
	}
	t.Logf("%d files x %d operations x 3 validators agree", len(files), len(gen.Operations))
}

// TestRuleSeveritiesMatchGenerated: the configured severities (error,
// warning, off) act the same on both engines.
func TestRuleSeveritiesMatchGenerated(t *testing.T) {
	p := embedded(t)
	sev := map[string]validate.Severity{}
	for i, r := range gen.Rules {
		sev[r.ID] = validate.Severity(i % 3)
	}
	for _, f := range corpusFiles(t) {
		body, _ := os.ReadFile(f)
		for _, g := range gen.Operations {
			c, _ := p.OperationByID(g.ID)
			a := validate.Report{Severities: sev}
			b := validate.Report{Severities: sev}
			g.Request(body, &a)
			c.Request(body, &b)
			if !reflect.DeepEqual(a.Violations, b.Violations) {
				t.Fatalf("%s as %s with severities: generated %v, compiled %v", f, g.ID, a.Violations, b.Violations)
			}
		}
	}
}
