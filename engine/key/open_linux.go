package key

import (
	"os"

	"golang.org/x/sys/unix"
)

// openBeneath opens rel in the directory open as dir with openat2 and
// RESOLVE_BENEATH: one system call, in which the kernel follows symlinks
// only while they stay beneath dir. It reports false where the kernel has
// no openat2, and for any failure: os.Root then tells why.
func openBeneath(dir int, rel string, flags int) (*os.File, bool) {
	fd, err := unix.Openat2(dir, rel, &unix.OpenHow{
		Flags:   uint64(flags | unix.O_CLOEXEC),
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS,
	})
	if err != nil {
		return nil, false
	}
	return os.NewFile(uintptr(fd), rel), true
}
