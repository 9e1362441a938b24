package buildkit

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/internal/testenv"
)

func TestSolveOpt(t *testing.T) {
	t.Parallel()
	spec := engine.BuildSpec{
		Target:    "final",
		BuildArgs: []string{"A=1", "B=", "UNSET"},
		Flags:     engine.BuildFlags{Platform: "linux/arm64", Labels: map[string]string{"team": "x", "k": "flag"}, AddHosts: []string{"h:10.0.0.1"}},
		Labels:    map[string]string{"k": "cache"},
		Tags:      []string{"127.0.0.1:5000/app:abc"},
		CacheTo:   "127.0.0.1:5000/app:buildcache",
		CacheFrom: []string{"ghcr.io/org/app:buildcache"},
	}
	opt := solveOpt(spec, "Dockerfile.ci")
	if diff := cmp.Diff(map[string]string{
		"filename": "Dockerfile.ci", "target": "final", "platform": "linux/arm64",
		"build-arg:A": "1", "build-arg:B": "", "label:team": "x", "label:k": "cache", "add-hosts": "h:10.0.0.1",
	}, opt.FrontendAttrs); diff != "" {
		t.Errorf("frontend attrs (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{"name": "127.0.0.1:5000/app:abc", "push": "true", "registry.insecure": "true"}, opt.Exports[0].Attrs); diff != "" {
		t.Errorf("image export (-want +got):\n%s", diff)
	}
	type entry struct {
		Type  string
		Attrs map[string]string
	}
	var imports, exports []entry
	for _, e := range opt.CacheImports {
		imports = append(imports, entry(e))
	}
	for _, e := range opt.CacheExports {
		exports = append(exports, entry(e))
	}
	if diff := cmp.Diff([]entry{
		{"registry", map[string]string{"ref": "127.0.0.1:5000/app:buildcache", "registry.insecure": "true"}},
		{"registry", map[string]string{"ref": "ghcr.io/org/app:buildcache"}},
	}, imports); diff != "" {
		t.Errorf("cache imports (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]entry{
		{"registry", map[string]string{"ref": "127.0.0.1:5000/app:buildcache", "mode": "max", "image-manifest": "true", "oci-mediatypes": "true", "registry.insecure": "true"}},
	}, exports); diff != "" {
		t.Errorf("cache exports (-want +got):\n%s", diff)
	}

	spec.Flags.NoCache = true
	if opt := solveOpt(spec, "Dockerfile"); len(opt.CacheImports) != 0 || len(opt.CacheExports) != 1 || opt.FrontendAttrs["no-cache"] != "" {
		t.Errorf("--no-cache: imports %v, exports %v, attrs %v; want no imports, the export, no-cache", opt.CacheImports, opt.CacheExports, opt.FrontendAttrs)
	}
}

// TestBuildPushes builds on the daemon, which pushes the tag to the plain
// and to the htpasswd registry with the credential served by the session.
// The cache refs to import do not exist, which is no error.
func TestBuildPushes(t *testing.T) {
	t.Parallel()
	host := testenv.BuildKit(t)
	for _, tc := range []struct {
		name string
		opts testenv.RegistryOptions
	}{
		{"plain", testenv.RegistryOptions{}},
		{"htpasswd", testenv.RegistryOptions{Username: "ci", Password: "s3cret-" + random(t)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			reg := testenv.StartRegistry(t, tc.opts)
			dir := buildContext(t, "FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"sh\", \"-c\", \"echo built > /built\"]\n")
			repo := reg.Host + "/app-" + random(t)
			spec := engine.BuildSpec{
				ContextDir: dir, Dockerfile: filepath.Join(dir, "Dockerfile"),
				Tags:      []string{repo + ":key1"},
				CacheTo:   repo + ":buildcache",
				CacheFrom: []string{reg.Host + "/never-pushed:buildcache"},
				Auth:      engine.Auth{Server: reg.Host, Username: tc.opts.Username, Password: tc.opts.Password},
			}
			res, out := build(t, host, spec)
			if !res.Pushed || !strings.HasPrefix(res.Digest, "sha256:") || !strings.HasPrefix(res.ID, "sha256:") {
				t.Errorf("result %+v: want pushed, with a digest and an ID", res)
			}
			if got := headManifest(t, reg, tc.opts, repo, "key1"); got != res.Digest {
				t.Errorf("registry has %s:key1 at %q, the build reported %q", repo, got, res.Digest)
			}
			if headManifest(t, reg, tc.opts, repo, "buildcache") == "" {
				t.Errorf("no cache at %s:buildcache", repo)
			}
			if tc.opts.Password != "" && strings.Contains(out, tc.opts.Password) {
				t.Error("the progress shows the registry password")
			}

			if tc.opts.Username == "" {
				return
			}
			// Without the credential the daemon cannot push: the session
			// is what served it.
			spec.Auth = engine.Auth{}
			spec.Tags = []string{repo + ":key2"}
			spec.CacheTo = ""
			b := newBuilder(t, host, nil)
			// The refusal is marked, so that the engine reports a refused
			// push rather than a failed build.
			if _, err := b.Build(testContext(t), spec); err == nil || !strings.Contains(strings.ToLower(err.Error()), "unauthorized") || !errors.Is(err, engine.ErrDenied) {
				t.Errorf("build without the credential: %v, want unauthorized, marked engine.ErrDenied", err)
			}
		})
	}
}

// TestUnixSocket builds through a unix:// buildkit-host.
func TestUnixSocket(t *testing.T) {
	t.Parallel()
	dir, err := os.MkdirTemp("", "bk-") // short: a socket path has at most 107 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := "unix://" + filepath.Join(dir, "buildkitd.sock")
	testenv.StartBuildKitd(t, "", "--addr", sock)
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	ctxDir := buildContext(t, "FROM scratch\nCOPY busybox /bin/busybox\n")
	res, _ := build(t, sock, engine.BuildSpec{
		ContextDir: ctxDir, Dockerfile: filepath.Join(ctxDir, "Dockerfile"),
		Tags: []string{reg.Host + "/unix-" + random(t) + ":key"},
	})
	if !res.Pushed {
		t.Errorf("result %+v: not pushed", res)
	}
}

// TestSecrets serves a file secret and an env secret over the session to
// a remote daemon. The build checks their digests; the values are never
// printed and are not in the progress.
func TestSecrets(t *testing.T) {
	t.Parallel()
	host := testenv.BuildKit(t)
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	fileSecret, envSecret := "file-secret-"+random(t), "env-secret-"+random(t)
	dir := buildContext(t, `FROM scratch
COPY busybox /bin/busybox
ARG FILE_SUM
ARG ENV_SUM
RUN --mount=type=secret,id=npmrc --mount=type=secret,id=token ["/bin/busybox", "sh", "-c", "set -e; f=$(/bin/busybox sha256sum /run/secrets/npmrc | /bin/busybox cut -d' ' -f1); e=$(/bin/busybox sha256sum /run/secrets/token | /bin/busybox cut -d' ' -f1); test \"$f\" = \"$FILE_SUM\"; test \"$e\" = \"$ENV_SUM\"; echo $f $e > /secret-digests"]
`)
	src := filepath.Join(t.TempDir(), "npmrc")
	if err := os.WriteFile(src, []byte(fileSecret), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"CI_TOKEN": envSecret}
	spec := engine.BuildSpec{
		ContextDir: dir, Dockerfile: filepath.Join(dir, "Dockerfile"),
		BuildArgs: []string{"FILE_SUM=" + sha(fileSecret), "ENV_SUM=" + sha(envSecret)},
		Secrets:   []engine.Secret{{ID: "npmrc", Src: src}, {ID: "token", Env: "CI_TOKEN"}},
		Getenv:    func(k string) string { return env[k] },
		Tags:      []string{reg.Host + "/secrets-" + random(t) + ":key"},
	}
	_, out := build(t, host, spec)
	for _, s := range []string{fileSecret, envSecret} {
		if strings.Contains(out, s) {
			t.Error("the progress shows a secret's value")
		}
	}

	// A wrong secret fails the build, with the failing step in the error.
	// Secrets are not part of BuildKit's cache keys: --no-cache runs the
	// step again.
	env["CI_TOKEN"] = "wrong"
	spec.Flags.NoCache = true
	_, err := newBuilder(t, host, nil).Build(testContext(t), spec)
	if err == nil || !strings.Contains(err.Error(), "build failed at step") {
		t.Errorf("build with a wrong secret: %v, want the failed step", err)
	}
}

// TestSSH forwards an SSH agent socket over the session: the RUN step
// finds a socket at $SSH_AUTH_SOCK, or the build fails.
func TestSSH(t *testing.T) {
	t.Parallel()
	host := testenv.BuildKit(t)
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	sock := filepath.Join(t.TempDir(), "agent.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	dir := buildContext(t, "FROM scratch\nCOPY busybox /bin/busybox\nARG NONCE\nRUN --mount=type=ssh [\"/bin/busybox\", \"sh\", \"-c\", \"test -S $SSH_AUTH_SOCK\"]\n")
	build(t, host, engine.BuildSpec{
		ContextDir: dir, Dockerfile: filepath.Join(dir, "Dockerfile"),
		BuildArgs: []string{"NONCE=" + random(t)},
		Flags:     engine.BuildFlags{SSH: []string{"default"}},
		Getenv:    func(k string) string { return map[string]string{"SSH_AUTH_SOCK": sock}[k] },
		Tags:      []string{reg.Host + "/ssh-" + random(t) + ":key"},
	})
}

// TestBuildArgs gives the build args to the Dockerfile: the build checks
// the value (a build number, as unhashed-build-args passes it).
func TestBuildArgs(t *testing.T) {
	t.Parallel()
	host := testenv.BuildKit(t)
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	dir := buildContext(t, "FROM scratch\nCOPY busybox /bin/busybox\nARG BUILD_NUMBER\nRUN [\"/bin/busybox\", \"sh\", \"-c\", \"test \\\"$BUILD_NUMBER\\\" = 4711\"]\n")
	spec := engine.BuildSpec{
		ContextDir: dir, Inline: []byte(readFile(t, filepath.Join(dir, "Dockerfile"))),
		BuildArgs: []string{"BUILD_NUMBER=4711"},
		Tags:      []string{reg.Host + "/args-" + random(t) + ":key"},
	}
	build(t, host, spec)
	spec.BuildArgs = []string{"BUILD_NUMBER=1"}
	if _, err := newBuilder(t, host, nil).Build(testContext(t), spec); err == nil {
		t.Error("the build passed with BUILD_NUMBER=1: the build arg did not reach it")
	}
}

// TestCacheAfterWipe stands for a fresh agent: the first build exports
// its full cache (mode=max) to the registry, the daemon's state is then
// wiped, and the next build, with a changed last-stage file, takes the
// slow earlier stages from the registry.
func TestCacheAfterWipe(t *testing.T) {
	t.Parallel()
	d := testenv.StartBuildKitd(t, "")
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	dir := buildContext(t, `FROM scratch AS tools
COPY busybox /bin/busybox
RUN ["/bin/busybox", "sh", "-c", "echo step-ran-tools && /bin/busybox sleep 3 && echo tools > /tools"]

FROM tools AS deps
COPY deps.txt /deps.txt
RUN ["/bin/busybox", "sh", "-c", "echo step-ran-deps && /bin/busybox sleep 1 && cp /deps.txt /deps.done"]

FROM deps
COPY app.txt /app.txt
`)
	writeFile(t, filepath.Join(dir, "deps.txt"), "deps v1")
	writeFile(t, filepath.Join(dir, "app.txt"), "app v1")
	repo := reg.Host + "/wipe-" + random(t)
	spec := engine.BuildSpec{
		ContextDir: dir, Dockerfile: filepath.Join(dir, "Dockerfile"),
		Tags: []string{repo + ":v1"}, CacheTo: repo + ":buildcache",
	}
	if _, first := build(t, d.Addr, spec); !ran(first, "step-ran-tools") || !ran(first, "step-ran-deps") {
		t.Fatalf("the first build did not run the slow steps:\n%s", first)
	}

	d.Restart(t, true)
	writeFile(t, filepath.Join(dir, "app.txt"), "app v2")
	spec.Tags = []string{repo + ":v2"}
	started := time.Now()
	_, out := build(t, d.Addr, spec)
	elapsed := time.Since(started)
	for _, step := range []string{"step-ran-tools", "step-ran-deps"} {
		if ran(out, step) {
			t.Errorf("the step printing %q ran again after the wipe:\n%s", step, out)
		}
	}
	if !regexp.MustCompile(`(?m)COPY app.txt /app.txt\n#\d+ DONE`).MatchString(out) {
		t.Errorf("the changed last stage was not rebuilt:\n%s", out)
	}
	t.Logf("the rebuild after the wipe took %s", elapsed.Round(10*time.Millisecond))
}

// ran is true when the plain progress shows a step's output line marker:
// the step ran. A step served from the cache, CACHED or with its layers
// downloaded from the registry's cache, prints nothing.
func ran(out, marker string) bool {
	return regexp.MustCompile(`(?m)^#\d+ \d+\.\d+ ` + regexp.QuoteMeta(marker) + `$`).MatchString(out)
}

func build(t *testing.T, host string, spec engine.BuildSpec) (engine.BuildResult, string) {
	t.Helper()
	var out testenv.Buffer
	b := newBuilder(t, host, &out)
	res, err := b.Build(testContext(t), spec)
	if err != nil {
		t.Fatalf("build: %v\nprogress:\n%s", err, out.String())
	}
	return res, out.String()
}

func newBuilder(t *testing.T, host string, progress *testenv.Buffer) *Builder {
	t.Helper()
	var w io.Writer
	if progress != nil {
		w = progress
	}
	b, err := New(testContext(t), engine.BuildKitHost{Addr: host}, w)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// headManifest returns the registry's digest for repo:tag, empty when it
// has none.
func headManifest(t *testing.T, reg *testenv.Registry, opts testenv.RegistryOptions, repo, tag string) string {
	t.Helper()
	name := strings.TrimPrefix(repo, reg.Host+"/")
	req, err := http.NewRequestWithContext(testContext(t), http.MethodHead, "http://"+reg.Host+"/v2/"+name+"/manifests/"+tag, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", strings.Join([]string{
		"application/vnd.oci.image.index.v1+json", "application/vnd.oci.image.manifest.v1+json",
		"application/vnd.docker.distribution.manifest.v2+json", "application/vnd.docker.distribution.manifest.list.v2+json",
	}, ","))
	if opts.Username != "" {
		req.SetBasicAuth(opts.Username, opts.Password)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		return resp.Header.Get("Docker-Content-Digest")
	case http.StatusNotFound:
		return ""
	}
	t.Fatalf("HEAD %s:%s: %s", repo, tag, resp.Status)
	return ""
}

// buildContext is a directory with busybox and dockerfile as Dockerfile.
func buildContext(t *testing.T, dockerfile string) string {
	t.Helper()
	dir := t.TempDir()
	testenv.Busybox(t, dir)
	writeFile(t, filepath.Join(dir, "Dockerfile"), dockerfile)
	return dir
}

func writeFile(t *testing.T, name, content string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func random(t *testing.T) string {
	t.Helper()
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// TestPlatform: the workers' platform is this machine's, as a daemonless
// run hashes it, and the Docker daemon's on the same machine is.
func TestPlatform(t *testing.T) {
	t.Parallel()
	b := newBuilder(t, testenv.BuildKit(t), nil)
	p, err := b.Platform(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	if want := engine.DefaultPlatform(); p != want {
		t.Errorf("Platform = %q, want %q", p, want)
	}
}
