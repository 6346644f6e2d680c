package lint

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/orderguard/orderguard/gen"
)

var orderIDMember = regexp.MustCompile(`"orderId"\s*:\s*"[^"]*"`)

// writeBenchDir writes n payloads made from the realworld bodies into dir,
// 100 per subdirectory, each with its own orderId (the bytes are otherwise
// kept: number spellings, key order, whitespace). It returns the total size.
func writeBenchDir(tb testing.TB, dir string, n int) int64 {
	tb.Helper()
	srcs, err := filepath.Glob(filepath.Join("testdata", "realworld", "*.json"))
	if err != nil || len(srcs) == 0 {
		tb.Fatalf("no realworld bodies: %v", err)
	}
	bodies := make([][]byte, len(srcs))
	for i, s := range srcs {
		if bodies[i], err = os.ReadFile(s); err != nil {
			tb.Fatal(err)
		}
	}
	var total int64
	for i := range n {
		sub := filepath.Join(dir, fmt.Sprintf("batch-%03d", i/100))
		if i%100 == 0 {
			if err := os.MkdirAll(sub, 0o755); err != nil {
				tb.Fatal(err)
			}
		}
		src := bodies[i%len(bodies)]
		done := false
		body := orderIDMember.ReplaceAllFunc(src, func(m []byte) []byte {
			if done {
				return m
			}
			done = true
			return fmt.Appendf(nil, `"orderId": "bench-%06d"`, i)
		})
		if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("payload-%05d.json", i)), body, 0o644); err != nil {
			tb.Fatal(err)
		}
		total += int64(len(body))
	}
	return total
}

// BenchmarkLintDir lints a directory of 10,000 realistic payloads end to end
// (discovery, reading, validation, the JSON report) with one worker and with
// one per core. Run: go test -run '^$' -bench LintDir -benchtime 5x ./internal/lint
func BenchmarkLintDir(b *testing.B) {
	const n = 10_000
	dir := b.TempDir()
	total := writeBenchDir(b, dir, n)
	for _, workers := range []int{1, 0} {
		name := "workers=all"
		if workers == 1 {
			name = "workers=1"
		}
		b.Run(name, func(b *testing.B) {
			l, err := New(Options{Operations: gen.Operations, Rules: gen.Rules, Workers: workers})
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(total)
			b.ReportAllocs()
			var payloads, errs int
			for b.Loop() {
				in, err := Discover([]string{dir}, nil)
				if err != nil {
					b.Fatal(err)
				}
				res, err := l.Lint(in)
				if err != nil {
					b.Fatal(err)
				}
				if err := Write(io.Discard, "json", res, FormatOptions{}); err != nil {
					b.Fatal(err)
				}
				payloads, errs = res.Summary.Payloads, res.Summary.Errors
			}
			if payloads != n {
				b.Fatalf("linted %d payloads, want %d", payloads, n)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/payload")
			b.ReportMetric(float64(errs), "errors")
		})
	}
}
