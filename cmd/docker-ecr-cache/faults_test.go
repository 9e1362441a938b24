package main

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker-ecr-cache/docker-ecr-cache/internal/faultproxy"
	"github.com/docker-ecr-cache/docker-ecr-cache/internal/testenv"
)

// faultJob is a CI job running the built command against the in-process
// registry through a fault proxy, with registry-provider: registry.
type faultJob struct {
	dir   string // the checkout
	reg   *testenv.Registry
	proxy *faultproxy.Proxy
	repo  string // faults/<unique>
	env   []string
}

func newFaultJob(t *testing.T, opts testenv.RegistryOptions) *faultJob {
	t.Helper()
	dockerHost := testenv.Docker(t)
	j := &faultJob{dir: t.TempDir(), reg: testenv.StartRegistry(t, opts)}
	j.proxy = faultproxy.Start(t, j.reg.Host)
	testenv.Busybox(t, j.dir)
	j.repo = fmt.Sprintf("faults/%s-%d", strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name())), time.Now().UnixNano())
	j.dockerfile(t, "first")
	j.env = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "DOCKER_HOST=" + dockerHost, "DOCKER_CONFIG=" + t.TempDir(),
		"DOCKER_ECR_CACHE_REGISTRY_PROVIDER=registry",
		"DOCKER_ECR_CACHE_REGISTRY=" + j.proxy.Host + "/" + j.repo,
		"DOCKER_ECR_CACHE_LOCK_DIR=" + t.TempDir(),
	}
	t.Cleanup(func() { ecrRemoveImages(j.proxy.Host + "/" + j.repo) })
	return j
}

// dockerfile writes a Dockerfile whose key is unique to the test and word.
func (j *faultJob) dockerfile(t *testing.T, word string) {
	t.Helper()
	df := fmt.Sprintf("FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"sh\", \"-c\", \"echo %s %s > /marker\"]\n", j.repo, word)
	if err := os.WriteFile(filepath.Join(j.dir, "Dockerfile"), []byte(df), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (j *faultJob) run(t *testing.T, env ...string) testenv.Result {
	t.Helper()
	return testenv.RunCommand(t, j.dir, append(append([]string{}, j.env...), env...))
}

// head is the registry's answer to a HEAD of tag, past the proxy, and the
// digest it names.
func (j *faultJob) head(t *testing.T, tag string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodHead, "http://"+j.reg.Host+"/v2/"+j.repo+"/manifests/"+tag, nil)
	req.Header.Set("Accept", "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json")
	req.SetBasicAuth("ci", "s3cret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Docker-Content-Digest")
}

func (j *faultJob) fault(t *testing.T, r faultproxy.Rule) {
	t.Helper()
	if err := j.proxy.Add(r); err != nil {
		t.Fatal(err)
	}
}

// A 503 on the first manifest PUT of the key tag is retried: the run
// succeeds with one build, and the registry holds the tag.
func TestFaultPushRetriedWithoutRebuild(t *testing.T) {
	t.Parallel()
	j := newFaultJob(t, testenv.RegistryOptions{})
	j.fault(t, faultproxy.Rule{Method: "PUT", Path: `/manifests/[0-9a-f]{40}$`, Times: 1, Fault: faultproxy.Status(503)})
	r := j.run(t)
	if r.Code != 0 {
		t.Fatalf("exit %d:\n%s", r.Code, r.Stderr)
	}
	tag := r.Outputs["TAG"]
	if !strings.Contains(r.Stderr, "503 Service Unavailable") || !strings.Contains(r.Stderr, "retrying in") || strings.Count(r.Stderr, "built "+j.proxy.Host) != 1 {
		t.Errorf("want one build and a logged retry:\n%s", r.Stderr)
	}
	puts := j.proxy.Matching("PUT", "/manifests/"+tag+"$")
	if len(puts) != 2 || puts[0].Fault == "" {
		t.Errorf("manifest PUTs of the key tag %v, want the faulted one and one more", puts)
	}
	if code, digest := j.head(t, tag); code != 200 || !strings.Contains(r.Stdout, digest) {
		t.Errorf("HEAD %s = %d %s; outputs:\n%s", tag, code, digest, r.Stdout)
	}
}

// A fault that lasts fails the run with exit 1 in bounded time, naming
// the cause; the new key tag is not stored and latest stays.
func TestFaultPersistentFailsCleanly(t *testing.T) {
	t.Parallel()
	j := newFaultJob(t, testenv.RegistryOptions{})
	if r := j.run(t); r.Code != 0 {
		t.Fatalf("first run: exit %d:\n%s", r.Code, r.Stderr)
	}
	_, latest := j.head(t, "latest")
	j.dockerfile(t, "second")
	j.proxy.Reset()
	j.fault(t, faultproxy.Rule{Method: "PUT", Path: `/manifests/`, Fault: faultproxy.Status(503)})
	start := time.Now()
	r := j.run(t)
	took := time.Since(start)
	if r.Code != 1 || !strings.Contains(r.Stderr, "503 Service Unavailable (the registry answered a server error (5xx): gave up after 5 tries in ") {
		t.Fatalf("exit %d, want 1 naming the 503:\n%s", r.Code, r.Stderr)
	}
	if took > 60*time.Second {
		t.Errorf("took %s to give up", took)
	}
	tags := 0
	for _, req := range j.proxy.Matching("PUT", `/manifests/`) {
		if !strings.HasSuffix(req.Path, "/latest") {
			tags++
		}
	}
	if tags != 5 {
		t.Errorf("%d key tag PUTs, want 5 tries", tags)
	}
	for _, req := range j.proxy.Matching("PUT", `/manifests/latest$`) {
		if req.Fault != "" {
			t.Errorf("latest was pushed after the key tag failed: %v", req)
		}
	}
	if _, now := j.head(t, "latest"); now != latest {
		t.Errorf("latest moved from %s to %s", latest, now)
	}
}

// A refused credential, on the lookup or from the registry itself, fails
// the run: it is never taken for a miss and built.
func TestFaultAuthIsNeverAMiss(t *testing.T) {
	t.Parallel()
	t.Run("injected 401 on the lookup", func(t *testing.T) {
		t.Parallel()
		j := newFaultJob(t, testenv.RegistryOptions{})
		j.fault(t, faultproxy.Rule{Method: "HEAD", Path: `/manifests/`, Fault: faultproxy.Status(401)})
		j.fault(t, faultproxy.Rule{Method: "GET", Path: `/manifests/`, Fault: faultproxy.Status(401)})
		r := j.run(t)
		if r.Code != 1 || strings.Contains(r.Stderr, "cache miss: no image") || strings.Contains(r.Stderr, "==> Building") {
			t.Errorf("exit %d, want 1 without a build:\n%s", r.Code, r.Stderr)
		}
	})
	t.Run("refused credential", func(t *testing.T) {
		t.Parallel()
		j := newFaultJob(t, testenv.RegistryOptions{Username: "ci", Password: "s3cret"})
		r := j.run(t, "DOCKER_ECR_CACHE_REGISTRY_USERNAME=ci", "DOCKER_ECR_CACHE_REGISTRY_PASSWORD=not-the-password")
		if r.Code != 1 || strings.Contains(r.Stderr, "cache miss: no image") || strings.Contains(r.Stderr, "==> Building") || !strings.Contains(r.Stderr, "UNAUTHORIZED") {
			t.Errorf("exit %d, want 1 without a build:\n%s", r.Code, r.Stderr)
		}
	})
}

// SIGTERM while the registry holds a request of the lookup, the pull or
// the push: the command exits 1 within 5 s with an error that names the
// phase, builds nothing it had not built, and latest does not move.
func TestFaultSignal(t *testing.T) {
	t.Parallel()
	const held = 8 * time.Second
	tests := []struct {
		phase string
		rule  faultproxy.Rule
		// second: the run signalled is a miss of a changed Dockerfile;
		// otherwise a hit of the first run's key, not on the daemon.
		second    bool
		errPrefix string
	}{
		{"lookup", faultproxy.Rule{Method: "HEAD", Path: `/manifests/[0-9a-f]{40}$`, Fault: faultproxy.Delay(held)}, true, "stopped while looking up: looking up "},
		{"pull", faultproxy.Rule{Method: "GET", Path: `/manifests/`, Fault: faultproxy.Delay(held)}, false, "stopped while pulling: pulling "},
		{"push", faultproxy.Rule{Method: "PUT", Path: `/manifests/[0-9a-f]{40}$`, Fault: faultproxy.Delay(held)}, true, "stopped while pushing: pushing "},
	}
	for _, tt := range tests {
		t.Run(tt.phase, func(t *testing.T) {
			t.Parallel()
			j := newFaultJob(t, testenv.RegistryOptions{})
			first := j.run(t)
			if first.Code != 0 {
				t.Fatalf("first run: exit %d:\n%s", first.Code, first.Stderr)
			}
			_, latest := j.head(t, "latest")
			if tt.second {
				j.dockerfile(t, "second")
			} else {
				ecrRemoveImages(j.proxy.Host + "/" + j.repo)
			}
			j.proxy.Reset()
			j.fault(t, tt.rule)

			cmd := exec.Command(testenv.Binary(t))
			cmd.Dir, cmd.Env = j.dir, j.env
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			for deadline := time.Now().Add(60 * time.Second); len(j.proxy.Matching(tt.rule.Method, tt.rule.Path)) == 0; time.Sleep(20 * time.Millisecond) {
				if time.Now().After(deadline) {
					_ = cmd.Process.Kill()
					t.Fatalf("the held request never came:\n%s", stderr.String())
				}
			}
			signalled := time.Now()
			if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			var err error
			select {
			case err = <-done:
			case <-time.After(5 * time.Second):
				_ = cmd.Process.Kill()
				t.Fatalf("still running 5s after SIGTERM:\n%s", stderr.String())
			}
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 1 {
				t.Errorf("exit %v after %s, want 1:\n%s", err, time.Since(signalled), stderr.String())
			}
			if !strings.Contains(stderr.String(), "signal received") && !strings.Contains(stderr.String(), "context canceled") {
				t.Errorf("the error does not say the run was cancelled:\n%s", stderr.String())
			}
			if !strings.Contains(stderr.String(), "error: "+tt.errPrefix) {
				t.Errorf("the error does not name the %s:\n%s", tt.phase, stderr.String())
			}
			if tt.phase != "push" && strings.Contains(stderr.String(), "==> Building") {
				t.Errorf("built after SIGTERM in the %s:\n%s", tt.phase, stderr.String())
			}
			time.Sleep(time.Until(signalled.Add(held + time.Second))) // the held request is answered
			if _, now := j.head(t, "latest"); now != latest {
				t.Errorf("latest moved from %s to %s after SIGTERM", latest, now)
			}
			if n := len(j.proxy.Matching("PUT", `/manifests/latest$`)); n != 0 {
				t.Errorf("latest pushed %d times after SIGTERM", n)
			}
		})
	}
}
