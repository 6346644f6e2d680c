package main

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
	n  int // writes
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n++
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestAsyncWriterBatchesWholeLinesAndFlushesOnClose(t *testing.T) {
	out := &lockedBuffer{}
	w := newAsyncWriter(out, time.Hour, 1<<20) // no timed flush during the test
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 250 {
				_, _ = w.Write([]byte(strings.Repeat(string(rune('a'+g)), 10+i%7) + "\n"))
			}
		}()
	}
	wg.Wait()
	if got := out.String(); got != "" {
		t.Fatalf("written before a flush: %d bytes", len(got))
	}
	w.Close()
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 1000 {
		t.Fatalf("got %d lines, want 1000", len(lines))
	}
	for _, l := range lines {
		if strings.Trim(l, string(l[0])) != "" {
			t.Fatalf("a line was split or interleaved: %q", l)
		}
	}
	if out.n != 1 {
		t.Errorf("%d writes to the output, want 1 batch", out.n)
	}
}

func TestAsyncWriterFlushesWhenFull(t *testing.T) {
	out := &lockedBuffer{}
	w := newAsyncWriter(out, time.Hour, 64)
	defer w.Close()
	_, _ = w.Write(bytes.Repeat([]byte("x"), 100))
	if got := len(out.String()); got != 100 {
		t.Errorf("a write past the limit left %d bytes written, want 100", got)
	}
}

func TestAsyncWriterFlushesOnTime(t *testing.T) {
	out := &lockedBuffer{}
	w := newAsyncWriter(out, 10*time.Millisecond, 1<<20)
	defer w.Close()
	_, _ = w.Write([]byte("line\n"))
	deadline := time.Now().Add(5 * time.Second)
	for out.String() == "" {
		if time.Now().After(deadline) {
			t.Fatal("not flushed by the ticker within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
