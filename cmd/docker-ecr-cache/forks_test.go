package main

import (
	"encoding/json"
	"net/http"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/internal/testenv"
)

const forkDockerfile = "FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"sh\", \"-c\", \"echo fork > /marker\"]\n"

// forkPayload is a pull_request event from someone/repo into Owner/Repo.
const forkPayload = `{"pull_request": {"head": {"repo": {"full_name": "someone/Repo", "fork": true}}, "base": {"repo": {"full_name": "Owner/Repo"}}}}`

// removeImages removes repo's images from the daemon when t ends.
func removeImages(t *testing.T, repo string) {
	t.Cleanup(func() {
		out, _ := exec.Command("docker", "image", "ls", "--format", "{{.Repository}}:{{.Tag}}", repo).Output()
		for _, ref := range strings.Fields(string(out)) {
			_ = exec.Command("docker", "rmi", "-f", ref).Run()
		}
	})
}

// pushedLatest reports whether the registry took a push of latest.
func pushedLatest(reg *testenv.Registry) bool {
	for _, r := range reg.Requests() {
		if strings.HasPrefix(r, "PUT ") && strings.Contains(r, "/manifests/latest ") {
			return true
		}
	}
	return false
}

// registryTags is repo's tag list, as the registry answers it.
func registryTags(t *testing.T, host, path string) []string {
	t.Helper()
	resp, err := http.Get("http://" + host + "/v2/" + path + "/tags/list")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list struct{ Tags []string }
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
			t.Fatal(err)
		}
	}
	slices.Sort(list.Tags)
	return list.Tags
}

// A push the registry refuses with 403 (a real registry that denies every
// manifest PUT): in a pull request from a fork the action exits 0, hands
// over the image built on the daemon and warns; in any other run it exits
// 1. latest is never pushed.
func TestGitHubForkPullRequestRefusedPush(t *testing.T) {
	t.Parallel()
	testenv.Docker(t)
	for _, fork := range []bool{true, false} {
		name := map[bool]string{true: "fork", false: "not a fork"}[fork]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			reg := testenv.StartRegistry(t, testenv.RegistryOptions{RefuseTags: true})
			ws, fc := t.TempDir(), newFileCommands(t)
			testenv.Busybox(t, ws)
			writeFile(t, filepath.Join(ws, "Dockerfile"), forkDockerfile)
			repo := reg.Host + "/owner/repo/fork"
			removeImages(t, repo)
			event := filepath.Join(t.TempDir(), "event.json")
			payload := `{"ref": "refs/heads/main"}`
			eventName := "push"
			if fork {
				payload, eventName = forkPayload, "pull_request"
			}
			writeFile(t, event, payload)
			env := stepEnv(ws, fc.dir, map[string]string{"INPUT_REGISTRY-PROVIDER": "registry", "INPUT_REGISTRY": repo})
			stdout, code := runStep(t, append(env, "GITHUB_EVENT_PATH="+event, "GITHUB_EVENT_NAME="+eventName, "HOME="+t.TempDir()))
			if pushedLatest(reg) {
				t.Errorf("latest was pushed: %q", reg.Requests())
			}
			if !fork {
				if code != exitFailure || !strings.Contains(stdout, "::error::pushing "+repo+":") {
					t.Errorf("exit %d, want %d with the push's error:\n%s", code, exitFailure, stdout)
				}
				return
			}
			if code != 0 {
				t.Fatalf("exit %d, want 0:\n%s", code, stdout)
			}
			if !strings.Contains(stdout, "::warning::") || !strings.Contains(stdout, "pull request from a fork") {
				t.Errorf("no warning about the fork's refused push:\n%s", stdout)
			}
			out := fc.parsed(t, "GITHUB_OUTPUT")
			ref := out["image-ref"]
			if out["cache-hit"] != "false" || !strings.HasPrefix(ref, repo+":") {
				t.Fatalf("outputs %q", out)
			}
			if b, err := exec.Command("docker", "run", "--rm", ref, "/bin/busybox", "cat", "/marker").CombinedOutput(); err != nil || string(b) != "fork\n" {
				t.Errorf("the image handed over does not run: %v %s", err, b)
			}
		})
	}
}

// The same on Buildkite, where the fork is told by BUILDKITE_PULL_REQUEST_REPO.
func TestBuildkiteForkPullRequestRefusedPush(t *testing.T) {
	t.Parallel()
	testenv.Docker(t)
	binary := testenv.Binary(t)
	for _, fork := range []bool{true, false} {
		name := map[bool]string{true: "fork", false: "not a fork"}[fork]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			reg := testenv.StartRegistry(t, testenv.RegistryOptions{RefuseTags: true})
			repo := reg.Host + "/cache/fork-" + strings.ReplaceAll(name, " ", "-")
			removeImages(t, repo)
			prRepo := "git@github.com:acme/web-app.git" // a branch of the pipeline's repository
			if fork {
				prRepo = "https://github.com/someone/web-app.git"
			}
			s := &bkStep{dir: bkCheckout(t, map[string]string{"Dockerfile": forkDockerfile}), binary: binary,
				command: `docker run --rm "$BUILDKITE_PLUGIN_DOCKER_IMAGE" /bin/busybox cat /marker`,
				config:  map[string]any{"registry-provider": engine.ProviderRegistry, "registry": repo},
				env:     []string{"BUILDKITE_REPO=https://github.com/acme/web-app", "BUILDKITE_PULL_REQUEST=12", "BUILDKITE_PULL_REQUEST_REPO=" + prRepo}}
			r := s.run(t)
			if pushedLatest(reg) {
				t.Errorf("latest was pushed: %q", reg.Requests())
			}
			if !fork {
				if r.code != 1 || !strings.Contains(r.output, "pushing "+repo+":") {
					t.Errorf("exit %d, want 1 and the push named:\n%s", r.code, r.output)
				}
				return
			}
			if r.code != 0 || !strings.Contains(r.output, "fork\n") {
				t.Fatalf("exit %d, want 0 and the command run in the image:\n%s", r.code, r.output)
			}
			if !strings.Contains(r.output, "pull request from a fork") {
				t.Errorf("no warning about the fork's refused push:\n%s", r.output)
			}
		})
	}
}

// save: false builds without pushing: the registry's tag list is the one
// before. restore: false rebuilds a hit and moves the key tag to the new
// image. Both through the action, against a real registry.
func TestGitHubSaveAndRestore(t *testing.T) {
	t.Parallel()
	testenv.Docker(t)
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	const path = "owner/repo/save"
	repo := reg.Host + "/" + path
	removeImages(t, repo)
	ws := t.TempDir()
	testenv.Busybox(t, ws)
	writeFile(t, filepath.Join(ws, "Dockerfile"), forkDockerfile)
	step := func(inputs map[string]string) map[string]string {
		t.Helper()
		fc := newFileCommands(t)
		in := map[string]string{"INPUT_REGISTRY-PROVIDER": "registry", "INPUT_REGISTRY": repo}
		for k, v := range inputs {
			in[k] = v
		}
		stdout, code := runStep(t, append(stepEnv(ws, fc.dir, in), "HOME="+t.TempDir()))
		if code != 0 {
			t.Fatalf("exit %d:\n%s", code, stdout)
		}
		return fc.parsed(t, "GITHUB_OUTPUT")
	}

	first := step(nil)
	tags := registryTags(t, reg.Host, path)
	if len(tags) != 2 || first["cache-hit"] != "false" {
		t.Fatalf("after a miss: tags %q, outputs %q", tags, first)
	}

	writeFile(t, filepath.Join(ws, "Dockerfile"), strings.Replace(forkDockerfile, "echo fork", "echo save", 1))
	unsaved := step(map[string]string{"INPUT_SAVE": "false"})
	if got := registryTags(t, reg.Host, path); !slices.Equal(got, tags) {
		t.Errorf("save: false changed the tags: %q, were %q", got, tags)
	}
	if unsaved["tag"] == first["tag"] {
		t.Fatalf("the changed Dockerfile kept the key %s", first["tag"])
	}
	if err := exec.Command("docker", "image", "inspect", unsaved["image-ref"]).Run(); err != nil {
		t.Errorf("save: false did not hand over %s: %v", unsaved["image-ref"], err)
	}

	writeFile(t, filepath.Join(ws, "Dockerfile"), forkDockerfile)
	rebuilt := step(map[string]string{"INPUT_RESTORE": "false"})
	if rebuilt["tag"] != first["tag"] || rebuilt["cache-hit"] != "false" || rebuilt["digest"] == first["digest"] {
		t.Fatalf("restore: false: outputs %q, first run's %q", rebuilt, first)
	}
	if got := manifestDigest(t, reg.Host, path, first["tag"]); got != rebuilt["digest"] {
		t.Errorf("the key tag names %s, want the rebuilt image %s", got, rebuilt["digest"])
	}
	if got := registryTags(t, reg.Host, path); !slices.Equal(got, tags) {
		t.Errorf("restore: false added tags: %q, were %q", got, tags)
	}
}

// manifestDigest is the digest the registry gives path:tag.
func manifestDigest(t *testing.T, host, path, tag string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodHead, "http://"+host+"/v2/"+path+"/manifests/"+tag, nil)
	req.Header.Set("Accept", "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.Header.Get("Docker-Content-Digest")
}
