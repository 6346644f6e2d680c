package codegen

import (
	"context"
	"fmt"

	"github.com/getkin/kin-openapi/openapi3"
)

// Load reads and checks a spec file the way the rest of the project does
// (kin-openapi's loader, external references allowed).
func Load(path string) (*openapi3.T, error) {
	l := openapi3.NewLoader()
	l.IsExternalRefsAllowed = true
	doc, err := l.LoadFromFile(path)
	if err != nil {
		return nil, fmt.Errorf("load spec %q: %w", path, err)
	}
	if err := doc.Validate(context.Background(), openapi3.DisableExamplesValidation()); err != nil {
		return nil, fmt.Errorf("spec %q is not valid OpenAPI: %w", path, err)
	}
	return doc, nil
}
