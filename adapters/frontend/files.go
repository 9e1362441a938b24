package frontend

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// RemoveStale removes name, an output file an earlier run may have left,
// as a run starts: a run that then fails, however it ends, leaves no file
// whose old values a later step could take for this run's. An empty name
// or a missing file is not an error.
func RemoveStale(name string) error {
	if name == "" {
		return nil
	}
	if err := os.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing the previous output file: %w", err)
	}
	return nil
}

// WriteFile writes name through write, by way of a temporary file in its
// directory that is renamed over it, or removed on failure: a reader never
// sees half of it, and a failed write leaves no file.
func WriteFile(name string, write func(io.Writer) error) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := write(tmp); err != nil {
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), name)
}
