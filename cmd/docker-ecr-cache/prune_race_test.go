package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/prune"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/registry/oci"
	"github.com/docker-ecr-cache/docker-ecr-cache/internal/testenv"
)

// TestRunWhilePruning runs the cache and a prune at once on the same key,
// 20 times: the key's image is 40 days old, so the prune deletes it. A
// proxy in front of the registry starts the prune when the run looks the
// key up, and holds the daemon's pull of the manifest a moment, so that
// the manifest vanishes between the lookup and the pull; every other
// run, the pull is not held and the prune starts a little later (25 ms
// to 475 ms), so that the two race freely. Every run must
// either hit a whole image or miss and rebuild; none may fail.
func TestRunWhilePruning(t *testing.T) {
	t.Parallel()
	dockerHost := testenv.Docker(t)
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{Delete: true})

	var mu sync.Mutex
	var onLookup func()
	var hold bool
	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: reg.Host})
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, ref, ok := strings.Cut(r.URL.Path, "/manifests/")
		switch {
		case ok && r.Method == http.MethodHead && prune.IsKeyTag(ref):
			mu.Lock()
			f := onLookup
			onLookup = nil
			mu.Unlock()
			if f != nil {
				defer f()
			}
		case ok && r.Method == http.MethodGet && strings.HasPrefix(ref, "sha256:") && strings.HasPrefix(r.UserAgent(), "docker/"):
			mu.Lock()
			h := hold
			mu.Unlock()
			if h {
				time.Sleep(300 * time.Millisecond) // the daemon's pull
			}
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)

	work := t.TempDir()
	testenv.Busybox(t, work)
	dockerfile := "FROM scratch\nCOPY busybox /bin/busybox\n" + `RUN ["/bin/busybox", "sh", "-c", "echo race > /marker"]` + "\n"
	if err := os.WriteFile(filepath.Join(work, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
		t.Fatal(err)
	}
	repo := fmt.Sprintf("%s/build-cache/race-%d", front.URL[len("http://"):], time.Now().UnixNano())
	env := []string{
		"HOME=" + t.TempDir(),
		"DOCKER_HOST=" + dockerHost,
		"DOCKER_ECR_CACHE_REGISTRY_PROVIDER=registry",
		"DOCKER_ECR_CACHE_REGISTRY=" + repo,
		"DOCKER_ECR_CACHE_LOCK_DIR=" + t.TempDir(),
	}
	run := func() (int, string) {
		var out, errs strings.Builder
		code := realMain(context.Background(), []string{"run"}, listEnv(env, work, &out, &errs))
		return code, out.String() + errs.String()
	}
	code, log := run()
	if code != 0 {
		t.Fatalf("the first run: exit %d\n%s", code, log)
	}
	key := ""
	for _, line := range strings.Split(log, "\n") {
		if v, ok := strings.CutPrefix(line, "KEY="); ok {
			key = strings.Trim(v, `"'`)
		}
	}
	if !prune.IsKeyTag(key) {
		t.Fatalf("no key in the run's output:\n%s", log)
	}
	ref := repo + ":" + key
	t.Cleanup(func() { _, _ = googleDocker(dockerHost, "rmi", "-f", ref, repo+":latest") })

	// The key's image as a build 40 days ago would have left it.
	kref, _ := name.ParseReference(ref, name.Insecure)
	img, err := remote.Image(kref)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	// The key's image as a build 40 days ago would have left it, a new
	// one each time (its build time differs by seconds): the daemon keeps
	// the manifests it pulled, and would not ask the registry again.
	oldImage := func(i int) (v1.Image, string) {
		c := cfg.DeepCopy()
		c.Config.Labels[engine.LabelBuildStarted] = fmt.Sprint(time.Now().Add(-40*24*time.Hour).Unix() + int64(i))
		old, err := mutate.ConfigFile(img, c)
		if err != nil {
			t.Fatal(err)
		}
		d, err := old.Digest()
		if err != nil {
			t.Fatal(err)
		}
		return old, d.String()
	}

	var hits, misses, vanished int
	for i := range 20 {
		old, oldDigest := oldImage(i)
		if err := remote.Write(kref, old); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _, _ = googleDocker(dockerHost, "rmi", "-f", repo+"@"+oldDigest) })
		if out, err := googleDocker(dockerHost, "rmi", "-f", ref); err != nil {
			t.Fatalf("removing %s: %v %s", ref, err, out)
		}
		pruned := make(chan error, 1)
		mu.Lock()
		hold = i%2 == 0                                     // every other run, the pull is held for the prune
		delay := time.Duration(i%2*i*25) * time.Millisecond // 0 when held; else 25ms to 475ms
		onLookup = func() {
			go func() {
				time.Sleep(delay)
				b := &prune.Registry{Repo: repo, Client: &oci.Client{}}
				_, err := prune.Run(context.Background(), b, prune.Policy{MaxAge: 7 * 24 * time.Hour}, prune.Options{})
				pruned <- err
			}()
		}
		mu.Unlock()
		code, log := run()
		if err := <-pruned; err != nil {
			t.Fatalf("run %d: the prune: %v", i, err)
		}
		switch {
		case code != 0:
			t.Fatalf("run %d: exit %d while the prune ran:\n%s", i, code, log)
		case strings.Contains(log, "cache miss: built"):
			misses++
		case strings.Contains(log, "cache hit"):
			hits++
		default:
			t.Fatalf("run %d: neither a hit nor a miss:\n%s", i, log)
		}
		if strings.Contains(log, "was deleted from the registry") {
			vanished++
		}
		// Whatever happened, the job's image is whole.
		if out, err := googleDocker(dockerHost, "run", "--rm", ref, "/bin/busybox", "cat", "/marker"); err != nil || !strings.Contains(out, "race") {
			t.Fatalf("run %d: the image does not run: %v %s", i, err, out)
		}
	}
	t.Logf("20 runs during a prune: %d hits, %d misses rebuilt, %d saw the image vanish between the lookup and the pull", hits, misses, vanished)
	if vanished < 10 {
		t.Errorf("%d runs saw the manifest vanish between the lookup and the pull, want at least the 10 whose pull was held", vanished)
	}
}
