package outbox

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Why readiness needs more than a small write: bbolt writes copy-on-write
// into pages freed by earlier transactions, so a tiny probe transaction keeps
// succeeding on a full file system (it reuses the same few freed pages) while
// every order, which needs pages past the end of the data, fails with ENOSPC.
// The probe therefore also reserves Options.Headroom bytes of real disk
// blocks just past bbolt's high-water mark: where the next enqueues will
// write. Once reserved, the blocks stay with the file (bbolt writes into
// them later), so a steady probe does no I/O beyond its small transaction;
// on a full file system the reservation fails and readiness with it.

// Causes of a failed write, the cause label of
// orderguard_outbox_enqueue_errors_total (see Cause).
const (
	CauseNoSpace  = "no_space"  // ENOSPC, EDQUOT: the file system or quota is full
	CauseReadOnly = "read_only" // EROFS: remounted read-only (often after I/O errors)
	CauseIO       = "io"        // EIO and other errors from the disk
	CauseClosed   = "closed"    // the store is closed (shutdown)
	CauseInvalid  = "invalid"   // the request itself is not keepable (a bug in the caller)
)

// Causes lists every cause, for metrics that want each child present at zero.
var Causes = []string{CauseNoSpace, CauseReadOnly, CauseIO, CauseClosed, CauseInvalid}

// Cause names why an Enqueue or a probe failed. bbolt formats some of its
// errors with %s (the file resize error), so the errno is looked for in the
// text too.
func Cause(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrClosed), errors.Is(err, bolt.ErrDatabaseNotOpen):
		return CauseClosed
	case errors.Is(err, ErrInvalid):
		return CauseInvalid
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT),
		strings.Contains(err.Error(), syscall.ENOSPC.Error()), strings.Contains(err.Error(), syscall.EDQUOT.Error()):
		return CauseNoSpace
	case errors.Is(err, syscall.EROFS), strings.Contains(err.Error(), syscall.EROFS.Error()):
		return CauseReadOnly
	}
	return CauseIO
}

// DefaultHeadroom is reserved past the data when Options.Headroom is 0: room
// for one request of the proxy's default --max-body (1 MiB).
var DefaultHeadroom = HeadroomFor(1 << 20)

// HeadroomFor is the reservation that lets one request with a body of n
// bytes be kept: its entry (the body in base64, plus fields) and the few
// pages its transaction cannot take from bbolt's freelist.
func HeadroomFor(n int) int64 {
	return int64(n)*4/3 + 4*4096
}

// writable is the outcome of the last write: an enqueue or a probe, whichever
// came last. /readyz reads it.
type writable struct {
	mu     sync.Mutex
	err    error     // nil: the last write succeeded
	probed time.Time // when the last probe ran (zero: never)
	// need is the reservation that clears a failed enqueue: room for that
	// request (HeadroomFor its body). A probe that reserves less would say
	// ready while the same request still cannot be kept.
	need int64

	probing sync.Mutex // one probe at a time
	stop    chan struct{}
	done    chan struct{}
}

func (w *writable) set(err error, probe bool, need int64) {
	w.mu.Lock()
	w.err = err
	if probe {
		w.probed = time.Now()
	}
	if err == nil {
		w.need = 0
	} else {
		w.need = max(w.need, need)
	}
	w.mu.Unlock()
}

func (w *writable) reservation(headroom int64) int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return max(headroom, w.need)
}

func (w *writable) get() (error, time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err, w.probed
}

// noteEnqueue records an enqueue's outcome (the commit's own error). A request refused as invalid or
// after Close says nothing about the disk.
func (s *Store) noteEnqueue(err error, bodySize int) {
	if err != nil && (errors.Is(err, ErrInvalid) || errors.Is(err, ErrClosed) || s.closed.Load()) {
		return
	}
	if err != nil {
		// No order id here: /readyz answers anyone who reaches the admin port.
		err = fmt.Errorf("outbox: %q cannot keep requests: the last enqueue failed (%s): %w", s.path, Cause(err), err)
	}
	s.health.set(err, false, HeadroomFor(bodySize))
}

// Ready reports whether the outbox can keep a request now (for /readyz): the
// outcome of the last enqueue or probe, whichever came last. With
// Options.ProbeEvery set, a background probe keeps that outcome fresh and
// Ready does no I/O; without it, Ready probes when it is asked.
func (s *Store) Ready() error {
	if s.closed.Load() {
		return ErrClosed
	}
	if err, probed := s.health.get(); s.opts.ProbeEvery > 0 && !probed.IsZero() {
		// A probe stuck in its write (a hung disk, a lost NFS server)
		// leaves no outcome: its silence is the failure.
		if late := time.Since(probed); err == nil && late > 3*s.opts.ProbeEvery+time.Second {
			return fmt.Errorf("outbox: %q not writable: the write probe has not finished for %s (a hung disk?)", s.path, late.Round(time.Second))
		}
		return err
	}
	_ = s.Probe()
	err, _ := s.health.get()
	return err
}

// Probe checks that the outbox can write now, records the outcome for Ready
// and returns it: in one fsync'd transaction, it reserves Options.Headroom
// bytes of disk blocks past the data (where the next enqueues will write; or
// room for the request whose enqueue failed, if larger) and writes a probe key.
func (s *Store) Probe() error {
	if s.closed.Load() {
		return ErrClosed
	}
	s.health.probing.Lock()
	defer s.health.probing.Unlock()
	n := s.health.reservation(s.opts.Headroom)
	err := s.db.Update(func(tx *bolt.Tx) error {
		// Inside the write transaction: no other commit moves the
		// high-water mark (tx.Size) while the blocks past it are reserved.
		if err := reserve(s.path, tx.Size(), n); err != nil {
			return fmt.Errorf("reserve %d bytes past the data: %w", n, err)
		}
		return tx.Bucket(bucketProbe).Put([]byte("last"), []byte(time.Now().UTC().Format(time.RFC3339Nano)))
	})
	if err != nil {
		err = s.closedErr(err)
		if errors.Is(err, ErrClosed) {
			return err
		}
		err = fmt.Errorf("outbox: %q not writable (%s): %w", s.path, Cause(err), err)
	}
	s.health.set(err, true, 0)
	return err
}

// reserve allocates n bytes of disk blocks for the file at path from offset
// on, without changing its size (see reserveBlocks).
func reserve(path string, offset, n int64) error {
	if n <= 0 {
		return nil
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	// Closing this second descriptor keeps bbolt's lock: flock locks belong
	// to bbolt's own open file description.
	defer f.Close()
	return reserveBlocks(f, offset, n)
}

// startProbes runs Probe every Options.ProbeEvery until Close.
func (s *Store) startProbes() {
	if s.opts.ProbeEvery <= 0 {
		return
	}
	s.health.stop, s.health.done = make(chan struct{}), make(chan struct{})
	_ = s.Probe()
	go func() {
		defer close(s.health.done)
		t := time.NewTicker(s.opts.ProbeEvery)
		defer t.Stop()
		for {
			select {
			case <-s.health.stop:
				return
			case <-t.C:
				_ = s.Probe()
			}
		}
	}()
}

func (s *Store) stopProbes() {
	if s.health.stop != nil {
		close(s.health.stop)
		<-s.health.done
	}
}
