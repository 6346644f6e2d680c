package main

import (
	"fmt"
	"io"
)

func runSandbox(_ []string, _ io.Writer, stderr io.Writer) int {
	fmt.Fprintln(stderr, "orderguard sandbox: not built yet")
	return 2
}
