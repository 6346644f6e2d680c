package codegen

import "github.com/getkin/kin-openapi/openapi3"

// The spec extensions that carry business rules.
const (
	ruleExt = "x-orderguard-rules"
	panExt  = "x-orderguard-full-card"
)

type ruleDecl struct {
	ID, Severity, Description, Source string
}

// objRules is what the rules of one object schema need emitted.
type objRules struct{}

func (g *Generator) objectRules(s *openapi3.Schema, loc string) objRules { return objRules{} }
func (objRules) needed() bool                                            { return false }
func (objRules) member(g *Generator, name string)                        {}
func (objRules) end(g *Generator)                                        {}
func (g *Generator) panCheck(s *openapi3.Schema) bool                    { return false }
func (g *Generator) hasNumberRules(s *openapi3.Schema) bool              { return false }
func (g *Generator) numberRules(s *openapi3.Schema, loc string)          {}
