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

	"github.com/docker-ecr-cache/docker-ecr-cache/internal/googletest"
	"github.com/docker-ecr-cache/docker-ecr-cache/internal/testenv"
)

// googleCommand runs the binary in dir with exactly env (and PATH), as a
// CI job would with registry-provider: gcr and a service account key.
func googleCommand(t *testing.T, dir string, env map[string]string) testenv.Result {
	t.Helper()
	environ := []string{"PATH=" + os.Getenv("PATH")}
	for k, v := range env {
		environ = append(environ, k+"="+v)
	}
	run := testenv.RunCommand(t, dir, environ)
	t.Logf("exit %d\nstdout:\n%s\nstderr:\n%s", run.Code, run.Stdout, run.Stderr)
	return run
}

// TestGoogleProvider runs the original plugin's GCR example
// (registry-provider: gcr, gcp-project: foo-bar-123456) end to end: the
// real golang.org/x/oauth2/google service-account flow against the test
// token endpoint, the real Docker daemon, and a registry that accepts
// only the access token that endpoint hands out.
func TestGoogleProvider(t *testing.T) {
	dockerHost := testenv.Docker(t)
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
	miss := googleCommand(t, work, env)
	if miss.Code != 0 {
		t.Fatalf("first run exited %d", miss.Code)
	}
	tag := miss.Outputs["TAG"]
	refs = append(refs, image+":"+tag, image+":latest")
	googleCheckOutputs(t, miss.Outputs, map[string]string{"IMAGE": image, "IMAGE_REF": image + ":" + tag, "CACHE_HIT": "false", "KEY": tag})
	if !regexp.MustCompile(`^sha256:[0-9a-f]{64}$`).MatchString(miss.Outputs["DIGEST"]) || !regexp.MustCompile(`^[0-9a-f]{40,64}$`).MatchString(tag) {
		t.Errorf("DIGEST=%q TAG=%q, want a digest and a hex key", miss.Outputs["DIGEST"], tag)
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
	if strings.Contains(miss.Stdout+miss.Stderr, s.Token) {
		t.Errorf("the access token was printed")
	}
	out, err := googleDocker(dockerHost, "run", "--rm", image+":"+tag, "/bin/busybox", "cat", "/marker")
	if err != nil || strings.TrimSpace(out) != "built with deps v1" {
		t.Errorf("the pushed image says %q, %v", out, err)
	}

	// A hit: one HEAD, nothing built or pulled.
	s.Registry.Reset()
	hit := googleCommand(t, work, env)
	if hit.Code != 0 {
		t.Fatalf("second run exited %d", hit.Code)
	}
	googleCheckOutputs(t, hit.Outputs, map[string]string{"IMAGE_REF": image + ":" + tag, "CACHE_HIT": "true", "DIGEST": miss.Outputs["DIGEST"]})
	want := "HEAD /v2/foo-bar-123456/" + name + "/manifests/" + tag + " 200"
	if got := s.Registry.Requests(); len(got) != 1 || got[0] != want {
		t.Errorf("a hit made requests %q, want exactly %q", got, want)
	}
	if strings.Contains(hit.Stderr, "Building") || strings.Contains(hit.Stderr, "Pulling") {
		t.Errorf("a hit built or pulled")
	}

	// A token the registry does not accept: exit 1 with an
	// authentication error, and no build even though the key changed.
	googleWriteFile(t, work, "deps.txt", "deps v2\n")
	s.HandOut("ya29.a-token-the-registry-refuses")
	s.Registry.Reset()
	denied := googleCommand(t, work, env)
	if denied.Code != 1 {
		t.Errorf("with a refused token the run exited %d, want 1", denied.Code)
	}
	for _, w := range []string{"refused the credential", "HTTP 401", "service account " + s.ClientEmail} {
		if !strings.Contains(denied.Stderr, w) {
			t.Errorf("stderr does not say %q", w)
		}
	}
	if strings.Contains(denied.Stderr, "Building") || strings.Contains(denied.Stderr, "RUN") || strings.Contains(denied.Stderr, "ya29.") {
		t.Errorf("a refused token led to a build, or was printed")
	}
	// Lookups only: a HEAD, and the GET refused likewise that fetches the
	// registry's error message, which a HEAD answer has no body for.
	for _, r := range s.Registry.Requests() {
		if !strings.HasPrefix(r, "HEAD ") && !strings.HasSuffix(r, " 401") {
			t.Errorf("a refused token led to %q", r)
		}
	}
	s.HandOut("")

	// Artifact Registry: the first part of ecr-name is the repository.
	arName := strings.Replace(name, "google-e2e", "google-ar", 1)
	arImage := s.RegistryHost + "/foo-bar-123456/" + arName
	env["DOCKER_ECR_CACHE_REGISTRY_PROVIDER"] = "artifact-registry"
	env["DOCKER_ECR_CACHE_ECR_NAME"] = arName
	ar := googleCommand(t, work, env)
	if ar.Code != 0 {
		t.Fatalf("artifact-registry run exited %d", ar.Code)
	}
	refs = append(refs, ar.Outputs["IMAGE_REF"], arImage+":latest")
	googleCheckOutputs(t, ar.Outputs, map[string]string{"IMAGE": arImage, "CACHE_HIT": "false"})

	// Artifact Registry needs the location's host.
	delete(env, "DOCKER_ECR_CACHE_REGISTRY_HOSTNAME")
	bad := googleCommand(t, work, env)
	if bad.Code != 2 || !strings.Contains(bad.Stderr, "registry-hostname is required with registry-provider: artifact-registry") {
		t.Errorf("artifact-registry without registry-hostname: exit %d, want 2 naming registry-hostname", bad.Code)
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

// A token close to expiry is not reused for the push: a build can outlast
// an access token, so the engine asks for the credential again, and the
// provider replaces a token that expires within minutes.
func TestGoogleTokenRefreshedBeforePush(t *testing.T) {
	dockerHost := testenv.Docker(t)
	s := googletest.Start(t, googletest.Options{Project: "foo-bar-123456", ExpiresIn: 60})
	work := t.TempDir()
	testenv.Busybox(t, work)
	googleWriteFile(t, work, "Dockerfile", "FROM scratch\nCOPY busybox /bin/busybox\n"+`RUN ["/bin/busybox", "true"]`+"\n")
	name := fmt.Sprintf("build-cache/google-refresh-%d", time.Now().UnixNano())
	run := googleCommand(t, work, map[string]string{
		"HOME":                               t.TempDir(),
		"DOCKER_HOST":                        dockerHost,
		"GOOGLE_APPLICATION_CREDENTIALS":     s.WriteKeyFile(t, t.TempDir()),
		"DOCKER_ECR_CACHE_REGISTRY_PROVIDER": "gcr",
		"DOCKER_ECR_CACHE_GCP_PROJECT":       "foo-bar-123456",
		"DOCKER_ECR_CACHE_REGISTRY_HOSTNAME": s.RegistryHost,
		"DOCKER_ECR_CACHE_ECR_NAME":          name,
	})
	image := s.RegistryHost + "/foo-bar-123456/" + name
	t.Cleanup(func() { googleRemoveImages(dockerHost, run.Outputs["IMAGE_REF"], image+":latest") })
	if run.Code != 0 || run.Outputs["CACHE_HIT"] != "false" {
		t.Fatalf("the miss exited %d with outputs %v", run.Code, run.Outputs)
	}
	if s.Issued() != 2 {
		t.Errorf("%d access tokens, want 2: one for the lookup, a fresh one for the push", s.Issued())
	}
}
