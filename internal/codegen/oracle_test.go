package codegen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/orderguard/orderguard/gen"
	"github.com/orderguard/orderguard/internal/validate"
)

// The oracle is kin-openapi with every format of the spec defined (formats
// on) and every error collected.
var defineFormats sync.Once

func oracleOptions() []openapi3.SchemaValidationOption {
	defineFormats.Do(func() {
		openapi3.DefineStringFormatValidator("email", openapi3.NewRegexpFormatValidator(openapi3.FormatOfStringForEmail))
		openapi3.DefineIPv4Format()
		openapi3.DefineIPv6Format()
		openapi3.DefineStringFormatValidator("uri", openapi3.NewCallbackValidator(func(s string) error {
			u, err := url.Parse(s)
			if err != nil || u.Scheme == "" || strings.ContainsAny(s, " \t\r\n") {
				return fmt.Errorf("not an absolute URI")
			}
			return nil
		}))
	})
	return []openapi3.SchemaValidationOption{openapi3.MultiErrors(), openapi3.EnableFormatValidation(), openapi3.VisitAsRequest()}
}

var (
	specOnce sync.Once
	specDoc  *openapi3.T
	specErr  error
)

func loadSpec(t testing.TB) *openapi3.T {
	t.Helper()
	specOnce.Do(func() { specDoc, specErr = Load(filepath.Join("..", "..", "openapi", "forter.yaml")) })
	if specErr != nil {
		t.Fatal(specErr)
	}
	return specDoc
}

// bodySchema returns the schema of one body slot of an operation.
func bodySchema(t testing.TB, doc *openapi3.T, opID, slot string) *openapi3.Schema {
	t.Helper()
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			if op.OperationID != opID {
				continue
			}
			if slot == "request" {
				return op.RequestBody.Value.Content.Get("application/json").Schema.Value
			}
			ok, bad := responseSchemas(op)
			if slot == "response" {
				return ok.ref.Value
			}
			return bad.ref.Value
		}
	}
	t.Fatalf("operation %s has no %s body", opID, slot)
	return nil
}

func genFunc(t testing.TB, opID, slot string) validate.Func {
	t.Helper()
	op, ok := gen.OperationByID(opID)
	if !ok {
		t.Fatalf("gen has no operation %s", opID)
	}
	switch slot {
	case "request":
		return op.Request
	case "response":
		return op.Response
	}
	return op.Error
}

// kinVerdict validates body with kin-openapi: ok is its verdict; parsed is
// false when encoding/json could not decode the body at all.
func kinVerdict(schema *openapi3.Schema, body []byte) (ok, parsed bool, err error) {
	var v any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil || dec.More() {
		return false, false, err
	}
	if _, err := dec.Token(); err == nil {
		return false, false, fmt.Errorf("trailing data")
	}
	err = schema.VisitJSON(v, oracleOptions()...)
	return err == nil, true, err
}

// strictOnly reports whether every violation is one of the strict-JSON faults
// kin-openapi cannot see: encoding/json keeps the last of duplicate names,
// replaces invalid UTF-8 and has no depth or magnitude check there; or a
// format, where kin-openapi is looser than the RFCs (no calendar check of
// dates, any local part of an e-mail, IPv6 zones: TestFormatsMatchKin holds
// the format checks to kin's everywhere else, openapi/README.md lists them).
func strictOnly(r *validate.Report) bool {
	if len(r.Violations) == 0 {
		return false
	}
	strict := false
	for _, v := range r.Violations {
		switch {
		case v.Kind == validate.KindRule:
		case v.Rule == "duplicate-key", v.Rule == "invalid-utf8", v.Rule == "max-depth", v.Rule == "number-range", v.Rule == "format":
			strict = true
		default:
			return false
		}
	}
	return strict
}

// compare requires the same verdict from both validators on body.
func compare(t *testing.T, name string, schema *openapi3.Schema, fn validate.Func, body []byte) (valid bool) {
	t.Helper()
	var r validate.Report
	fn(body, &r)
	for _, v := range r.Violations {
		// The mutations write this value into strings: a message must never repeat it.
		if strings.Contains(v.Message, "not-a-match") {
			t.Errorf("%s: message repeats the submitted value: %s", name, v.Message)
		}
	}
	ok, parsed, err := kinVerdict(schema, body)
	if !parsed {
		if schemaValid(&r) {
			t.Errorf("%s: generated accepts a body encoding/json cannot parse (%v)", name, err)
		}
		return false
	}
	if strictOnly(&r) {
		return false // kin-openapi is wrong there; see strictOnly
	}
	if ok != schemaValid(&r) {
		t.Errorf("%s: kin-openapi valid=%v (%v), generated valid=%v %s", name, ok, err, schemaValid(&r), describe(&r))
	}
	return schemaValid(&r)
}

// schemaValid is the generated verdict kin-openapi can be compared with:
// business rules (kind rule) are ours alone.
func schemaValid(r *validate.Report) bool {
	for _, v := range r.Violations {
		if v.Kind != validate.KindRule && v.Severity == validate.SeverityError {
			return false
		}
	}
	return true
}

func describe(r *validate.Report) string {
	var b strings.Builder
	for _, v := range r.Violations {
		fmt.Fprintf(&b, "\n\t%s %s %s: %s", v.Kind, v.Pointer, v.Rule, v.Message)
	}
	return b.String()
}

// corpus is every realworld body and every file of testdata/bodies, with the
// operation slot it belongs to.
type corpusFile struct {
	path, op, slot string
}

func corpus(t testing.TB) []corpusFile {
	t.Helper()
	slots := map[string][2]string{
		"order-request":   {"orderV2", "request"},
		"order-response":  {"orderV2", "response"},
		"status-request":  {"statusPost", "request"},
		"status-response": {"statusPut", "response"},
		"error-response":  {"orderV2", "error"},
	}
	var out []corpusFile
	root := filepath.Join("..", "..", "testdata", "realworld")
	for dir, s := range slots {
		files, _ := filepath.Glob(filepath.Join(root, dir, "*.json"))
		for _, f := range files {
			out = append(out, corpusFile{f, s[0], s[1]})
		}
	}
	// The Accounts and Claims corpus: one folder per operationId.
	accounts, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "realworld-accounts", "*", "*.json"))
	for _, f := range accounts {
		out = append(out, corpusFile{f, filepath.Base(filepath.Dir(f)), "request"})
	}
	rules, _ := filepath.Glob(filepath.Join("testdata", "rules", "*.json"))
	for _, f := range rules {
		out = append(out, corpusFile{f, caseOpID(f), "request"})
	}
	// Every request body of the benchmark.
	for _, pat := range []string{
		filepath.Join("..", "..", "bench", "testdata", "*.json"),
		filepath.Join("..", "..", "bench", "testdata", "*", "*.json"),
	} {
		files, _ := filepath.Glob(pat)
		for _, f := range files {
			op := "orderV2"
			if base := filepath.Base(f); strings.HasPrefix(base, "status") || strings.Contains(base, ".status.") {
				op = "statusPost"
			}
			out = append(out, corpusFile{f, op, "request"})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	if len(out) < 20 {
		t.Fatalf("corpus: found %d files, want the realworld bodies (testdata/realworld at the repository root)", len(out))
	}
	return out
}

func TestOracleCorpus(t *testing.T) {
	doc := loadSpec(t)
	for _, c := range corpus(t) {
		t.Run(filepath.Base(filepath.Dir(c.path))+"/"+filepath.Base(c.path), func(t *testing.T) {
			body, err := os.ReadFile(c.path)
			if err != nil {
				t.Fatal(err)
			}
			compare(t, "as is", bodySchema(t, doc, c.op, c.slot), genFunc(t, c.op, c.slot), body)
		})
	}
}

// mutations derives invalid-looking variants of a body: each member dropped,
// each scalar given another type, each string broken against a pattern, an
// unknown member added to each object.
func mutations(body []byte) map[string][]byte {
	var root any
	if json.Unmarshal(body, &root) != nil {
		return nil
	}
	out := map[string][]byte{}
	var walk func(ptr string, v any, set func(any), del func())
	emit := func(name string) {
		b, _ := json.Marshal(root)
		out[name] = b
	}
	walk = func(ptr string, v any, set func(any), del func()) {
		if del != nil {
			del()
			emit("drop " + ptr)
			set(v)
		}
		switch x := v.(type) {
		case map[string]any:
			x["zzUnknownMember"] = 1
			emit("add " + ptr + "/zzUnknownMember")
			delete(x, "zzUnknownMember")
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				child := x[k]
				walk(ptr+"/"+k, child, func(n any) { x[k] = n }, func() { delete(x, k) })
			}
		case []any:
			for i, child := range x {
				walk(fmt.Sprintf("%s/%d", ptr, i), child, func(n any) { x[i] = n }, nil)
			}
			if len(x) > 0 {
				set([]any{})
				emit("empty " + ptr)
				set(x)
			}
		case string:
			set(12345)
			emit("number for string " + ptr)
			set("not-a-match ~!")
			emit("break pattern " + ptr)
			set("")
			emit("empty string " + ptr)
			set(x)
		case float64:
			set("12")
			emit("string for number " + ptr)
			set(-1.5)
			emit("negative fraction " + ptr)
			set(x)
		case bool:
			set("true")
			emit("string for boolean " + ptr)
			set(x)
		case nil:
			set(map[string]any{})
			emit("object for null " + ptr)
			set(nil)
		}
		if ptr != "" && set != nil {
			set(nil)
			emit("null " + ptr)
			set(v)
		}
	}
	walk("", root, func(n any) { root = n }, nil)
	return out
}

func TestOracleMutations(t *testing.T) {
	doc := loadSpec(t)
	total, invalid := 0, 0
	for _, c := range corpus(t) {
		// The rule cases and the load payloads are variants of bodies mutated here already.
		if strings.Contains(c.path, filepath.Join("testdata", "rules")) || strings.Contains(c.path, filepath.Join("testdata", "load")) {
			continue
		}
		body, err := os.ReadFile(c.path)
		if err != nil {
			t.Fatal(err)
		}
		schema, fn := bodySchema(t, doc, c.op, c.slot), genFunc(t, c.op, c.slot)
		muts := mutations(body)
		names := make([]string, 0, len(muts))
		for n := range muts {
			names = append(names, n)
		}
		sort.Strings(names)
		for i, n := range names {
			if (raceEnabled || testing.Short()) && i%4 != 0 {
				continue
			}
			if !compare(t, filepath.Base(c.path)+": "+n, schema, fn, muts[n]) {
				invalid++
			}
			total++
		}
	}
	if total < 1000 {
		t.Errorf("only %d mutations compared, want at least 1000", total)
	}
	// Open objects accept most mutations; enough must be invalid to matter.
	if invalid < total/10 {
		t.Errorf("only %d of %d mutations are invalid, want at least a tenth", invalid, total)
	}
	t.Logf("%d mutations compared, %d invalid", total, invalid)
}
