package spec

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
)

var registerFormats sync.Once

// RegisterFormats makes kin-openapi check the string formats our specs use
// (ipv4, ipv6, email, uri, besides its built-in date and date-time). It changes
// kin-openapi's process-wide format table, once.
func RegisterFormats() {
	registerFormats.Do(func() {
		openapi3.DefineIPv4Format()
		openapi3.DefineIPv6Format()
		openapi3.DefineStringFormat("email", openapi3.FormatOfStringForEmail)
		openapi3.DefineStringFormatCallback("uri", func(s string) error {
			u, err := url.Parse(s)
			if err != nil || !u.IsAbs() {
				return errors.New("not an absolute URI")
			}
			return nil
		})
	})
}

// Load reads one OpenAPI document from a file and resolves its references.
// External references are refused: each document stands alone.
func Load(path string) (*openapi3.T, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile(path)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	return doc, nil
}

// LoadData reads one OpenAPI document from bytes (the embedded spec).
func LoadData(data []byte) (*openapi3.T, error) {
	doc, err := openapi3.NewLoader().LoadFromData(data)
	if err != nil {
		return nil, fmt.Errorf("load spec: %w", err)
	}
	return doc, nil
}

// Validate checks a loaded document: its structure, every resolved $ref,
// formats, patterns and every example against its schema.
func Validate(doc *openapi3.T) error {
	RegisterFormats()
	return doc.Validate(context.Background(),
		openapi3.EnableExamplesValidation(),
		openapi3.EnableSchemaFormatValidation(),
		openapi3.EnableSchemaPatternValidation(),
		openapi3.EnableMultiError(),
	)
}

// Body says which body of an operation to check.
type Body int

const (
	Request  Body = iota // the request body
	Response             // the 200 response body
	Error                // the 400 response body (Forter's error shape)
)

func (b Body) String() string {
	switch b {
	case Request:
		return "request"
	case Response:
		return "response"
	case Error:
		return "error"
	}
	return "unknown"
}

// Schema returns the JSON schema of one body of the operation with the given
// operationId.
func Schema(doc *openapi3.T, operationID string, body Body) (*openapi3.Schema, error) {
	for _, path := range doc.Paths.InMatchingOrder() {
		for _, o := range doc.Paths.Value(path).Operations() {
			if o.OperationID != operationID {
				continue
			}
			return bodySchema(o, body)
		}
	}
	return nil, fmt.Errorf("no operation %q in the spec", operationID)
}

func bodySchema(o *openapi3.Operation, body Body) (*openapi3.Schema, error) {
	var content openapi3.Content
	switch body {
	case Request:
		if o.RequestBody == nil || o.RequestBody.Value == nil {
			return nil, fmt.Errorf("operation %s has no request body", o.OperationID)
		}
		content = o.RequestBody.Value.Content
	case Response, Error:
		status := 200
		if body == Error {
			status = 400
		}
		r := o.Responses.Status(status)
		if r == nil || r.Value == nil {
			return nil, fmt.Errorf("operation %s has no %d response", o.OperationID, status)
		}
		content = r.Value.Content
	}
	mt := content.Get("application/json")
	if mt == nil || mt.Schema == nil || mt.Schema.Value == nil {
		return nil, fmt.Errorf("operation %s: no application/json %s schema", o.OperationID, body)
	}
	return mt.Schema.Value, nil
}

// OperationIDs lists the operationIds of the document, sorted.
func OperationIDs(doc *openapi3.T) []string {
	var ids []string
	for _, path := range doc.Paths.InMatchingOrder() {
		for _, o := range doc.Paths.Value(path).Operations() {
			ids = append(ids, o.OperationID)
		}
	}
	sort.Strings(ids)
	return ids
}

// CheckJSON validates body against schema the way kin-openapi does (formats on,
// every error collected). It returns nil when the body is valid.
func CheckJSON(schema *openapi3.Schema, body []byte, asResponse bool) error {
	RegisterFormats()
	var value any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&value); err != nil {
		return fmt.Errorf("decode body: %w", err)
	}
	if dec.More() {
		return errors.New("decode body: bytes after the document")
	}
	value = plainNumbers(value)
	opts := []openapi3.SchemaValidationOption{openapi3.MultiErrors(), openapi3.EnableFormatValidation()}
	if asResponse {
		opts = append(opts, openapi3.VisitAsResponse())
	} else {
		opts = append(opts, openapi3.VisitAsRequest())
	}
	return schema.VisitJSON(value, opts...)
}

// plainNumbers turns json.Number into float64 (or int64 when exact), the types
// kin-openapi's VisitJSON expects.
func plainNumbers(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			t[k] = plainNumbers(e)
		}
	case []any:
		for i, e := range t {
			t[i] = plainNumbers(e)
		}
	case json.Number:
		f, _ := t.Float64()
		return f
	}
	return v
}

// ErrorLines flattens a kin-openapi error (possibly a MultiError) into one line
// per problem, without duplicate lines.
func ErrorLines(err error) []string {
	if err == nil {
		return nil
	}
	var lines []string
	var walk func(error)
	walk = func(e error) {
		var me openapi3.MultiError
		if errors.As(e, &me) {
			for _, inner := range me {
				walk(inner)
			}
			return
		}
		line := strings.Join(strings.Fields(e.Error()), " ")
		// kin-openapi appends the whole schema and value; the error says enough without them
		// (and a value may be personal data).
		if i := strings.Index(line, " Schema: "); i > 0 {
			line = line[:i]
		}
		lines = append(lines, line)
	}
	walk(err)
	seen := map[string]bool{}
	out := lines[:0]
	for _, l := range lines {
		if !seen[l] {
			seen[l] = true
			out = append(out, l)
		}
	}
	return out
}
