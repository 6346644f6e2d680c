// Package openapi embeds the specs of this directory, so that the compiled
// engine (internal/compiled) can start from the same documents gen/ was
// generated from, with overlays applied at run time.
package openapi

import _ "embed"

// Forter is forter.yaml: the operations, bodies and schemas.
//
//go:embed forter.yaml
var Forter []byte

// Rules is rules.yaml: the business rules, x-orderguard-rules by component schema.
//
//go:embed rules.yaml
var Rules []byte
