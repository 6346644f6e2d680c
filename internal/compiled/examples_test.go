package compiled

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/orderguard/orderguard/internal/spec"
	"github.com/orderguard/orderguard/internal/validate"
)

// TestExampleOverlays: each example of examples/overlays accepts its
// accept/ payloads and refuses its refuse/ payloads, and changes the
// embedded spec's verdict on at least one of them (the overlay matters).
func TestExampleOverlays(t *testing.T) {
	dirs, _ := filepath.Glob(filepath.Join("..", "..", "examples", "overlays", "*", "overlay.yaml"))
	if len(dirs) < 3 {
		t.Fatalf("want at least three example overlays, found %d", len(dirs))
	}
	base := embedded(t)
	for _, ov := range dirs {
		dir := filepath.Dir(ov)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			p, err := Load(Sources{Overlays: []string{ov}})
			if err != nil {
				t.Fatal(err)
			}
			changed := false
			for _, want := range []string{"accept", "refuse"} {
				files, _ := filepath.Glob(filepath.Join(dir, want, "*.json"))
				if len(files) == 0 {
					t.Fatalf("no %s payloads", want)
				}
				for _, f := range files {
					body, _ := os.ReadFile(f)
					got, before := errorsOf(p, body), errorsOf(base, body)
					if (got == "") != (want == "accept") {
						t.Errorf("%s: want %s, got errors %q", f, want, got)
					}
					changed = changed || got != before
				}
			}
			if !changed {
				t.Error("the overlay changes no verdict: it proves nothing")
			}
		})
	}
}

func errorsOf(p *Program, body []byte) string {
	op, _ := p.OperationByID("orderV2")
	var r validate.Report
	op.Request(body, &r)
	var parts []string
	for _, v := range r.Violations {
		if v.Severity == validate.SeverityError {
			parts = append(parts, v.Rule+"@"+v.Pointer)
		}
	}
	return strings.Join(parts, " ")
}

// TestExampleOverlaysMatchKinOpenAPI: on each example's payloads and their
// mutations (each member dropped, each scalar given another type),
// kin-openapi's verdict on the overlaid spec's schema (the oracle) equals the
// compiled validator's schema verdict. Business rules (kind rule) are ours
// alone: kin-openapi does not read x-orderguard-rules.
func TestExampleOverlaysMatchKinOpenAPI(t *testing.T) {
	spec.RegisterFormats()
	dirs, _ := filepath.Glob(filepath.Join("..", "..", "examples", "overlays", "*", "overlay.yaml"))
	total, invalid := 0, 0
	for _, ov := range dirs {
		p, err := Load(Sources{Overlays: []string{ov}})
		if err != nil {
			t.Fatal(err)
		}
		schema := p.doc.Paths.Find("/v2/orders/{orderId}").Post.RequestBody.Value.Content.Get("application/json").Schema.Value
		op, _ := p.OperationByID("orderV2")
		files, _ := filepath.Glob(filepath.Join(filepath.Dir(ov), "*", "*.json"))
		for _, f := range files {
			body, _ := os.ReadFile(f)
			for name, m := range mutate(t, body) {
				var v any
				dec := json.NewDecoder(bytes.NewReader(m))
				dec.UseNumber()
				if err := dec.Decode(&v); err != nil {
					t.Fatal(err)
				}
				kinErr := schema.VisitJSON(v, openapi3.MultiErrors(), openapi3.EnableFormatValidation(), openapi3.VisitAsRequest())
				var r validate.Report
				op.Request(m, &r)
				ours := true
				for _, x := range r.Violations {
					if x.Kind != validate.KindRule && x.Severity == validate.SeverityError {
						ours = false
					}
				}
				total++
				if !ours {
					invalid++
				}
				if (kinErr == nil) != ours {
					t.Errorf("%s %s %s: kin-openapi valid=%v (%v), compiled schema-valid=%v %v", ov, f, name, kinErr == nil, kinErr, ours, r.Violations)
				}
			}
		}
	}
	if total < 500 || invalid < total/10 {
		t.Errorf("%d mutations, %d invalid: too few to matter", total, invalid)
	}
	t.Logf("%d payloads and mutations compared, %d schema-invalid", total, invalid)
}

// mutate returns body and its variants: every member of every object
// dropped in turn, every scalar replaced by a value of another type.
func mutate(t *testing.T, body []byte) map[string][]byte {
	var doc any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{"as is": body}
	var paths [][]any
	var walk func(v any, path []any)
	walk = func(v any, path []any) {
		switch x := v.(type) {
		case map[string]any:
			for k, c := range x {
				walk(c, append(append([]any{}, path...), k))
			}
		case []any:
			for i, c := range x {
				walk(c, append(append([]any{}, path...), i))
			}
		}
		if len(path) > 0 {
			paths = append(paths, path)
		}
	}
	walk(doc, nil)
	for _, path := range paths {
		for _, op := range []string{"drop", "retype"} {
			var cp any
			_ = json.Unmarshal(body, &cp)
			parent := cp
			for _, step := range path[:len(path)-1] {
				switch s := step.(type) {
				case string:
					parent = parent.(map[string]any)[s]
				case int:
					parent = parent.([]any)[s]
				}
			}
			last := path[len(path)-1]
			switch p := parent.(type) {
			case map[string]any:
				if op == "drop" {
					delete(p, last.(string))
				} else {
					p[last.(string)] = retype(p[last.(string)])
				}
			case []any:
				if op == "drop" {
					continue
				}
				p[last.(int)] = retype(p[last.(int)])
			}
			b, _ := json.Marshal(cp)
			out[op+" "+jsonPath(path)] = b
		}
	}
	return out
}

func retype(v any) any {
	switch v.(type) {
	case string:
		return 7
	case map[string]any, []any:
		return "not-a-match"
	}
	return "not-a-match"
}

func jsonPath(path []any) string {
	var b strings.Builder
	for _, p := range path {
		b.WriteString("/")
		b.WriteString(strings.TrimSpace(strings.ReplaceAll(strings.Trim(string(must(json.Marshal(p))), `"`), "/", "~1")))
	}
	return b.String()
}

func must(b []byte, _ error) []byte { return b }
