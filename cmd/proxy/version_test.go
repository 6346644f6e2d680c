package main

import (
	"bytes"
	"testing"
)

// `orderguard version` and `orderguard --version` print the same line, which
// is the build's identity. Its fields are tested in internal/buildinfo;
// deploy's image test checks them against git in the binary inside the image.
func TestVersion(t *testing.T) {
	want := build().String() + "\n"
	for _, args := range [][]string{{"version"}, {"--version"}, {"-version"}} {
		var out, errOut bytes.Buffer
		if code := run(args, &out, &errOut); code != 0 || out.String() != want || errOut.Len() != 0 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 0, %q", args, code, out.String(), errOut.String(), want)
		}
	}
}
