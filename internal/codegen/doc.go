// Package codegen generates the body validators of gen/ from the OpenAPI
// spec (read with kin-openapi): straight-line Go that walks the raw JSON
// bytes once through the scanner of internal/validate, with a switch on
// member names, a bit set for required and seen members, enums as switches,
// patterns compiled to DFAs (or regexp where a DFA would not be exact), and
// the business rules of x-orderguard-rules (rules.go documents the
// vocabulary) compiled into the same pass.
//
// It must never skip a keyword it does not understand: generation fails and
// names the schema's location instead, so the generated code never accepts
// what the spec rejects. Its output must be deterministic: `make generate`
// reproduces gen/validators.gen.go byte for byte.
package codegen
