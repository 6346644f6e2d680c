// Package lint runs the generated validators over payload files — JSON,
// NDJSON and HAR recordings — in parallel, and writes the findings in the
// formats CI systems read: text, JSON, SARIF 2.1.0, JUnit XML and GitHub
// workflow commands.
//
// It receives the validators and rule metadata as configuration
// ([]validate.Operation, []validate.RuleInfo) so that it does not depend on
// gen/; cmd/proxy wires the generated ones in.
//
// It must never echo a submitted value: messages come from the validators,
// which name expectations only, and this package adds positions, pointers and
// rule ids, never body bytes, URLs or header values of a recording.
package lint
