package main

import (
	"io"

	"github.com/orderguard/orderguard/bench/load/suite"
)

// runBench is `orderguard bench`: the latency suite, with this binary serving the
// sandbox, the baseline proxy (hidden flag --serve-baseline) and the proxy.
func runBench(args []string, stdout, stderr io.Writer) int {
	return suite.Main(args, stdout, stderr, true)
}
