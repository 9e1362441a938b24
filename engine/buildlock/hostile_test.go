package buildlock_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine/buildlock"
)

// TestHostileLockDir: in a lock directory others can write, a lock file
// planted as a symlink (to a file, or dangling) is not followed, a lock
// file that is not a regular file of this user is refused, and a
// directory writable by others without the sticky bit is refused.
func TestHostileLockDir(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		plant func(t *testing.T, dir, lock string)
		want  string // in the error
	}{
		{"symlink to a file", func(t *testing.T, dir, lock string) {
			sticky(t, dir)
			target := filepath.Join(t.TempDir(), "victim")
			write(t, target, "keep")
			symlink(t, target, lock)
		}, "too many levels of symbolic links"},
		{"dangling symlink", func(t *testing.T, dir, lock string) {
			sticky(t, dir)
			symlink(t, filepath.Join(dir, "created-by-the-runner"), lock)
		}, "too many levels of symbolic links"},
		{"a directory", func(t *testing.T, dir, lock string) {
			if err := os.Mkdir(lock, 0o700); err != nil {
				t.Fatal(err)
			}
		}, "is a directory"},
		{"a FIFO", func(t *testing.T, dir, lock string) {
			if err := syscall.Mkfifo(lock, 0o600); err != nil {
				t.Fatal(err)
			}
		}, "is not a regular file"},
		{"another user's file", func(t *testing.T, dir, lock string) {
			sticky(t, dir)
			write(t, lock, "")
			if os.Geteuid() != 0 {
				t.Skip("only root can give a file to another user")
			}
			if err := os.Chown(lock, 65534, 65534); err != nil {
				t.Fatal(err)
			}
		}, "belongs to user 65534, not to this one"},
		{"world-writable directory without the sticky bit", func(t *testing.T, dir, lock string) {
			if err := os.Chmod(dir, 0o777); err != nil {
				t.Fatal(err)
			}
		}, "others can write it and it has no sticky bit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			lock := buildlock.Path(dir, ref)
			tt.plant(t, dir, lock)
			release, _, err := buildlock.Acquire(context.Background(), dir, ref, time.Second, nil)
			if err == nil {
				release()
				t.Fatalf("Acquire took the lock")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Acquire: %v, want an error saying %q", err, tt.want)
			}
			if _, err := os.Lstat(filepath.Join(dir, "created-by-the-runner")); err == nil {
				t.Error("the dangling symlink's target was created")
			}
		})
	}

	// A sticky world-writable directory (as /tmp) is fine.
	dir := t.TempDir()
	sticky(t, dir)
	release, _, err := buildlock.Acquire(context.Background(), dir, ref, time.Second, nil)
	if err != nil {
		t.Fatalf("a sticky directory: %v", err)
	}
	release()
}

func sticky(t *testing.T, dir string) {
	t.Helper()
	if err := os.Chmod(dir, 0o777|os.ModeSticky); err != nil {
		t.Fatal(err)
	}
}

func write(t *testing.T, name, s string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

func symlink(t *testing.T, target, name string) {
	t.Helper()
	if err := os.Symlink(target, name); err != nil {
		t.Fatal(err)
	}
}
