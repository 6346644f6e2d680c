// Package testfs gives tests a real, small, full-able file system: a tmpfs
// mounted for the test (Linux, as root, as here and in CI) and a filler file
// that takes whatever space is left.
package testfs

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"testing"
)

// Tmpfs mounts a tmpfs of size bytes on a new temporary directory, unmounted
// when the test ends, and returns the directory. It skips the test, saying
// why, where it cannot mount one (not Linux, not root, mount refused).
func Tmpfs(t testing.TB, size int) string {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skipf("needs a tmpfs of %d bytes: mounting one is Linux-only (GOOS=%s)", size, runtime.GOOS)
	}
	if os.Geteuid() != 0 {
		t.Skipf("needs a tmpfs of %d bytes: mounting one needs root (euid %d); run as root, as CI does", size, os.Geteuid())
	}
	dir, err := os.MkdirTemp("", "orderguard-tmpfs-")
	if err != nil {
		t.Fatal(err)
	}
	opts := "size=" + strconv.Itoa(size) + ",mode=0700"
	if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, opts); err != nil {
		_ = os.Remove(dir)
		t.Skipf("needs a tmpfs of %d bytes: mount refused (%v), e.g. in a container without CAP_SYS_ADMIN", size, err)
	}
	t.Cleanup(func() {
		// MNT_DETACH: a file still open (a store a failed test left) must
		// not keep the mount; the kernel drops it once the file is closed.
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
		_ = os.Remove(dir)
	})
	return dir
}

// Fill writes a file in dir until the file system has no block left and
// returns a function that deletes it (space freed).
func Fill(t testing.TB, dir string) (free func()) {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	block := bytes.Repeat([]byte{0xAA}, 512)
	for {
		if _, err := f.Write(block); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fill %s: %v", dir, err)
			}
			break
		}
	}
	if err := f.Close(); err != nil && !errors.Is(err, syscall.ENOSPC) {
		t.Fatal(err)
	}
	return func() {
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
	}
}
