package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine/key"
	"github.com/docker-ecr-cache/docker-ecr-cache/internal/testenv"
)

// writeTree writes files src/dNN/sub/fNNNNNN.txt, n of them over dirs
// directories, under dir.
func writeTree(t *testing.T, dir string, dirs, n int) {
	t.Helper()
	for d := range dirs {
		if err := os.MkdirAll(filepath.Join(dir, fmt.Sprintf("src/d%02d/sub", d)), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		p := filepath.Join(dir, fmt.Sprintf("src/d%02d/sub/f%06d.txt", i%dirs, i))
		if err := os.WriteFile(p, []byte(fmt.Sprintf("file %d\n", i)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// A miss whose cache-on matches 100,000 files builds on the real daemon:
// the inputs label stays under key.MaxRecord, the log has one line per
// cache-on entry, and after one file changes the next miss names the
// entry and the file's directory.
func TestMissWith100000Inputs(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("writes 100,000 files")
	}
	dockerHost := testenv.Docker(t)
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	dir := t.TempDir()
	writeTree(t, dir, 10, 100000)
	if err := os.WriteFile(filepath.Join(dir, "go.sum"), []byte("sum\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The build context is image/ alone: the 100,000 files are inputs of
	// the key, not of the build.
	ctxDir := filepath.Join(dir, "image")
	if err := os.Mkdir(ctxDir, 0o755); err != nil {
		t.Fatal(err)
	}
	testenv.Busybox(t, ctxDir)
	repo := fmt.Sprintf("inputs/many-%d", time.Now().UnixNano())
	df := fmt.Sprintf("FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"sh\", \"-c\", \"echo %s > /marker\"]\n", repo)
	if err := os.WriteFile(filepath.Join(ctxDir, "Dockerfile"), []byte(df), 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "DOCKER_HOST=" + dockerHost, "DOCKER_CONFIG=" + t.TempDir(),
		"DOCKER_ECR_CACHE_REGISTRY_PROVIDER=registry",
		"DOCKER_ECR_CACHE_REGISTRY=" + reg.Host + "/" + repo,
		"DOCKER_ECR_CACHE_LOCK_DIR=" + t.TempDir(),
		"DOCKER_ECR_CACHE_DOCKERFILE=image/Dockerfile",
		"DOCKER_ECR_CACHE_CONTEXT=image",
		"DOCKER_ECR_CACHE_CACHE_ON=src/**/*.txt\ngo.sum",
	}
	t.Cleanup(func() { ecrRemoveImages(reg.Host + "/" + repo) })

	miss := testenv.RunCommand(t, dir, env)
	if miss.Code != 0 || miss.Outputs["CACHE_HIT"] != "false" {
		t.Fatalf("first run: exit %d, outputs %v\nstderr (last part):\n%s", miss.Code, miss.Outputs, tail(miss.Stderr, 3000))
	}
	if !regexp.MustCompile(`key [0-9a-f]{40} \(10000[0-9] inputs\)`).MatchString(miss.Stderr) {
		t.Errorf("the key does not count the 100,001 files among its inputs:\n%.3000s", miss.Stderr)
	}
	if n := strings.Count(miss.Stderr, "/sub/f"); n > 0 {
		t.Errorf("the log names %d files; want one line per cache-on entry", n)
	}
	for _, want := range []string{"cache-on src/**/*.txt", "(100000 files)", "cache-on go.sum", "(1 file)"} {
		if !strings.Contains(miss.Stderr, want) {
			t.Errorf("the log lacks %q", want)
		}
	}
	if lines := strings.Count(miss.Stderr, "\n"); lines > 200 {
		t.Errorf("the miss logs %d lines", lines)
	}
	label := inputsLabel(t, miss.Outputs["IMAGE"]+":"+miss.Outputs["TAG"])
	if len(label) > key.MaxRecord || !strings.Contains(label, `"name":"cache-on src/**/*.txt"`) {
		t.Errorf("inputs label: %d bytes (bound %d): %.300s", len(label), key.MaxRecord, label)
	}
	t.Logf("inputs label of 100,001 files: %d bytes", len(label))

	// One file changes: the miss names its entry and directory group.
	if err := os.WriteFile(filepath.Join(dir, "src/d03/sub/f000123.txt"), []byte("edited\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	again := testenv.RunCommand(t, dir, env)
	if again.Code != 0 || again.Outputs["CACHE_HIT"] != "false" || again.Outputs["TAG"] == miss.Outputs["TAG"] {
		t.Fatalf("second run: exit %d, outputs %v\n%s", again.Code, again.Outputs, tail(again.Stderr, 3000))
	}
	if want := "changed since " + miss.Outputs["IMAGE"] + ":latest: cache-on src/**/*.txt under src/d03/sub/\n"; !strings.Contains(again.Stderr, want) {
		t.Errorf("the second miss does not say %q:\n%s", want, tail(again.Stderr, 3000))
	}

	// verbose lists the files, and leaves the label as it is.
	hit := testenv.RunCommand(t, dir, append(env, "DOCKER_ECR_CACHE_VERBOSE=true"))
	if hit.Code != 0 || hit.Outputs["CACHE_HIT"] != "true" || !strings.Contains(hit.Stderr, "file src/d03/sub/f000123.txt") {
		t.Errorf("verbose hit: exit %d, outputs %v, %d lines", hit.Code, hit.Outputs, strings.Count(hit.Stderr, "\n"))
	}
}

// inputsLabel is the org.docker-ecr-cache.inputs label of ref, on the daemon.
func inputsLabel(t *testing.T, ref string) string {
	t.Helper()
	out, err := exec.Command("docker", "image", "inspect", "--format", `{{index .Config.Labels "org.docker-ecr-cache.inputs"}}`, ref).Output()
	if err != nil {
		t.Fatalf("inspecting %s: %v", ref, err)
	}
	return strings.TrimSpace(string(out))
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
