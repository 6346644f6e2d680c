package codegen

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/orderguard/orderguard/internal/validate"
)

// TestCompiledSuiteMatchesGenerated runs the draft-4 groups the generator
// compiles through both paths: the generated program (built and run) and
// CompileSchemas in-process must report the same violations, rule and
// pointer, on every case; and the compiler refuses the groups the
// generator refuses, with the same error.
func TestCompiledSuiteMatchesGenerated(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program with every group's validator; run without -short")
	}
	dir := filepath.Join("..", "..", "testdata", "jsonschema-test-suite", "draft4")
	schemas := map[string]any{}
	var names []string
	type input struct {
		Group string          `json:"group"`
		Data  json.RawMessage `json:"data"`
	}
	var inputs []input
	refused := 0
	for _, f := range suiteFiles {
		b, err := os.ReadFile(filepath.Join(dir, f+".json"))
		if err != nil {
			t.Fatal(err)
		}
		var gs []*suiteGroup
		if err := json.Unmarshal(b, &gs); err != nil {
			t.Fatal(err)
		}
		for i, g := range gs {
			name := fmt.Sprintf("%s%d", ident(f), i)
			if inexpressible(g.Schema) != "" {
				continue
			}
			doc := loadSchemaDoc(t, map[string]any{name: g.Schema})
			_, genErr := GenerateSchemas(doc, []string{name}, Options{Package: "main"})
			_, compErr := CompileSchemas(doc, []string{name})
			if fmt.Sprint(genErr) != fmt.Sprint(compErr) {
				t.Errorf("%s: %s: generator says %v, compiler %v", f, g.Description, genErr, compErr)
			}
			if genErr != nil {
				refused++
				continue
			}
			schemas[name] = g.Schema
			names = append(names, name)
			for _, c := range g.Tests {
				inputs = append(inputs, input{name, c.Data})
			}
		}
	}
	doc := loadSchemaDoc(t, schemas)
	src, err := GenerateSchemas(doc, names, Options{Package: "main", Source: "the JSON-Schema-Test-Suite"})
	if err != nil {
		t.Fatal(err)
	}
	want := runGeneratedReports(t, src, inputs)
	fs, err := CompileSchemas(loadSchemaDoc(t, schemas), names)
	if err != nil {
		t.Fatal(err)
	}
	var r validate.Report
	for i, in := range inputs {
		r.Reset()
		fs[in.Group]([]byte(in.Data), &r)
		var parts []string
		for _, v := range r.Violations {
			parts = append(parts, v.Rule+"@"+v.Pointer)
		}
		if got := strings.Join(parts, " "); got != want[i] {
			t.Errorf("%s %s: compiled %q, generated %q", in.Group, in.Data, got, want[i])
		}
	}
	if len(inputs) < 150 {
		t.Errorf("only %d cases compared", len(inputs))
	}
	t.Logf("%d groups, %d cases: compiled and generated agree; %d groups refused by both", len(names), len(inputs), refused)
}

// TestCompositeRules: the business rules of a schema that also has allOf
// are checked, by the generated code and the compiler alike (both once
// dropped them: the composite's own part is a copy of the schema, and rules
// were looked up by schema).
func TestCompositeRules(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program; run without -short")
	}
	schemas := map[string]any{"O": map[string]any{
		"allOf":              []any{map[string]any{"type": "object", "required": []any{"b"}}},
		"x-orderguard-rules": []any{map[string]any{"id": "r", "description": "d", "source": "s", "reason": "why", "require": []any{"a"}}},
	}}
	src, err := GenerateSchemas(loadSchemaDoc(t, schemas), []string{"O"}, Options{Package: "main"})
	if err != nil {
		t.Fatal(err)
	}
	type input struct {
		Group string          `json:"group"`
		Data  json.RawMessage `json:"data"`
	}
	want := "r@/a required@/b"
	if got := runGeneratedReports(t, src, []input{{"O", json.RawMessage(`{}`)}}); got[0] != want {
		t.Errorf("generated: %q, want %q", got[0], want)
	}
	fs, err := CompileSchemas(loadSchemaDoc(t, schemas), []string{"O"})
	if err != nil {
		t.Fatal(err)
	}
	var r validate.Report
	fs["O"]([]byte(`{}`), &r)
	var parts []string
	for _, v := range r.Violations {
		parts = append(parts, v.Rule+"@"+v.Pointer)
	}
	if got := strings.Join(parts, " "); got != want {
		t.Errorf("compiled: %q, want %q", got, want)
	}
}
