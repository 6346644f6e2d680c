package lint

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/orderguard/orderguard/internal/validate"
)

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func newFake(t *testing.T, o Options) *Linter {
	t.Helper()
	if o.Operations == nil {
		o.Operations = fakeOps
	}
	if o.Rules == nil {
		o.Rules = fakeRules
	}
	l, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func lintPaths(t *testing.T, l *Linter, paths ...string) *Result {
	t.Helper()
	in, err := Discover(paths, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := l.Lint(in)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

type pos struct {
	Index, Line, Column, Offset int
	Rule                        string
}

func positions(res *Result) []pos {
	var out []pos
	for _, f := range res.Files {
		for _, p := range f.Payloads {
			for _, v := range p.Violations {
				out = append(out, pos{p.Index, v.Line, v.Column, v.Offset, v.Rule})
			}
		}
	}
	return out
}

func TestNDJSONPositions(t *testing.T) {
	dir := t.TempDir()
	lines := []string{
		`{"orderId":"a","orderType":"WEB"}`,
		``,
		`{"orderId":"b","orderType":"BAD"}`,
		`   `,
		`{"orderType":"BAD"}`,
	}
	body := strings.Join(lines, "\n") + "\n"
	writeFiles(t, dir, map[string]string{"x.ndjson": body})
	res := lintPaths(t, newFake(t, Options{}), filepath.Join(dir, "x.ndjson"))

	if got, want := len(res.Files[0].Payloads), 3; got != want {
		t.Fatalf("payloads: got %d, want %d", got, want)
	}
	third := strings.Index(body, `{"orderType":"BAD"}`)
	want := []pos{
		{1, 3, 28, strings.Index(body, `"BAD"`), "enum"},
		{2, 5, 1, third, "required"},
		{2, 5, 14, third + 13, "enum"},
	}
	if got := positions(res); !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	for _, v := range res.Files[0].Payloads[1].Violations {
		if got := body[v.Offset : v.Offset+5]; got != `"BAD"` {
			t.Errorf("offset %d points at %q, want the value", v.Offset, got)
		}
	}
	if got, want := res.Files[0].Payloads[2].Line, 5; got != want {
		t.Errorf("record line: got %d, want %d", got, want)
	}
	if got, want := res.Summary, (Summary{Files: 1, Payloads: 3, Invalid: 2, Errors: 3}); got != want {
		t.Errorf("summary: got %+v, want %+v", got, want)
	}
}

func makeHAREntry(method, url, text, encoding string) map[string]any {
	req := map[string]any{"method": method, "url": url, "headers": []any{}}
	if text != "" {
		pd := map[string]any{"mimeType": "application/json", "text": text}
		if encoding != "" {
			pd["encoding"] = encoding
		}
		req["postData"] = pd
	}
	return map[string]any{"request": req, "response": map[string]any{"status": 200}}
}

func TestHAREntries(t *testing.T) {
	entries := []any{
		makeHAREntry("GET", "https://shop.example/cart", "", ""),
		makeHAREntry("POST", "https://api.forter-secure.com/v2/orders/o1", `{"orderId":"o1","orderType":"BAD"}`, ""),
		makeHAREntry("PUT", "https://api.forter-secure.com/v2/status/o1", `{"eventTime":1,"updatedStatus":"RULE"}`, ""),
		makeHAREntry("POST", "https://x.api.forter-secure.com/v3/orders/o2?debug=1", base64.StdEncoding.EncodeToString([]byte(`{"orderId":"o2"}`)), "base64"),
		makeHAREntry("POST", "https://api.forter-secure.com/v2/accounts/login/a", `{"BAD":1}`, ""),
		makeHAREntry("POST", "http://127.0.0.1:8080/v2/status/o3", `{"orderId":"o3","eventTime":1}`, ""),
	}
	b, _ := json.MarshalIndent(map[string]any{"log": map[string]any{"version": "1.2", "entries": entries}}, "", "  ")
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"rec.har": string(b)})
	res := lintPaths(t, newFake(t, Options{}), filepath.Join(dir, "rec.har"))

	type entry struct {
		Index int
		Op    string
		Rules string
	}
	var got []entry
	for _, p := range res.Files[0].Payloads {
		var rules []string
		for _, v := range p.Violations {
			rules = append(rules, fmt.Sprintf("%s@%d:%d", v.Rule, v.Line, v.Column))
		}
		got = append(got, entry{p.Index, p.Operation, strings.Join(rules, ",")})
	}
	want := []entry{
		{1, OpOrderV2, "enum@1:29"},
		{2, OpStatusPut, "required@1:1,fake-rule@1:32"},
		{3, OpOrderV3, ""},
		{5, OpStatusPost, ""},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}

func TestHARNotJSON(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"bad.har": `{"log": [`, "nolog.har": `{"x":1}`})
	l := newFake(t, Options{})
	for _, name := range []string{"bad.har", "nolog.har"} {
		in, err := Discover([]string{filepath.Join(dir, name)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = l.Lint(in)
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: got error %v, want one naming the file", name, err)
		}
	}
}

func TestDetect(t *testing.T) {
	l := newFake(t, Options{})
	tests := []struct {
		body, url, want string
	}{
		{`{"orderId":"1","totalAmount":{}}`, "", OpOrderV2},
		{`{"orderId":"1","eventTime":1}`, "", OpStatusPost},
		{` { "orderId" : "1" , "x":{"a":[1,"}",{"b":"\""}]}, "updatedStatus":"SENT"}`, "", OpStatusPost},
		{`{"orderId":"1","cart":{"eventTime":1}}`, "", OpOrderV2},
		{`{"note":"updatedStatus"}`, "", OpOrderV2},
		{`not json "eventTime"`, "", OpOrderV2},
		{`{"eventTime":1}`, "/v2/orders/x", OpOrderV2},
		{`{}`, "/v3/orders/x", OpOrderV3},
		{`{}`, "/v2/status/x", OpStatusPost},
	}
	for _, tt := range tests {
		if got := l.detect([]byte(tt.body), tt.url); got != tt.want {
			t.Errorf("detect(%s, %q) = %s, want %s", tt.body, tt.url, got, tt.want)
		}
	}
	for mode, want := range map[string]string{ModeOrder: OpOrderV2, ModeOrderV3: OpOrderV3, ModeStatus: OpStatusPost} {
		l := newFake(t, Options{Mode: mode})
		if got := l.detect([]byte(`{"eventTime":1}`), "/v3/orders/x"); got != want {
			t.Errorf("mode %s: got %s, want %s", mode, got, want)
		}
	}
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name string
		o    Options
		want string
	}{
		{"bad mode", Options{Operations: fakeOps, Mode: "orders"}, `operation "orders"`},
		{"no v3", Options{Operations: fakeOps[:1], Mode: ModeOrderV3}, "orderV3"},
		{"no ops", Options{}, "orderV2"},
		{"unknown rule", Options{Operations: fakeOps, Rules: fakeRules, Severities: map[string]validate.Severity{"nope": validate.SeverityOff}}, `unknown rule "nope"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestSeverities(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"a.json": `{"orderId":"1","a":"RULE","b":"WARN","c":"BAD"}`})
	tests := []struct {
		name string
		sev  map[string]validate.Severity
		want []string
	}{
		{"defaults", nil, []string{"enum:error", "fake-warn:warning", "fake-rule:error"}},
		{"rule off", map[string]validate.Severity{"fake-rule": validate.SeverityOff}, []string{"enum:error", "fake-warn:warning"}},
		{"swap", map[string]validate.Severity{"fake-rule": validate.SeverityWarning, "fake-warn": validate.SeverityError}, []string{"enum:error", "fake-warn:error", "fake-rule:warning"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := lintPaths(t, newFake(t, Options{Severities: tt.sev}), filepath.Join(dir, "a.json"))
			var got []string
			for _, v := range res.Files[0].Payloads[0].Violations {
				got = append(got, v.Rule+":"+v.Severity.String())
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"ok.yaml":  "listen: 127.0.0.1:8080\nrules:\n  fake-rule: off\n  fake-warn: error\n",
		"bad.yaml": "rules:\n  fake-rule: sometimes\n",
	})
	c, err := LoadConfig(filepath.Join(dir, "ok.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]validate.Severity{"fake-rule": validate.SeverityOff, "fake-warn": validate.SeverityError}
	if !reflect.DeepEqual(c.Rules, want) {
		t.Errorf("got %v, want %v", c.Rules, want)
	}
	if _, err := LoadConfig(filepath.Join(dir, "bad.yaml")); err == nil || !strings.Contains(err.Error(), "sometimes") {
		t.Errorf("bad severity: got %v", err)
	}
	if _, err := LoadConfig(filepath.Join(dir, "missing.yaml")); err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("missing file: got %v", err)
	}
}

func TestDiscover(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"a.json":             "{}",
		"b/c.ndjson":         "{}",
		"b/d/e.har":          `{"log":{"entries":[]}}`,
		"b/d/notes.txt":      "x",
		"b/.git/f.json":      "{}",
		"empty/readme.md":    "x",
		"z/payload.jsonl":    "{}",
		"g/one/x.json":       "{}",
		"g/two/three/y.json": "{}",
	})
	if err := os.Symlink(filepath.Join(dir, "a.json"), filepath.Join(dir, "b", "link.json")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "missing.json"), filepath.Join(dir, "b", "dangling.json")); err != nil {
		t.Fatal(err)
	}
	rel := func(names []Input) []string {
		var out []string
		for _, in := range names {
			r, _ := filepath.Rel(dir, filepath.FromSlash(in.Path))
			out = append(out, filepath.ToSlash(r)+":"+in.Type.String())
		}
		return out
	}
	j := func(p string) string { return filepath.Join(dir, filepath.FromSlash(p)) }
	tests := []struct {
		name    string
		args    []string
		want    []string
		wantErr string
	}{
		{"dir recursive", []string{j("b")}, []string{"b/c.ndjson:ndjson", "b/d/e.har:har", "b/link.json:json"}, ""},
		{"file any extension", []string{j("z/payload.jsonl"), j("b/d/notes.txt")}, []string{"z/payload.jsonl:ndjson", "b/d/notes.txt:json"}, ""},
		{"dedupe", []string{j("a.json"), dir + "/./a.json"}, []string{"a.json:json"}, ""},
		{"glob", []string{j("g/*/*.json")}, []string{"g/one/x.json:json"}, ""},
		{"glob doublestar", []string{j("g/**/*.json")}, []string{"g/one/x.json:json", "g/two/three/y.json:json"}, ""},
		{"missing file", []string{j("a.json"), j("nope.json")}, nil, "nope.json: no such file or directory"},
		{"glob no match", []string{j("g/*.har")}, nil, "no file matches"},
		{"empty dir", []string{j("empty")}, nil, "empty: no *.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Discover(tt.args, nil)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want an error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if g := rel(got); !reflect.DeepEqual(g, tt.want) {
				t.Errorf("got %v, want %v", g, tt.want)
			}
		})
	}
}

func TestStdinSniff(t *testing.T) {
	tests := []struct {
		in   string
		want FileType
	}{
		{`{"orderId":"1"}`, TypeJSON},
		{"{\n  \"orderId\": \"1\"\n}\n", TypeJSON},
		{"{\"a\":1}\n{\"a\":2}\n", TypeNDJSON},
		{`{"log":{"entries":[]}}`, TypeHAR},
		{"", TypeJSON},
	}
	for _, tt := range tests {
		in, err := Discover([]string{"-"}, strings.NewReader(tt.in))
		if err != nil {
			t.Fatal(err)
		}
		if in[0].Type != tt.want || in[0].Path != StdinPath {
			t.Errorf("%q: got %s %s, want %s", tt.in, in[0].Path, in[0].Type, tt.want)
		}
	}
}

// Results come back in input order whatever the number of workers.
func TestDeterministicOrder(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{}
	for i := range 200 {
		body := fmt.Sprintf(`{"orderId":"%d"}`, i)
		if i%3 == 0 {
			body = strings.Repeat(" ", i*50) + `{"orderType":"BAD"}`
		}
		files[fmt.Sprintf("p%03d.json", i)] = body
	}
	writeFiles(t, dir, files)
	var want bytes.Buffer
	for _, workers := range []int{1, 8} {
		res := lintPaths(t, newFake(t, Options{Workers: workers}), dir)
		var got bytes.Buffer
		if err := Write(&got, "json", res, FormatOptions{}); err != nil {
			t.Fatal(err)
		}
		if workers == 1 {
			want = got
			continue
		}
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Errorf("workers %d: output differs from one worker", workers)
		}
	}
	var rep struct{ Files []struct{ Path string } }
	if err := json.Unmarshal(want.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	for i, f := range rep.Files {
		if want := fmt.Sprintf("p%03d.json", i); filepath.Base(f.Path) != want {
			t.Fatalf("file %d: got %s, want %s", i, f.Path, want)
		}
	}
}

// A large NDJSON file is split over the workers; the result is the same as
// with one worker, record for record.
func TestLargeNDJSONSplit(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	pad := strings.Repeat("x", 200)
	for i := 0; b.Len() < 2*ndjsonSplit; i++ {
		switch {
		case i%7 == 3:
			fmt.Fprintf(&b, "{\"orderType\":\"BAD\",\"pad\":%q}\n", pad)
		case i%11 == 5:
			b.WriteString("\n")
		default:
			fmt.Fprintf(&b, "{\"orderId\":\"%d\",\"pad\":%q}\n", i, pad)
		}
	}
	writeFiles(t, dir, map[string]string{"big.ndjson": b.String()})
	var outs []string
	for _, workers := range []int{1, 4} {
		res := lintPaths(t, newFake(t, Options{Workers: workers}), filepath.Join(dir, "big.ndjson"))
		var out bytes.Buffer
		if err := Write(&out, "json", res, FormatOptions{}); err != nil {
			t.Fatal(err)
		}
		outs = append(outs, out.String())
		if res.Summary.Invalid == 0 || res.Summary.Payloads < 5000 {
			t.Fatalf("workers %d: summary %+v", workers, res.Summary)
		}
		for i, p := range res.Files[0].Payloads {
			if p.Index != i {
				t.Fatalf("workers %d: payload %d has index %d", workers, i, p.Index)
			}
		}
		checkPositionsAll(t, []byte(b.String()), res)
	}
	if outs[0] != outs[1] {
		t.Error("split linting differs from one worker")
	}
}

func checkPositionsAll(t *testing.T, data []byte, res *Result) {
	t.Helper()
	for _, p := range res.Files[0].Payloads {
		checkPositions(t, "big.ndjson", data, p)
	}
}

// A file that disappears between discovery and reading is an I/O error that
// names it; the other inputs are still linted and their errors joined.
func TestReadErrorNamesFile(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"a.json": `{"orderId":"1"}`, "b.json": `{"orderId":"2"}`, "c.ndjson": "{}\n"})
	in, err := Discover([]string{dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"b.json", "c.ndjson"} {
		if err := os.Remove(filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	_, err = newFake(t, Options{Workers: 2}).Lint(in)
	for _, name := range []string{"b.json", "c.ndjson"} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("got %v, want an error naming %s", err, name)
		}
	}
	if strings.Contains(err.Error(), "a.json") {
		t.Errorf("error names the readable file: %v", err)
	}
}
