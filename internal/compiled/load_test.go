package compiled

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/orderguard/orderguard/internal/validate"
)

// TestValidBodyAllocatesNothing: once a Report is reused, a valid body
// costs no allocation on the compiled validators, as on the generated ones.
func TestValidBodyAllocatesNothing(t *testing.T) {
	p := embedded(t)
	op, _ := p.OperationByID("orderV2")
	body, err := os.ReadFile("../../testdata/realworld/order-request/workarea_01_get-decision_approve.json")
	if err != nil {
		t.Fatal(err)
	}
	var r validate.Report
	op.Request(body, &r)
	if len(r.Violations) != 0 {
		t.Fatalf("the body is not valid: %v", r.Violations)
	}
	if n := testing.AllocsPerRun(100, func() { r.Reset(); op.Request(body, &r) }); n != 0 {
		t.Errorf("%v allocations a valid body, want 0", n)
	}
}

// TestLoadRefuses: each source the sidecar must not take is refused with
// an error naming the file and the problem.
func TestLoadRefuses(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	specWith := func(schema string) string {
		return "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /v2/orders/{id}:\n    post:\n      operationId: orderV2\n      parameters: [{name: id, in: path, required: true, schema: {type: string}}]\n      requestBody: {content: {application/json: {schema: {$ref: '#/components/schemas/O'}}}}\n      responses: {'200': {description: ok}}\ncomponents:\n  schemas:\n    O: " + schema + "\n"
	}
	deep := "{type: object, properties: {a: " + strings.Repeat("{type: object, properties: {a: ", 70) + "{type: string}" + strings.Repeat("}}", 70) + "}}"
	good := write("good.yaml", specWith("{type: object, required: [a]}"))
	for _, c := range []struct {
		name string
		src  Sources
		want string
	}{
		{"file ref", Sources{Spec: write("fileref.yaml", specWith("{$ref: 'other.yaml#/X'}"))}, "fileref.yaml"},
		{"remote ref", Sources{Spec: write("remote.yaml", specWith("{$ref: 'https://example.com/x.yaml#/X'}"))}, "remote.yaml"},
		{"unsupported keyword", Sources{Spec: write("kw.yaml", specWith("{type: array, items: {type: string}, uniqueItems: true}"))}, `#/components/schemas/O: codegen: unsupported keyword "uniqueItems"`},
		{"not RE2", Sources{Spec: write("re.yaml", specWith("{type: string, pattern: '(?=a)b'}"))}, "re.yaml"},
		{"too deep", Sources{Spec: write("deep.yaml", specWith(deep))}, "nested deeper than 64"},
		{"too large", Sources{Spec: good, MaxBytes: 10}, "larger than 10 bytes"},
		{"missing", Sources{Spec: filepath.Join(dir, "none.yaml")}, "none.yaml"},
		{"overlay target selects nothing", Sources{Spec: good, Overlays: []string{write("ov.yaml", "overlay: 1.1.0\ninfo: {title: t, version: '1'}\nactions:\n  - target: $.components.schemas.Nope\n    update: {required: [x]}\n")}}, "ov.yaml"},
		{"overlay not an overlay", Sources{Spec: good, Overlays: []string{write("bad.yaml", "hello: 1\n")}}, "bad.yaml"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Load(c.src)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Load: %v, want an error containing %q", err, c.want)
			}
		})
	}
	p, err := Load(Sources{Spec: good})
	if err != nil {
		t.Fatalf("a good spec: %v", err)
	}
	op, _ := p.OperationByID("orderV2")
	var r validate.Report
	op.Request([]byte(`{}`), &r)
	if len(r.Violations) != 1 || r.Violations[0].Rule != "required" {
		t.Fatalf("the --spec's schema is not the one enforced: %v", r.Violations)
	}
}
