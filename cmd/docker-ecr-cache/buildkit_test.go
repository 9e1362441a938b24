package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker-ecr-cache/docker-ecr-cache/internal/ecrtest"
	"github.com/docker-ecr-cache/docker-ecr-cache/internal/googletest"
	"github.com/docker-ecr-cache/docker-ecr-cache/internal/testenv"
)

// bkJob is a CI job running the built command with buildkit-host against
// an in-process registry: the BuildKit daemon builds and pushes, the job's
// Docker daemon pulls.
type bkJob struct {
	dir     string // the checkout: busybox and the files the test writes
	reg     *testenv.Registry
	repo    string            // host/path of the job's repository
	env     []string          // the job's environment but the options
	options map[string]string // DOCKER_ECR_CACHE_<OPTION> values
}

// newBKJob prepares a checkout and options for a run through bkHost
// against reg, with reg's credential when it needs one.
func newBKJob(t *testing.T, bkHost string, reg *testenv.Registry, user, pass string) *bkJob {
	t.Helper()
	dockerHost := testenv.Docker(t)
	dir := t.TempDir()
	testenv.Busybox(t, dir)
	name := "bk/" + strings.ToLower(regexp.MustCompile(`[^A-Za-z0-9]+`).ReplaceAllString(t.Name(), "-")) + fmt.Sprintf("-%d", time.Now().UnixNano())
	j := &bkJob{
		dir:  dir,
		reg:  reg,
		repo: reg.Host + "/" + name,
		env:  []string{"DOCKER_HOST=" + dockerHost, "HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH")},
		options: map[string]string{
			"REGISTRY_PROVIDER": "registry",
			"REGISTRY":          reg.Host + "/" + name,
			"BUILDKIT_HOST":     bkHost,
		},
	}
	if user != "" {
		j.env = append(j.env, "DOCKER_ECR_CACHE_REGISTRY_USERNAME="+user, "DOCKER_ECR_CACHE_REGISTRY_PASSWORD="+pass)
	}
	t.Cleanup(func() { ecrRemoveImages(j.repo) })
	return j
}

func (j *bkJob) write(t *testing.T, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(j.dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// run runs the command with the job's options and extra NAME=value
// variables, and checks its exit code.
func (j *bkJob) run(t *testing.T, code int, extra ...string) testenv.Result {
	t.Helper()
	env := append(slices.Clip(j.env), extra...)
	for k, v := range j.options {
		env = append(env, "DOCKER_ECR_CACHE_"+k+"="+v)
	}
	r := testenv.RunCommand(t, j.dir, env)
	if r.Code != code {
		t.Fatalf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", r.Code, code, r.Stdout, r.Stderr)
	}
	return r
}

// onDaemon reports whether the job's Docker daemon has ref.
func onDaemon(ref string) bool {
	return exec.Command("docker", "image", "inspect", ref).Run() == nil
}

// dockerRun runs cmd in ref on the job's daemon and returns its output.
func dockerRun(t *testing.T, ref string, cmd ...string) string {
	t.Helper()
	out, err := exec.Command("docker", append([]string{"run", "--rm", ref}, cmd...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("docker run %s: %v\n%s", ref, err, out)
	}
	return strings.TrimSpace(string(out))
}

// indexOf is the position of the first request matching re, or -1.
func indexOf(requests []string, re string) int {
	m := regexp.MustCompile(re)
	return slices.IndexFunc(requests, m.MatchString)
}

// TestBuildKitMissHit: through buildkit-host, a miss is built and pushed by
// the BuildKit daemon (the key tag, then latest, and the full cache at
// buildcache) and pulled by the job's daemon; the next run is a hit; with
// skip-pull-from-cache a miss leaves nothing on the job's daemon. Against
// an open registry and one that needs a password.
func TestBuildKitMissHit(t *testing.T) {
	t.Parallel()
	bkHost := testenv.BuildKit(t)
	for _, tc := range []struct {
		name, user, pass string
	}{{"plain", "", ""}, {"htpasswd", "ci", "s3cret-bk-pass"}} {
		t.Run(tc.name, func(t *testing.T) {
			reg := testenv.StartRegistry(t, testenv.RegistryOptions{Username: tc.user, Password: tc.pass})
			j := newBKJob(t, bkHost, reg, tc.user, tc.pass)
			path := regexp.QuoteMeta(strings.TrimPrefix(j.repo, reg.Host+"/"))
			j.options["CACHE_ON"] = "deps.txt"
			j.write(t, "deps.txt", "deps v1")
			j.write(t, "Dockerfile", "FROM scratch\nCOPY busybox /bin/busybox\nCOPY deps.txt /deps.txt\n"+
				`RUN ["/bin/busybox", "sh", "-c", "echo built with $(/bin/busybox cat /deps.txt) > /marker"]`+"\n")

			miss := j.run(t, 0)
			ref := miss.Outputs["IMAGE_REF"]
			if miss.Outputs["CACHE_HIT"] != "false" || !regexp.MustCompile(`^sha256:[0-9a-f]{64}$`).MatchString(miss.Outputs["DIGEST"]) {
				t.Fatalf("outputs %v", miss.Outputs)
			}
			for _, want := range []string{"building on " + bkHost + ", which pushes " + ref, "#", "RUN", j.repo + ":latest now names " + ref} {
				if !strings.Contains(miss.Stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, miss.Stderr)
				}
			}
			if tc.pass != "" && strings.Contains(miss.Stdout+miss.Stderr, tc.pass) {
				t.Error("the registry password is in the output")
			}
			reqs := reg.Requests()
			key := indexOf(reqs, `^PUT /v2/`+path+`/manifests/`+miss.Outputs["TAG"]+` 201$`)
			latest := indexOf(reqs, `^PUT /v2/`+path+`/manifests/latest 201$`)
			cache := indexOf(reqs, `^PUT /v2/`+path+`/manifests/buildcache 201$`)
			if key < 0 || latest < key || cache < 0 {
				t.Errorf("want the key tag, then latest, and buildcache pushed; key %d, latest %d, buildcache %d:\n%s", key, latest, cache, strings.Join(reqs, "\n"))
			}
			if !onDaemon(ref) {
				t.Fatalf("%s is not on the job's daemon after the miss", ref)
			}
			if got := dockerRun(t, ref, "/bin/busybox", "cat", "/marker"); got != "built with deps v1" {
				t.Errorf("marker %q", got)
			}

			reg.Reset()
			hit := j.run(t, 0)
			if hit.Outputs["CACHE_HIT"] != "true" || hit.Outputs["IMAGE_REF"] != ref || strings.Contains(hit.Stderr, "RUN") {
				t.Errorf("second run: outputs %v\n%s", hit.Outputs, hit.Stderr)
			}
			if slices.ContainsFunc(reg.Requests(), func(r string) bool { return strings.HasPrefix(r, "PUT") }) {
				t.Errorf("a hit pushed: %q", reg.Requests())
			}

			j.write(t, "deps.txt", "deps v2")
			skip := j.run(t, 0, "DOCKER_ECR_CACHE_SKIP_PULL_FROM_CACHE=true")
			if skip.Outputs["CACHE_HIT"] != "false" || skip.Outputs["TAG"] == miss.Outputs["TAG"] {
				t.Fatalf("outputs %v", skip.Outputs)
			}
			if onDaemon(skip.Outputs["IMAGE_REF"]) {
				t.Errorf("skip-pull-from-cache: %s was pulled", skip.Outputs["IMAGE_REF"])
			}
			if !strings.Contains(skip.Stderr, "skip-pull-from-cache is set, so "+skip.Outputs["IMAGE_REF"]+" is not pulled") {
				t.Errorf("stderr:\n%s", skip.Stderr)
			}
		})
	}
}

// TestBuildKitSecretsAndUnhashedArgs: secrets reach RUN --mount=type=secret
// on the BuildKit daemon over the remote session, and never the output;
// unhashed-build-args reach the build but not the key, so another value is
// a hit on the same tag.
func TestBuildKitSecretsAndUnhashedArgs(t *testing.T) {
	bkHost := testenv.BuildKit(t)
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	j := newBKJob(t, bkHost, reg, "", "")
	j.write(t, "npmrc.txt", "npm-file-secret-bk\n")
	j.write(t, "Dockerfile", "FROM scratch\nCOPY busybox /bin/busybox\nARG BUILD_NUMBER\n"+
		`RUN --mount=type=secret,id=MY_TOKEN --mount=type=secret,id=npmrc ["/bin/busybox", "sh", "-c", `+
		`"echo token $(/bin/busybox wc -c < /run/secrets/MY_TOKEN) bytes, npmrc $(/bin/busybox wc -c < /run/secrets/npmrc) bytes > /checked && echo build $BUILD_NUMBER > /build"]`+"\n")
	j.options["SECRETS"] = "MY_TOKEN\nid=npmrc,src=npmrc.txt"
	j.options["UNHASHED_BUILD_ARGS"] = "BUILD_NUMBER"

	first := j.run(t, 0, "MY_TOKEN=hunter2-bk-secret-value", "BUILD_NUMBER=101")
	ref := first.Outputs["IMAGE_REF"]
	if first.Outputs["CACHE_HIT"] != "false" {
		t.Fatalf("outputs %v", first.Outputs)
	}
	for _, secret := range []string{"hunter2-bk-secret-value", "npm-file-secret-bk"} {
		if strings.Contains(first.Stdout+first.Stderr, secret) {
			t.Errorf("a secret's value is in the output")
		}
	}
	if got := dockerRun(t, ref, "/bin/busybox", "cat", "/checked", "/build"); got != "token 23 bytes, npmrc 19 bytes\nbuild 101" {
		t.Errorf("the image says %q", got)
	}
	if strings.Contains(first.Stderr, "build-arg BUILD_NUMBER") {
		t.Errorf("the unhashed build arg is listed among the key's inputs:\n%s", first.Stderr)
	}

	second := j.run(t, 0, "MY_TOKEN=another-value", "BUILD_NUMBER=102")
	if second.Outputs["CACHE_HIT"] != "true" || second.Outputs["TAG"] != first.Outputs["TAG"] {
		t.Errorf("another BUILD_NUMBER and secret: outputs %v, want a hit on %s", second.Outputs, first.Outputs["TAG"])
	}
	delete(j.options, "UNHASHED_BUILD_ARGS")
	third := j.run(t, 0, "MY_TOKEN=x")
	if third.Outputs["TAG"] != first.Outputs["TAG"] {
		t.Errorf("the key without unhashed-build-args is %s, with them %s", third.Outputs["TAG"], first.Outputs["TAG"])
	}
}

// TestBuildKitRegistryCacheAfterWipe: the full (mode=max) cache in the
// registry serves a BuildKit daemon whose state was wiped, as a fresh
// agent's would be: after a change to the last stage, the earlier stage's
// slow step does not run again, though it is in no image's layers.
func TestBuildKitRegistryCacheAfterWipe(t *testing.T) {
	t.Parallel()
	d := testenv.StartBuildKitd(t, "")
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	j := newBKJob(t, d.Addr, reg, "", "")
	nonce := fmt.Sprint(time.Now().UnixNano())
	j.write(t, "Dockerfile", `FROM scratch AS toolchain
COPY busybox /bin/busybox
RUN ["/bin/busybox", "sh", "-c", "echo toolchain-step-ran && /bin/busybox sleep 2 && echo toolchain `+nonce+` > /toolchain"]

FROM scratch
COPY busybox /bin/busybox
COPY --from=toolchain /toolchain /toolchain
COPY app.txt /app.txt
`)
	j.options["CACHE_ON"] = "app.txt"
	j.options["SKIP_PULL_FROM_CACHE"] = "true"
	j.write(t, "app.txt", "app v1")
	first := j.run(t, 0)
	// The step's own output line: a step served from the cache prints none.
	ran := regexp.MustCompile(`(?m)^#\d+ \d+\.\d+ toolchain-step-ran$`)
	if !ran.MatchString(first.Stderr) {
		t.Fatalf("the first build did not run the toolchain step:\n%s", first.Stderr)
	}

	d.Restart(t, true)
	j.write(t, "app.txt", "app v2")
	reg.Reset()
	second := j.run(t, 0)
	if second.Outputs["CACHE_HIT"] != "false" || second.Outputs["TAG"] == first.Outputs["TAG"] {
		t.Fatalf("outputs %v", second.Outputs)
	}
	if ran.MatchString(second.Stderr) {
		t.Errorf("after the wipe, the toolchain step ran again:\n%s", second.Stderr)
	}
	path := regexp.QuoteMeta(strings.TrimPrefix(j.repo, reg.Host+"/"))
	if indexOf(reg.Requests(), `^HEAD /v2/`+path+`/manifests/buildcache 200$`) < 0 {
		t.Errorf("the cache was not read from buildcache:\n%s", strings.Join(reg.Requests(), "\n"))
	}
	if got := dockerRunPulled(t, j, second.Outputs["IMAGE_REF"]); got != "toolchain "+nonce+"\napp v2" {
		t.Errorf("the image says %q", got)
	}
}

// dockerRunPulled pulls ref with the job's daemon and prints its files.
func dockerRunPulled(t *testing.T, j *bkJob, ref string) string {
	t.Helper()
	if out, err := exec.Command("docker", "pull", ref).CombinedOutput(); err != nil {
		t.Fatalf("docker pull %s: %v\n%s", ref, err, out)
	}
	return dockerRun(t, ref, "/bin/busybox", "cat", "/toolchain", "/app.txt")
}

// TestBuildKitECR: with registry-provider ecr, the ECR token serves the
// BuildKit daemon's pushes of the image and of its cache (the test server's
// registry takes nothing else), and never shows in the output.
func TestBuildKitECR(t *testing.T) {
	bkHost := testenv.BuildKit(t)
	srv := ecrtest.Start(t, ecrtest.Options{})
	job := newECRJob(t, srv)
	job.options["BUILDKIT_HOST"] = bkHost
	job.options["SKIP_PULL_FROM_CACHE"] = "true"

	miss := job.run(t)
	miss.expect(t, srv, 0)
	miss.says(t, "building on "+bkHost, "now names")
	pushed := strings.Join(ecrWrites(srv), "\n")
	for _, tag := range []string{miss.Outputs["TAG"], "latest", "buildcache"} {
		if !strings.Contains(pushed, "PUT /v2/"+job.name+"/manifests/"+tag+" 201") {
			t.Errorf("%s was not pushed:\n%s", tag, pushed)
		}
	}
	if onDaemon(miss.Outputs["IMAGE_REF"]) {
		t.Errorf("skip-pull-from-cache: %s was pulled", miss.Outputs["IMAGE_REF"])
	}
	hit := job.run(t)
	hit.expect(t, srv, 0)
	if hit.Outputs["CACHE_HIT"] != "true" || hit.Outputs["DIGEST"] != miss.Outputs["DIGEST"] {
		t.Errorf("hit outputs %v, miss outputs %v", hit.Outputs, miss.Outputs)
	}
}

// TestBuildKitGoogle: with registry-provider gcr, the access token from the
// service-account flow serves the BuildKit daemon's pushes of the image and
// its cache (the test registry takes nothing else).
func TestBuildKitGoogle(t *testing.T) {
	bkHost := testenv.BuildKit(t)
	dockerHost := testenv.Docker(t)
	s := googletest.Start(t, googletest.Options{Project: "foo-bar-123456"})
	work := t.TempDir()
	testenv.Busybox(t, work)
	googleWriteFile(t, work, "Dockerfile", "FROM scratch\nCOPY busybox /bin/busybox\n"+
		`RUN ["/bin/busybox", "sh", "-c", "echo google > /marker"]`+"\n")
	name := fmt.Sprintf("build-cache/google-bk-%d", time.Now().UnixNano())
	env := map[string]string{
		"HOME":                                  t.TempDir(),
		"DOCKER_HOST":                           dockerHost,
		"GOOGLE_APPLICATION_CREDENTIALS":        s.WriteKeyFile(t, t.TempDir()),
		"DOCKER_ECR_CACHE_REGISTRY_PROVIDER":    "gcr",
		"DOCKER_ECR_CACHE_GCP_PROJECT":          "foo-bar-123456",
		"DOCKER_ECR_CACHE_REGISTRY_HOSTNAME":    s.RegistryHost,
		"DOCKER_ECR_CACHE_ECR_NAME":             name,
		"DOCKER_ECR_CACHE_BUILDKIT_HOST":        bkHost,
		"DOCKER_ECR_CACHE_SKIP_PULL_FROM_CACHE": "true",
	}
	miss := googleCommand(t, work, env)
	if miss.Code != 0 || miss.Outputs["CACHE_HIT"] != "false" {
		t.Fatalf("exit %d, outputs %v", miss.Code, miss.Outputs)
	}
	reqs := strings.Join(s.Registry.Requests(), "\n")
	for _, tag := range []string{miss.Outputs["TAG"], "latest", "buildcache"} {
		if want := "PUT /v2/foo-bar-123456/" + name + "/manifests/" + tag + " 201"; !strings.Contains(reqs, want) {
			t.Errorf("registry requests lack %q:\n%s", want, reqs)
		}
	}
	if strings.Contains(miss.Stdout+miss.Stderr, s.Token) {
		t.Error("the access token is in the output")
	}
}
