package main

import (
	"bytes"
	"testing"
)

// `orderguard version` and `orderguard --version` print the same line, which
// starts with the module version and names the commit. The line's fields are
// tested in internal/buildinfo; deploy's image test checks them against git
// in a binary built with -buildvcs=true.
func TestVersion(t *testing.T) {
	want := build().String() + "\n"
	for _, args := range [][]string{{"version"}, {"--version"}, {"-version"}} {
		var out, errOut bytes.Buffer
		if code := run(args, &out, &errOut); code != 0 || out.String() != want || errOut.Len() != 0 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 0, %q", args, code, out.String(), errOut.String(), want)
		}
	}
	version = "v9.9.9"
	defer func() { version = "" }()
	var out bytes.Buffer
	run([]string{"version"}, &out, &out)
	if !bytes.HasPrefix(out.Bytes(), []byte("orderguard v9.9.9 commit ")) {
		t.Errorf("with -X main.version: %q", out.String())
	}
}
