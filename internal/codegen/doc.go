// Package codegen generates the body validators of gen/ from the OpenAPI
// spec: straight-line Go that walks the raw JSON bytes once through the
// scanner of internal/validate, with a switch on member names, a bit set for
// required members, enums as switches and patterns compiled once.
//
// It must never skip a keyword it does not understand: generation fails and
// names the schema's location instead, so the generated code never accepts
// what the spec rejects.
package codegen
