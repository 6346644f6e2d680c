// Package compiled is the spec taken at run time: the embedded spec or
// --spec, with --overlay documents (OpenAPI Overlay 1.0.0/1.1.0, applied in
// order by speakeasy-api/openapi/overlay), checked by kin-openapi with every
// $ref local, and compiled in-process by internal/codegen into validators
// with exactly the generated validators' contract (same reports, one pass,
// no allocation on a valid body). Live holds the program serving now and
// swaps it atomically on a reload.
//
// Settings: Config (--spec, --overlay, --max-spec-bytes,
// --spec-reload-interval, --engine) with its Settings and Check; lint and
// spec take the first three (SourceSettings).
package compiled
