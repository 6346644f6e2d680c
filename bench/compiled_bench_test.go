package main_test

import (
	"path/filepath"
	"testing"

	"github.com/orderguard/orderguard/bench/load"
	"github.com/orderguard/orderguard/internal/compiled"
	"github.com/orderguard/orderguard/internal/validate"
)

// BenchmarkCompiledLoadMix validates the load mix with both engines in the
// same run: the generated validators and the spec compiled at start-up
// (internal/compiled), warm and with cold caches. Target: compiled ≤ 1.5×
// generated, 0 allocs a body.
func BenchmarkCompiledLoadMix(b *testing.B) {
	reqs, _, err := load.ReadDir(filepath.Join("testdata", "load"), 1)
	if err != nil {
		b.Fatal(err)
	}
	prog, err := compiled.Load(compiled.Sources{})
	if err != nil {
		b.Fatal(err)
	}
	type payload struct {
		body     []byte
		gen, cmp validate.Operation
	}
	var mix []payload
	var total int64
	for _, r := range reqs {
		g := operationOf(b, r)
		c, ok := prog.OperationByID(g.ID)
		if !ok {
			b.Fatalf("compiled spec has no %s", g.ID)
		}
		mix = append(mix, payload{r.Body, g, c})
		total += int64(len(r.Body))
	}
	mean := total / int64(len(mix))
	var r validate.Report
	b.Run("generated", func(b *testing.B) {
		benchWarm(b, mean, len(mix), func(i int) { r.Reset(); mix[i].gen.Request(mix[i].body, &r) })
	})
	b.Run("compiled", func(b *testing.B) {
		benchWarm(b, mean, len(mix), func(i int) { r.Reset(); mix[i].cmp.Request(mix[i].body, &r) })
	})
	b.Run("generated-cold", func(b *testing.B) {
		benchCold(b, mean, len(mix), func(i int) { r.Reset(); mix[i].gen.Request(mix[i].body, &r) })
	})
	b.Run("compiled-cold", func(b *testing.B) {
		benchCold(b, mean, len(mix), func(i int) { r.Reset(); mix[i].cmp.Request(mix[i].body, &r) })
	})
}

// BenchmarkCompileEmbedded is the start-up cost of the compiled engine:
// the embedded spec read, checked and compiled (target ≤ 100 ms).
func BenchmarkCompileEmbedded(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := compiled.Load(compiled.Sources{}); err != nil {
			b.Fatal(err)
		}
	}
}
