package codegen

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// The JSON-Schema-Test-Suite, draft 4 (the dialect of OpenAPI 3.0's schema
// object), for the keywords our generator supports. Each group's schema
// becomes a component of a minimal OpenAPI document; one program holds the
// validators of every group and reports each case's verdict.

var suiteFiles = []string{
	"additionalProperties", "allOf", "anyOf", "enum", "items", "maxItems", "maxLength", "maximum",
	"minItems", "minLength", "minimum", "multipleOf", "not", "oneOf", "pattern", "properties",
	"ref", "required", "type", "uniqueItems",
}

// inexpressible says why OpenAPI 3.0 cannot state a draft-4 schema, or "".
func inexpressible(v any) string {
	switch x := v.(type) {
	case map[string]any:
		for k, c := range x {
			switch k {
			case "definitions", "$ref", "id":
				return "OpenAPI 3.0 schema objects have no definitions, ids or refs to the root schema ($ref between components is covered by the spec's own tests)"
			case "patternProperties", "dependencies", "additionalItems":
				return "OpenAPI 3.0 has no " + k
			case "items":
				if _, ok := c.([]any); ok {
					return "OpenAPI 3.0 has no tuple (array-form) items"
				}
			case "type":
				if _, ok := c.([]any); ok {
					return "OpenAPI 3.0 allows one type per schema, not a list"
				}
				if c == "null" {
					return "OpenAPI 3.0 has no null type (it uses nullable)"
				}
			case "properties", "enum":
				// member names and enum values are data, not schemas
				if k == "properties" {
					for _, p := range c.(map[string]any) {
						if r := inexpressible(p); r != "" {
							return r
						}
					}
				}
				continue
			}
			if r := inexpressible(c); r != "" {
				return r
			}
		}
	case []any:
		for _, c := range x {
			if r := inexpressible(c); r != "" {
				return r
			}
		}
	}
	return ""
}

func hasNull(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case map[string]any:
		for _, c := range x {
			if hasNull(c) {
				return true
			}
		}
	case []any:
		for _, c := range x {
			if hasNull(c) {
				return true
			}
		}
	}
	return false
}

type suiteGroup struct {
	Description string      `json:"description"`
	Schema      any         `json:"schema"`
	Tests       []suiteCase `json:"tests"`
	name        string
	file        string
}

type suiteCase struct {
	Description string          `json:"description"`
	Data        json.RawMessage `json:"data"`
	Valid       bool            `json:"valid"`
}

func loadSchemaDoc(t *testing.T, schemas map[string]any) *openapi3.T {
	t.Helper()
	src, err := json.Marshal(map[string]any{
		"openapi": "3.0.3", "info": map[string]any{"title": "suite", "version": "1"}, "paths": map[string]any{},
		"components": map[string]any{"schemas": schemas},
	})
	if err != nil {
		t.Fatal(err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(src)
	if err != nil {
		t.Fatalf("load suite document: %v", err)
	}
	return doc
}

func TestJSONSchemaSuiteDraft4(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program with every group's validator; run without -short")
	}
	dir := filepath.Join("..", "..", "testdata", "jsonschema-test-suite", "draft4")
	var groups []*suiteGroup
	skipped := map[string]string{}
	for _, f := range suiteFiles {
		b, err := os.ReadFile(filepath.Join(dir, f+".json"))
		if err != nil {
			t.Fatalf("the suite must be in testdata/jsonschema-test-suite: %v", err)
		}
		var gs []*suiteGroup
		if err := json.Unmarshal(b, &gs); err != nil {
			t.Fatal(err)
		}
		for i, g := range gs {
			g.file, g.name = f, fmt.Sprintf("%s%d", ident(f), i)
			if r := inexpressible(g.Schema); r != "" {
				skipped[f+": "+g.Description] = r
				continue
			}
			groups = append(groups, g)
		}
	}
	// Each group alone first: a keyword the generator does not support must
	// fail generation, naming the location.
	var ok []*suiteGroup
	for _, g := range groups {
		doc := loadSchemaDoc(t, map[string]any{g.name: g.Schema})
		_, err := GenerateSchemas(doc, []string{g.name}, Options{Package: "main"})
		if err != nil {
			if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "#/components/schemas/"+g.name) {
				t.Errorf("%s: %s: generation failed without naming an unsupported keyword and its location: %v", g.file, g.Description, err)
			}
			skipped[g.file+": "+g.Description] = "generation refuses it: " + err.Error()
			continue
		}
		ok = append(ok, g)
	}
	schemas := map[string]any{}
	var names []string
	for _, g := range ok {
		schemas[g.name] = g.Schema
		names = append(names, g.name)
	}
	src, err := GenerateSchemas(loadSchemaDoc(t, schemas), names, Options{Package: "main", Source: "the JSON-Schema-Test-Suite"})
	if err != nil {
		t.Fatal(err)
	}
	type input struct {
		Group string          `json:"group"`
		Data  json.RawMessage `json:"data"`
	}
	var inputs []input
	var want []bool
	var label []string
	cases := 0
	for _, g := range ok {
		for _, c := range g.Tests {
			var v any
			_ = json.Unmarshal(c.Data, &v)
			if hasNull(v) {
				skipped[g.file+": "+g.Description+": "+c.Description] = "OpenAPI 3.0: null is valid only where nullable is true, which draft 4 does not have"
				continue
			}
			inputs = append(inputs, input{g.name, c.Data})
			want = append(want, c.Valid)
			label = append(label, g.file+": "+g.Description+": "+c.Description)
			cases++
		}
	}
	got := runGenerated(t, src, inputs)
	for i := range inputs {
		if got[i] != want[i] {
			t.Errorf("%s: generated valid=%v, suite says %v", label[i], got[i], want[i])
		}
	}
	if cases < 150 {
		t.Errorf("only %d cases ran, want the bulk of the suite", cases)
	}
	keys := make([]string, 0, len(skipped))
	for k := range skipped {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		t.Logf("skipped %s: %s", k, skipped[k])
	}
	t.Logf("%d groups, %d cases checked; %d groups or cases skipped with the reasons above", len(ok), cases, len(skipped))
}

// runGenerated builds src with a main that validates each input with its
// group's validator and prints the verdicts.
func runGenerated(t *testing.T, src []byte, inputs any) []bool {
	var got []bool
	for _, l := range runGeneratedReports(t, src, inputs) {
		got = append(got, l == "")
	}
	return got
}

// runGeneratedReports returns, per input, its violations as
// "rule@pointer" separated by spaces ("" when valid).
func runGeneratedReports(t *testing.T, src []byte, inputs any) []string {
	var out []string
	for _, l := range strings.Split(strings.TrimSuffix(buildAndRun(t, src, inputs), "\n"), "\n") {
		u, err := strconv.Unquote(l)
		if err != nil {
			t.Fatalf("generated program printed %q: %v", l, err)
		}
		out = append(out, u)
	}
	return out
}

func buildAndRun(t *testing.T, src []byte, inputs any) string {
	t.Helper()
	// Inside the module (under testdata, which ./... ignores) so that the
	// program may import internal/validate.
	tmp, err := os.MkdirTemp("testdata", "suitegen-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(tmp) })
	in, _ := json.Marshal(inputs)
	mainSrc := `package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/orderguard/orderguard/internal/validate"
)

func main() {
	b, err := os.ReadFile(os.Args[1])
	if err != nil {
		panic(err)
	}
	var in []struct {
		Group string          ` + "`json:\"group\"`" + `
		Data  json.RawMessage ` + "`json:\"data\"`" + `
	}
	if err := json.Unmarshal(b, &in); err != nil {
		panic(err)
	}
	var r validate.Report
	for _, c := range in {
		r.Reset()
		Validators[c.Group]([]byte(c.Data), &r)
		var parts []string
		for _, v := range r.Violations {
			parts = append(parts, v.Rule+"@"+v.Pointer)
		}
		fmt.Printf("%q\n", strings.Join(parts, " "))
	}
}
`
	for name, body := range map[string][]byte{"validators.go": src, "main.go": []byte(mainSrc), "inputs.json": in} {
		if err := os.WriteFile(filepath.Join(tmp, name), body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(t.TempDir(), "suite")
	if out, err := exec.Command("go", "build", "-o", bin, "./"+tmp).CombinedOutput(); err != nil {
		t.Fatalf("build generated suite validators: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, filepath.Join(tmp, "inputs.json")).Output()
	if err != nil {
		t.Fatalf("run generated suite validators: %v", err)
	}
	return string(out)
}
