// Package testenv gives tests the real parts they run against: a Docker
// daemon, an in-process distribution registry, busybox for FROM scratch
// images, and the built command.
package testenv

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// RequireDockerEnv makes a missing daemon a test failure instead of a skip.
const RequireDockerEnv = "DOCKER_ECR_CACHE_REQUIRE_DOCKER"

// Docker returns DOCKER_HOST when a daemon answers. Without one the test is
// skipped, or fails when DOCKER_ECR_CACHE_REQUIRE_DOCKER=1 (as in CI).
func Docker(t testing.TB) string {
	t.Helper()
	host := os.Getenv("DOCKER_HOST")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := exec.CommandContext(ctx, "docker", "version").Run(); err != nil {
		msg := "no Docker daemon answers at DOCKER_HOST=" + host + " (start one with: eval \"$(scripts/docker-up.sh)\")"
		if os.Getenv(RequireDockerEnv) == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return host
}

// Busybox copies the static busybox into dir as dir/busybox, so that
// FROM scratch images can run commands.
func Busybox(t testing.TB, dir string) {
	t.Helper()
	b, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Fatalf("reading /bin/busybox (apt-get install busybox-static): %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "busybox"), b, 0o755); err != nil {
		t.Fatal(err)
	}
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// Binary builds the docker-ecr-cache command once per test process.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "docker-ecr-cache-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "docker-ecr-cache")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/docker-ecr-cache")
		cmd.Dir = RepoRoot()
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = &buildError{out: string(out), err: err}
		}
	})
	if buildErr != nil {
		t.Fatalf("building docker-ecr-cache: %v", buildErr)
	}
	return binPath
}

type buildError struct {
	out string
	err error
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + e.out }

// RepoRoot is the module's root directory: the nearest directory holding a
// go.mod above the one go test ran the package's tests in (its source
// directory), found before any test changes directory. It does not rely on
// source paths compiled in, which -trimpath removes.
func RepoRoot() string {
	if repoRoot == "" {
		panic("testenv: no go.mod above the test's directory")
	}
	return repoRoot
}

var repoRoot = func() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}()
