package codegen

import (
	"bytes"
	"fmt"
	"go/format"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/orderguard/orderguard/internal/validate"
)

// Options say what file to write.
type Options struct {
	Package string // the Go package name of the output, "gen" by default
	Source  string // the spec as named in the file header, e.g. ../openapi/forter.yaml
}

type root struct {
	id, method, path           string
	name, fallback             string
	request, response, errorFn string
}

// The operation extensions: x-orderguard-name is the operation's short name
// on command lines (orderguard lint --operation), x-orderguard-fallback the
// shape of the proxy's answer when Forter does not answer
// (validate.FallbackShapes).
const (
	nameExt     = "x-orderguard-name"
	fallbackExt = "x-orderguard-fallback"
)

// operationExtensions reads and checks an operation's x-orderguard-name and
// x-orderguard-fallback; names must be unique across the spec.
func operationExtensions(op *openapi3.Operation, where string, names map[string]string) (name, fallback string, err error) {
	for k, v := range op.Extensions {
		if !strings.HasPrefix(k, "x-orderguard") {
			continue
		}
		s, ok := v.(string)
		if !ok || s == "" {
			return "", "", fmt.Errorf("%s: %s: want a non-empty string", where, k)
		}
		switch k {
		case nameExt:
			if other, dup := names[s]; dup {
				return "", "", fmt.Errorf("%s: %s %q is also %s's", where, k, s, other)
			}
			names[s] = op.OperationID
			name = s
		case fallbackExt:
			if !slices.Contains(validate.FallbackShapes, s) {
				return "", "", fmt.Errorf("%s: %s %q: want one of %s", where, k, s, strings.Join(validate.FallbackShapes, ", "))
			}
			fallback = s
		default:
			return "", "", fmt.Errorf("%s: unknown operation extension %s", where, k)
		}
	}
	return name, fallback, nil
}

// GenerateOperations compiles every operation's request body, 2xx response
// body and 4xx error body schema of doc into one Go file exporting
// Operations, OperationByID and Rules.
func GenerateOperations(doc *openapi3.T, opt Options) ([]byte, error) {
	g := New(doc)
	g.collectRules()
	ops, err := operationBodies(doc)
	if err != nil {
		return nil, err
	}
	var roots []root
	for _, op := range ops {
		r := root{id: op.ID, method: op.Method, path: op.Path, name: op.Name, fallback: op.Fallback}
		fn := "validate" + ident(op.ID)
		for _, slot := range []struct {
			name *string
			body *opBody
			fn   string
		}{{&r.request, op.Request, fn + "Request"}, {&r.response, op.Response, fn + "Response"}, {&r.errorFn, op.Error, fn + "Error"}} {
			if slot.body == nil {
				continue
			}
			*slot.name = slot.fn
			g.rootFunc(slot.fn, g.Func(slot.body.Ref, slot.body.Loc))
		}
		roots = append(roots, r)
	}
	if err := g.drain(); err != nil {
		return nil, err
	}
	sort.SliceStable(roots, func(i, j int) bool { return roots[i].id < roots[j].id })
	var b bytes.Buffer
	g.header(&b, opt)
	if err := idConstants(&b, roots); err != nil {
		return nil, err
	}
	b.WriteString("\n// Operations holds one entry per operationId of the spec, with its body validators.\nvar Operations = []validate.Operation{\n")
	for _, r := range roots {
		fmt.Fprintf(&b, "{ID: %q, Method: %q, Path: %q, Request: %s, Response: %s, Error: %s, Name: %q, Fallback: %q},\n",
			r.id, r.method, r.path, orAny(r.request), orAny(r.response), orAny(r.errorFn), r.name, r.fallback)
	}
	b.WriteString("}\n")
	b.WriteString(`
// OperationByID returns the operation with the given operationId.
func OperationByID(id string) (validate.Operation, bool) {
	for _, op := range Operations {
		if op.ID == id {
			return op, true
		}
	}
	return validate.Operation{}, false
}
`)
	g.rulesTable(&b)
	b.Write(g.roots.Bytes())
	b.Write(g.funcs.Bytes())
	b.Write(g.matchers.Bytes())
	return gofmt(b.Bytes())
}

// idConstants writes one constant per operationId (orderV2 is OpOrderV2):
// code outside the table that must name one operation (a test, the sandbox's
// received log) names it by constant, so no package spells an id.
func idConstants(b *bytes.Buffer, roots []root) error {
	if len(roots) == 0 {
		return nil
	}
	seen := map[string]string{}
	b.WriteString("\n// Operation ids of the spec, one constant per operationId.\nconst (\n")
	for _, r := range roots {
		name := "Op" + ident(r.id)
		if other, dup := seen[name]; dup {
			return fmt.Errorf("operationIds %q and %q both make the Go name %s", other, r.id, name)
		}
		seen[name] = r.id
		fmt.Fprintf(b, "%s = %q\n", name, r.id)
	}
	b.WriteString(")\n")
	return nil
}

// opBodies is one operation of the spec with the schemas of its bodies:
// what both the Go renderer (GenerateOperations) and the compiler
// (CompileOperations) turn into validators.
type opBodies struct {
	ID, Method, Path         string
	Name, Fallback           string  // x-orderguard-name and x-orderguard-fallback (operationExtensions)
	Request, Response, Error *opBody // nil: no JSON body declared
}

// opBody is one body's schema and its location in the spec.
type opBody struct {
	Ref *openapi3.SchemaRef
	Loc string
}

// operationBodies lists every operation of doc, by path then method, with
// its extensions, request body, first 2xx and first 4xx JSON response
// schemas.
func operationBodies(doc *openapi3.T) ([]opBodies, error) {
	if doc.Paths == nil {
		return nil, fmt.Errorf("spec has no paths")
	}
	paths := doc.Paths.Map()
	keys := make([]string, 0, len(paths))
	for k := range paths {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []opBodies
	names := map[string]string{}
	for _, p := range keys {
		item := paths[p]
		for _, method := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
			op := item.GetOperation(method)
			if op == nil {
				continue
			}
			if op.OperationID == "" {
				return nil, fmt.Errorf("%s %s: operation has no operationId", method, p)
			}
			loc := "#/paths/" + escapeToken(p) + "/" + strings.ToLower(method)
			o := opBodies{ID: op.OperationID, Method: method, Path: p}
			var err error
			if o.Name, o.Fallback, err = operationExtensions(op, method+" "+p, names); err != nil {
				return nil, err
			}
			if rb := op.RequestBody; rb != nil && rb.Value != nil {
				if mt := rb.Value.Content.Get("application/json"); mt != nil && mt.Schema != nil {
					o.Request = &opBody{mt.Schema, loc + "/requestBody/content/application~1json/schema"}
				}
			}
			ok, bad := responseSchemas(op)
			if ok != nil {
				o.Response = &opBody{ok.ref, loc + "/responses/" + ok.code + "/content/application~1json/schema"}
			}
			if bad != nil {
				o.Error = &opBody{bad.ref, loc + "/responses/" + bad.code + "/content/application~1json/schema"}
			}
			out = append(out, o)
		}
	}
	return out, nil
}

// orAny falls back to a validator that accepts any strict JSON document when
// the spec declares no JSON body for that slot.
func orAny(fn string) string {
	if fn == "" {
		return "validate.AnyJSON"
	}
	return fn
}

type respSchema struct {
	code string
	ref  *openapi3.SchemaRef
}

func responseSchemas(op *openapi3.Operation) (ok, bad *respSchema) {
	if op.Responses == nil {
		return nil, nil
	}
	m := op.Responses.Map()
	codes := make([]string, 0, len(m))
	for c := range m {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	for _, c := range codes {
		rr := m[c]
		if rr == nil || rr.Value == nil {
			continue
		}
		mt := rr.Value.Content.Get("application/json")
		if mt == nil || mt.Schema == nil {
			continue
		}
		switch {
		case strings.HasPrefix(c, "2") && ok == nil:
			ok = &respSchema{c, mt.Schema}
		case strings.HasPrefix(c, "4") && bad == nil:
			bad = &respSchema{c, mt.Schema}
		}
	}
	return ok, bad
}

func (g *Generator) rootFunc(name, fn string) {
	fmt.Fprintf(&g.roots, "\nfunc %s(body []byte, r *validate.Report) {\ns := r.Begin(body)\n%s(s)\ns.End()\n}\n", name, fn)
}

// GenerateSchemas compiles the named component schemas into one Go file
// exporting Validators, a map from schema name to validator (used by tests).
func GenerateSchemas(doc *openapi3.T, names []string, opt Options) ([]byte, error) {
	g := New(doc)
	g.collectRules()
	entries := map[string]string{}
	for _, n := range names {
		ref := doc.Components.Schemas[n]
		if ref == nil {
			return nil, fmt.Errorf("schema %q: not in components", n)
		}
		fn := g.Func(&openapi3.SchemaRef{Ref: "#/components/schemas/" + n, Value: ref.Value}, "#/components/schemas/"+n)
		entries[n] = "validate" + ident(n)
		g.rootFunc(entries[n], fn)
	}
	if err := g.drain(); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	g.header(&b, opt)
	b.WriteString("\n// Validators maps a component schema name to its validator.\nvar Validators = map[string]validate.Func{\n")
	for _, n := range names {
		fmt.Fprintf(&b, "%q: %s,\n", n, entries[n])
	}
	b.WriteString("}\n")
	g.rulesTable(&b)
	b.Write(g.roots.Bytes())
	b.Write(g.funcs.Bytes())
	b.Write(g.matchers.Bytes())
	return gofmt(b.Bytes())
}

func (g *Generator) header(b *bytes.Buffer, opt Options) {
	pkg := opt.Package
	if pkg == "" {
		pkg = "gen"
	}
	fmt.Fprintf(b, "// Code generated by genvalidators from %s. DO NOT EDIT.\n\n", opt.Source)
	fmt.Fprintf(b, "package %s\n\nimport (\n", pkg)
	var dfas []string
	useRegexp := false
	for _, p := range g.regexps {
		if d, ok := compileDFA(p); ok {
			dfas = append(dfas, d.goLiteral())
		} else {
			dfas = append(dfas, "")
			useRegexp = true
		}
	}
	if useRegexp {
		b.WriteString("\"regexp\"\n")
	}
	if g.needBits {
		b.WriteString("\"math/bits\"\n")
	}
	fmt.Fprintf(b, "\n%q\n)\n", RuntimeImport)
	if len(g.regexps) > 0 {
		b.WriteString("\n// Patterns of the spec, compiled once: to a DFA where that is exact, else by regexp.\nvar (\n")
		for i, p := range g.regexps {
			if dfas[i] != "" {
				fmt.Fprintf(b, "// re%d is %s\nre%d = &%s\n", i, comment(p), i, dfas[i])
				continue
			}
			fmt.Fprintf(b, "re%d = regexp.MustCompile(%s)\n", i, strconv.Quote(p))
		}
		b.WriteString(")\n")
	}
	if len(g.patternDecls) > 0 {
		b.WriteString("\n// Pointer patterns of the rules' at.\nvar (\n")
		for _, d := range g.patternDecls {
			b.WriteString(d + "\n")
		}
		b.WriteString(")\n")
	}
}

func (g *Generator) rulesTable(b *bytes.Buffer) {
	b.WriteString("\n// Rules lists the business rules compiled from the spec's x-orderguard-rules.\nvar Rules = []validate.RuleInfo{\n")
	for _, r := range g.rules {
		fmt.Fprintf(b, "{ID: %q, Severity: validate.Severity%s, Description: %q, Source: %q, Reason: %q},\n", r.ID, r.Severity, r.Description, r.Source, r.Reason)
	}
	b.WriteString("}\n")
}

func gofmt(src []byte) ([]byte, error) {
	out, err := format.Source(src)
	if err != nil {
		return src, fmt.Errorf("format generated code: %w", err)
	}
	return out, nil
}
