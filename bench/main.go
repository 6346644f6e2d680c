// Command bench runs orderguard's standard latency suite: `go run ./bench --out
// bench/results` (make bench). It builds orderguard from ./cmd/proxy and starts the
// sandbox, the baseline proxy and orderguard as separate processes; the flags are
// those of `orderguard bench` (see bench/load/suite).
//
// The validator micro-benchmarks live beside it, in this package's _test files
// (make bench-micro).
package main

import (
	"os"

	"github.com/orderguard/orderguard/bench/load/suite"
)

func main() {
	os.Exit(suite.Main(os.Args[1:], os.Stdout, os.Stderr, false))
}
