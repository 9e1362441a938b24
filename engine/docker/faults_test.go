package docker

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/image"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/retry"
	"github.com/docker-ecr-cache/docker-ecr-cache/internal/faultproxy"
	"github.com/docker-ecr-cache/docker-ecr-cache/internal/testenv"
)

// TestStallIsNotRetried: a stalled pull or push is stopped, not tried again.
func TestStallIsNotRetried(t *testing.T) {
	t.Parallel()
	_, w := watch(t.Context(), time.Nanosecond, "push", "r:t")
	time.Sleep(10 * time.Millisecond)
	err := w.stop(errors.New("context canceled while reading"))
	var stall *StallError
	if !errors.As(err, &stall) || retry.Reason(err) != "" {
		t.Errorf("stop = %v, reason %q; want a stall, not retried", err, retry.Reason(err))
	}
}

type retryLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *retryLog) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *retryLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// fastRetry is retry.Default with short waits.
var fastRetry = retry.Policy{Attempts: 3, Base: 20 * time.Millisecond, Max: 100 * time.Millisecond, Deadline: 10 * time.Second}

// faultRig is a daemon client and an image to push, tagged for a registry
// behind a fault proxy.
type faultRig struct {
	c     *Client
	out   *testenv.Buffer
	log   *retryLog
	reg   *testenv.Registry
	proxy *faultproxy.Proxy
	ref   string // proxy host/faults/app:tag
	path  string // /v2/faults/app/manifests/tag
}

func newFaultRig(t *testing.T) *faultRig {
	t.Helper()
	c, out := newTestClient(t)
	r := &faultRig{c: c, out: out, log: &retryLog{}, reg: testenv.StartRegistry(t, testenv.RegistryOptions{})}
	c.Retry, c.Log = fastRetry, r.log.logf
	r.proxy = faultproxy.Start(t, r.reg.Host)
	tag := random(t)
	r.ref, r.path = r.proxy.Host+"/faults/app:"+tag, "/v2/faults/app/manifests/"+tag
	dir := contextDir(t, map[string]string{"Dockerfile": busyboxBase + run("echo "+random(t)+" > /id")})
	id, err := c.Build(testContext(t), engine.BuildSpec{ContextDir: dir, Dockerfile: filepath.Join(dir, "Dockerfile"), Tags: []string{r.ref}})
	if err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	t.Cleanup(func() { removeImage(t, c, id.ID) })
	return r
}

// stored is the registry's answer to a HEAD of the tag, behind the proxy.
func (r *faultRig) stored(t *testing.T) int {
	t.Helper()
	resp, err := http.Head("http://" + r.reg.Host + r.path)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func (r *faultRig) fault(t *testing.T, method string, times int, f faultproxy.Fault) {
	t.Helper()
	if err := r.proxy.Add(faultproxy.Rule{Method: method, Path: `/manifests/`, Times: times, Fault: f}); err != nil {
		t.Fatal(err)
	}
}

// TestPushRetriesTransientFaults: the daemon does not retry a manifest PUT
// that fails; Push does, logging why, and the registry then holds the tag.
func TestPushRetriesTransientFaults(t *testing.T) {
	t.Parallel()
	for name, f := range map[string]faultproxy.Fault{
		"503":   faultproxy.Status(http.StatusServiceUnavailable),
		"429":   faultproxy.TooManyRequests("0"),
		"reset": faultproxy.Reset(),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := newFaultRig(t)
			r.fault(t, "PUT", 1, f)
			digest, err := r.c.Push(testContext(t), r.ref, engine.Auth{})
			if err != nil {
				t.Fatalf("push: %v\n%s", err, r.out)
			}
			puts := r.proxy.Matching("PUT", "^"+r.path+"$")
			if len(puts) != 2 || puts[0].Fault == "" || puts[1].Status != http.StatusCreated {
				t.Errorf("manifest PUTs %v, want a fault then 201", puts)
			}
			if !strings.Contains(r.log.String(), "pushing "+r.ref+": ") || !strings.Contains(r.log.String(), "retrying in") {
				t.Errorf("retry not logged: %q", r.log)
			}
			if r.stored(t) != http.StatusOK || !digestRE.MatchString(digest) {
				t.Errorf("tag not stored, digest %q", digest)
			}
		})
	}
}

// TestPullRetriesTransientFaults: a manifest GET answered 503, or cut in the
// middle of its body, is pulled again.
func TestPullRetriesTransientFaults(t *testing.T) {
	t.Parallel()
	for name, f := range map[string]faultproxy.Fault{
		"503": faultproxy.Status(http.StatusServiceUnavailable),
		"cut": faultproxy.CutResponse(10),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := newFaultRig(t)
			if _, err := r.c.Push(testContext(t), r.ref, engine.Auth{}); err != nil {
				t.Fatalf("push: %v\n%s", err, r.out)
			}
			if _, err := r.c.api.ImageRemove(testContext(t), r.ref, image.RemoveOptions{}); err != nil {
				t.Fatal(err)
			}
			r.fault(t, "GET", 1, f)
			if err := r.c.Pull(testContext(t), r.ref, engine.Auth{}); err != nil {
				t.Fatalf("pull: %v\n%s", err, r.out)
			}
			if !strings.Contains(r.log.String(), "pulling "+r.ref+": ") {
				t.Errorf("retry not logged: %q", r.log)
			}
			if _, err := r.c.Inspect(testContext(t), r.ref); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestPersistentFaultGivesUp: a fault that lasts fails after the policy's
// tries, naming the cause, and the tag is not stored; a refused credential
// is not retried at all.
func TestPersistentFaultGivesUp(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		fault faultproxy.Fault
		tries int
		want  string
	}{
		{"503", faultproxy.Status(http.StatusServiceUnavailable), 3, "503 Service Unavailable (the registry answered a server error (5xx): gave up after 3 tries in "},
		{"401", faultproxy.Status(http.StatusUnauthorized), 1, "401 Unauthorized"},
		{"403", faultproxy.Status(http.StatusForbidden), 1, "403 Forbidden"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newFaultRig(t)
			r.fault(t, "PUT", 0, tt.fault)
			start := time.Now()
			_, err := r.c.Push(testContext(t), r.ref, engine.Auth{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("push error %v, want one naming %q", err, tt.want)
			}
			if took := time.Since(start); took > 30*time.Second {
				t.Errorf("gave up after %s", took)
			}
			if puts := r.proxy.Matching("PUT", "^"+r.path+"$"); len(puts) != tt.tries {
				t.Errorf("%d manifest PUTs, want %d: %v", len(puts), tt.tries, puts)
			}
			if tt.tries == 1 && r.log.String() != "" {
				t.Errorf("retried: %q", r.log)
			}
			if code := r.stored(t); code != http.StatusNotFound {
				t.Errorf("HEAD of the tag = %d, want 404", code)
			}
		})
	}
}

// TestPushStalls: a registry that holds the manifest PUT stops the push
// after the stall timeout, and it is not retried. (dockerd 20.10 does not
// abort a registry request it has sent: the held PUT still completes when
// the registry answers. The tag it stores names a complete image.)
func TestPushStalls(t *testing.T) {
	t.Parallel()
	r := newFaultRig(t)
	r.c.StallPullPush = time.Second
	r.fault(t, "PUT", 0, faultproxy.Delay(4*time.Second))
	start := time.Now()
	_, err := r.c.Push(testContext(t), r.ref, engine.Auth{})
	var stall *StallError
	if !errors.As(err, &stall) || stall.Phase != "push" || !strings.Contains(err.Error(), "no progress for 1s, so the push was stopped (raise stall-timeout-pull-push") {
		t.Fatalf("error %v, want a push stall", err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("stopped after %s", took)
	}
	if r.log.String() != "" {
		t.Errorf("a stall was retried: %q", r.log)
	}
	if puts := r.proxy.Matching("PUT", "^"+r.path+"$"); len(puts) != 1 {
		t.Errorf("manifest PUTs %v, want the one held", puts)
	}
}

// TestBuildStallsAndCancels: a build step that prints nothing for longer
// than the stall timeout is stopped, and so is one whose context ends;
// either way no process of it is left running.
func TestBuildStallsAndCancels(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"stall", "cancel"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c, out := newTestClient(t)
			marker := fmt.Sprintf("%d", 3000+time.Now().UnixNano()%1000) // sleep 3xyz: unique among parallel runs
			dir := contextDir(t, map[string]string{"Dockerfile": busyboxBase + run("echo "+random(t)+"; sleep "+marker)})
			ctx, cancel := context.WithCancel(testContext(t))
			defer cancel()
			if name == "stall" {
				c.StallBuild = 2 * time.Second
			} else {
				c.StallBuild = 0
				go func() {
					for !running("sleep "+marker) && ctx.Err() == nil {
						time.Sleep(50 * time.Millisecond)
					}
					cancel()
				}()
			}
			start := time.Now()
			_, err := c.Build(ctx, engine.BuildSpec{ContextDir: dir, Dockerfile: filepath.Join(dir, "Dockerfile")})
			var stall *StallError
			switch {
			case name == "stall" && (!errors.As(err, &stall) || stall.Phase != "build" || !strings.Contains(err.Error(), "stall-timeout-build")):
				t.Fatalf("error %v, want a build stall\n%s", err, out)
			case name == "cancel" && !errors.Is(err, context.Canceled) && !strings.Contains(fmt.Sprint(err), "context canceled"):
				t.Fatalf("error %v, want a cancellation\n%s", err, out)
			}
			if took := time.Since(start); took > 30*time.Second {
				t.Errorf("stopped after %s", took)
			}
			gone := time.Now()
			for running("sleep " + marker) {
				if time.Since(gone) > 5*time.Second {
					t.Fatalf("sleep %s still runs 5s after the build stopped", marker)
				}
				time.Sleep(100 * time.Millisecond)
			}
		})
	}
}

// running reports whether a process runs whose command line contains s.
func running(s string) bool {
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err == nil && strings.Contains(strings.ReplaceAll(string(b), "\x00", " "), s) {
			return true
		}
	}
	return false
}
