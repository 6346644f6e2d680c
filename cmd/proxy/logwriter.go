package main

import (
	"io"
	"sync"
	"time"
)

// asyncWriter buffers log lines and writes them in batches, so that the
// per-request log line costs a memory copy on the request path rather than a
// write system call. slog hands it one whole record per Write, so a flush
// never splits a line. Lines still buffered when the process is killed are
// lost (at most one flush interval); Close flushes them on a clean stop.
type asyncWriter struct {
	mu      sync.Mutex
	out     io.Writer
	buf     []byte
	limit   int // flush in Write when the buffer grows past this
	stop    chan struct{}
	stopped sync.WaitGroup
}

func newAsyncWriter(out io.Writer, every time.Duration, limit int) *asyncWriter {
	w := &asyncWriter{out: out, buf: make([]byte, 0, limit), limit: limit, stop: make(chan struct{})}
	w.stopped.Add(1)
	go func() {
		defer w.stopped.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				w.Flush()
			case <-w.stop:
				w.Flush()
				return
			}
		}
	}()
	return w
}

func (w *asyncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	if len(w.buf) >= w.limit {
		w.flushLocked()
	}
	return len(p), nil
}

// Flush writes what is buffered.
func (w *asyncWriter) Flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.flushLocked()
}

func (w *asyncWriter) flushLocked() {
	if len(w.buf) == 0 {
		return
	}
	_, _ = w.out.Write(w.buf) // a log that cannot be written must not stop the proxy
	if cap(w.buf) > 4*w.limit {
		w.buf = make([]byte, 0, w.limit) // drop a buffer a burst made huge
		return
	}
	w.buf = w.buf[:0]
}

// Close stops the background flusher after a last flush.
func (w *asyncWriter) Close() {
	close(w.stop)
	w.stopped.Wait()
}
