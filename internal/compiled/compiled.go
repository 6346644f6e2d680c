package compiled

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/speakeasy-api/openapi/overlay"
	"gopkg.in/yaml.v3"

	"github.com/orderguard/orderguard/internal/codegen"
	"github.com/orderguard/orderguard/internal/spec"
	"github.com/orderguard/orderguard/internal/validate"
	"github.com/orderguard/orderguard/openapi"
)

// DefaultMaxSpecBytes caps each spec and overlay file (--max-spec-bytes).
const DefaultMaxSpecBytes = 4 << 20

// MaxSchemaDepth is the deepest nesting of schemas (properties, items,
// compositions, followed through $ref until a cycle) a spec may have.
const MaxSchemaDepth = 64

// Sources say where the spec comes from.
type Sources struct {
	Spec     string   // an OpenAPI 3.0 document with x-orderguard-rules; "" is the embedded spec (openapi/forter.yaml + rules.yaml)
	Overlays []string // OpenAPI Overlay 1.0.0/1.1.0 documents, applied in order
	MaxBytes int64    // cap of each file; 0 is DefaultMaxSpecBytes
}

// Source names the sources as one line (logs, metrics, GET /spec).
func (s Sources) Source() string {
	parts := []string{"embedded"}
	if s.Spec != "" {
		parts[0] = s.Spec
	}
	for _, o := range s.Overlays {
		parts = append(parts, "overlay "+o)
	}
	return strings.Join(parts, " + ")
}

// Program is one spec compiled: the operations' validators and the rules.
type Program struct {
	Operations []validate.Operation
	Rules      []validate.RuleInfo
	Source     string        // Sources.Source
	SHA256     string        // of the spec as compiled (after overlays), hex
	Compile    time.Duration // reading, overlays, checks and compilation
	Spec       []byte        // the spec as compiled, YAML
	doc        *openapi3.T
}

// OperationByID returns the operation with the given operationId.
func (p *Program) OperationByID(id string) (validate.Operation, bool) {
	for _, op := range p.Operations {
		if op.ID == id {
			return op, true
		}
	}
	return validate.Operation{}, false
}

// Load reads the sources, applies the overlays, checks the result with
// kin-openapi (every $ref local: the sidecar fetches nothing) and compiles
// it. Errors name the file and the problem.
func Load(src Sources) (*Program, error) {
	start := time.Now()
	max := src.MaxBytes
	if max <= 0 {
		max = DefaultMaxSpecBytes
	}
	var root yaml.Node
	if src.Spec == "" {
		if err := yaml.Unmarshal(openapi.Forter, &root); err != nil {
			return nil, fmt.Errorf("embedded spec: %w", err)
		}
		if err := mergeRules(&root, openapi.Rules); err != nil {
			return nil, fmt.Errorf("embedded rules: %w", err)
		}
	} else {
		b, err := readCapped(src.Spec, max)
		if err != nil {
			return nil, err
		}
		if err := yaml.Unmarshal(b, &root); err != nil {
			return nil, fmt.Errorf("%s: parse: %w", src.Spec, err)
		}
	}
	for _, path := range src.Overlays {
		if err := applyOverlay(&root, path, max); err != nil {
			return nil, err
		}
	}
	out, err := yaml.Marshal(&root)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", src.Source(), err)
	}
	name := src.Spec
	if name == "" {
		name = "embedded spec"
	}
	if len(src.Overlays) > 0 {
		name += " with overlays " + strings.Join(src.Overlays, ", ")
	}
	p, err := compileBytes(out, name)
	if err != nil {
		return nil, err
	}
	p.Source = src.Source()
	p.Compile = time.Since(start)
	return p, nil
}

func compileBytes(b []byte, name string) (*Program, error) {
	// LoadFromData with external references disallowed: a file or remote
	// $ref is refused by kin-openapi before anything is fetched.
	l := openapi3.NewLoader()
	l.IsExternalRefsAllowed = false
	doc, err := l.LoadFromData(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if err := localRefs(doc); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	spec.RegisterFormats()
	if err := doc.Validate(context.Background(), openapi3.DisableExamplesValidation()); err != nil {
		return nil, fmt.Errorf("%s: not valid OpenAPI: %w", name, err)
	}
	if err := checkDepth(doc); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	c, err := codegen.CompileOperations(doc)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	sum := sha256.Sum256(b)
	return &Program{Operations: c.Operations, Rules: c.Rules, SHA256: hex.EncodeToString(sum[:]), Spec: b, doc: doc}, nil
}

func readCapped(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err // names the path
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s: larger than %d bytes (--max-spec-bytes)", path, max)
	}
	return b, nil
}

// applyOverlay applies one Overlay document. Every action's target must
// select something (strict): a typo in a target is an error, not a no-op.
// A 1.0.0 overlay's targets are read as RFC 9535 JSONPath, as 1.1.0's are.
func applyOverlay(root *yaml.Node, path string, max int64) error {
	b, err := readCapped(path, max)
	if err != nil {
		return err
	}
	o, err := overlay.ParseReader(bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("%s: parse overlay: %w", path, err)
	}
	if err := o.Validate(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if o.JSONPathVersion == "" {
		o.JSONPathVersion = overlay.JSONPathRFC9535
	}
	for i, a := range o.Actions {
		if !a.Remove && a.Update.IsZero() {
			return fmt.Errorf("%s: action %d (target %s): only update and remove actions are supported", path, i, a.Target)
		}
	}
	if _, err := o.ApplyToStrict(root); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// mergeRules appends rules.yaml's x-orderguard-rules to the schemas of the
// spec's components, as codegen.ApplyRules does for make generate.
func mergeRules(root *yaml.Node, rules []byte) error {
	var ov yaml.Node
	if err := yaml.Unmarshal(rules, &ov); err != nil {
		return err
	}
	schemas := child(child(doc(&ov), "components"), "schemas")
	target := child(child(doc(root), "components"), "schemas")
	if schemas == nil || target == nil {
		return errors.New("no components.schemas")
	}
	for i := 0; i+1 < len(schemas.Content); i += 2 {
		name, body := schemas.Content[i].Value, schemas.Content[i+1]
		s := child(target, name)
		if s == nil {
			return fmt.Errorf("schema %q is not in the spec's components", name)
		}
		for j := 0; j+1 < len(body.Content); j += 2 {
			if k := body.Content[j].Value; k != "x-orderguard-rules" {
				return fmt.Errorf("#/components/schemas/%s: only x-orderguard-rules may be given here, not %q", name, k)
			}
		}
		list := child(body, "x-orderguard-rules")
		if list == nil || list.Kind != yaml.SequenceNode {
			return fmt.Errorf("#/components/schemas/%s: want a list of x-orderguard-rules", name)
		}
		if old := child(s, "x-orderguard-rules"); old != nil {
			old.Content = append(old.Content, list.Content...)
			continue
		}
		s.Content = append(s.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "x-orderguard-rules"}, list)
	}
	return nil
}

func doc(n *yaml.Node) *yaml.Node {
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		return n.Content[0]
	}
	return n
}

func child(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// localRefs refuses any $ref that does not point into the document itself.
func localRefs(doc *openapi3.T) error {
	var bad error
	seen := map[*openapi3.Schema]bool{}
	var walk func(r *openapi3.SchemaRef, loc string)
	walk = func(r *openapi3.SchemaRef, loc string) {
		if r == nil || bad != nil {
			return
		}
		if r.Ref != "" && !strings.HasPrefix(r.Ref, "#/") {
			bad = fmt.Errorf("%s: $ref %q is not local to the document; the sidecar fetches nothing", loc, r.Ref)
			return
		}
		eachSub(r, loc, seen, walk)
	}
	eachSchema(doc, walk)
	return bad
}

// checkDepth refuses schemas nested deeper than MaxSchemaDepth.
func checkDepth(doc *openapi3.T) error {
	var bad error
	onPath := map[*openapi3.Schema]bool{}
	var walk func(r *openapi3.SchemaRef, loc string, depth int)
	walk = func(r *openapi3.SchemaRef, loc string, depth int) {
		if r == nil || r.Value == nil || bad != nil || onPath[r.Value] {
			return
		}
		if depth > MaxSchemaDepth {
			bad = fmt.Errorf("%s: schemas nested deeper than %d", loc, MaxSchemaDepth)
			return
		}
		onPath[r.Value] = true
		eachSub(r, loc, nil, func(sub *openapi3.SchemaRef, l string) { walk(sub, l, depth+1) })
		delete(onPath, r.Value)
	}
	eachSchema(doc, func(r *openapi3.SchemaRef, loc string) { walk(r, loc, 1) })
	return bad
}

// eachSchema calls f on every component schema and every body schema.
func eachSchema(doc *openapi3.T, f func(*openapi3.SchemaRef, string)) {
	if doc.Components != nil {
		for _, n := range sortedKeys(doc.Components.Schemas) {
			f(doc.Components.Schemas[n], "#/components/schemas/"+n)
		}
	}
	if doc.Paths == nil {
		return
	}
	for p, item := range doc.Paths.Map() {
		for m, op := range item.Operations() {
			loc := "#/paths/" + p + "/" + strings.ToLower(m)
			if op.RequestBody != nil && op.RequestBody.Value != nil {
				for ct, mt := range op.RequestBody.Value.Content {
					f(mt.Schema, loc+"/requestBody/content/"+ct+"/schema")
				}
			}
			if op.Responses != nil {
				for code, rr := range op.Responses.Map() {
					if rr.Value != nil {
						for ct, mt := range rr.Value.Content {
							f(mt.Schema, loc+"/responses/"+code+"/content/"+ct+"/schema")
						}
					}
				}
			}
		}
	}
}

// eachSub calls f on the direct subschemas of r (once per schema when seen is given).
func eachSub(r *openapi3.SchemaRef, loc string, seen map[*openapi3.Schema]bool, f func(*openapi3.SchemaRef, string)) {
	s := r.Value
	if s == nil || (seen != nil && seen[s]) {
		return
	}
	if seen != nil {
		seen[s] = true
	}
	for _, k := range sortedKeys(s.Properties) {
		f(s.Properties[k], loc+"/properties/"+k)
	}
	if s.Items != nil {
		f(s.Items, loc+"/items")
	}
	if s.AdditionalProperties.Schema != nil {
		f(s.AdditionalProperties.Schema, loc+"/additionalProperties")
	}
	if s.Not != nil {
		f(s.Not, loc+"/not")
	}
	for _, l := range []struct {
		kw   string
		list openapi3.SchemaRefs
	}{{"allOf", s.AllOf}, {"anyOf", s.AnyOf}, {"oneOf", s.OneOf}} {
		for i, sub := range l.list {
			f(sub, fmt.Sprintf("%s/%s/%d", loc, l.kw, i))
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
