// Package buildlock lets one run on a machine build an image while others
// that want the same image wait for it. The lock is flock(2) on a file
// named after the image reference, so the kernel releases it when its
// holder exits, even by a crash or SIGKILL.
package buildlock

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// ErrTimeout is returned when the lock stayed taken for the whole wait: the
// caller builds on its own.
var ErrTimeout = errors.New("timed out waiting for another build of the same image")

// pollInterval is how often a waiter tries the lock again.
const pollInterval = 50 * time.Millisecond

// DefaultDir is where locks live unless configured: docker-ecr-cache/locks
// under the user's cache directory.
func DefaultDir() (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("finding the lock directory: %w", err)
	}
	return filepath.Join(cache, "docker-ecr-cache", "locks"), nil
}

// Path is the lock file of ref in dir.
func Path(dir, ref string) string {
	sum := sha256.Sum256([]byte(ref))
	return filepath.Join(dir, hex.EncodeToString(sum[:16])+".lock")
}

// Acquire takes the lock of ref in dir ("" for DefaultDir). It returns at
// once when the lock is free. Otherwise it calls onWait (if not nil) and
// waits up to wait, returning ErrTimeout when the lock is still taken, or
// ctx's error when ctx ends first. waited tells whether another holder was
// waited for. release unlocks; calling it more than once is harmless.
// Lock files are left in place: removing one would let two runs lock
// different files of the same name.
func Acquire(ctx context.Context, dir, ref string, wait time.Duration, onWait func()) (release func(), waited bool, err error) {
	if dir == "" {
		if dir, err = DefaultDir(); err != nil {
			return nil, false, err
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, false, fmt.Errorf("creating the lock directory: %w", err)
	}
	f, err := open(dir, Path(dir, ref))
	if err != nil {
		return nil, false, fmt.Errorf("opening the lock of %s: %w", ref, err)
	}
	path := f.Name()
	closeFile := func() { _ = f.Close() } // closing the last descriptor drops the flock
	var once sync.Once
	releaseOnce := func() { once.Do(closeFile) }

	ok, err := tryLock(f)
	if err != nil {
		closeFile()
		return nil, false, fmt.Errorf("locking %s: %w", path, err)
	}
	if ok {
		return releaseOnce, false, nil
	}
	if onWait != nil {
		onWait()
	}
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			closeFile()
			return nil, true, fmt.Errorf("waiting for the build of %s: %w", ref, ctx.Err())
		case <-deadline.C:
			closeFile()
			return nil, true, fmt.Errorf("waited %s for the build of %s: %w", wait, ref, ErrTimeout)
		case <-tick.C:
			ok, err := tryLock(f)
			if err != nil {
				closeFile()
				return nil, true, fmt.Errorf("locking %s: %w", path, err)
			}
			if ok {
				return releaseOnce, true, nil
			}
		}
	}
}

// open opens (or creates) the lock file path in dir, refusing what another
// user could have planted: a directory others can write without the
// sticky bit (they could replace the file), a symlink (O_NOFOLLOW: it is
// not followed, so no file is created or opened elsewhere), and anything
// but a regular file of this user.
func open(dir, path string) (*os.File, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, err
	}
	if fi.Mode()&0o002 != 0 && fi.Mode()&os.ModeSticky == 0 {
		return nil, fmt.Errorf("lock directory %s: others can write it and it has no sticky bit, so they could replace a lock: "+
			"set lock-dir to a directory of this user's, or chmod +t it", dir)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0o600)
	if err != nil {
		return nil, err
	}
	fi, err = f.Stat()
	switch {
	case err != nil:
	case !fi.Mode().IsRegular():
		err = fmt.Errorf("%s is not a regular file (%s)", path, fi.Mode().Type())
	case fi.Sys().(*syscall.Stat_t).Uid != uint32(os.Geteuid()):
		err = fmt.Errorf("%s belongs to user %d, not to this one (%d)", path, fi.Sys().(*syscall.Stat_t).Uid, os.Geteuid())
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// tryLock takes an exclusive flock on f without blocking; false means
// another open file holds it.
func tryLock(f *os.File) (bool, error) {
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, unix.EWOULDBLOCK):
			return false, nil
		case errors.Is(err, unix.EINTR):
			continue
		default:
			return false, err
		}
	}
}
