package main

// Tests of the GitHub Action: the command run with the environment the
// runner gives a step, and the action's image built from the Dockerfile and
// run as the runner runs it.

import (
	"archive/tar"
	"bufio"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker-ecr-cache/docker-ecr-cache/adapters/github"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/key"
	"github.com/docker-ecr-cache/docker-ecr-cache/internal/testenv"
)

// fileCommands are the runner's file-command files, empty at the start of
// a step, in dir.
type fileCommands struct{ dir string }

var fileCommandNames = map[string]string{
	"GITHUB_OUTPUT":       "set_output",
	"GITHUB_ENV":          "set_env",
	"GITHUB_STEP_SUMMARY": "step_summary",
}

func newFileCommands(t *testing.T) fileCommands {
	t.Helper()
	fc := fileCommands{dir: t.TempDir()}
	fc.reset(t)
	return fc
}

// reset empties the files, as a new step gets new ones.
func (fc fileCommands) reset(t *testing.T) {
	t.Helper()
	for _, f := range fileCommandNames {
		if err := os.WriteFile(filepath.Join(fc.dir, f), nil, 0o666); err != nil {
			t.Fatal(err)
		}
	}
}

func (fc fileCommands) read(t *testing.T, variable string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fc.dir, fileCommandNames[variable]))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// parsed reads GITHUB_OUTPUT or GITHUB_ENV as the runner does.
func (fc fileCommands) parsed(t *testing.T, variable string) map[string]string {
	t.Helper()
	out := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(fc.read(t, variable)))
	for sc.Scan() {
		name, delim, ok := strings.Cut(sc.Text(), "<<")
		if !ok || strings.Contains(name, "=") {
			t.Fatalf("%s: unexpected line %q", variable, sc.Text())
		}
		var lines []string
		for sc.Scan() && sc.Text() != delim {
			lines = append(lines, sc.Text())
		}
		out[name] = strings.Join(lines, "\n")
	}
	return out
}

func (fc fileCommands) assertEmpty(t *testing.T) {
	t.Helper()
	for v := range fileCommandNames {
		if s := fc.read(t, v); s != "" {
			t.Errorf("%s was written:\n%s", v, s)
		}
	}
}

// stepEnv is the environment the runner gives a step of this action: the
// GITHUB_* variables, with the files under fileDir and the checkout at
// workspace, and every declared input, empty unless given in inputs.
func stepEnv(workspace, fileDir string, inputs map[string]string) []string {
	env := []string{
		"GITHUB_ACTIONS=true",
		"GITHUB_REPOSITORY=Owner/Repo",
		"GITHUB_WORKSPACE=" + workspace,
	}
	for v, f := range fileCommandNames {
		env = append(env, v+"="+filepath.Join(fileDir, f))
	}
	for _, name := range engine.OptionNames() {
		if _, ok := inputs[github.InputVar(name)]; !ok {
			env = append(env, github.InputVar(name)+"=")
		}
	}
	for k, v := range inputs {
		env = append(env, k+"="+v)
	}
	return env
}

func writeFile(t *testing.T, name, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// runStep runs the command's github entry point directly, with env only
// (plus PATH and DOCKER_HOST), and returns its stdout and exit code.
func runStep(t *testing.T, env []string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, testenv.Binary(t), "github")
	env = append(env, "PATH="+os.Getenv("PATH"), "DOCKER_HOST="+os.Getenv("DOCKER_HOST"))
	cmd.Env = env
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("running the command: %v", err)
	}
	if stderr.Len() > 0 {
		t.Logf("stderr:\n%s", stderr.String())
	}
	return stdout.String(), cmd.ProcessState.ExitCode()
}

// Bad configuration fails before anything runs: an ::error:: naming the
// problem, exit 2, no outputs.
func TestGitHubBadInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		inputs map[string]string
		docker bool // the key is computed after the daemon answers
		edit   func(env []string) []string
		want   string
	}{
		{name: "unknown input", inputs: map[string]string{"INPUT_CACHE_ON": "package.json"},
			want: `::error::INPUT_CACHE_ON: unknown input "cache_on": did you mean "cache-on"?`},
		{name: "not a boolean", inputs: map[string]string{"INPUT_SKIP-PULL-FROM-CACHE": "yes"},
			want: `::error::input skip-pull-from-cache is "yes": write true or false`},
		{name: "cache-on matches nothing", docker: true,
			inputs: map[string]string{"INPUT_CACHE-ON": "no-such-dir/**/*.lock", "INPUT_REGISTRY-PROVIDER": "local"},
			want:   `::error::cache-on "no-such-dir/**/*.lock" matches no file`},
		{name: "missing workspace", edit: func(env []string) []string {
			return append(env, "GITHUB_WORKSPACE=/nonexistent/workspace")
		}, want: "::error::GITHUB_WORKSPACE /nonexistent/workspace: no such file or directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if tt.docker {
				testenv.Docker(t)
			}
			ws, fc := t.TempDir(), newFileCommands(t)
			writeFile(t, filepath.Join(ws, "Dockerfile"), "FROM scratch\n")
			env := stepEnv(ws, fc.dir, tt.inputs)
			env = append(env, "DOCKER_ECR_CACHE_REGISTRY_PASSWORD=hunter2-password")
			if tt.edit != nil {
				env = tt.edit(env)
			}
			stdout, code := runStep(t, env)
			if code != exitConfig {
				t.Errorf("exit code %d, want %d", code, exitConfig)
			}
			if !strings.Contains(stdout, tt.want) {
				t.Errorf("stdout lacks %q:\n%s", tt.want, stdout)
			}
			if !strings.HasPrefix(stdout, "::add-mask::hunter2-password\n") || strings.Count(stdout, "hunter2") != 1 {
				t.Errorf("the password is not masked first, or shows again:\n%s", stdout)
			}
			fc.assertEmpty(t)
		})
	}
}

func TestGitHubArguments(t *testing.T) {
	t.Parallel()
	ws, fc := t.TempDir(), newFileCommands(t)
	cmd := exec.Command(testenv.Binary(t), "github", "--cache-on", "x")
	cmd.Env = stepEnv(ws, fc.dir, nil)
	out, _ := cmd.Output()
	if code := cmd.ProcessState.ExitCode(); code != exitConfig || !strings.HasPrefix(string(out), "::error::the github command takes no arguments") {
		t.Errorf("exit %d, stdout:\n%s", code, out)
	}
	fc.assertEmpty(t)
}

// A failed build is annotated on its Dockerfile, relative to the workspace.
func TestGitHubBuildFailure(t *testing.T) {
	t.Parallel()
	testenv.Docker(t)
	ws, fc := t.TempDir(), newFileCommands(t)
	dir := filepath.Join(ws, "ci", "image")
	writeFile(t, filepath.Join(dir, "Dockerfile"), "FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"false\"]\n")
	testenv.Busybox(t, dir)
	stdout, code := runStep(t, stepEnv(ws, fc.dir, map[string]string{
		"INPUT_DOCKERFILE":        "ci/image/Dockerfile",
		"INPUT_REGISTRY-PROVIDER": "local",
		"INPUT_ECR-NAME":          "docker-ecr-cache-test/github-build-failure",
		"INPUT_LOCAL-PREFIX":      "docker-ecr-cache-test/",
	}))
	if code != exitFailure {
		t.Errorf("exit code %d, want %d", code, exitFailure)
	}
	want := "::error file=ci/image/Dockerfile,title=Docker build failed::building docker-ecr-cache-test/github-build-failure:"
	if !strings.Contains(stdout, want) {
		t.Errorf("stdout lacks %q:\n%s", want, stdout)
	}
	if !strings.Contains(stdout, "::group::Building ") || !strings.Contains(stdout, "::endgroup::\n::error ") {
		t.Errorf("the error does not follow the closed build group:\n%s", stdout)
	}
	fc.assertEmpty(t)
}

// The action end to end: its image built from the Dockerfile without the
// network, then run as the runner runs a Docker action, twice: a miss that
// builds and pushes, then a hit that pulls the same image.
func TestGitHubAction(t *testing.T) {
	// The prebuilt action image's whole flow is proven in every run
	// (tests/release/action-image.bats); this builds the source image that
	// `image: Dockerfile` makes, Go toolchain and all, which takes minutes:
	// CI runs it as a step of its own.
	if os.Getenv("DOCKER_ECR_CACHE_ACTION_SOURCE") != "1" {
		t.Skip("building the action's image from source takes minutes: set DOCKER_ECR_CACHE_ACTION_SOURCE=1 (CI does)")
	}
	host := testenv.Docker(t)
	socket := "/var/run/docker.sock"
	if host != "" {
		path, ok := strings.CutPrefix(host, "unix://")
		if !ok {
			t.Skipf("DOCKER_HOST=%s: the action needs the daemon's unix socket to mount", host)
		}
		socket = path
	}
	image := actionImage(t)

	const user, password = "ci", "action-s3cret-pass"
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{Username: user, Password: password})
	repo := reg.Host + "/owner/repo/cache"
	ws, home, fc := t.TempDir(), t.TempDir(), newFileCommands(t)
	testenv.Busybox(t, ws)
	writeFile(t, filepath.Join(ws, "Dockerfile"), "FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"sh\", \"-c\", \"echo built > /marker\"]\n")
	writeFile(t, filepath.Join(ws, "package.json"), `{"name": "app"}`)
	t.Cleanup(func() {
		out, _ := exec.Command("docker", "image", "ls", "--format", "{{.Repository}}:{{.Tag}}", repo).Output()
		for _, ref := range strings.Fields(string(out)) {
			_ = exec.Command("docker", "rmi", "-f", ref).Run()
		}
	})

	env := stepEnv("/github/workspace", "/github/file_commands", map[string]string{
		"INPUT_REGISTRY-PROVIDER": "registry",
		"INPUT_REGISTRY":          repo,
		"INPUT_CACHE-ON":          "package.json\n",
		"INPUT_BUILD-ARGS":        "MODE=ci",
	})
	env = append(env, "HOME=/github/home",
		"DOCKER_ECR_CACHE_REGISTRY_USERNAME="+user, "DOCKER_ECR_CACHE_REGISTRY_PASSWORD="+password)
	args := []string{"run", "--rm", "--network", "host",
		"-v", socket + ":/var/run/docker.sock",
		"-v", home + ":/github/home",
		"-v", fc.dir + ":/github/file_commands",
		"-v", ws + ":/github/workspace",
		"-w", "/github/workspace"}
	for _, kv := range env {
		args = append(args, "-e", kv)
	}
	args = append(args, image, "github")
	run := func(t *testing.T) string {
		t.Helper()
		fc.reset(t)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		var stdout, stderr strings.Builder
		cmd := exec.CommandContext(ctx, "docker", args...)
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("docker run: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
		}
		out := stdout.String()
		for _, line := range strings.Split(out, "\n") {
			if strings.Contains(line, password) && line != "::add-mask::"+password {
				t.Errorf("the password shows: %q", line)
			}
		}
		if !strings.HasPrefix(out, "::add-mask::"+password+"\n") {
			t.Errorf("the password is not masked first:\n%s", out)
		}
		return out
	}

	// A miss: built, pushed, handed over.
	stdout := run(t)
	for _, want := range []string{"::group::Computing cache key", "::group::Building " + repo, "::group::Pushing " + repo, "::endgroup::"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	out := fc.parsed(t, "GITHUB_OUTPUT")
	tag := out["tag"]
	ref := repo + ":" + tag
	if len(tag) != key.Length || out["image"] != repo || out["image-ref"] != ref || out["key"] != tag ||
		out["cache-hit"] != "false" || !strings.HasPrefix(out["digest"], "sha256:") {
		t.Errorf("outputs after a miss: %q", out)
	}
	vars := fc.parsed(t, "GITHUB_ENV")
	if vars["BUILDKITE_PLUGIN_DOCKER_IMAGE"] != ref || vars[engine.ExportImage] != repo || vars[engine.ExportTag] != tag ||
		vars[engine.ExportCacheHit] != "false" || vars[engine.ExportDigest] != out["digest"] {
		t.Errorf("env after a miss: %q", vars)
	}
	summary := fc.read(t, "GITHUB_STEP_SUMMARY")
	for _, want := range []string{"cache miss: built and pushed", "`" + ref + "`", "| file package.json | `sha256:"} {
		if !strings.Contains(summary, want) {
			t.Errorf("summary lacks %q:\n%s", want, summary)
		}
	}

	// A new runner: the image is only in the registry. A hit, pulled.
	if b, err := exec.Command("docker", "rmi", ref, repo+":latest").CombinedOutput(); err != nil {
		t.Fatalf("docker rmi: %v\n%s", err, b)
	}
	stdout = run(t)
	if !strings.Contains(stdout, "::group::Pulling "+ref) || strings.Contains(stdout, "::group::Building") {
		t.Errorf("the second run did not pull, or built:\n%s", stdout)
	}
	hit := fc.parsed(t, "GITHUB_OUTPUT")
	if hit["cache-hit"] != "true" || hit["image-ref"] != ref || hit["digest"] != out["digest"] {
		t.Errorf("outputs after a hit: %q, want cache-hit true, image-ref %s, digest %s", hit, ref, out["digest"])
	}
	if vars := fc.parsed(t, "GITHUB_ENV"); vars[engine.ExportCacheHit] != "true" || vars["BUILDKITE_PLUGIN_DOCKER_IMAGE"] != ref {
		t.Errorf("env after a hit: %q", vars)
	}
	if s := fc.read(t, "GITHUB_STEP_SUMMARY"); !strings.Contains(s, "cache hit: pulled") {
		t.Errorf("summary after a hit:\n%s", s)
	}
}

// actionImage builds the action's image from the repository's Dockerfile,
// as the runner does, but offline: the Go image is made from this machine's
// Go, and the modules are vendored into a copy of the repository. The image
// and its build stage are kept under fixed tags, so that a rerun on the same
// sources uses the layer cache; the ones they replace are removed.
func actionImage(t *testing.T) string {
	t.Helper()
	const tag, buildTag = "docker-ecr-cache-test/action:latest", "docker-ecr-cache-test/action-build:latest"
	goImage := goBuilderImage(t)

	src := t.TempDir()
	copyRepo(t, testenv.RepoRoot(), src)
	vendor := exec.Command("go", "mod", "vendor")
	vendor.Dir = src
	vendor.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
	if out, err := vendor.CombinedOutput(); err != nil {
		t.Fatalf("go mod vendor: %v\n%s", err, out)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	start := time.Now()
	old := map[string]string{tag: imageID(tag), buildTag: imageID(buildTag)}
	for _, args := range [][]string{{"--target", "build", "-t", buildTag}, {"-t", tag}} {
		args = append([]string{"build", "--build-arg", "GO_IMAGE=" + goImage, "--build-arg", "GOPROXY=off"}, args...)
		build := exec.CommandContext(ctx, "docker", append(args, src)...)
		build.Env = append(os.Environ(), "DOCKER_BUILDKIT=0") // the docker CLI here has no buildx
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	for ref, id := range old {
		if id != "" && id != imageID(ref) {
			_ = exec.Command("docker", "rmi", id).Run()
		}
	}
	t.Logf("built the action's image in %s", time.Since(start).Round(time.Second))
	return tag
}

// imageID is the ID of a local image, or "".
func imageID(ref string) string {
	out, err := exec.Command("docker", "image", "inspect", "--format", "{{.Id}}", ref).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// copyRepo copies the repository at root to dst, without .git and build
// outputs: .dockerignore chooses what the image gets.
func copyRepo(t *testing.T, root, dst string) {
	t.Helper()
	skip := map[string]bool{".git": true, "vendor": true, "bin": true, "dist": true}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if skip[rel] {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil // .git is a file in a worktree: SkipDir would end the walk of the root
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(target, b, 0o644)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("copying the repository: %v", err)
	}
}

// goBuilderImage makes a Go image from this machine's Go, busybox for
// /bin/sh and the CA certificates: what the Dockerfile needs of
// golang:1.26-bookworm, which Docker Hub would give. It is kept, by version.
func goBuilderImage(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOROOT", "GOVERSION").Output()
	if err != nil {
		t.Fatalf("go env: %v", err)
	}
	f := strings.Fields(string(out))
	goroot, tag := f[0], "docker-ecr-cache-test/go:"+f[1]
	if imageID(tag) != "" {
		return tag
	}
	start := time.Now()
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeGoRoot(pw, goroot)) }()
	cmd := exec.Command("docker", "import",
		"--change", "ENV PATH=/usr/local/go/bin:/bin",
		"--change", "ENV HOME=/root",
		"--change", "ENV GOTOOLCHAIN=local",
		"-", tag)
	cmd.Stdin = pr
	if b, err := cmd.CombinedOutput(); err != nil {
		pr.CloseWithError(err)
		t.Fatalf("docker import: %v\n%s", err, b)
	}
	t.Logf("made %s from %s in %s", tag, goroot, time.Since(start).Round(time.Second))
	return tag
}

// writeGoRoot writes a root file system as a tar stream: Go at
// /usr/local/go, busybox as /bin/sh, and the CA certificates.
func writeGoRoot(w io.Writer, goroot string) error {
	tw := tar.NewWriter(w)
	dir := func(name string, mode int64) error {
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: mode})
	}
	file := func(name, src string, mode int64) error {
		b, err := os.ReadFile(src)
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(b))}); err != nil {
			return err
		}
		_, err = tw.Write(b)
		return err
	}
	for _, d := range []string{"bin", "etc", "etc/ssl", "etc/ssl/certs", "root", "usr", "usr/local"} {
		if err := dir(d, 0o755); err != nil {
			return err
		}
	}
	if err := dir("tmp", 0o1777); err != nil {
		return err
	}
	if err := file("bin/busybox", "/bin/busybox", 0o755); err != nil {
		return err
	}
	for _, applet := range []string{"sh", "mkdir", "chmod", "ls", "cat"} {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: "bin/" + applet, Linkname: "busybox", Mode: 0o777}); err != nil {
			return err
		}
	}
	if err := file("etc/ssl/certs/ca-certificates.crt", "/etc/ssl/certs/ca-certificates.crt", 0o644); err != nil {
		return err
	}
	err := filepath.WalkDir(goroot, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(goroot, p)
		name := filepath.ToSlash(filepath.Join("usr/local/go", rel))
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case rel == "test": // the toolchain's own tests
			return filepath.SkipDir
		case d.IsDir():
			return dir(name, 0o755)
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: link, Mode: 0o777})
		case d.Type().IsRegular():
			return file(name, p, int64(info.Mode().Perm()))
		}
		return nil
	})
	if err != nil {
		return err
	}
	return tw.Close()
}
