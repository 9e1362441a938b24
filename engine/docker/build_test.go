package docker

import (
	"crypto/sha256"
	"encoding/hex"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
)

const busyboxBase = "FROM scratch\nCOPY busybox /bin/busybox\n"

// run is a RUN instruction in exec form (the images have no /bin/sh),
// with optional flags such as --mount=….
func run(script string, flags ...string) string {
	return strings.Join(append([]string{"RUN"}, flags...), " ") +
		` ["/bin/busybox","sh","-c","` + strings.ReplaceAll(script, `"`, `\"`) + `"]` + "\n"
}

func TestBuildSecrets(t *testing.T) {
	t.Parallel()
	c, out := newTestClient(t)
	envValue, fileValue := "env-secret-"+random(t), "file-secret-"+random(t)
	secretFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(secretFile, []byte(fileValue), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := contextDir(t, map[string]string{"Dockerfile": busyboxBase +
		run("/bin/busybox sha256sum /run/secrets/tok > /tok.sum", "--mount=type=secret,id=tok") +
		run("/bin/busybox sha256sum /run/secrets/file > /file.sum", "--mount=type=secret,id=file")})
	tag := "docker-ecr-cache-test/secrets:" + random(t)
	t.Cleanup(func() { removeImage(t, c, tag) })

	env := map[string]string{"TOKEN_VAR": envValue}
	_, err := c.Build(testContext(t), engine.BuildSpec{
		ContextDir: dir,
		Dockerfile: filepath.Join(dir, "Dockerfile"),
		Secrets:    []engine.Secret{{ID: "tok", Env: "TOKEN_VAR"}, {ID: "file", Src: secretFile}},
		Tags:       []string{tag},
		Getenv:     func(k string) string { return env[k] },
		// Secrets are not part of BuildKit's cache keys: without this, a
		// step cached by an earlier run, with other values, is reused.
		Flags: engine.BuildFlags{NoCache: true},
	})
	if err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	raw, files := savedImage(t, c, tag)
	for name, value := range map[string]string{"/tok.sum": envValue, "/file.sum": fileValue} {
		sum := sha256.Sum256([]byte(value))
		if got, _, _ := strings.Cut(files[name], " "); got != hex.EncodeToString(sum[:]) {
			t.Errorf("%s = %q: the RUN step did not see the secret", name, files[name])
		}
		if strings.Contains(out.String(), value) {
			t.Errorf("the secret %s is in the progress output:\n%s", name, out)
		}
		if strings.Contains(string(raw), value) {
			t.Errorf("the secret of %s is in the image", name)
		}
	}
}

func TestBuildArgsTargetLabels(t *testing.T) {
	t.Parallel()
	c, out := newTestClient(t)
	greeting := "hello-" + random(t)
	dir := contextDir(t, map[string]string{"Dockerfile": "FROM scratch AS base\nCOPY busybox /bin/busybox\nARG GREETING\n" +
		run("/bin/busybox env > /env") + // not naming it: BuildKit shows RUN with args expanded
		"FROM base AS wanted\n" + run("echo wanted > /stage") +
		"FROM base AS last\n" + run("echo last > /stage")})
	tag := "docker-ecr-cache-test/args:" + random(t)
	t.Cleanup(func() { removeImage(t, c, tag) })

	id, err := c.Build(testContext(t), engine.BuildSpec{
		ContextDir: dir,
		Dockerfile: filepath.Join(dir, "Dockerfile"),
		Target:     "wanted",
		BuildArgs:  []string{"GREETING=" + greeting, "BUILDKIT_INLINE_CACHE=1"},
		Tags:       []string{tag},
		Labels:     map[string]string{"org.example.key": "from-spec"},
		Flags:      engine.BuildFlags{Labels: map[string]string{"org.example.flag": "from-flag", "org.example.key": "flag-loses"}},
	})
	if err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	if !strings.HasPrefix(id.ID, "sha256:") || id.Pushed {
		t.Errorf("image ID %q pushed %v, want sha256:… kept on the daemon", id.ID, id.Pushed)
	}
	img, err := c.Inspect(testContext(t), tag)
	if err != nil {
		t.Fatal(err)
	}
	if img.ID != id.ID || img.Created.IsZero() {
		t.Errorf("Inspect = %+v, want ID %s and a creation time", img, id.ID)
	}
	if img.Labels["org.example.key"] != "from-spec" || img.Labels["org.example.flag"] != "from-flag" {
		t.Errorf("labels = %v", img.Labels)
	}
	_, files := savedImage(t, c, tag)
	if !strings.Contains(files["/env"], "GREETING="+greeting+"\n") {
		t.Errorf("/env = %q: the build-arg did not reach RUN", files["/env"])
	}
	if files["/stage"] != "wanted\n" {
		t.Errorf("/stage = %q: target wanted was not the one built", files["/stage"])
	}
	if strings.Contains(out.String(), greeting) {
		t.Errorf("the build-arg value is in the progress output:\n%s", out)
	}
	if !strings.Contains(out.String(), "[wanted 1/1] RUN") {
		t.Errorf("no plain BuildKit progress in the output:\n%s", out)
	}
}

func TestBuildDockerignore(t *testing.T) {
	t.Parallel()
	c, out := newTestClient(t)
	dir := contextDir(t, map[string]string{
		"Dockerfile":        busyboxBase + "COPY . /ctx\n",
		".dockerignore":     "ignored.txt\nsub/\nDockerfile\n",
		"kept.txt":          "kept",
		"ignored.txt":       "ignored",
		"sub/ignored-too":   "ignored",
		"other/kept-too.md": "kept",
	})
	tag := "docker-ecr-cache-test/ignore:" + random(t)
	t.Cleanup(func() { removeImage(t, c, tag) })
	if _, err := c.Build(testContext(t), engine.BuildSpec{ContextDir: dir, Dockerfile: filepath.Join(dir, "Dockerfile"), Tags: []string{tag}}); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	_, files := savedImage(t, c, tag)
	for _, name := range []string{"/ctx/kept.txt", "/ctx/other/kept-too.md"} {
		if _, ok := files[name]; !ok {
			t.Errorf("%s is missing from the image", name)
		}
	}
	for _, name := range []string{"/ctx/ignored.txt", "/ctx/sub/ignored-too"} {
		if _, ok := files[name]; ok {
			t.Errorf("%s is in the image despite .dockerignore", name)
		}
	}
}

func TestBuildDockerfileNotInContext(t *testing.T) {
	t.Parallel()
	dockerfile := busyboxBase + "COPY . /ctx\n" + run("echo built > /built")
	outside := filepath.Join(t.TempDir(), "Dockerfile.ci")
	if err := os.WriteFile(outside, []byte(dockerfile), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, spec := range map[string]engine.BuildSpec{
		"inline":  {Inline: []byte(dockerfile)},
		"outside": {Dockerfile: outside},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c, out := newTestClient(t)
			// name.txt makes each subtest's image its own: parallel tests
			// that build one image remove it under each other's feet.
			spec.ContextDir = contextDir(t, map[string]string{"file.txt": "x", "name.txt": name, ".dockerignore": "nothing-matches\n"})
			tag := "docker-ecr-cache-test/" + name + ":" + random(t)
			spec.Tags = []string{tag}
			t.Cleanup(func() { removeImage(t, c, tag) })
			if _, err := c.Build(testContext(t), spec); err != nil {
				t.Fatalf("build: %v\n%s", err, out)
			}
			_, files := savedImage(t, c, tag)
			if files["/built"] != "built\n" || files["/ctx/file.txt"] != "x" {
				t.Errorf("the image lacks /built or /ctx/file.txt: %v", keys(files))
			}
			for f := range files {
				if strings.Contains(f, ".dockerfile.") {
					t.Errorf("the generated Dockerfile %s was copied into the image", f)
				}
			}
		})
	}
}

func TestBuildFailingRun(t *testing.T) {
	t.Parallel()
	c, out := newTestClient(t)
	marker := "boom-" + random(t)
	dir := contextDir(t, map[string]string{"Dockerfile": busyboxBase + run("echo step output "+marker+"; exit 3")})
	_, err := c.Build(testContext(t), engine.BuildSpec{ContextDir: dir, Dockerfile: filepath.Join(dir, "Dockerfile")})
	if err == nil {
		t.Fatalf("a failing RUN built:\n%s", out)
	}
	if !strings.Contains(err.Error(), marker) || !strings.Contains(err.Error(), "RUN") {
		t.Errorf("the error does not name the failed step and its output: %v", err)
	}
	t.Logf("error: %v", err)
}

func TestBuildMissingSecretFile(t *testing.T) {
	t.Parallel()
	c, _ := newTestClient(t)
	dir := contextDir(t, map[string]string{"Dockerfile": busyboxBase})
	_, err := c.Build(testContext(t), engine.BuildSpec{ContextDir: dir, Dockerfile: filepath.Join(dir, "Dockerfile"),
		Secrets: []engine.Secret{{ID: "gone", Src: filepath.Join(dir, "no-such-file")}}})
	if err == nil || !strings.Contains(err.Error(), "secret gone") {
		t.Errorf("err = %v, want one naming the secret", err)
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestBuildNetworkAndHosts(t *testing.T) {
	t.Parallel()
	c, out := newTestClient(t)
	dir := contextDir(t, map[string]string{"Dockerfile": busyboxBase + "ARG NONCE\n" +
		run("/bin/busybox ip -o link > /links; /bin/busybox cat /etc/hosts > /hosts")})
	tag := "docker-ecr-cache-test/network:" + random(t)
	t.Cleanup(func() { removeImage(t, c, tag) })
	_, err := c.Build(testContext(t), engine.BuildSpec{
		ContextDir: dir,
		Dockerfile: filepath.Join(dir, "Dockerfile"),
		BuildArgs:  []string{"NONCE=" + random(t)},
		Tags:       []string{tag},
		Flags:      engine.BuildFlags{Network: "none", AddHosts: []string{"cache.example:127.0.0.9"}},
	})
	if err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	_, files := savedImage(t, c, tag)
	if strings.Contains(files["/links"], "eth0") || !strings.Contains(files["/links"], "lo") {
		t.Errorf("--network none: the RUN step saw links %q", files["/links"])
	}
	if !strings.Contains(files["/hosts"], "127.0.0.9") || !strings.Contains(files["/hosts"], "cache.example") {
		t.Errorf("--add-host: /etc/hosts is %q", files["/hosts"])
	}
}

func TestBuildSSH(t *testing.T) {
	t.Parallel()
	c, out := newTestClient(t)
	sock := filepath.Join(t.TempDir(), "agent.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	dir := contextDir(t, map[string]string{"Dockerfile": busyboxBase + "ARG NONCE\n" +
		run("test -S $SSH_AUTH_SOCK && echo forwarded > /ssh", "--mount=type=ssh")})
	tag := "docker-ecr-cache-test/ssh:" + random(t)
	t.Cleanup(func() { removeImage(t, c, tag) })
	spec := engine.BuildSpec{
		ContextDir: dir,
		Dockerfile: filepath.Join(dir, "Dockerfile"),
		BuildArgs:  []string{"NONCE=" + random(t)},
		Tags:       []string{tag},
		Flags:      engine.BuildFlags{SSH: []string{"default"}},
		Getenv:     func(k string) string { return map[string]string{"SSH_AUTH_SOCK": sock}[k] },
	}
	if _, err := c.Build(testContext(t), spec); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	if _, files := savedImage(t, c, tag); files["/ssh"] != "forwarded\n" {
		t.Errorf("/ssh = %q: no agent socket in the RUN step", files["/ssh"])
	}

	spec.Getenv = func(string) string { return "" }
	if _, err := c.Build(testContext(t), spec); err == nil || !strings.Contains(err.Error(), "SSH_AUTH_SOCK") {
		t.Errorf("--ssh default without SSH_AUTH_SOCK: err = %v", err)
	}
}
