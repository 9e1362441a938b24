package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/docker-ecr-cache/docker-ecr-cache/adapters/frontend"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/internal/faultproxy"
	"github.com/docker-ecr-cache/docker-ecr-cache/internal/testenv"
)

// pushKey pushes an image the cache would have made for key, built age ago.
func pushKey(t *testing.T, repo, key string, age time.Duration) {
	testenv.PushImage(t, repo+":"+key, testenv.LabelledImage(t, map[string]string{
		engine.LabelKey:          key,
		engine.LabelBuildStarted: fmt.Sprint(time.Now().Add(-age).Unix()),
	}))
}

// listEnv is the front end's environment of env (KEY=value lines) in dir.
func listEnv(env []string, dir string, stdout, stderr io.Writer) frontend.Env {
	getenv := func(k string) string {
		for _, kv := range env {
			if n, v, _ := strings.Cut(kv, "="); n == k {
				return v
			}
		}
		return ""
	}
	return frontend.Env{Environ: env, Getenv: getenv, Dir: dir, Stdout: stdout, Stderr: stderr}
}

func runPrune(t *testing.T, env []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errs bytes.Buffer
	code = realMain(context.Background(), append([]string{"prune"}, args...), listEnv(env, t.TempDir(), &out, &errs))
	t.Logf("prune %v: exit %d\nstdout:\n%s\nstderr:\n%s", args, code, out.String(), errs.String())
	return code, out.String(), errs.String()
}

// TestPruneCommand: the prune subcommand prints the plan on stdout, with
// --dry-run deletes nothing, then deletes what the plan says.
func TestPruneCommand(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{Delete: true})
	repo := reg.Host + "/build-cache/cmd"
	keys := []string{strings.Repeat("a", 40), strings.Repeat("b", 40), strings.Repeat("c", 40)}
	for i, k := range keys {
		pushKey(t, repo, k, time.Duration(i*10+1)*24*time.Hour)
	}
	env := []string{"HOME=" + t.TempDir(), "DOCKER_ECR_CACHE_REGISTRY_PROVIDER=registry", "DOCKER_ECR_CACHE_REGISTRY=" + repo}
	args := []string{"--max-age-days", "7", "--keep-last", "1"}

	code, dry, _ := runPrune(t, env, append([]string{"--dry-run"}, args...)...)
	if code != 0 || strings.Count(dry, "delete ") != 2 || strings.Count(dry, "keep ") != 1 {
		t.Fatalf("dry run: exit %d, plan:\n%s", code, dry)
	}
	code, real, _ := runPrune(t, env, args...)
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	if plan, _, _ := strings.Cut(real, "deleted "); plan != dry {
		t.Errorf("the plan differs from the dry run's:\n%s---\n%s", plan, dry)
	}
	if strings.Count(real, "deleted ") != 2 {
		t.Errorf("want 2 deletions in:\n%s", real)
	}
	r, _ := name.NewRepository(repo, name.Insecure)
	tags, err := remote.List(r)
	if err != nil || fmt.Sprint(tags) != fmt.Sprint([]string{keys[0], "docker-ecr-cache-prune-index"}) {
		t.Errorf("left %v (%v), want only the newest key and the prune's index", tags, err)
	}

	if code, _, stderr := runPrune(t, env, "--keep-last", "-1"); code != 2 || !strings.Contains(stderr, "keep-last is -1") {
		t.Errorf("keep-last -1: exit %d, %s", code, stderr)
	}
}

// TestPruneCommandRefused: a registry that refuses deletes exits 1 with
// the advice, and nothing is deleted.
func TestPruneCommandRefused(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	repo := reg.Host + "/build-cache/cmd"
	pushKey(t, repo, strings.Repeat("a", 40), 40*24*time.Hour)
	pushKey(t, repo, strings.Repeat("b", 40), 50*24*time.Hour)
	env := []string{"HOME=" + t.TempDir(), "DOCKER_ECR_CACHE_REGISTRY_PROVIDER=registry", "DOCKER_ECR_CACHE_REGISTRY=" + repo}
	code, _, stderr := runPrune(t, env, "--keep-last", "0")
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if strings.Count(stderr, "does not allow deleting") != 1 || !strings.Contains(stderr, "nothing was deleted") || !strings.Contains(stderr, "storage.delete.enabled") {
		t.Errorf("want one clear error:\n%s", stderr)
	}
	r, _ := name.NewRepository(repo, name.Insecure)
	if tags, _ := remote.List(r); len(tags) != 2 {
		t.Errorf("tags left: %v", tags)
	}
}

// TestPruneCommandECR: on ECR the lifecycle policy prunes; prune says so.
func TestPruneCommandECR(t *testing.T) {
	t.Parallel()
	code, stdout, stderr := runPrune(t, []string{"HOME=" + os.TempDir()}, "--registry-provider", "ecr")
	if code != 0 || stdout != "" || !strings.Contains(stderr, "lifecycle policy") {
		t.Errorf("exit %d, stdout %q", code, stdout)
	}
}

// TestRunWithPrune: prune: true prunes after the run: the old keys go, the
// key just built and latest stay, and each deletion is in the log.
func TestRunWithPrune(t *testing.T) {
	dockerHost := testenv.Docker(t)
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{Delete: true})
	repo := fmt.Sprintf("%s/build-cache/run-prune-%d", reg.Host, time.Now().UnixNano())
	old := []string{strings.Repeat("d", 40), strings.Repeat("e", 40)}
	for i, k := range old {
		pushKey(t, repo, k, time.Duration(40+i)*24*time.Hour)
	}
	work := t.TempDir()
	testenv.Busybox(t, work)
	if err := os.WriteFile(work+"/Dockerfile", []byte("FROM scratch\nCOPY busybox /bin/busybox\n"+`RUN ["/bin/busybox", "true"]`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{"HOME=" + t.TempDir(), "DOCKER_HOST=" + dockerHost, "DOCKER_ECR_CACHE_LOCK_DIR=" + t.TempDir()}
	var out, errs bytes.Buffer
	code := realMain(context.Background(), []string{"run", "--registry-provider", "registry", "--registry", repo, "--prune", "--keep-last", "0", "--max-age-days", "7"},
		listEnv(env, work, &out, &errs))
	t.Logf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errs.String())
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	var key string
	for _, line := range strings.Split(out.String(), "\n") {
		if v, ok := strings.CutPrefix(line, "KEY="); ok {
			key = v
		}
	}
	t.Cleanup(func() { _, _ = googleDocker(dockerHost, "rmi", "-f", repo+":"+key, repo+":latest") })
	for _, k := range old {
		if !strings.Contains(errs.String(), "deleted "+repo+"@") || !strings.Contains(errs.String(), "("+k+")") {
			t.Errorf("the log does not show the deletion of %s", k)
		}
	}
	r, _ := name.NewRepository(repo, name.Insecure)
	tags, err := remote.List(r)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{key, "docker-ecr-cache-prune-index", "latest"}
	sort.Strings(tags)
	sort.Strings(want)
	if fmt.Sprint(tags) != fmt.Sprint(want) {
		t.Errorf("tags left %v, want the new key, the prune's index and latest", tags)
	}
}

// A prune that fails after a deletion still writes the deletions it made
// to the GitHub step summary, and fails the step.
func TestGitHubPruneSummaryAfterAFailedDelete(t *testing.T) {
	t.Parallel()
	testenv.Docker(t)
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{Delete: true})
	const path = "owner/repo/prune-fails"
	keys := []string{strings.Repeat("a", 40), strings.Repeat("b", 40), strings.Repeat("c", 40)}
	digests := map[string]string{}
	for i, k := range keys {
		digests[k] = testenv.PushImage(t, reg.Host+"/"+path+":"+k, testenv.LabelledImage(t, map[string]string{
			engine.LabelKey:          k,
			engine.LabelBuildStarted: fmt.Sprint(time.Now().Add(-time.Duration(40+i) * 24 * time.Hour).Unix()),
		}))
	}
	// The middle one of three deletions, whichever end the plan starts at.
	proxy := faultproxy.Start(t, reg.Host, faultproxy.Rule{Method: "DELETE", Path: "/manifests/" + digests[keys[1]] + "$", Fault: faultproxy.Status(403)})
	repo := proxy.Host + "/" + path
	removeImages(t, repo)
	ws := t.TempDir()
	testenv.Busybox(t, ws)
	writeFile(t, filepath.Join(ws, "Dockerfile"), forkDockerfile)
	fc := newFileCommands(t)
	in := map[string]string{"INPUT_REGISTRY-PROVIDER": "registry", "INPUT_REGISTRY": repo, "INPUT_PRUNE": "true", "INPUT_MAX-AGE-DAYS": "7", "INPUT_KEEP-LAST": "0"}
	stdout, code := runStep(t, append(stepEnv(ws, fc.dir, in), "HOME="+t.TempDir()))
	if code != 1 || !strings.Contains(stdout, "prune: deleting "+repo+"@"+digests[keys[1]]) {
		t.Fatalf("exit %d, want 1 naming the refused delete:\n%s", code, stdout)
	}
	summary := fc.read(t, "GITHUB_STEP_SUMMARY")
	if !strings.Contains(summary, "1 images deleted") || !strings.Contains(summary, "`"+keys[0]+"`") && !strings.Contains(summary, "`"+keys[2]+"`") {
		t.Errorf("the step summary lacks the deletion made before the failure:\n%s", summary)
	}
}
