// Package standalone holds the checks that the repository stands alone: no
// tracked file reads or points at a folder beside the repository (the team's
// reading material, which a clone does not have), and the README's examples run as written
// against a real `orderguard serve` with `make run`'s defaults. It has no
// code of its own; its tests are the checks.
package standalone
