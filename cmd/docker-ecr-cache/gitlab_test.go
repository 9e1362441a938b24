package main

import (
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker-ecr-cache/docker-ecr-cache/adapters/gitlab"
	"github.com/docker-ecr-cache/docker-ecr-cache/internal/testenv"
)

// glPipeline is a throwaway GitLab project run by gitlab-ci-local: it
// includes this checkout's component at $CI_COMMIT_SHA, whose job runs in
// the shell image built from this checkout, with a password-protected
// distribution registry on loopback as its CI_REGISTRY.
type glPipeline struct {
	gcl    []string // the gitlab-ci-local command
	dir    string   // the project
	env    []string // gitlab-ci-local's environment
	vars   []string // --variable NAME=value
	helper string
	image  string // the component's image, built from this checkout
	dist   string // where its binary is, as dist/ holds release binaries
	arch   string
	sock   string // the daemon's socket
}

// Secrets of the pipeline, which no log may show.
const (
	glRegistryPassword = "gl-registry-pass-7d3f"
	glBuildSecret      = "gl-build-secret-93ab"
)

const glBuildDockerfile = `FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
COPY input.txt /input.txt
RUN --mount=type=secret,id=BUILD_SECRET cat /run/secrets/BUILD_SECRET; printf '\033[0Ksection_end:1:docker_ecr_cache_build\r\033[0K\n' # %s
`

const glPipelineYAML = `include:
  - component: $CI_SERVER_FQDN/$CI_PROJECT_PATH/docker-ecr-cache@$CI_COMMIT_SHA
    inputs:
      job-name: build-image
      image: %s
      cache-on: [input.txt, Dockerfile]
      secrets: [BUILD_SECRET]

stages: [build, test]

use-image:
  stage: test
  needs: [build-image]
  image:
    name: $DOCKER_ECR_CACHE_IMAGE_REF
    entrypoint: [""]
  script:
    - echo "in the built image, input is $(cat /input.txt), cache hit $DOCKER_ECR_CACHE_CACHE_HIT"
`

// newGLPipeline readies gitlab-ci-local (installed by tests/gitlab/setup.sh,
// skipped when node or npm is missing), its helper image, the shell image
// of a static build of this checkout, and the project.
func newGLPipeline(t *testing.T, reg *testenv.Registry, user string) *glPipeline {
	t.Helper()
	dockerHost := testenv.Docker(t)
	root := testenv.RepoRoot()
	cmd := exec.Command(filepath.Join(root, "tests", "gitlab", "setup.sh"), "gcl")
	out, err := cmd.Output()
	if code := cmd.ProcessState.ExitCode(); code == 3 {
		t.Skipf("gitlab-ci-local cannot run here: %s", err.(*exec.ExitError).Stderr)
	} else if err != nil {
		t.Fatalf("tests/gitlab/setup.sh gcl: %v\n%s", err, errOutput(err))
	}
	p := &glPipeline{gcl: strings.Fields(strings.TrimSpace(string(out))), dir: t.TempDir(), sock: strings.TrimPrefix(dockerHost, "unix://")}
	if p.sock == "" {
		p.sock = "/var/run/docker.sock"
	}

	suffix := fmt.Sprintf("%d", time.Now().UnixNano())
	p.helper = "docker-ecr-cache-test/gcl-helper:" + suffix
	image := "docker-ecr-cache-test/gitlab:" + suffix + "-shell"
	t.Cleanup(func() { _ = exec.Command("docker", "rmi", "-f", p.helper, image, image+"-amd64", image+"-arm64").Run() })
	glRun(t, root, nil, filepath.Join(root, "tests", "gitlab", "setup.sh"), "helper", p.helper)
	dist := t.TempDir()
	arch := map[string]string{"aarch64": "arm64", "arm64": "arm64"}[strings.TrimSpace(glRun(t, root, nil, "uname", "-m"))]
	if arch == "" {
		arch = "amd64"
	}
	glRun(t, root, []string{"CGO_ENABLED=0"}, "go", "build", "-trimpath", "-o", filepath.Join(dist, "docker-ecr-cache_linux_"+arch), "./cmd/docker-ecr-cache")
	glRun(t, root, []string{"DIST=" + dist, "VARIANT=shell", "ARCHES=" + arch, "IMAGE=" + image}, filepath.Join(root, "scripts", "action-image.sh"))
	p.image, p.dist, p.arch = image, dist, arch

	// The project: the component as the checkout has it, a Dockerfile
	// whose build reads a secret and prints a section marker.
	if err := os.MkdirAll(filepath.Join(p.dir, "templates"), 0o755); err != nil {
		t.Fatal(err)
	}
	component, err := os.ReadFile(filepath.Join(root, gitlab.ComponentFile))
	if err != nil {
		t.Fatal(err)
	}
	testenv.Busybox(t, p.dir)
	for name, content := range map[string]string{
		gitlab.ComponentFile: string(component),
		"Dockerfile":         fmt.Sprintf(glBuildDockerfile, suffix), // a step the daemon has no cache of
		"input.txt":          "one\n",
		".gitlab-ci.yml":     fmt.Sprintf(glPipelineYAML, image),
	} {
		if err := os.WriteFile(filepath.Join(p.dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// CI_PROJECT_PATH and CI_SERVER_FQDN come from the remote, which is
	// never contacted.
	git := []string{"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com"}
	glRun(t, p.dir, git, "git", "init", "-q")
	glRun(t, p.dir, git, "git", "remote", "add", "origin", "https://gitlab.example.com/group/project.git")
	glRun(t, p.dir, git, "git", "add", "-A")
	glRun(t, p.dir, git, "git", "commit", "-qm", "project")

	// The daemon pulls a later job's image with the registry credential,
	// as a runner does with the job's token.
	config := t.TempDir()
	auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + glRegistryPassword))
	if err := os.WriteFile(filepath.Join(config, "config.json"), []byte(`{"auths":{"`+reg.Host+`":{"auth":"`+auth+`"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	// gitlab-ci-local's shell and ours share nothing of the test's
	// environment but what it needs.
	p.env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "DOCKER_HOST=" + dockerHost, "DOCKER_CONFIG=" + config}
	if c := os.Getenv("XDG_CACHE_HOME"); c != "" {
		p.env = append(p.env, "XDG_CACHE_HOME="+c)
	}
	p.vars = []string{
		"CI_REGISTRY=" + reg.Host,
		"CI_REGISTRY_IMAGE=" + reg.Host + "/group/project",
		"CI_REGISTRY_USER=" + user,
		"CI_REGISTRY_PASSWORD=" + glRegistryPassword,
		"BUILD_SECRET=" + glBuildSecret,
		"DOCKER_HOST=unix:///var/run/docker.sock",
	}
	return p
}

func errOutput(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}

// glRun runs a command in dir with env added to the test's, and returns
// its output; a failure fails the test.
func glRun(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// run runs the pipeline and returns gitlab-ci-local's output and the
// dotenv report the component's job left.
func (p *glPipeline) run(t *testing.T) (string, string) {
	t.Helper()
	args := append(slices.Clone(p.gcl[1:]),
		"--helper-image", p.helper, "--pull-policy", "if-not-present", "--network", "host")
	if p.sock != "" { // else the jobs have no Docker socket
		args = append(args, "--volume", p.sock+":/var/run/docker.sock")
	}
	for _, v := range p.vars {
		args = append(args, "--variable", v)
	}
	cmd := exec.Command(p.gcl[0], args...)
	cmd.Dir, cmd.Env = p.dir, p.env
	start := time.Now()
	b, err := cmd.CombinedOutput()
	out := string(b)
	t.Logf("gitlab-ci-local: %v, %s", err, time.Since(start).Round(time.Millisecond))
	if err != nil {
		t.Fatalf("gitlab-ci-local: %v\n%s", err, out)
	}
	report, err := os.ReadFile(filepath.Join(p.dir, ".gitlab-ci-local", "artifacts", "build-image", ".gitlab-ci-reports", "dotenv", gitlab.DefaultReport))
	if err != nil {
		t.Fatalf("the dotenv report: %v\n%s", err, out)
	}
	// No log shows a secret: gitlab-ci-local's output, and the job logs
	// it keeps.
	logs := out
	files, _ := filepath.Glob(filepath.Join(p.dir, ".gitlab-ci-local", "output", "*.log"))
	for _, f := range files {
		b, _ := os.ReadFile(f)
		logs += string(b)
	}
	for _, secret := range []string{glRegistryPassword, glBuildSecret} {
		if strings.Contains(logs, secret) {
			t.Errorf("a log shows the secret %q:\n%s", secret, logs)
		}
	}
	return out, string(report)
}

// TestGitLabComponent: under gitlab-ci-local, the component's job builds
// on a miss, with the project's registry and credential as defaults; a
// later job runs in the image by the report's DOCKER_ECR_CACHE_IMAGE_REF.
// With the image removed from the daemon, as on a fresh runner, the next
// pipeline hits, pulls nothing, and the later job runs in it again.
func TestGitLabComponent(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{Username: "gitlab-ci-token", Password: glRegistryPassword})
	p := newGLPipeline(t, reg, "gitlab-ci-token")
	repo := reg.Host + "/group/project/build-cache"
	t.Cleanup(func() { ecrRemoveImages(repo) })

	out, report := p.run(t)
	ref := regexp.MustCompile(`(?m)^DOCKER_ECR_CACHE_IMAGE_REF=(` + regexp.QuoteMeta(repo) + `:[0-9a-f]{40})$`).FindStringSubmatch(report)
	if ref == nil || !strings.Contains(report, "DOCKER_ECR_CACHE_CACHE_HIT=false\n") {
		t.Fatalf("report:\n%s\nlog:\n%s", report, out)
	}
	for _, want := range []string{
		"cache miss: built and stored " + ref[1],
		"in the built image, input is one, cache hit false",
		// gitlab-ci-local recognises the sections, times them, and drops
		// their markers.
		"build-image docker_ecr_cache_key took",
		"build-image docker_ecr_cache_build took",
		"build-image docker_ecr_cache_push took",
		// The marker the build printed arrives escaped, inside the build's section.
		`\x1b[0Ksection_end:1:docker_ecr_cache_build\r\x1b[0K`,
		"max-age-days does nothing on the GitLab container registry",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the log lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "section_start:") {
		t.Errorf("a marker of the tool's is shown as text:\n%s", out)
	}

	// A fresh runner: the image is only in the registry.
	ecrRemoveImages(repo)
	reg.Reset()
	out, report = p.run(t)
	if !strings.Contains(report, "DOCKER_ECR_CACHE_IMAGE_REF="+ref[1]+"\n") || !strings.Contains(report, "DOCKER_ECR_CACHE_CACHE_HIT=true\n") {
		t.Fatalf("report:\n%s\nlog:\n%s", report, out)
	}
	for _, want := range []string{"cache hit: " + ref[1], "in the built image, input is one, cache hit true"} {
		if !strings.Contains(out, want) {
			t.Errorf("the log lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "docker_ecr_cache_build") {
		t.Errorf("a hit built:\n%s", out)
	}

	// The same job with no Docker socket and a buildkit-host, into
	// another project's registry: it builds on the BuildKit daemon, which
	// pushes, then hits with the registry alone.
	t.Run("daemonless", func(t *testing.T) {
		q := *p
		q.sock = ""
		other := reg.Host + "/group/daemonless"
		q.vars = append(slices.DeleteFunc(slices.Clone(p.vars), func(v string) bool { return strings.HasPrefix(v, "CI_REGISTRY_IMAGE=") }),
			"CI_REGISTRY_IMAGE="+other, "DOCKER_ECR_CACHE_BUILDKIT_HOST="+testenv.BuildKit(t))
		t.Cleanup(func() { ecrRemoveImages(other + "/build-cache") })
		for _, hit := range []string{"false", "true"} {
			out, report := q.run(t)
			if !strings.Contains(report, "DOCKER_ECR_CACHE_CACHE_HIT="+hit+"\n") || !strings.Contains(out, "daemonless: no Docker daemon answers") ||
				!strings.Contains(out, "in the built image, input is one, cache hit "+hit) {
				t.Fatalf("cache hit %s: report:\n%s\nlog:\n%s", hit, report, out)
			}
		}
	})

	// The component's image, and the action's FROM-scratch one, have
	// neither docker nor kubectl: the buildkit-hosts that run them are
	// refused at once.
	action := strings.TrimSuffix(p.image, "-shell")
	root := testenv.RepoRoot()
	glRun(t, root, []string{"DIST=" + p.dist, "ARCHES=" + p.arch, "IMAGE=" + action}, filepath.Join(root, "scripts", "action-image.sh"))
	t.Cleanup(func() { _ = exec.Command("docker", "rmi", "-f", action, action+"-"+p.arch).Run() })
	for _, image := range []string{p.image, action} {
		for scheme, cmd := range map[string]string{"docker-container": "docker", "kube-pod": "kubectl"} {
			out, err := exec.Command("docker", "run", "--rm", "-v", p.sock+":/var/run/docker.sock", "-w", "/tmp",
				"-e", "CI_REGISTRY="+reg.Host, "-e", "CI_REGISTRY_IMAGE="+reg.Host+"/group/project",
				"-e", "DOCKER_ECR_CACHE_DOCKERFILE_INLINE=FROM scratch", "-e", "DOCKER_ECR_CACHE_BUILDKIT_HOST="+scheme+"://buildkitd",
				image, "gitlab").CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 2 || !strings.Contains(string(out), "there is no "+cmd+" on PATH") {
				t.Errorf("%s in %s: %v\n%s", scheme, image, err, out)
			}
		}
	}
}

// TestGitLabCommand: the gitlab command as a job's script runs it, without
// gitlab-ci-local: the job's registry and credential by default, the
// sections' markers as GitLab reads them, the report, and exit code 2
// without CI_REGISTRY.
func TestGitLabCommand(t *testing.T) {
	dockerHost := testenv.Docker(t)
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{Username: "gitlab-ci-token", Password: glRegistryPassword})
	project := fmt.Sprintf("group/cmd-%d", time.Now().UnixNano())
	repo := reg.Host + "/" + project + "/build-cache"
	t.Cleanup(func() { ecrRemoveImages(repo) })
	dir := t.TempDir()
	testenv.Busybox(t, dir)
	for name, content := range map[string]string{
		"Dockerfile": "FROM scratch\nCOPY busybox /bin/busybox\nCOPY input.txt /input.txt\n",
		"input.txt":  "cmd\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	env := []string{
		"DOCKER_HOST=" + dockerHost, "HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH"),
		"CI_REGISTRY=" + reg.Host, "CI_REGISTRY_IMAGE=" + reg.Host + "/" + project,
		"CI_JOB_TOKEN=" + glRegistryPassword, // no CI_REGISTRY_USER: gitlab-ci-token and the job token
		"DOCKER_ECR_CACHE_CACHE_ON=[input.txt, Dockerfile]",
	}
	report := filepath.Join(dir, gitlab.DefaultReport)
	marker := regexp.MustCompile(`(?m)^\x1b\[0Ksection_(start|end):[0-9]+:(docker_ecr_cache_[a-z]+)(\[collapsed=true\])?\r\x1b\[0K`)
	for _, hit := range []bool{false, true} {
		r := testenv.RunCommand(t, dir, env, "gitlab")
		if r.Code != 0 || strings.Contains(r.Stdout+r.Stderr, glRegistryPassword) {
			t.Fatalf("exit code %d (or the token shows):\n%s%s", r.Code, r.Stdout, r.Stderr)
		}
		var sections []string
		for _, m := range marker.FindAllStringSubmatch(r.Stdout, -1) {
			sections = append(sections, m[1]+" "+m[2]+m[3])
		}
		want := "start docker_ecr_cache_key,end docker_ecr_cache_key,start docker_ecr_cache_lookup,end docker_ecr_cache_lookup"
		if !hit {
			want += ",start docker_ecr_cache_prepare,end docker_ecr_cache_prepare,start docker_ecr_cache_build[collapsed=true],end docker_ecr_cache_build,start docker_ecr_cache_push,end docker_ecr_cache_push"
		}
		if got := strings.Join(sections, ","); got != want {
			t.Errorf("sections %s, want %s:\n%q", got, want, r.Stdout)
		}
		lines := strings.Split(strings.TrimSuffix(r.Stdout, "\n"), "\n")
		if last := lines[len(lines)-1]; !strings.HasPrefix(last, "cache ") {
			t.Errorf("the summary %q is not the last line, outside the sections", last)
		}
		b, err := os.ReadFile(report)
		if err != nil || !regexp.MustCompile(`^DOCKER_ECR_CACHE_IMAGE=`+regexp.QuoteMeta(repo)+"\n").Match(b) ||
			!strings.Contains(string(b), fmt.Sprintf("DOCKER_ECR_CACHE_CACHE_HIT=%v\n", hit)) {
			t.Errorf("report %q, %v", b, err)
		}
	}

	// Without CI_REGISTRY, a configuration error, and no report is left.
	r := testenv.RunCommand(t, dir, append(env[:3:3], "DOCKER_ECR_CACHE_CACHE_ON=input.txt"), "gitlab")
	if r.Code != 2 || !strings.Contains(r.Stdout, "set registry-provider") {
		t.Errorf("exit code %d:\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	if _, err := os.Stat(report); !os.IsNotExist(err) {
		t.Errorf("a failed run left the report: %v", err)
	}
}
