package outbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/orderguard/orderguard/internal/testfs"
)

// fullDiskOrder is about the size of a real order (the corpus's are 1.4-17 KB).
var fullDiskOrder = `{"orderId":"%s","pad":"` + strings.Repeat("x", 3000) + `"}`

// TestReadyOnAFullDisk is issue 16.2 at the store: on a full 64 KiB tmpfs
// the probe fails as soon as the next order could not be kept, an enqueue
// that fails is counted by its cause and keeps Ready failing, and freeing
// space makes Ready pass again. Before, Ready rewrote one small key into the
// pages bbolt had just freed and answered nil throughout.
func TestReadyOnAFullDisk(t *testing.T) {
	dir := testfs.Tmpfs(t, 64<<10)
	s, err := Open(filepath.Join(dir, "outbox.db"), Options{Headroom: HeadroomFor(len(fullDiskOrder))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if err := s.Ready(); err != nil {
		t.Fatalf("Ready on an empty tmpfs: %v", err)
	}
	free := testfs.Fill(t, dir)

	kept := 0
	var failed error
	for i := range 50 {
		if err := s.Enqueue(order("orderV2", fmt.Sprint("full-", i), fmt.Sprintf(fullDiskOrder, i))); err != nil {
			failed = err
			break
		}
		kept++
	}
	if failed == nil {
		t.Fatalf("50 orders kept on a full 64 KiB tmpfs: the test does not fill it")
	}
	if kept == 0 {
		t.Fatalf("no order kept: the headroom reserved before the disk filled was not used (%v)", failed)
	}
	if c := Cause(failed); c != CauseNoSpace {
		t.Errorf("Cause(%v) = %q, want %q", failed, c, CauseNoSpace)
	}
	err = s.Ready()
	if err == nil || !strings.Contains(err.Error(), "no_space") {
		t.Fatalf("Ready after an enqueue failed for lack of space = %v, want a no_space failure", err)
	}
	if strings.Contains(err.Error(), "full-") {
		t.Errorf("Ready's error names an order id (it is served to anyone on the admin port): %v", err)
	}
	// The probe alone (no enqueue since) keeps failing while the disk is full.
	if err := s.Probe(); err == nil || Cause(err) != CauseNoSpace {
		t.Fatalf("Probe on a full disk = %v, want no_space", err)
	}

	free()
	if err := s.Ready(); err != nil {
		t.Fatalf("Ready after space was freed: %v", err)
	}
	if err := s.Enqueue(order("orderV2", "after", fmt.Sprintf(fullDiskOrder, 999))); err != nil {
		t.Fatalf("enqueue after Ready said yes: %v", err)
	}
	st, err := s.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.Pending != kept+1 {
		t.Errorf("outbox holds %d, want the %d kept before the disk filled and the one after", st.Pending, kept)
	}
}

// TestProbeInBackground: with ProbeEvery, Ready does no I/O and follows the
// background probe, which notices a full disk without any enqueue.
func TestProbeInBackground(t *testing.T) {
	dir := testfs.Tmpfs(t, 64<<10)
	s, err := Open(filepath.Join(dir, "outbox.db"), Options{Headroom: 16 << 10, ProbeEvery: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if err := s.Ready(); err != nil {
		t.Fatalf("Ready: %v", err)
	}
	// The first probe reserved its headroom before the disk filled; ask
	// for more, as after a failed enqueue of a large request, so that only
	// the disk can answer.
	free := testfs.Fill(t, dir)
	s.health.mu.Lock()
	s.health.need = 48 << 10
	s.health.mu.Unlock()
	waitFor(t, "Ready to fail on a full disk", func() bool { return s.Ready() != nil })
	free()
	s.health.mu.Lock()
	s.health.need = 0
	s.health.mu.Unlock()
	waitFor(t, "Ready to pass once space is freed", func() bool { return s.Ready() == nil })
}

func TestCause(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{nil, ""},
		{ErrClosed, CauseClosed},
		{fmt.Errorf("outbox: enqueue: %w", ErrInvalid), CauseInvalid},
		{&os.PathError{Op: "write", Path: "x", Err: syscall.ENOSPC}, CauseNoSpace},
		{&os.PathError{Op: "write", Path: "x", Err: syscall.EDQUOT}, CauseNoSpace},
		// bbolt's grow formats the error with %s: the errno survives in the text only.
		{errors.New("file resize error: truncate x: no space left on device"), CauseNoSpace},
		{&os.PathError{Op: "write", Path: "x", Err: syscall.EROFS}, CauseReadOnly},
		{&os.PathError{Op: "fdatasync", Path: "x", Err: syscall.EIO}, CauseIO},
	} {
		if got := Cause(tc.err); got != tc.want {
			t.Errorf("Cause(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}

// TestReadyWhenTheProbeHangs: a probe stuck in its write leaves no outcome;
// after three periods without one, Ready fails.
func TestReadyWhenTheProbeHangs(t *testing.T) {
	s, _ := openTemp(t, Options{ProbeEvery: time.Hour})
	if err := s.Ready(); err != nil {
		t.Fatalf("Ready after the first probe: %v", err)
	}
	s.health.mu.Lock()
	s.health.probed = time.Now().Add(-4 * time.Hour) // as if the next probes never returned
	s.health.mu.Unlock()
	if err := s.Ready(); err == nil || !strings.Contains(err.Error(), "has not finished") {
		t.Fatalf("Ready with the last probe 4 periods ago = %v, want a hung-probe failure", err)
	}
}
