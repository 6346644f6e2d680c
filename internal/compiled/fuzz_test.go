package compiled

import (
	"os"
	"testing"
)

// FuzzCompiledMatchesGenerated: random bytes and mutations of every corpus
// body give the same report from the compiled and the generated
// validators, on every operation. The seeds (the corpora) run in go test.
func FuzzCompiledMatchesGenerated(f *testing.F) {
	for _, p := range corpusFiles(f) {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"orderId":"x","orderType":"WEBB"}`))
	f.Add([]byte(`[{"a":1e400},"\ud800",nul]`))
	p := embedded(f)
	f.Fuzz(func(t *testing.T, body []byte) { compare(t, p, "fuzz input", body) })
}
