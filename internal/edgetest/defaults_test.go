package edgetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/orderguard/orderguard/gen"
	"github.com/orderguard/orderguard/internal/lint"
	"github.com/orderguard/orderguard/internal/proxy"
)

// sourcedErrors are the business rules that stay at error by default because
// a source says Forter refuses a request without them (openapi/rules.yaml
// gives each one's reason). The sandbox checks the schema only, so these are
// the one place where the proxy may refuse what the sandbox accepts.
var sourcedErrors = map[string]bool{"connection-information": true}

// TestDefaultsAgreeWithForter holds the default severities to "never block
// what Forter accepts": every request body of testdata/realworld (bodies
// Forter accepted) has no error from lint and is forwarded by the proxy in
// enforce mode with the sandbox's 200; and, over mutants of those bodies
// (a member removed, a value of another type, a string that matches no
// pattern, format or enum), the proxy refuses exactly what the sandbox
// answers 400, except for the rules in sourcedErrors.
func TestDefaultsAgreeWithForter(t *testing.T) {
	files, err := filepath.Glob("testdata/realworld/*-request/*.json")
	if err != nil || len(files) < 10 {
		t.Fatalf("realworld request bodies: %d, %v", len(files), err)
	}
	sort.Strings(files)

	// lint, with every default.
	l, err := lint.New(lint.Options{Operations: gen.Operations, Rules: gen.Rules})
	if err != nil {
		t.Fatal(err)
	}
	inputs, err := lint.Discover(files, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := l.Lint(inputs)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range res.Files {
		for _, p := range f.Payloads {
			for _, v := range p.Violations {
				if v.Severity.String() == "error" {
					t.Errorf("lint %s: error %s at %s: the defaults block a body Forter accepted", f.Path, v.Rule, v.Pointer)
				}
			}
		}
	}

	e := startEdge(t, edgeOpts{mode: proxy.ModeEnforce, budget: 5 * time.Second, logFormat: "json"})
	direct := &fasthttp.Client{TLSConfig: e.sb.ClientTLS(), ReadTimeout: 10 * time.Second}
	via := &fasthttp.Client{ReadTimeout: 10 * time.Second}
	n := 0
	exchange := func(c *fasthttp.Client, base, method, path string, body []byte) (int, []byte) {
		t.Helper()
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(resp)
		req.Header.SetMethod(method)
		req.SetRequestURI(base + path)
		req.Header.Set("Authorization", clientAuthorization)
		req.Header.Set(secretHeader, inboundSecret)
		req.Header.Set("api-version", "2.3")
		req.Header.Set("x-forter-disable-persistence", "true") // past the test site's 10 requests/s
		req.Header.SetContentType("application/json")
		req.SetBody(body)
		if err := c.DoTimeout(req, resp, 10*time.Second); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		return resp.StatusCode(), append([]byte(nil), resp.Body()...)
	}
	// both sends body to the sandbox itself and through the proxy.
	both := func(route [2]string, body []byte) (sandboxStatus, proxyStatus int, proxyBody []byte) {
		n++
		path := fmt.Sprintf(route[1], fmt.Sprintf("agree-%d", n))
		sandboxStatus, _ = exchange(direct, e.sb.URL, route[0], path, body)
		proxyStatus, proxyBody = exchange(via, "http://"+e.addr, route[0], path, body)
		return sandboxStatus, proxyStatus, proxyBody
	}

	mutants, refusedBoth, refusedSourced := 0, 0, 0
	for _, f := range files {
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(filepath.Dir(f)) + "/" + filepath.Base(f)
		route := routes[filepath.Base(filepath.Dir(f))][0]
		if sb, px, pb := both(route, body); sb != 200 || px != 200 {
			t.Errorf("%s: sandbox %d, proxy %d %s; want both 200 (Forter accepted it)", name, sb, px, pb)
		}
		var doc any
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		if dec.Decode(&doc) != nil {
			continue
		}
		for i, m := range mutate(doc) {
			b, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			mutants++
			sb, px, pb := both(route, b)
			switch {
			case sb == 400 && px != 400:
				t.Errorf("%s mutant %d: the sandbox refused it (400) and the proxy answered %d", name, i, px)
			case sb != 400 && px == 400:
				if !onlySourced(pb) {
					t.Errorf("%s mutant %d: the proxy refused what the sandbox accepted (%d): %s", name, i, sb, pb)
				}
				refusedSourced++
			case sb == 400:
				refusedBoth++
			}
		}
	}
	t.Logf("%d mutants: %d refused by both, %d by the proxy only for a sourced rule", mutants, refusedBoth, refusedSourced)
	if mutants < 200 || refusedBoth < 50 {
		t.Errorf("%d mutants, %d refused by both: the mutants did not exercise the schema", mutants, refusedBoth)
	}
}

// onlySourced reports whether every error of a 400 answer is a rule of
// sourcedErrors.
func onlySourced(answer []byte) bool {
	var a struct {
		Errors []struct{ Rule string } `json:"errors"`
	}
	if json.Unmarshal(answer, &a) != nil || len(a.Errors) == 0 {
		return false
	}
	for _, e := range a.Errors {
		if !sourcedErrors[e.Rule] {
			return false
		}
	}
	return true
}

// mutate returns one-change variants of doc: each member removed, each leaf
// replaced by a value of another type, each string by text no pattern,
// format or enum of the spec matches, and dates and e-mails by ones that
// only the RFCs refuse.
func mutate(doc any) []any {
	var out []any
	var walk func(v any, set func(any) any)
	walk = func(v any, set func(any) any) {
		switch x := v.(type) {
		case map[string]any:
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				k := k
				out = append(out, set(without(x, k)))
				walk(x[k], func(nv any) any { return set(with(x, k, nv)) })
			}
		case []any:
			for i := range x {
				i := i
				walk(x[i], func(nv any) any {
					c := append([]any(nil), x...)
					c[i] = nv
					return set(c)
				})
			}
		case string:
			out = append(out, set(json.Number("12345")), set("not-a-match"))
			switch {
			case len(x) == 10 && x[4] == '-' && x[7] == '-':
				out = append(out, set(x[:8]+"31"), set("2019-02-29"))
			case strings.Contains(x, "@"):
				out = append(out, set("a..b"+x[strings.IndexByte(x, '@'):]), set("."+x))
			case strings.Count(x, ".") == 3:
				out = append(out, set("fe80::1%eth0"))
			}
		case json.Number:
			out = append(out, set("12345"), set(json.Number("-1")))
		case bool:
			out = append(out, set("true"))
		}
	}
	walk(doc, func(v any) any { return v })
	return out
}

func without(m map[string]any, k string) map[string]any {
	c := make(map[string]any, len(m))
	for key, v := range m {
		if key != k {
			c[key] = v
		}
	}
	return c
}

func with(m map[string]any, k string, v any) map[string]any {
	c := without(m, k)
	c[k] = v
	return c
}
