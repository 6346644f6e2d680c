package main

import (
	"fmt"
	"io"
)

func runServe(_ []string, _ io.Writer, stderr io.Writer) int {
	fmt.Fprintln(stderr, "orderguard serve: not built yet")
	return 2
}
