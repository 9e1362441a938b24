package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker-ecr-cache/docker-ecr-cache/adapters/github"
	"github.com/docker-ecr-cache/docker-ecr-cache/internal/testenv"
)

// The action's default registry, GHCR, end to end against a real registry
// standing in for ghcr.io (the registry input moves it to loopback; the
// provider stays the default): the token input is the password and
// github.actor the user, a miss then a hit work, the token never shows,
// and a push the registry refuses with 403 names the permissions line.
func TestGitHubGHCRDefault(t *testing.T) {
	t.Parallel()
	testenv.Docker(t)
	const actor, token = "octo-cat", "ghs_ghcrTestToken0123456789"
	run := func(t *testing.T, reg *testenv.Registry) (string, int, fileCommands) {
		t.Helper()
		ws, fc := t.TempDir(), newFileCommands(t)
		testenv.Busybox(t, ws)
		writeFile(t, filepath.Join(ws, "Dockerfile"), "FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"sh\", \"-c\", \"echo ghcr > /marker\"]\n")
		repo := reg.Host + "/owner/repo/build-cache"
		t.Cleanup(func() {
			out, _ := exec.Command("docker", "image", "ls", "--format", "{{.Repository}}:{{.Tag}}", repo).Output()
			for _, ref := range strings.Fields(string(out)) {
				_ = exec.Command("docker", "rmi", "-f", ref).Run()
			}
		})
		env := stepEnv(ws, fc.dir, map[string]string{
			"INPUT_REGISTRY":                   repo,
			github.InputVar(github.TokenInput): token,
		})
		stdout, code := runStep(t, append(env, "GITHUB_ACTOR="+actor, "HOME="+t.TempDir()))
		if !strings.HasPrefix(stdout, "::add-mask::"+token+"\n") || strings.Count(stdout, token) != 1 {
			t.Errorf("the token is not masked first, or shows:\n%s", stdout)
		}
		return stdout, code, fc
	}

	t.Run("token", func(t *testing.T) {
		t.Parallel()
		reg := testenv.StartRegistry(t, testenv.RegistryOptions{Username: actor, Password: token})
		stdout, code, fc := run(t, reg)
		if code != 0 || fc.parsed(t, "GITHUB_OUTPUT")["cache-hit"] != "false" {
			t.Fatalf("exit %d, outputs %q:\n%s", code, fc.read(t, "GITHUB_OUTPUT"), stdout)
		}
		if !strings.Contains(strings.Join(reg.Requests(), "\n"), "PUT /v2/owner/repo/build-cache/manifests/latest 201") {
			t.Errorf("latest was not pushed with the token: %q", reg.Requests())
		}
	})

	t.Run("403 on push", func(t *testing.T) {
		t.Parallel()
		reg := testenv.StartRegistry(t, testenv.RegistryOptions{Username: actor, Password: token, RefuseTags: true})
		stdout, code, fc := run(t, reg)
		if code != exitFailure {
			t.Errorf("exit %d, want %d", code, exitFailure)
		}
		for _, want := range []string{"::error::pushing " + reg.Host + "/owner/repo/build-cache:", "denied", "permissions:", "packages: write"} {
			if !strings.Contains(stdout, want) {
				t.Errorf("stdout lacks %q:\n%s", want, stdout)
			}
		}
		if strings.Contains(strings.Join(reg.Requests(), "\n"), "PUT /v2/owner/repo/build-cache/manifests/latest") {
			t.Errorf("latest was touched: %q", reg.Requests())
		}
		fc.assertEmpty(t)
	})
}
