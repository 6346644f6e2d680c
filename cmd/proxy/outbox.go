package main

import (
	"fmt"
	"io"
)

func runOutbox(_ []string, _ io.Writer, stderr io.Writer) int {
	fmt.Fprintln(stderr, "orderguard outbox: not built yet")
	return 2
}
