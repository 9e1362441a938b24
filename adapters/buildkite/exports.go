package buildkite

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/docker-ecr-cache/docker-ecr-cache/adapters/frontend"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
)

// WriteExports writes `export NAME='value'` lines. A value with a NUL byte,
// which no shell variable can hold, is refused.
func WriteExports(w io.Writer, exports []engine.Output) error {
	for _, e := range exports {
		if strings.ContainsRune(e.Value, 0) {
			return fmt.Errorf("export %s: the value holds a NUL byte", e.Name)
		}
		if _, err := fmt.Fprintf(w, "export %s=%s\n", e.Name, frontend.ShellQuote(e.Value)); err != nil {
			return err
		}
	}
	return nil
}

// WriteExportFile writes the export lines to path all at once: a temporary
// file in the same directory, renamed over path, so that a reader never
// sees half a file.
func WriteExportFile(path string, exports []engine.Output) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".docker-ecr-cache-export-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // after the rename there is nothing to remove
	if err := WriteExports(f, exports); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
