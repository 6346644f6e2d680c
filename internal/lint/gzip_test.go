package lint

import (
	"bytes"
	"compress/gzip"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func gzipString(t *testing.T, s string) string {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if _, err := w.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestGzipInputs is issue 16.4 for lint: x.json.gz (and .ndjson.gz, .har.gz)
// is picked up by a directory walk and linted decompressed, with the same
// findings and positions as the file itself; a .gz that is not gzip, or
// decompresses past the cap, is an error naming the file.
func TestGzipInputs(t *testing.T) {
	dir := t.TempDir()
	order := `{"orderId":"b","orderType":"BAD"}`
	lines := "{\"orderId\":\"a\",\"orderType\":\"WEB\"}\n{\"orderType\":\"BAD\"}\n"
	writeFiles(t, dir, map[string]string{
		"plain/x.json":       order,
		"plain/y.ndjson":     lines,
		"gz/x.json.gz":       gzipString(t, order),
		"gz/y.ndjson.GZ":     gzipString(t, lines),
		"gz/notes.txt.gz":    gzipString(t, "not a payload"),
		"bad/broken.json.gz": order,
		"big/big.json.gz":    gzipString(t, `{"orderId":"`+strings.Repeat("1", 4096)+`"}`),
	})
	l := newFake(t, Options{})
	plain := lintPaths(t, l, filepath.Join(dir, "plain"))
	gz := lintPaths(t, l, filepath.Join(dir, "gz"))
	if len(gz.Files) != 2 || gz.Files[0].Type != TypeJSON || gz.Files[1].Type != TypeNDJSON {
		t.Fatalf("the walk found %+v, want x.json.gz (json) and y.ndjson.GZ (ndjson)", gz.Files)
	}
	if got, want := positions(gz), positions(plain); len(want) == 0 || !reflect.DeepEqual(got, want) {
		t.Errorf("gzip findings %+v\nwant the plain files' %+v", got, want)
	}
	if gz.Summary != plain.Summary {
		t.Errorf("summary %+v, want %+v", gz.Summary, plain.Summary)
	}

	for _, tc := range []struct{ path, want string }{
		{"bad/broken.json.gz", "labelled gzip but not gzip data"},
		{"big/big.json.gz", "once decompressed"},
	} {
		saved := maxDecompressed
		maxDecompressed = 1024
		in, err := Discover([]string{filepath.Join(dir, tc.path)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = l.Lint(in)
		maxDecompressed = saved
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), filepath.Base(tc.path)) {
			t.Errorf("%s: %v, want an error naming the file and saying %q", tc.path, err, tc.want)
		}
	}

	in, err := Discover([]string{"-"}, strings.NewReader(gzipString(t, lines)))
	if err != nil {
		t.Fatal(err)
	}
	if in[0].Type != TypeNDJSON {
		t.Errorf("gzip on stdin typed %s, want ndjson (sniffed decompressed)", in[0].Type)
	}
}
