package receiver

import (
	"errors"
	"os"
	"syscall"
)

// allocate reserves the file's blocks in [off, off+n) without changing
// its size (FALLOC_FL_KEEP_SIZE): later writes there need no new space.
// errNoReserve says the filesystem cannot do it.
func allocate(f *os.File, off, n int64) error {
	const keepSize = 0x1 // FALLOC_FL_KEEP_SIZE
	err := syscall.Fallocate(int(f.Fd()), keepSize, off, n)
	if errors.Is(err, syscall.EOPNOTSUPP) || errors.Is(err, syscall.ENOSYS) {
		return errNoReserve
	}
	return err
}
