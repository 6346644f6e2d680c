// Package spec loads and checks the OpenAPI documents in openapi/ with
// kin-openapi, and validates bodies against an operation's schemas the way
// kin-openapi does. kin-openapi is the project's oracle: the generated
// validators are tested against it, and `orderguard spec check` uses it.
//
// It is never on the proxy's request path.
package spec
