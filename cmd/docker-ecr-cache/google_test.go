package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/docker-ecr-cache/docker-ecr-cache/internal/googletest"
	"github.com/docker-ecr-cache/docker-ecr-cache/internal/testenv"
)

// googleRun is one run of the built command as a subprocess.
type googleRun struct {
	code           int
	stdout, stderr string
	out            map[string]string // the dotenv results
}

// googleCommand runs the binary in dir with exactly env (and PATH), as a
// CI job would with registry-provider: gcr and a service account key.
func googleCommand(t *testing.T, bin, dir string, env map[string]string) googleRun {
	t.Helper()
	cmd := exec.Command(bin)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	run := googleRun{stdout: stdout.String(), stderr: stderr.String(), out: map[string]string{}}
	var exitErr *exec.ExitError
	switch {
	case errors.As(err, &exitErr):
		run.code = exitErr.ExitCode()
	case err != nil:
		t.Fatalf("running %s: %v", bin, err)
	}
	sc := bufio.NewScanner(strings.NewReader(run.stdout))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			run.out[k] = v
		}
	}
	t.Logf("exit %d\nstdout:\n%s\nstderr:\n%s", run.code, run.stdout, run.stderr)
	return run
}

// TestGoogleProvider runs the original plugin's GCR example
// (registry-provider: gcr, gcp-project: foo-bar-123456) end to end: the
// real golang.org/x/oauth2/google service-account flow against the test
// token endpoint, the real Docker daemon, and a registry that accepts
// only the access token that endpoint hands out.
func TestGoogleProvider(t *testing.T) {
	dockerHost := testenv.Docker(t)
	bin := testenv.Binary(t)
	s := googletest.Start(t, googletest.Options{Project: "foo-bar-123456"})

	work := t.TempDir()
	testenv.Busybox(t, work)
	googleWriteFile(t, work, "Dockerfile", "FROM scratch\nCOPY busybox /bin/busybox\nCOPY deps.txt /deps.txt\n"+
		`RUN ["/bin/busybox", "sh", "-c", "echo built with $(/bin/busybox cat /deps.txt) > /marker"]`+"\n")
	googleWriteFile(t, work, "deps.txt", "deps v1\n")

	name := fmt.Sprintf("build-cache/google-e2e-%d", time.Now().UnixNano())
	image := s.RegistryHost + "/foo-bar-123456/" + name
	env := map[string]string{
		"HOME":                               t.TempDir(), // no Docker config: the credential is ADC's
		"DOCKER_HOST":                        dockerHost,
		"GOOGLE_APPLICATION_CREDENTIALS":     s.WriteKeyFile(t, t.TempDir()),
		"DOCKER_ECR_CACHE_REGISTRY_PROVIDER": "gcr",
		"DOCKER_ECR_CACHE_GCP_PROJECT":       "foo-bar-123456",
		"DOCKER_ECR_CACHE_REGISTRY_HOSTNAME": s.RegistryHost,
		"DOCKER_ECR_CACHE_ECR_NAME":          name,
		"DOCKER_ECR_CACHE_CACHE_ON":          "deps.txt",
	}
	var refs []string
	t.Cleanup(func() { googleRemoveImages(dockerHost, refs...) })

	// A miss: build, push the key tag and latest, with one token.
	miss := googleCommand(t, bin, work, env)
	if miss.code != 0 {
		t.Fatalf("first run exited %d", miss.code)
	}
	tag := miss.out["TAG"]
	refs = append(refs, image+":"+tag, image+":latest")
	googleCheckOutputs(t, miss.out, map[string]string{"IMAGE": image, "IMAGE_REF": image + ":" + tag, "CACHE_HIT": "false", "KEY": tag})
	if !regexp.MustCompile(`^sha256:[0-9a-f]{64}$`).MatchString(miss.out["DIGEST"]) || !regexp.MustCompile(`^[0-9a-f]{40,64}$`).MatchString(tag) {
		t.Errorf("DIGEST=%q TAG=%q, want a digest and a hex key", miss.out["DIGEST"], tag)
	}
	reqs := strings.Join(s.Registry.Requests(), "\n")
	for _, want := range []string{"PUT /v2/foo-bar-123456/" + name + "/manifests/" + tag + " 201", "PUT /v2/foo-bar-123456/" + name + "/manifests/latest 201"} {
		if !strings.Contains(reqs, want) {
			t.Errorf("registry requests lack %q:\n%s", want, reqs)
		}
	}
	if s.Issued() != 1 {
		t.Errorf("%d access tokens for one run, want 1", s.Issued())
	}
	if strings.Contains(miss.stdout+miss.stderr, s.Token) {
		t.Errorf("the access token was printed")
	}
	out, err := googleDocker(dockerHost, "run", "--rm", image+":"+tag, "/bin/busybox", "cat", "/marker")
	if err != nil || strings.TrimSpace(out) != "built with deps v1" {
		t.Errorf("the pushed image says %q, %v", out, err)
	}

	// A hit: one HEAD, nothing built or pulled.
	s.Registry.Reset()
	hit := googleCommand(t, bin, work, env)
	if hit.code != 0 {
		t.Fatalf("second run exited %d", hit.code)
	}
	googleCheckOutputs(t, hit.out, map[string]string{"IMAGE_REF": image + ":" + tag, "CACHE_HIT": "true", "DIGEST": miss.out["DIGEST"]})
	want := "HEAD /v2/foo-bar-123456/" + name + "/manifests/" + tag + " 200"
	if got := s.Registry.Requests(); len(got) != 1 || got[0] != want {
		t.Errorf("a hit made requests %q, want exactly %q", got, want)
	}
	if strings.Contains(hit.stderr, "Building") || strings.Contains(hit.stderr, "Pulling") {
		t.Errorf("a hit built or pulled")
	}

	// A token the registry does not accept: exit 1 with an
	// authentication error, and no build even though the key changed.
	googleWriteFile(t, work, "deps.txt", "deps v2\n")
	s.HandOut("ya29.a-token-the-registry-refuses")
	s.Registry.Reset()
	denied := googleCommand(t, bin, work, env)
	if denied.code != 1 {
		t.Errorf("with a refused token the run exited %d, want 1", denied.code)
	}
	for _, w := range []string{"refused the credential", "HTTP 401", "service account " + s.ClientEmail} {
		if !strings.Contains(denied.stderr, w) {
			t.Errorf("stderr does not say %q", w)
		}
	}
	if strings.Contains(denied.stderr, "Building") || strings.Contains(denied.stderr, "RUN") || strings.Contains(denied.stderr, "ya29.") {
		t.Errorf("a refused token led to a build, or was printed")
	}
	for _, r := range s.Registry.Requests() {
		if !strings.HasPrefix(r, "HEAD ") {
			t.Errorf("a refused token led to %q", r)
		}
	}
	s.HandOut("")

	// Artifact Registry: the first part of ecr-name is the repository.
	arName := strings.Replace(name, "google-e2e", "google-ar", 1)
	arImage := s.RegistryHost + "/foo-bar-123456/" + arName
	env["DOCKER_ECR_CACHE_REGISTRY_PROVIDER"] = "artifact-registry"
	env["DOCKER_ECR_CACHE_ECR_NAME"] = arName
	ar := googleCommand(t, bin, work, env)
	if ar.code != 0 {
		t.Fatalf("artifact-registry run exited %d", ar.code)
	}
	refs = append(refs, ar.out["IMAGE_REF"], arImage+":latest")
	googleCheckOutputs(t, ar.out, map[string]string{"IMAGE": arImage, "CACHE_HIT": "false"})

	// Artifact Registry needs the location's host.
	delete(env, "DOCKER_ECR_CACHE_REGISTRY_HOSTNAME")
	bad := googleCommand(t, bin, work, env)
	if bad.code != 2 || !strings.Contains(bad.stderr, "registry-hostname is required with registry-provider: artifact-registry") {
		t.Errorf("artifact-registry without registry-hostname: exit %d, want 2 naming registry-hostname", bad.code)
	}
}

func googleCheckOutputs(t *testing.T, got, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s=%q, want %q", k, got[k], v)
		}
	}
}

func googleWriteFile(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func googleDocker(host string, args ...string) (string, error) {
	cmd := exec.Command("docker", args...)
	cmd.Env = append(os.Environ(), "DOCKER_HOST="+host)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// removeImages removes the test's images from the shared daemon.
func googleRemoveImages(host string, refs ...string) {
	if len(refs) > 0 {
		_, _ = googleDocker(host, append([]string{"rmi", "-f"}, refs...)...)
	}
}
