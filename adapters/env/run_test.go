package env

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/docker-ecr-cache/docker-ecr-cache/adapters/frontend"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
)

// runIn runs the run command in dir with args and vars, and returns its error.
func runIn(t *testing.T, dir string, args []string, vars map[string]string) error {
	t.Helper()
	var environ []string
	for k, v := range vars {
		environ = append(environ, k+"="+v)
	}
	env := frontend.Env{Environ: environ, Getenv: func(k string) string { return vars[k] }, Dir: dir,
		Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}}
	return Run(t.Context(), args, env)
}

// TestOutputFileRemovedOnFailure: a run that fails leaves no output file,
// not even the one an earlier run wrote with its values.
func TestOutputFileRemovedOnFailure(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.env")
	stale := func(t *testing.T) {
		t.Helper()
		if err := os.WriteFile(out, []byte("CACHE_HIT=true\nIMAGE_REF=old:tag\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	gone := func(t *testing.T, err error) {
		t.Helper()
		if err == nil {
			t.Fatal("the run did not fail")
		}
		if _, serr := os.Stat(out); !errors.Is(serr, os.ErrNotExist) {
			t.Errorf("after a failed run (%v), the output file is still there: %v", err, serr)
		}
	}

	t.Run("configuration error", func(t *testing.T) {
		stale(t)
		err := runIn(t, dir, []string{"--output-file", out, "--max-age-days", "0"}, nil)
		if !engine.IsConfigError(err) {
			t.Errorf("error %v is not a configuration error", err)
		}
		gone(t, err)
	})
	t.Run("output file from the environment", func(t *testing.T) {
		stale(t)
		gone(t, runIn(t, dir, nil, map[string]string{Prefix + "OUTPUT_FILE": out, Prefix + "MAX_AGE_DAYS": "0"}))
	})
	t.Run("runtime failure", func(t *testing.T) {
		// No daemon answers here: the run fails after the configuration.
		t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(t.TempDir(), "no.sock"))
		stale(t)
		err := runIn(t, dir, []string{"--output-file", out, "--registry-provider", "local"}, nil)
		if engine.IsConfigError(err) {
			t.Errorf("error %v is a configuration error, want a runtime failure", err)
		}
		gone(t, err)
	})
}
