package codegen

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/orderguard/orderguard/gen"
	"github.com/orderguard/orderguard/internal/validate"
)

// FuzzOrderValidator feeds arbitrary bodies to the generated orderV2 request
// validator and to kin-openapi: no panic, and the same verdict whenever
// encoding/json can read the body and the generated validator found no
// strict-JSON fault kin-openapi cannot see (see strictOnly).
func FuzzOrderValidator(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "realworld", "order-request", "*.json"))
	more, _ := filepath.Glob(filepath.Join("testdata", "bodies", "order-request", "*.json"))
	for _, p := range append(files, more...) {
		b, err := os.ReadFile(p)
		if err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"orderId":"1","orderType":"WEB","timeSentToForter":1,"checkoutTime":1,"totalAmount":{"amountUSD":"1.00"},"cartItems":[{"basicItemData":{}}],"payment":[{}]}`))
	doc := loadSpec(f)
	schema := bodySchema(f, doc, "orderV2", "request")
	fn := genFunc(f, "orderV2", "request")
	f.Fuzz(func(t *testing.T, body []byte) {
		var r validate.Report
		fn(body, &r)
		for _, v := range r.Violations {
			if v.Line < 1 || v.Column < 1 || v.Offset < 0 || v.Offset > len(body) || v.Message == "" {
				t.Fatalf("bad violation %+v", v)
			}
		}
		ok, parsed, err := kinVerdict(schema, body)
		if !parsed {
			if schemaValid(&r) {
				t.Fatalf("generated accepts what encoding/json cannot parse (%v): %q", err, body)
			}
			return
		}
		if strictOnly(&r) {
			return
		}
		if ok != schemaValid(&r) {
			t.Fatalf("kin-openapi valid=%v (%v), generated valid=%v%s\nbody: %q", ok, err, schemaValid(&r), describe(&r), body)
		}
	})
}

// FuzzAccountValidators does the same for the Accounts and Claims operations:
// op picks the operation (in gen.Operations order, among those whose
// fallback shape is account or claim), seeded with every body of
// testdata/realworld-accounts and the rule cases of those operations.
func FuzzAccountValidators(f *testing.F) {
	var ops []string
	for _, op := range gen.Operations {
		if op.Fallback == validate.FallbackAccount || op.Fallback == validate.FallbackClaim {
			ops = append(ops, op.ID)
		}
	}
	if len(ops) == 0 {
		f.Fatal("no account or claim operation in gen.Operations")
	}
	index := map[string]uint8{}
	for i, id := range ops {
		index[id] = uint8(i)
	}
	seeds, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "realworld-accounts", "*", "*.json"))
	for _, p := range seeds {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(index[filepath.Base(filepath.Dir(p))], b)
		}
	}
	cases, _ := filepath.Glob(filepath.Join("testdata", "rules", "*.json"))
	for _, p := range cases {
		if i, ok := index[caseOpID(p)]; ok {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(i, b)
			}
		}
	}
	doc := loadSpec(f)
	schemas := make([]*openapi3.Schema, len(ops))
	fns := make([]validate.Func, len(ops))
	for i, id := range ops {
		schemas[i], fns[i] = bodySchema(f, doc, id, "request"), genFunc(f, id, "request")
	}
	f.Fuzz(func(t *testing.T, op uint8, body []byte) {
		i := int(op) % len(ops)
		var r validate.Report
		fns[i](body, &r)
		for _, v := range r.Violations {
			if v.Line < 1 || v.Column < 1 || v.Offset < 0 || v.Offset > len(body) || v.Message == "" {
				t.Fatalf("%s: bad violation %+v", ops[i], v)
			}
		}
		ok, parsed, err := kinVerdict(schemas[i], body)
		if !parsed {
			if schemaValid(&r) {
				t.Fatalf("%s: generated accepts what encoding/json cannot parse (%v): %q", ops[i], err, body)
			}
			return
		}
		if strictOnly(&r) {
			return
		}
		if ok != schemaValid(&r) {
			t.Fatalf("%s: kin-openapi valid=%v (%v), generated valid=%v%s\nbody: %q", ops[i], ok, err, schemaValid(&r), describe(&r), body)
		}
	})
}

// The one realworld body recorded with a raw line break inside a string
// (maisonette, "Chase\nPaymentech") must give exactly one syntax violation.
// The copy in testdata/realworld has since been repaired, so the test puts the raw break back.
func TestRawLineBreakIsOneSyntaxViolation(t *testing.T) {
	p := filepath.Join("..", "..", "testdata", "realworld", "order-request", "maisonette_01_pre-auth_full-sample-payload.json")
	body, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(body, []byte("Chase\nPaymentech")) {
		body = bytes.Replace(body, []byte("Chase Paymentech"), []byte("Chase\nPaymentech"), 1)
	}
	at := bytes.Index(body, []byte("Chase\nPaymentech")) + len("Chase")
	var r validate.Report
	genFunc(t, "orderV2", "request")(body, &r)
	if len(r.Violations) != 1 {
		t.Fatalf("got %d violations, want 1:%s", len(r.Violations), describe(&r))
	}
	v := r.Violations[0]
	if v.Kind != validate.KindSyntax || v.Rule != "control-character" || v.Offset != at {
		t.Errorf("got %+v, want a syntax control-character violation at offset %d", v, at)
	}
	if v.Pointer == "" || !bytes.HasSuffix([]byte(v.Pointer), []byte("/processorName")) {
		t.Errorf("pointer %q, want the processorName member", v.Pointer)
	}
}
