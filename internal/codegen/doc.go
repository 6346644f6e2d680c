// Package codegen generates the body validators of gen/ from the OpenAPI
// spec (read with kin-openapi): straight-line Go that walks the raw JSON
// bytes once through the scanner of internal/validate, with a switch on
// member names, a bit set for required and seen members, enums as switches,
// patterns compiled to DFAs (or regexp where a DFA would not be exact), and
// the business rules of x-orderguard-rules (rules.go documents the
// vocabulary) compiled into the same pass.
//
// The same validators are also built in-process, as closures and tables
// over the same scanner (compile.go, compile_rules.go: CompileOperations),
// for a spec given at run time (internal/compiled). Both consume one
// intermediate form of each schema's keywords (keywords.go: bounds, checks
// and messages per JSON type) and one analysis (check, operationBodies, the
// rules' collectRules/objectRules, inlineType, discriminatorPicks,
// ownKeywords, compileDFA, parsePattern); the walk over them is written
// twice, once printing Go and once building closures, and the agreement
// tests of internal/compiled and compile_suite_test.go hold the two to
// identical reports.
//
// It must never skip a keyword it does not understand: generation fails and
// names the schema's location instead, so the generated code never accepts
// what the spec rejects. Its output must be deterministic: `make generate`
// reproduces gen/validators.gen.go byte for byte.
package codegen
