package contentcoding

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    Coding
		err     error
		message string // in the error, when err is set
	}{
		{"", Identity, nil, ""},
		{"identity", Identity, nil, ""},
		{"gzip", Gzip, nil, ""},
		{"GZip", Gzip, nil, ""},
		{"x-gzip", Gzip, nil, ""},
		{" gzip ", Gzip, nil, ""},
		{"deflate", Deflate, nil, ""},
		{"identity, gzip", Gzip, nil, ""},
		{"gzip,", Gzip, nil, ""},
		{"br", Identity, ErrUnsupported, `"br"`},
		{"zstd", Identity, ErrUnsupported, `"zstd"`},
		{"4111111111111111", Identity, ErrUnsupported, "an unregistered coding"},
		{"gzip, gzip", Identity, ErrUnsupported, "gzip applied over gzip"},
		{"deflate, gzip", Identity, ErrUnsupported, "gzip applied over deflate"},
		{"gzip, br", Identity, ErrUnsupported, `"br"`},
	} {
		got, err := Parse([]byte(tc.in))
		if got != tc.want || !errors.Is(err, tc.err) {
			t.Errorf("Parse(%q) = %v, %v; want %v, %v", tc.in, got, err, tc.want, tc.err)
			continue
		}
		if err != nil && !strings.Contains(err.Error(), tc.message) {
			t.Errorf("Parse(%q) error %q, want it to say %q", tc.in, err, tc.message)
		}
		if err != nil && strings.Contains(err.Error(), "4111") {
			t.Errorf("Parse(%q) echoes an unknown value: %v", tc.in, err)
		}
	}
}

// compress codes b with a writer of compress/*.
func compress(b []byte, writer func(io.Writer) io.WriteCloser) []byte {
	var buf bytes.Buffer
	w := writer(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func gz(b []byte) []byte {
	return compress(b, func(w io.Writer) io.WriteCloser { return gzip.NewWriter(w) })
}

func zl(b []byte) []byte {
	return compress(b, func(w io.Writer) io.WriteCloser { return zlib.NewWriter(w) })
}

func raw(b []byte) []byte {
	return compress(b, func(w io.Writer) io.WriteCloser { fw, _ := flate.NewWriter(w, flate.DefaultCompression); return fw })
}

func TestDecode(t *testing.T) {
	body := []byte(`{"orderId":"x","pad":"` + strings.Repeat("ab", 5000) + `"}`)
	bomb := gz(make([]byte, 10<<20)) // 10 MiB of zeros in about 10 KB
	for _, tc := range []struct {
		name string
		c    Coding
		src  []byte
		max  int
		want []byte
		err  error
	}{
		{"gzip", Gzip, gz(body), 1 << 20, body, nil},
		{"gzip exactly at the cap", Gzip, gz(body), len(body), body, nil},
		{"gzip one byte over the cap", Gzip, gz(body), len(body) - 1, nil, ErrTooLarge},
		{"deflate (zlib)", Deflate, zl(body), 1 << 20, body, nil},
		{"deflate (raw)", Deflate, raw(body), 1 << 20, body, nil},
		{"identity", Identity, body, 1 << 20, body, nil},
		{"identity over the cap", Identity, body, 10, nil, ErrTooLarge},
		{"bomb", Gzip, bomb, 1 << 20, nil, ErrTooLarge},
		{"plain JSON labelled gzip", Gzip, body, 1 << 20, nil, ErrCorrupt},
		{"plain JSON labelled deflate", Deflate, body, 1 << 20, nil, ErrCorrupt},
		{"truncated gzip", Gzip, gz(body)[:40], 1 << 20, nil, ErrCorrupt},
		{"empty gzip", Gzip, nil, 1 << 20, nil, ErrCorrupt},
		{"gzip with trailing garbage", Gzip, append(gz(body), "junk"...), 1 << 20, nil, ErrCorrupt},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Decode(nil, tc.c, tc.src, tc.max)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if tc.err == nil && !bytes.Equal(got, tc.want) {
				t.Fatalf("decoded %d bytes, want the %d sent", len(got), len(tc.want))
			}
			if len(got) > tc.max {
				t.Fatalf("decoded %d bytes past the cap of %d", len(got), tc.max)
			}
		})
	}
}

func BenchmarkDecodeGzip(b *testing.B) {
	body := []byte(`{"orderId":"x","pad":"` + strings.Repeat("ab", 1500) + `"}`)
	src := gz(body)
	buf := make([]byte, 0, 8192)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := Decode(buf[:0], Gzip, src, 1<<20); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzDecode: any bytes in any coding decode or fail with one of the
// package's errors, never past the cap, never a panic.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{"orderId":"1"}`, "", "\x1f\x8b", "\x78\x9c"} {
		f.Add([]byte(s))
		f.Add(gz([]byte(s)))
		f.Add(zl([]byte(s)))
		f.Add(raw([]byte(s)))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		for _, c := range []Coding{Identity, Gzip, Deflate} {
			out, err := Decode(nil, c, src, 4096)
			if len(out) > 4096 {
				t.Fatalf("%s: %d bytes past the cap", c, len(out))
			}
			if err != nil && !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrCorrupt) {
				t.Fatalf("%s: unexpected error %v", c, err)
			}
		}
		_, _ = Parse(src)
	})
}
