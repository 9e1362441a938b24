package engine_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/buildlock"
	"github.com/docker-ecr-cache/docker-ecr-cache/internal/fake"
)

func (r *rig) runCtx(t *testing.T, ctx context.Context) (engine.Result, error) {
	t.Helper()
	plan, err := r.cfg.Plan()
	if err != nil {
		t.Fatal(err)
	}
	e := engine.Engine{Plan: plan, Registry: r.reg, Docker: r.dock, Builder: r.dock, Reporter: r.log}
	return e.Run(ctx)
}

// puts are the tags the registry stored, in order.
func (r *rig) puts() []string {
	var puts []string
	for _, c := range r.reg.Called() {
		if tag, ok := strings.CutPrefix(c, "Put "); ok {
			puts = append(puts, tag)
		}
	}
	return puts
}

// TestRunCancelled cancels a run while each phase's call hangs: the run
// returns at once with the cancellation, pushes nothing after it, and
// latest stays where it was.
func TestRunCancelled(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		before func(r *rig)
		docker []string // hanging Docker calls
		reg    []string // hanging Registry calls
		built  bool
	}{
		{name: "key: the daemon's platform", docker: []string{"Platform"}},
		{name: "lookup: inspect", docker: []string{"Inspect REF"}},
		{name: "lookup: registry", reg: []string{"Lookup KEY"}},
		{name: "pull", before: func(r *rig) { r.store(r.key.Tag, r.key.Inputs, 0) }, docker: []string{"Pull REPO@DIGEST"}},
		{name: "prepare", reg: []string{"Prepare"}},
		{name: "build", docker: []string{"Build REF"}},
		{name: "push of the key tag", docker: []string{"Push REF"}, built: true},
		{name: "check after the push", reg: []string{"Lookup KEY #2"}, built: true},
		{name: "push of latest", docker: []string{"Push " + repo + ":latest"}, built: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newRig(t, nil)
			r.store("latest", nil, time.Hour)
			if tt.before != nil {
				tt.before(r)
			}
			latestBefore := r.reg.Tags["latest"]
			sub := strings.NewReplacer("REF", r.ref, "KEY", r.key.Tag, "REPO", r.reg.Repo, "DIGEST", stored(r.key.Tag)).Replace
			hang := func(calls []string) map[string]bool {
				m := map[string]bool{}
				for _, c := range calls {
					m[sub(c)] = true
				}
				return m
			}
			r.dock.Hang, r.reg.Hang = hang(tt.docker), hang(tt.reg)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			var mu sync.Mutex
			var cancelled time.Time
			putsAtCancel := -1
			seen := map[string]int{}
			hook := func(c string) {
				mu.Lock()
				seen[c]++
				nth := fmt.Sprintf("%s #%d", c, seen[c])
				mu.Unlock()
				if r.dock.Hang[c] || r.reg.Hang[c] || r.reg.Hang[nth] {
					time.AfterFunc(20*time.Millisecond, func() {
						mu.Lock()
						cancelled, putsAtCancel = time.Now(), len(r.puts())
						mu.Unlock()
						cancel()
					})
				}
			}
			r.dock.Hook, r.reg.Hook = hook, hook
			done := make(chan error, 1)
			go func() {
				_, err := r.runCtx(t, ctx)
				done <- err
			}()
			var err error
			select {
			case err = <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("the run did not stop within 5s of the cancellation")
			}
			mu.Lock()
			defer mu.Unlock()
			if cancelled.IsZero() {
				t.Fatalf("the hanging call was never made: %v", err)
			}
			if !errors.Is(err, context.Canceled) {
				t.Errorf("error %v does not wrap context.Canceled", err)
			}
			if took := time.Since(cancelled); took > time.Second {
				t.Errorf("the run took %s to stop after the cancellation", took)
			}
			if puts := r.puts(); len(puts) != putsAtCancel {
				t.Errorf("pushed after the cancellation: %q (%d before it)", puts, putsAtCancel)
			}
			if !reflectEqual(r.reg.Tags["latest"], latestBefore) {
				t.Errorf("latest moved: %v, was %v", r.reg.Tags["latest"], latestBefore)
			}
			if built := len(r.dock.Specs) > 0; built != tt.built {
				t.Errorf("built %v, want %v", built, tt.built)
			}
		})
	}
}

// TestRunLatestOnlyMovesForward: after the push, latest moves only when it
// is absent or names an older build, and the digest handed over is the
// one the registry holds.
func TestRunLatestOnlyMovesForward(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		before func(r *rig)
		moved  bool
		log    string
		warn   string
	}{
		{name: "absent", moved: true},
		{name: "older build", before: func(r *rig) { r.store("latest", nil, time.Hour) }, moved: true},
		{name: "not of this cache's making", moved: true,
			before: func(r *rig) { r.reg.Tags["latest"] = fake.Manifest{Digest: "sha256:foreign"} }},
		{name: "newer build", before: func(r *rig) { r.store("latest", nil, -time.Hour) },
			log: "latest is left where it is: it names a build that started at"},
		{name: "same key from another agent", before: func(r *rig) {
			r.store("latest", nil, time.Hour)
			r.reg.Tags["latest"].Labels[engine.LabelKey] = r.key.Tag
		}, log: "latest already names an image of key KEY"},
		{name: "unreadable", before: func(r *rig) {
			r.store("latest", nil, time.Hour)
			r.reg.Fail = map[string]error{"Labels latest #2": errServer}
		}, warn: "could not read " + repo + ":latest, so it is left where it is: HTTP 503"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newRig(t, nil)
			if tt.before != nil {
				tt.before(r)
			}
			before := r.reg.Tags["latest"]
			res, err := r.run(t)
			if err != nil {
				t.Fatal(err)
			}
			after := r.reg.Tags["latest"]
			if moved := after.Labels[engine.LabelKey] == r.key.Tag && !reflectEqual(after, before); moved != tt.moved {
				t.Errorf("latest moved %v, want %v: %v, was %v", moved, tt.moved, after, before)
			}
			if moved := slices.Contains(r.puts(), "latest"); moved != tt.moved {
				t.Errorf("latest pushed %v, want %v", moved, tt.moved)
			}
			sub := strings.NewReplacer("KEY", r.key.Tag).Replace
			if tt.log != "" && !strings.Contains(r.log.Log(), sub(tt.log)) {
				t.Errorf("log lacks %q:\n%s", sub(tt.log), r.log.Log())
			}
			if tt.warn != "" && !slices.ContainsFunc(r.log.Warnings, func(w string) bool { return strings.Contains(w, tt.warn) }) {
				t.Errorf("warnings %q lack %q", r.log.Warnings, tt.warn)
			}
			if res.Digest != r.reg.Tags[r.key.Tag].Digest {
				t.Errorf("digest %s, the registry holds %s", res.Digest, r.reg.Tags[r.key.Tag].Digest)
			}
		})
	}
}

// TestRunHandsOverTheDigestTheRegistryHolds: another agent pushed the same
// key between this run's push and its check.
func TestRunHandsOverTheDigestTheRegistryHolds(t *testing.T) {
	t.Parallel()
	r := newRig(t, nil)
	lookups := 0
	r.reg.Hook = func(c string) {
		if c == "Lookup "+r.key.Tag {
			if lookups++; lookups == 2 {
				r.store(r.key.Tag, r.key.Inputs, 0) // the other agent's push lands
			}
		}
	}
	res, err := r.run(t)
	if err != nil {
		t.Fatal(err)
	}
	if want := stored(r.key.Tag); res.Digest != want || !res.Pushed {
		t.Errorf("digest %s, pushed %v; want the registry's %s", res.Digest, res.Pushed, want)
	}
	if !strings.Contains(r.log.Log(), "another run pushed "+r.ref+" too") {
		t.Errorf("log:\n%s", r.log.Log())
	}
	r2 := newRig(t, nil)
	r2.reg.Fail = map[string]error{"Lookup " + r2.key.Tag + " #2": errServer}
	if _, err := r2.run(t); err == nil || !strings.Contains(err.Error(), "checking "+r2.ref+" after the push: HTTP 503") {
		t.Errorf("a failed check after the push: %v", err)
	}
	if slices.Contains(r2.puts(), "latest") {
		t.Errorf("latest moved after a failed check")
	}
}

// TestRunOneBuildPerKey: two runs on one machine miss the same key at
// once: one builds, the other waits and takes its image as a hit.
func TestRunOneBuildPerKey(t *testing.T) {
	t.Parallel()
	a := newRig(t, nil)
	b := &rig{cfg: a.cfg, reg: a.reg, dock: a.dock, log: &fake.Reporter{}, key: a.key, ref: a.ref}
	type result struct {
		res engine.Result
		err error
	}
	second := make(chan result, 1)
	var builds atomic.Int32
	a.dock.Hook = func(c string) {
		if c != "Build "+a.ref || builds.Add(1) > 1 {
			return
		}
		go func() {
			res, err := b.run(t)
			second <- result{res, err}
		}()
		for deadline := time.Now().Add(5 * time.Second); !strings.Contains(b.log.Log(), "waiting up to 30m0s"); time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Error("the second run never waited")
				return
			}
		}
	}
	resA, err := a.run(t)
	if err != nil {
		t.Fatal(err)
	}
	var rb result
	select {
	case rb = <-second:
	case <-time.After(5 * time.Second):
		t.Fatal("the second run did not finish")
	}
	if rb.err != nil {
		t.Fatal(rb.err)
	}
	if builds.Load() != 1 || !resA.Built || resA.CacheHit || rb.res.Built || !rb.res.CacheHit || rb.res.Pulled {
		t.Errorf("%d builds; first built %v hit %v; second built %v hit %v pulled %v",
			builds.Load(), resA.Built, resA.CacheHit, rb.res.Built, rb.res.CacheHit, rb.res.Pulled)
	}
	if rb.res.Digest != resA.Digest {
		t.Errorf("digests %s and %s", resA.Digest, rb.res.Digest)
	}
	if !strings.Contains(b.log.Log(), "cache hit: another run on this machine built "+a.ref+" while this one waited") {
		t.Errorf("second log:\n%s", b.log.Log())
	}
	if got := a.puts(); !slices.Equal(got, []string{a.key.Tag, "latest"}) {
		t.Errorf("pushes %q", got)
	}
}

// holdLock takes the build lock of r's key as another run would.
func holdLock(t *testing.T, r *rig) func() {
	t.Helper()
	release, _, err := buildlock.Acquire(t.Context(), r.cfg.LockDir, r.ref, time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(release)
	return release
}

func TestRunLockWaits(t *testing.T) {
	t.Parallel()
	t.Run("a waiter that times out builds and says so", func(t *testing.T) {
		t.Parallel()
		r := newRig(t, func(c *engine.Config) { c.LockTimeout = "100ms" })
		holdLock(t, r)
		res, err := r.run(t)
		if err != nil {
			t.Fatal(err)
		}
		if !res.Built || !slices.ContainsFunc(r.log.Warnings, func(w string) bool {
			return strings.Contains(w, "for more than 100ms (lock-timeout): building it here too")
		}) {
			t.Errorf("built %v, warnings %q", res.Built, r.log.Warnings)
		}
	})
	t.Run("a waiter stopped by its context: the wait is its phase", func(t *testing.T) {
		t.Parallel()
		r := newRig(t, nil)
		holdLock(t, r)
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		defer cancel()
		_, err := r.runCtx(t, ctx)
		want := "waiting for another run's build of " + r.ref + ": context deadline exceeded"
		if err == nil || err.Error() != want || r.log.Phases[len(r.log.Phases)-1] != "Waiting for another run's build" {
			t.Errorf("error %v, want %q; phases %q", err, want, r.log.Phases)
		}
	})
	t.Run("the holder stored nothing: the waiter builds", func(t *testing.T) {
		t.Parallel()
		r := newRig(t, nil)
		time.AfterFunc(100*time.Millisecond, holdLock(t, r))
		res, err := r.run(t)
		if err != nil {
			t.Fatal(err)
		}
		if !res.Built || !strings.Contains(r.log.Log(), "did not store "+r.ref+": building it here") {
			t.Errorf("built %v:\n%s", res.Built, r.log.Log())
		}
	})
	t.Run("the holder built it on this daemon but did not push: the waiter pushes", func(t *testing.T) {
		t.Parallel()
		r := newRig(t, nil)
		release := holdLock(t, r)
		r.dock.Images["built-by-the-holder"] = engine.Image{ID: "sha256:local", Labels: map[string]string{engine.LabelKey: r.key.Tag}, Created: time.Now()}
		time.AfterFunc(100*time.Millisecond, func() {
			_ = r.dock.Tag(context.Background(), "built-by-the-holder", r.ref)
			release()
		})
		res, err := r.run(t)
		if err != nil {
			t.Fatal(err)
		}
		if res.Built || !res.Pushed || !res.CacheHit {
			t.Errorf("built %v pushed %v hit %v", res.Built, res.Pushed, res.CacheHit)
		}
	})
	t.Run("a lookup error after the wait is not a miss", func(t *testing.T) {
		t.Parallel()
		r := newRig(t, nil)
		time.AfterFunc(100*time.Millisecond, holdLock(t, r))
		r.reg.Fail = map[string]error{"Lookup " + r.key.Tag + " #2": errUnauth}
		_, err := r.run(t)
		if !errors.Is(err, errUnauth) || len(r.dock.Specs) > 0 {
			t.Errorf("error %v, %d builds", err, len(r.dock.Specs))
		}
	})
	t.Run("a lock that cannot be taken warns and builds", func(t *testing.T) {
		t.Parallel()
		file := filepath.Join(t.TempDir(), "a-file")
		if err := os.WriteFile(file, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		r := newRig(t, func(c *engine.Config) { c.LockDir = file })
		res, err := r.run(t)
		if err != nil {
			t.Fatal(err)
		}
		if !res.Built || !slices.ContainsFunc(r.log.Warnings, func(w string) bool {
			return strings.Contains(w, "could not take the build lock of "+r.ref+", so another run on this machine may build it too")
		}) {
			t.Errorf("built %v, warnings %q", res.Built, r.log.Warnings)
		}
	})
	t.Run("cancelled while waiting", func(t *testing.T) {
		t.Parallel()
		r := newRig(t, nil)
		holdLock(t, r)
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		_, err := r.runCtx(t, ctx)
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "waiting for another run's build of "+r.ref) || len(r.dock.Specs) > 0 {
			t.Errorf("error %v, %d builds", err, len(r.dock.Specs))
		}
	})
}

func TestReliabilityOptions(t *testing.T) {
	t.Parallel()
	c := engine.NewConfig()
	c.DockerfileInline = "FROM scratch"
	p, err := c.Plan()
	if err != nil {
		t.Fatal(err)
	}
	if p.StallBuild != 5*time.Minute || p.StallPullPush != 2*time.Minute || p.LockTimeout != 30*time.Minute || p.LockDir != "" {
		t.Errorf("defaults %+v", p.Reliability)
	}
	c.StallTimeoutBuild, c.StallTimeoutPullPush, c.LockTimeout, c.LockDir = "0", "90s", "1h", "/tmp/locks"
	if p, err = c.Plan(); err != nil {
		t.Fatal(err)
	}
	if p.StallBuild != 0 || p.StallPullPush != 90*time.Second || p.LockTimeout != time.Hour || p.LockDir != "/tmp/locks" {
		t.Errorf("set %+v", p.Reliability)
	}
	c.StallTimeoutBuild, c.LockTimeout = "soon", "-1m"
	_, err = c.Plan()
	for _, want := range []string{`stall-timeout-build is "soon": write a duration such as 5m, or 0`, `lock-timeout is "-1m"`} {
		if err == nil || !strings.Contains(err.Error(), want) || !engine.IsConfigError(err) {
			t.Errorf("error %v, want a ConfigError with %q", err, want)
		}
	}
}
