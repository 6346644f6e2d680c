package codegen

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/orderguard/orderguard/gen"
	"github.com/orderguard/orderguard/internal/validate"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/")

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs (go test -update rewrites it; review the diff):\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

func violationLines(r *validate.Report) string {
	var b strings.Builder
	for _, v := range r.Violations {
		fmt.Fprintf(&b, "%s %s %s %s %d:%d\n", v.Severity, v.Kind, v.Rule, v.Pointer, v.Line, v.Column)
	}
	return b.String()
}

// ruleCase reads testdata/rules/<rule-id>.<valid|invalid>[-variant].json.
func ruleCases(t *testing.T) []string {
	files, err := filepath.Glob(filepath.Join("testdata", "rules", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no rule cases in testdata/rules: %v", err)
	}
	return files
}

func caseOp(file string) validate.Func {
	op, _ := gen.OperationByID(caseOpID(file))
	return op.Request
}

// caseOpID is the operation a rule case is a body of: a part of its file name
// that is an operationId (account-id.invalid.accountLogin.json), "status" for
// statusPost, else orderV2.
func caseOpID(file string) string {
	parts := strings.Split(strings.TrimSuffix(filepath.Base(file), ".json"), ".")
	for _, p := range parts[1:] {
		if p == "status" {
			return "statusPost"
		}
		if _, ok := gen.OperationByID(p); ok {
			return p
		}
	}
	return "orderV2"
}

func TestRules(t *testing.T) {
	covered := map[string]bool{}
	for _, f := range ruleCases(t) {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		rule := strings.SplitN(name, ".", 2)[0]
		t.Run(name, func(t *testing.T) {
			body, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			fn := caseOp(f)
			var r validate.Report
			fn(body, &r)
			if strings.Contains(name, ".valid") {
				if len(r.Violations) != 0 {
					t.Fatalf("want no violation, got:\n%s", violationLines(&r))
				}
				return
			}
			covered[rule] = true
			if len(r.Violations) == 0 {
				t.Fatal("want violations of rule " + rule + ", got none")
			}
			for _, v := range r.Violations {
				// duplicate-key is a strict-JSON fault (kind syntax) with a rule's severity.
				if v.Kind != validate.KindRule && !(v.Kind == validate.KindSyntax && v.Rule == validate.DuplicateKeyRule) || v.Rule != rule {
					t.Errorf("only %s may be violated here, got %s %s at %s", rule, v.Kind, v.Rule, v.Pointer)
				}
				if strings.Contains(v.Message, "4111") || strings.Contains(v.Message, "4242") {
					t.Errorf("message repeats card digits: %s", v.Message)
				}
			}
			golden(t, strings.TrimSuffix(f, ".json")+".want", violationLines(&r))

			// Off removes exactly this rule's violations; warning keeps them, as warnings.
			off := validate.Report{Severities: map[string]validate.Severity{rule: validate.SeverityOff}}
			fn(body, &off)
			if len(off.Violations) != 0 {
				t.Errorf("with %s off, got:\n%s", rule, violationLines(&off))
			}
			warn := validate.Report{Severities: map[string]validate.Severity{rule: validate.SeverityWarning}}
			fn(body, &warn)
			if len(warn.Violations) != len(r.Violations) || warn.Errors() != 0 || !warn.Valid() {
				t.Errorf("with %s as warning: got %d violations, %d errors; want %d warnings", rule, len(warn.Violations), warn.Errors(), len(r.Violations))
			}
			other := validate.Report{Severities: map[string]validate.Severity{"some-other-rule": validate.SeverityOff}}
			fn(body, &other)
			if violationLines(&other) != violationLines(&r) {
				t.Errorf("turning another rule off changed this rule's violations")
			}
		})
	}
	for _, ri := range gen.Rules {
		if !covered[ri.ID] {
			t.Errorf("rule %s has no invalid case in testdata/rules", ri.ID)
		}
	}
}

// TestRulesRealworld lints the realworld request bodies; the rule violations
// are in a golden file that a person reviewed (testdata/realworld-rules.md
// says, for each, whether it is a gap in the payload or a wrong rule).
func TestRulesRealworld(t *testing.T) {
	var b strings.Builder
	var files []string
	for _, dir := range []string{"order-request", "status-request"} {
		fs, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "realworld", dir, "*.json"))
		files = append(files, fs...)
	}
	sort.Strings(files)
	if len(files) < 10 {
		t.Fatalf("found %d realworld request bodies", len(files))
	}
	for _, f := range files {
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var r validate.Report
		caseOpFor(f)(body, &r)
		fmt.Fprintf(&b, "%s/%s\n", filepath.Base(filepath.Dir(f)), filepath.Base(f))
		for _, v := range r.Violations {
			if v.Kind == validate.KindRule {
				fmt.Fprintf(&b, "  %s %s %s %d:%d\n", v.Severity, v.Rule, v.Pointer, v.Line, v.Column)
			}
		}
	}
	golden(t, filepath.Join("testdata", "realworld-rules.golden"), b.String())
}

// TestRulesRealworldAccounts does the same for testdata/realworld-accounts,
// whose folders are named after their operation. The generated validators
// must find no schema or syntax fault there (kin-openapi agrees in
// internal/spec), and the rules only warnings: Forter's pages say it refuses
// none of these bodies.
func TestRulesRealworldAccounts(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "realworld-accounts", "*", "*.json"))
	sort.Strings(files)
	if len(files) < 14 {
		t.Fatalf("found %d account and claim bodies, want 14", len(files))
	}
	var b strings.Builder
	for _, f := range files {
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		id := filepath.Base(filepath.Dir(f))
		op, ok := gen.OperationByID(id)
		if !ok {
			t.Fatalf("%s: folder %s is no operationId", f, id)
		}
		var r validate.Report
		op.Request(body, &r)
		fmt.Fprintf(&b, "%s/%s\n", id, filepath.Base(f))
		for _, v := range r.Violations {
			if v.Kind != validate.KindRule || v.Severity != validate.SeverityWarning {
				t.Errorf("%s: %s %s %s at %s: %s", f, v.Severity, v.Kind, v.Rule, v.Pointer, v.Message)
			}
			fmt.Fprintf(&b, "  %s %s %s %d:%d\n", v.Severity, v.Rule, v.Pointer, v.Line, v.Column)
		}
	}
	golden(t, filepath.Join("testdata", "realworld-accounts-rules.golden"), b.String())
}

func caseOpFor(file string) validate.Func {
	id := "orderV2"
	if filepath.Base(filepath.Dir(file)) == "status-request" {
		id = "statusPost"
	}
	op, _ := gen.OperationByID(id)
	return op.Request
}

func TestRulesTable(t *testing.T) {
	if len(gen.Rules) < 12 {
		t.Fatalf("gen.Rules has %d rules, want the dozen of openapi/rules.yaml", len(gen.Rules))
	}
	for _, r := range gen.Rules {
		if r.ID == "" || r.Description == "" || r.Source == "" {
			t.Errorf("rule %+v lacks an id, a description or a source", r)
		}
	}
}

// Validators share only read-only tables: goroutines with their own Reports
// get the same answers as one goroutine (run with -race).
func TestConcurrentValidators(t *testing.T) {
	files := ruleCases(t)
	want := make([]string, len(files))
	bodies := make([][]byte, len(files))
	for i, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		bodies[i] = b
		var r validate.Report
		caseOp(f)(b, &r)
		want[i] = violationLines(&r)
	}
	errs := make(chan string, 4)
	for g := 0; g < 4; g++ {
		go func() {
			var r validate.Report
			for n := 0; n < 20; n++ {
				for i := range files {
					r.Reset()
					caseOp(files[i])(bodies[i], &r)
					if got := violationLines(&r); got != want[i] {
						errs <- fmt.Sprintf("%s: got %q, want %q", files[i], got, want[i])
						return
					}
				}
			}
			errs <- ""
		}()
	}
	for g := 0; g < 4; g++ {
		if e := <-errs; e != "" {
			t.Error(e)
		}
	}
}
