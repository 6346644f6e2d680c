package gen

// Types and the embedded spec come from oapi-codegen, the validators from our
// own generator (internal/codegen). `make generate` runs these lines.
//go:generate go tool oapi-codegen -config oapi-types.yaml ../openapi/forter.yaml
//go:generate go tool oapi-codegen -config oapi-spec.yaml ../openapi/forter.yaml
//go:generate go run ../internal/codegen/cmd/genvalidators -spec ../openapi/forter.yaml -rules ../openapi/rules.yaml -out validators.gen.go
