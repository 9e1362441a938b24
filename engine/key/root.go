package key

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// The key reads the checkout through an os.Root (on Linux, first through
// openat2 with RESOLVE_BENEATH, which confines the same way in one system
// call): a symlink is followed only while it stays inside, and only regular
// files are read, opened without blocking, so that a FIFO or a device
// cannot hang the key.

// openFlags open a file for reading without blocking on a FIFO and without
// taking a terminal as the controlling one.
const openFlags = os.O_RDONLY | syscall.O_NONBLOCK | syscall.O_NOCTTY

// maxDockerfile bounds the Dockerfile the key reads.
const maxDockerfile = 16 << 20

// A checkout is the working directory, opened as an os.Root.
type checkout struct {
	root *os.Root
	dir  string   // as given, for messages
	self *os.File // the directory, kept open for fd
	fd   int      // its descriptor, for openBeneath
}

// openCheckout opens the working directory dir ("" is the current one).
func openCheckout(dir string) (*checkout, error) {
	if dir == "" {
		dir = "."
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	self, err := root.Open(".")
	if err != nil {
		root.Close()
		return nil, err
	}
	return &checkout{root: root, dir: dir, self: self, fd: int(self.Fd())}, nil
}

func (ck *checkout) Close() error {
	ck.self.Close()
	return ck.root.Close()
}

// open opens rel, a clean slash path, with flags: in one system call where
// the kernel confines the lookup (openBeneath), else through the Root.
func (ck *checkout) open(rel string, flags int) (*os.File, error) {
	if f, ok := openBeneath(ck.fd, rel, flags); ok {
		return f, nil
	}
	return ck.root.OpenFile(rel, flags, 0)
}

// checkoutRel turns p, relative to the checkout dir or absolute, into a
// clean slash path relative to dir. It fails if p is lexically outside dir.
func checkoutRel(dir, p string) (string, error) {
	if dir == "" {
		dir = "."
	}
	if filepath.IsAbs(p) {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return "", err
		}
		rel, err := filepath.Rel(abs, p)
		if err != nil || escapesLexically(filepath.ToSlash(rel)) {
			// dir may be reached through a symlink of its own.
			real, rerr := filepath.EvalSymlinks(abs)
			if rerr != nil {
				return "", fmt.Errorf("is outside the checkout %s", dir)
			}
			if rel, err = filepath.Rel(real, p); err != nil {
				return "", fmt.Errorf("is outside the checkout %s", dir)
			}
		}
		p = rel
	}
	rel := path.Clean(filepath.ToSlash(p))
	if escapesLexically(rel) {
		return "", fmt.Errorf("is outside the checkout %s", dir)
	}
	return rel, nil
}

func escapesLexically(rel string) bool {
	return rel == ".." || strings.HasPrefix(rel, "../") || path.IsAbs(rel)
}

// InCheckout reports whether the path p (relative to the checkout workdir,
// or absolute) stays inside the checkout: lexically, and through the
// symlinks on its way. A path that does not exist is not an error here.
func InCheckout(workdir, p string) error {
	rel, err := checkoutRel(workdir, p)
	if err != nil {
		return err
	}
	ck, err := openCheckout(workdir)
	if err != nil {
		return err
	}
	defer ck.Close()
	if _, err := ck.root.Stat(rel); err != nil && !errors.Is(err, fs.ErrNotExist) {
		if o := ck.outsideLink(rel); o != nil {
			return o
		}
	}
	return nil
}

// outsideError is a symlink on the way to a path that leads out of the
// checkout (or loops).
type outsideError struct {
	path, link, target, dir string
}

func (e *outsideError) Error() string {
	if e.link == e.path {
		return fmt.Sprintf("is a symlink to %q, which leads outside the checkout %s", e.target, e.dir)
	}
	return fmt.Sprintf("goes through %s, a symlink to %q that leads outside the checkout %s", e.link, e.target, e.dir)
}

// outsideLink finds the first symlink on the way to rel that the Root
// cannot follow, or returns nil.
func (ck *checkout) outsideLink(rel string) *outsideError {
	root := ck.root
	parts := strings.Split(rel, "/")
	for i := range parts {
		p := strings.Join(parts[:i+1], "/")
		fi, err := root.Lstat(p)
		if err != nil {
			return nil
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			continue
		}
		if _, err := root.Stat(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			target, _ := root.Readlink(p)
			return &outsideError{path: rel, link: p, target: target, dir: ck.dir}
		}
	}
	return nil
}

// notRegularError is a path that is no regular file: a directory, a FIFO,
// a device or a socket.
type notRegularError struct {
	mode fs.FileMode
}

func (e *notRegularError) Error() string {
	kind := "a special file"
	switch t := e.mode.Type(); {
	case t&fs.ModeDir != 0:
		kind = "a directory"
	case t&fs.ModeNamedPipe != 0:
		kind = "a named pipe (FIFO)"
	case t&fs.ModeCharDevice != 0:
		kind = "a character device"
	case t&fs.ModeDevice != 0:
		kind = "a device"
	case t&fs.ModeSocket != 0:
		kind = "a socket"
	}
	return "is not a regular file but " + kind
}

// openRegular opens the regular file rel (a clean slash path) of the
// checkout for reading, without blocking. It fails with a *notRegularError
// for anything else, and with an *outsideError for a link that leaves the
// checkout.
func (ck *checkout) openRegular(rel string) (*os.File, int64, error) {
	f, err := ck.open(rel, openFlags)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			if o := ck.outsideLink(rel); o != nil {
				return nil, 0, o
			}
		}
		return nil, 0, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, 0, &notRegularError{fi.Mode()}
	}
	return f, fi.Size(), nil
}

// readChunks calls fn with each chunk of r read through buf, and stops
// when ctx is done.
func readChunks(ctx context.Context, r io.Reader, buf []byte, fn func([]byte)) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, err := r.Read(buf)
		fn(buf[:n])
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// readRegular reads the regular file rel of the checkout, at most limit
// bytes.
func (ck *checkout) readRegular(ctx context.Context, rel string, limit int64) ([]byte, error) {
	f, size, err := ck.openRegular(rel)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if size > limit {
		return nil, fmt.Errorf("is %s, more than the %s this reads", mib(size), mib(limit))
	}
	b := make([]byte, 0, size)
	buf := make([]byte, 64<<10)
	err = readChunks(ctx, f, buf, func(p []byte) { b = append(b, p...) })
	if err == nil && int64(len(b)) > limit {
		err = fmt.Errorf("grew past %s while read", mib(limit))
	}
	return b, err
}

// fileDigest hashes the regular file rel of the checkout, reading it
// through buf.
func (ck *checkout) fileDigest(ctx context.Context, rel string, buf []byte) (string, error) {
	f, _, err := ck.openRegular(rel)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if err := readChunks(ctx, f, buf, func(p []byte) { h.Write(p) }); err != nil {
		if ctx.Err() != nil {
			return "", fmt.Errorf("reading cache-on file %s: %w", rel, err)
		}
		return "", err
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// listDir lists the directory dir of the checkout, sorted by name.
func (ck *checkout) listDir(dir string) ([]fs.DirEntry, error) {
	d, err := ck.open(dir, openFlags)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	entries, err := d.ReadDir(-1)
	slices.SortFunc(entries, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return entries, err
}

func mib(n int64) string {
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}
