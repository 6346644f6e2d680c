//go:build race

package codegen

// raceEnabled thins the oracle mutations: under the race detector kin-openapi
// is ten times slower and the same code paths run with a quarter of them.
const raceEnabled = true
