package engine

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// A secret file is read to be masked only when it is a regular file, and
// without blocking: a FIFO would hang the run.
func TestReadSecretFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	fifo := filepath.Join(dir, "pipe")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := readSecretFile(fifo); done <- err }()
	select {
	case err := <-done:
		if err == nil {
			t.Error("a FIFO was read as a secret file")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("reading a FIFO blocked")
	}
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, make([]byte, maxSecretFile+10), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err := readSecretFile(big); err != nil || len(b) != maxSecretFile {
		t.Errorf("read %d bytes, %v; want %d", len(b), err, maxSecretFile)
	}
}
