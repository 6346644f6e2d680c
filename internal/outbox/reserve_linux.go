package outbox

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// reserveBlocks asks the file system for the blocks of [offset, offset+n)
// (fallocate, keeping the file's size): ENOSPC when it has none. Blocks
// already allocated cost nothing. A file system without fallocate leaves the
// probe to its transaction alone.
func reserveBlocks(f *os.File, offset, n int64) error {
	err := unix.Fallocate(int(f.Fd()), unix.FALLOC_FL_KEEP_SIZE, offset, n)
	if errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENOSYS) {
		return nil
	}
	if err != nil {
		return &os.PathError{Op: "fallocate", Path: f.Name(), Err: err}
	}
	return nil
}
