package google

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
)

// recorder is a Reporter that keeps what it is told.
type recorder struct {
	mu    sync.Mutex
	lines []string
	masks []string
}

func (r *recorder) Phase(p engine.Phase, subject string) {
	r.add("group " + p.Title(subject))
}
func (r *recorder) Infof(f string, a ...any) {
	r.add("info " + fmt.Sprintf(f, a...))
}
func (r *recorder) Warnf(f string, a ...any) {
	r.add("warn " + fmt.Sprintf(f, a...))
}
func (r *recorder) Mask(s string) {
	r.mu.Lock()
	r.masks = append(r.masks, s)
	r.mu.Unlock()
}
func (r *recorder) Progress() io.Writer { return io.Discard }

func (r *recorder) add(line string) {
	r.mu.Lock()
	r.lines = append(r.lines, line)
	r.mu.Unlock()
}

func (r *recorder) text() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.lines, "\n")
}

func (r *recorder) masked(s string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range r.masks {
		if m == s {
			return true
		}
	}
	return false
}

// dockerConfig writes config.json into a new home's .docker, makes it
// HOME for the test (authn.DefaultKeychain reads the process's
// environment) and returns a getenv for it.
func dockerConfig(t *testing.T, config string) func(string) string {
	t.Helper()
	home := t.TempDir()
	if config != "" {
		if err := os.MkdirAll(filepath.Join(home, ".docker"), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(home, ".docker", "config.json"), []byte(config), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// DOCKER_CONFIG too: the Docker CLI's config package reads HOME once.
	t.Setenv("HOME", home)
	t.Setenv("DOCKER_CONFIG", filepath.Join(home, ".docker"))
	t.Setenv("REGISTRY_AUTH_FILE", "")
	t.Setenv("XDG_RUNTIME_DIR", "")
	t.Setenv("XDG_CONFIG_HOME", "")
	return os.Getenv
}
