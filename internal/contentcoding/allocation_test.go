//go:build !race

// The race detector makes sync.Pool drop items at random: pooled decoders
// are measured without it.

package contentcoding

import (
	"strings"
	"testing"
)

// TestDecodeReusesDecoders: a warm decode into a buffer with room allocates
// nothing: decoders and their input readers are pooled.
func TestDecodeReusesDecoders(t *testing.T) {
	src := gz([]byte(strings.Repeat(`{"a":1}`, 400)))
	buf := make([]byte, 0, 8192)
	for range 3 {
		if _, err := Decode(buf[:0], Gzip, src, 1<<20); err != nil {
			t.Fatal(err)
		}
	}
	n := testing.AllocsPerRun(50, func() { _, _ = Decode(buf[:0], Gzip, src, 1<<20) })
	if n != 0 {
		t.Fatalf("%v allocations per warm gzip decode, want 0 (pooled decoders)", n)
	}
}
