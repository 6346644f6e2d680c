// Package gen holds everything generated from openapi/: the oapi-codegen types
// (types.gen.go), the embedded spec (spec.gen.go) and the single-pass
// validators (validators.gen.go). Never edit a *.gen.go file by hand: change
// openapi/ or the generators and run `make generate`.
package gen
