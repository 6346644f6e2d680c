package lint

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/orderguard/orderguard/gen"
	"github.com/orderguard/orderguard/internal/validate"
)

// checkPositions requires every violation's line and column to be those of
// its offset in data (the file, or a HAR entry's postData text).
func checkPositions(t *testing.T, name string, data []byte, p Payload) {
	t.Helper()
	for _, v := range p.Violations {
		if v.Offset < 0 || v.Offset > len(data) {
			t.Errorf("%s: offset %d outside the %d bytes", name, v.Offset, len(data))
			continue
		}
		line := 1 + bytes.Count(data[:v.Offset], []byte{'\n'})
		col := v.Offset - (bytes.LastIndexByte(data[:v.Offset], '\n') + 1) + 1
		if v.Line != line || v.Column != col {
			t.Errorf("%s %s %s: reported %d:%d, offset %d is at %d:%d", name, v.Rule, v.Pointer, v.Line, v.Column, v.Offset, line, col)
		}
	}
}

// checkHARFile requires the file position of each violation in a HAR entry
// to be the character of the recording that encodes the body byte at its
// offset, with a line and column that match the file offset.
func checkHARFile(t *testing.T, name string, data, body []byte, p Payload) {
	t.Helper()
	for _, v := range p.Violations {
		fo := v.File.Offset
		if fo <= 0 || fo >= len(data) {
			t.Errorf("%s entry %d: file offset %d outside the recording", name, p.Index, fo)
			continue
		}
		line := 1 + bytes.Count(data[:fo], []byte{'\n'})
		col := fo - (bytes.LastIndexByte(data[:fo], '\n') + 1) + 1
		if v.File.Line != line || v.File.Column != col {
			t.Errorf("%s entry %d: file position %d:%d, offset %d is at %d:%d", name, p.Index, v.File.Line, v.File.Column, fo, line, col)
		}
		if v.Offset < len(body) {
			want := body[v.Offset]
			got := data[fo]
			if want == '"' || want == '\\' || want == '\n' {
				got = data[fo+1] // escaped in the recording
				want = map[byte]byte{'"': '"', '\\': '\\', '\n': 'n'}[want]
			}
			if got != want {
				t.Errorf("%s entry %d: file offset %d holds %q, body offset %d holds %q", name, p.Index, fo, data[fo], v.Offset, body[v.Offset])
			}
		}
	}
}

// Positions agree with offsets for every corpus file, NDJSON lines included.
func TestPositionsMatchOffsets(t *testing.T) {
	l, err := New(Options{Operations: gen.Operations, Rules: gen.Rules})
	if err != nil {
		t.Fatal(err)
	}
	in, err := Discover([]string{corpus}, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := l.Lint(in)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range res.Files {
		data, err := os.ReadFile(filepath.FromSlash(f.Path))
		if err != nil {
			t.Fatal(err)
		}
		if f.Type == TypeHAR {
			var entries []harEntry
			if err := eachHAREntry(data, nil, func(e harEntry) { entries = append(entries, e) }); err != nil {
				t.Fatal(err)
			}
			for i, p := range f.Payloads {
				checkPositions(t, f.Path, entries[i].Body, p)
				checkHARFile(t, f.Path, data, entries[i].Body, p)
				n += len(p.Violations)
			}
			continue
		}
		for _, p := range f.Payloads {
			checkPositions(t, f.Path, data, p)
			n += len(p.Violations)
		}
	}
	if n == 0 {
		t.Fatal("the corpus produced no violation to check")
	}
}

// FuzzNDJSON feeds arbitrary bytes as an NDJSON file and as a JSON file to the
// real validators: no panic, and positions always match offsets.
func FuzzNDJSON(f *testing.F) {
	for _, name := range []string{"ndjson/events.ndjson", "invalid/order-faults.json", "invalid/truncated.json", "valid/status-sent.json"} {
		b, err := os.ReadFile(filepath.Join(corpus, filepath.FromSlash(name)))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("\n\n{\"eventTime\":1,\r\n\"updatedStatus\":\"x\"}\n{"))
	l, err := New(Options{Operations: gen.Operations, Rules: gen.Rules})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var rep validate.Report
		for _, typ := range []FileType{TypeNDJSON, TypeJSON, TypeHAR} {
			fr, _, err := l.lintInput(Input{Path: "fuzz", Type: typ, data: data}, &rep, nil)
			if typ == TypeHAR {
				continue // a container error is fine; no panic is the property
			}
			if err != nil {
				t.Fatalf("%s: %v", typ, err)
			}
			for _, p := range fr.Payloads {
				checkPositions(t, typ.String(), data, p)
			}
		}
		_ = sniff(data)
		_ = topLevelHas(data, "eventTime")
	})
}
