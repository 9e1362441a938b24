package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/internal/testenv"
)

// nowhere is a DOCKER_HOST at which no daemon answers.
const nowhere = "DOCKER_HOST=unix:///nonexistent/docker.sock"

// TestDaemonless: with DOCKER_HOST pointing at nothing, a miss is built and
// pushed by buildkit-host (the workers' platform); a hit without
// buildkit-host (this machine's platform) makes one manifest HEAD and
// nothing else, collects no garbage, and names the same key as a run with
// the real daemon; a miss with neither exits 1 naming both ways and pushes
// nothing.
func TestDaemonless(t *testing.T) {
	bkHost := testenv.BuildKit(t)
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	j := newBKJob(t, bkHost, reg, "", "")
	path := regexp.QuoteMeta(strings.TrimPrefix(j.repo, reg.Host+"/"))
	realDocker := slices.Clone(j.env)
	j.env = append(j.env, nowhere) // the last of a name wins
	j.options["CACHE_ON"] = "deps.txt"
	j.write(t, "deps.txt", "deps v1")
	j.write(t, "Dockerfile", "FROM scratch\nCOPY busybox /bin/busybox\nCOPY deps.txt /deps.txt\n"+
		`RUN ["/bin/busybox", "sh", "-c", "echo built > /marker"]`+"\n")

	miss := j.run(t, 0)
	ref, tag := miss.Outputs["IMAGE_REF"], miss.Outputs["TAG"]
	if miss.Outputs["CACHE_HIT"] != "false" || tag == "" {
		t.Fatalf("outputs %v\n%s", miss.Outputs, miss.Stderr)
	}
	for _, want := range []string{"daemonless: no Docker daemon answers at unix:///nonexistent/docker.sock", "the BuildKit workers' at " + bkHost,
		"with no Docker daemon here, " + ref + " is handed over by reference, not pulled", j.repo + ":latest now names " + ref} {
		if !strings.Contains(miss.Stderr, want) {
			t.Errorf("miss: stderr lacks %q:\n%s", want, miss.Stderr)
		}
	}
	if indexOf(reg.Requests(), `^PUT /v2/`+path+`/manifests/`+tag+` 201$`) < 0 {
		t.Errorf("the key tag was not pushed:\n%s", strings.Join(reg.Requests(), "\n"))
	}

	// Without buildkit-host, the platform is this machine's.
	delete(j.options, "BUILDKIT_HOST")
	t.Run("hit: one manifest HEAD, this machine's platform, the same key", func(t *testing.T) {
		reg.Reset()
		hit := j.run(t, 0, "GODEBUG=gctrace=1")
		if hit.Outputs["CACHE_HIT"] != "true" || hit.Outputs["TAG"] != tag || hit.Outputs["DIGEST"] != miss.Outputs["DIGEST"] {
			t.Errorf("outputs %v, want a hit on %s with %s\n%s", hit.Outputs, tag, miss.Outputs["DIGEST"], hit.Stderr)
		}
		want := []string{"HEAD /v2/" + strings.TrimPrefix(j.repo, reg.Host+"/") + "/manifests/" + tag + " 200"}
		if got := reg.Requests(); !slices.Equal(got, want) {
			t.Errorf("registry requests %q, want %q", got, want)
		}
		if !strings.Contains(hit.Stderr, "this machine's (no Docker daemon, and no buildkit-host)") {
			t.Errorf("stderr does not name the platform's source:\n%s", hit.Stderr)
		}
		// A tenth of a hit's time was one garbage collection (deferFirstGC).
		if gc := regexp.MustCompile(`(?m)^gc \d+ @.*$`).FindString(hit.Stderr); gc != "" {
			t.Errorf("the hit collected garbage: %s", gc)
		}
	})

	// The front ends: the same hit under the GitHub and GitLab entry points.
	for _, fe := range []struct {
		name string
		env  []string
		out  string // the outputs file, and the hit's line in it (a regexp)
		hit  string
	}{
		{"github", append(stepEnv(j.dir, j.dir, map[string]string{
			"INPUT_REGISTRY-PROVIDER": "registry", "INPUT_REGISTRY": j.repo, "INPUT_CACHE-ON": "deps.txt",
		}), "HOME="+t.TempDir()), fileCommandNames["GITHUB_OUTPUT"], `(?m)^cache-hit<<.*\ntrue$`},
		{"gitlab", []string{"CI_REGISTRY=" + reg.Host, "DOCKER_ECR_CACHE_REGISTRY=" + j.repo, "DOCKER_ECR_CACHE_CACHE_ON=deps.txt",
			"HOME=" + t.TempDir(), "DOCKER_ECR_CACHE_OUTPUT_FILE=" + filepath.Join(j.dir, "build.env")}, "build.env", `(?m)^DOCKER_ECR_CACHE_CACHE_HIT=true$`},
	} {
		t.Run(fe.name+" front end", func(t *testing.T) {
			reg.Reset()
			cmd := exec.Command(testenv.Binary(t), fe.name)
			cmd.Dir, cmd.Env = j.dir, append(slices.Clip(fe.env), "PATH="+os.Getenv("PATH"), nowhere)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			b, _ := os.ReadFile(filepath.Join(j.dir, fe.out))
			if !regexp.MustCompile(fe.hit).Match(b) || !strings.Contains(string(b), tag) || !strings.Contains(string(out), "handed over by reference") {
				t.Errorf("%s:\n%s\noutput:\n%s", fe.out, b, out)
			}
			if got := reg.Requests(); len(got) != 1 || !strings.HasPrefix(got[0], "HEAD ") {
				t.Errorf("registry requests %q, want one HEAD", got)
			}
		})
	}

	t.Run("buildkite front end", func(t *testing.T) {
		reg.Reset()
		r := (&bkStep{dir: j.dir, binary: testenv.Binary(t), env: []string{nowhere}, command: "true",
			config: map[string]any{"registry-provider": "registry", "registry": j.repo, "cache-on": "deps.txt"}}).run(t)
		r.requireSuccess(t)
		if r.exports[engine.ExportTag] != tag || r.exports[engine.ExportCacheHit] != "true" || !strings.Contains(r.output, "handed over by reference") {
			t.Errorf("exports %v, want a hit on %s:\n%s", r.exports, tag, r.output)
		}
		if got := reg.Requests(); len(got) != 1 || !strings.HasPrefix(got[0], "HEAD ") {
			t.Errorf("registry requests %q, want one HEAD", got)
		}
	})

	t.Run("the real daemon computes the same key", func(t *testing.T) {
		withDaemon := &bkJob{dir: j.dir, reg: reg, repo: j.repo, env: realDocker, options: j.options}
		hit := withDaemon.run(t, 0, "DOCKER_ECR_CACHE_SKIP_PULL_FROM_CACHE=true")
		if hit.Outputs["CACHE_HIT"] != "true" || hit.Outputs["TAG"] != tag {
			t.Errorf("with the daemon: outputs %v, want a hit on %s\n%s", hit.Outputs, tag, hit.Stderr)
		}
		if !strings.Contains(hit.Stderr, "the Docker daemon's") {
			t.Errorf("the daemon was not asked for the platform:\n%s", hit.Stderr)
		}
	})

	t.Run("miss with neither: exit 1, both ways named, nothing pushed", func(t *testing.T) {
		j.write(t, "deps.txt", "deps v2")
		reg.Reset()
		r := j.run(t, 1)
		for _, want := range []string{"no Docker daemon answers at unix:///nonexistent/docker.sock", "buildkit-host", "Docker-in-Docker", "docker.sock", "cannot hand an image to another job"} {
			if !strings.Contains(r.Stderr, want) {
				t.Errorf("stderr lacks %q:\n%s", want, r.Stderr)
			}
		}
		if slices.ContainsFunc(reg.Requests(), func(r string) bool { return !strings.HasPrefix(r, "HEAD") && !strings.HasPrefix(r, "GET") }) {
			t.Errorf("a run that could not build wrote: %q", reg.Requests())
		}
	})
}

// TestDaemonlessActionImage: the FROM-scratch action image, run with no
// Docker socket (nothing at the default unix:///var/run/docker.sock),
// builds a miss on buildkit-host and hands a hit over by reference.
func TestDaemonlessActionImage(t *testing.T) {
	bkHost := testenv.BuildKit(t)
	testenv.Docker(t)
	image := actionImage(t)
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	repo := reg.Host + "/owner/repo/daemonless"
	ws, fc := t.TempDir(), newFileCommands(t)
	testenv.Busybox(t, ws)
	writeFile(t, filepath.Join(ws, "Dockerfile"), "FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"sh\", \"-c\", \"echo built > /marker\"]\n")
	env := stepEnv("/github/workspace", "/github/file_commands", map[string]string{
		"INPUT_REGISTRY-PROVIDER": "registry",
		"INPUT_REGISTRY":          repo,
		"INPUT_BUILDKIT-HOST":     bkHost,
	})
	args := []string{"run", "--rm", "--network", "host",
		"-v", fc.dir + ":/github/file_commands", "-v", ws + ":/github/workspace", "-w", "/github/workspace"}
	for _, kv := range append(env, "HOME=/github/workspace") {
		args = append(args, "-e", kv)
	}
	args = append(args, image, "github")
	run := func(t *testing.T) (string, map[string]string) {
		t.Helper()
		fc.reset(t)
		out, err := exec.Command("docker", args...).CombinedOutput()
		if err != nil {
			t.Fatalf("docker run: %v\n%s", err, out)
		}
		return string(out), fc.parsed(t, "GITHUB_OUTPUT")
	}
	out, miss := run(t)
	if miss["cache-hit"] != "false" || !strings.Contains(out, "daemonless") || !strings.Contains(out, "the BuildKit workers'") {
		t.Fatalf("miss: outputs %v\n%s", miss, out)
	}
	reg.Reset()
	out, hit := run(t)
	if hit["cache-hit"] != "true" || hit["tag"] != miss["tag"] || !strings.Contains(out, "handed over by reference") {
		t.Errorf("hit: outputs %v\n%s", hit, out)
	}
	if got := reg.Requests(); len(got) != 1 || !strings.HasPrefix(got[0], "HEAD ") {
		t.Errorf("registry requests %q, want one HEAD", got)
	}
}
