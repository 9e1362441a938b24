package frontend

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWriteFile: the file appears whole or not at all, and no
// temporary file is left either way.
func TestWriteFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	name := filepath.Join(dir, "out.env")
	if err := os.WriteFile(name, []byte("OLD=1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	failed := errors.New("disk full")
	err := WriteFile(name, func(w io.Writer) error {
		_, _ = io.WriteString(w, "HALF=")
		return failed
	})
	if !errors.Is(err, failed) {
		t.Fatalf("error %v, want %v", err, failed)
	}
	if b, _ := os.ReadFile(name); string(b) != "OLD=1\n" {
		t.Errorf("a failed write changed the file: %q", b)
	}
	if err := WriteFile(name, func(w io.Writer) error { _, err := io.WriteString(w, "NEW=2\n"); return err }); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(name)
	fi, _ := os.Stat(name)
	if string(b) != "NEW=2\n" || fi.Mode().Perm() != 0o644 {
		t.Errorf("file %q, mode %v; want NEW=2 and 0644", b, fi.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != "out.env" {
		t.Errorf("the directory holds %q: temporary files are left", names)
	}
	if err := WriteFile(filepath.Join(dir, "no-such-dir", "out.env"), func(io.Writer) error { return nil }); err == nil {
		t.Error("writing into a missing directory succeeded")
	}
}

func TestRemoveStale(t *testing.T) {
	t.Parallel()
	name := filepath.Join(t.TempDir(), "out.env")
	if err := os.WriteFile(name, []byte("OLD=1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for range 2 { // there, then already gone
		if err := RemoveStale(name); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(name); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the file is still there: %v", err)
	}
	if err := RemoveStale(""); err != nil {
		t.Errorf("no file named: %v", err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "f"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := RemoveStale(dir); err == nil || !strings.Contains(err.Error(), "removing the previous output file") {
		t.Errorf("a directory that holds files is not removed, and that is an error: %v", err)
	}
}
