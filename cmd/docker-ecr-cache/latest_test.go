package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/docker"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/key"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/registry"
	"github.com/docker-ecr-cache/docker-ecr-cache/internal/ecrtest"
	"github.com/docker-ecr-cache/docker-ecr-cache/internal/fake"
	"github.com/docker-ecr-cache/docker-ecr-cache/internal/googletest"
	"github.com/docker-ecr-cache/docker-ecr-cache/internal/testenv"
)

// remoteProvider starts a provider's test server, sets the process
// environment its SDK reads, and returns its options and how to list the
// registry's requests.
type remoteProvider struct {
	name  string
	start func(t *testing.T, c *engine.Config)
}

var remoteProviders = []remoteProvider{
	{"ecr", func(t *testing.T, c *engine.Config) {
		srv := ecrtest.Start(t, ecrtest.Options{})
		for _, kv := range srv.Env(t) {
			k, v, _ := strings.Cut(kv, "=")
			t.Setenv(k, v)
		}
		c.RegistryProvider, c.RegistryHostname = engine.ProviderECR, srv.RegistryHost
	}},
	{"registry", func(t *testing.T, c *engine.Config) {
		reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
		c.RegistryProvider, c.Registry = engine.ProviderRegistry, reg.Host+"/"+c.ECRName
	}},
	{"gcr", func(t *testing.T, c *engine.Config) {
		s := googletest.Start(t, googletest.Options{Project: "foo-bar-123456"})
		t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", s.WriteKeyFile(t, t.TempDir()))
		c.RegistryProvider, c.GCPProject, c.RegistryHostname = engine.ProviderGCR, "foo-bar-123456", s.RegistryHost
	}},
	{"artifact-registry", func(t *testing.T, c *engine.Config) {
		s := googletest.Start(t, googletest.Options{Project: "foo-bar-123456"})
		t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", s.WriteKeyFile(t, t.TempDir()))
		c.RegistryProvider, c.GCPProject, c.RegistryHostname = engine.ProviderGAR, "foo-bar-123456", s.RegistryHost
	}},
}

// gatedBuilder holds a build's result until released: the run that built
// first finishes last.
type gatedBuilder struct {
	engine.Builder
	built, release chan struct{}
}

func (g gatedBuilder) Build(ctx context.Context, spec engine.BuildSpec) (engine.BuildResult, error) {
	res, err := g.Builder.Build(ctx, spec)
	close(g.built)
	<-g.release
	return res, err
}

// TestRemoteProvidersLatestAndChanges runs, on every remote provider
// against its test server, the real daemon and the real provider: two
// overlapping misses finishing in the reverse order leave latest on the
// newer build, and a miss on a daemon that never saw the previous image
// names the changed input, read from the registry; without latest, the
// newest key's image, found by listing the tags.
func TestRemoteProvidersLatestAndChanges(t *testing.T) {
	dockerHost := testenv.Docker(t)
	for _, p := range remoteProviders {
		t.Run(p.name, func(t *testing.T) {
			t.Setenv("DOCKER_HOST", dockerHost)
			t.Setenv("HOME", t.TempDir()) // no Docker config
			name := fmt.Sprintf("e2e/latest-%s-%d", p.name, time.Now().UnixNano())
			base := engine.NewConfig()
			base.ECRName, base.CacheOn, base.LockDir, base.Getenv = name, []string{"input.txt"}, t.TempDir(), os.Getenv
			p.start(t, &base)
			checkout := func(input string) engine.Config {
				c := base
				c.WorkDir = t.TempDir()
				testenv.Busybox(t, c.WorkDir)
				write(t, c.WorkDir, "Dockerfile", "FROM scratch\nCOPY busybox /bin/busybox\nCOPY input.txt /input.txt\n")
				write(t, c.WorkDir, "input.txt", input+" "+name+"\n")
				return c
			}
			// try runs the cache as the front ends wire it, on goroutines too.
			try := func(c engine.Config, wrap func(engine.Builder) engine.Builder) (engine.Result, *fake.Reporter, engine.Registry, error) {
				plan, err := c.Plan()
				if err != nil {
					return engine.Result{}, nil, nil, err
				}
				log := &fake.Reporter{}
				d, err := docker.New(t.Context(), nil)
				if err != nil {
					return engine.Result{}, nil, nil, err
				}
				reg, err := registry.New(t.Context(), &plan.Config, log)
				if err != nil {
					return engine.Result{}, nil, nil, err
				}
				var b engine.Builder = d
				if wrap != nil {
					b = wrap(b)
				}
				e := engine.Engine{Plan: plan, Registry: reg, Docker: d, Builder: b, Reporter: log}
				res, err := e.Run(t.Context())
				if err != nil {
					return res, log, reg, fmt.Errorf("%w\n%s", err, log.Log())
				}
				return res, log, reg, nil
			}
			run := func(c engine.Config) (engine.Result, *fake.Reporter, engine.Registry) {
				t.Helper()
				res, log, reg, err := try(c, nil)
				if err != nil {
					t.Fatalf("run: %v", err)
				}
				return res, log, reg
			}

			// The first run builds first and finishes last.
			gate := gatedBuilder{built: make(chan struct{}), release: make(chan struct{})}
			type result struct {
				engine.Result
				err error
			}
			first := make(chan result, 1)
			one := checkout("one")
			go func() {
				res, _, _, err := try(one, func(b engine.Builder) engine.Builder { gate.Builder = b; return gate })
				select {
				case <-gate.built:
				default: // failed before its build ended: let the test report it
					close(gate.built)
				}
				first <- result{res, err}
			}()
			select {
			case <-gate.built:
			case <-time.After(2 * time.Minute):
				t.Fatal("the first build did not finish")
			}
			second, _, reg := run(checkout("two"))
			close(gate.release)
			r := <-first
			if r.err != nil {
				t.Fatalf("first run: %v", r.err)
			}
			older := r.Result
			t.Cleanup(func() { removeRepoImages(t, second.Image) })
			if older.Tag == second.Tag || !older.Built || !second.Built {
				t.Fatalf("runs %+v and %+v, want two misses of two keys", older, second)
			}
			auth, err := reg.Auth(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			latest, err := reg.Lookup(t.Context(), "latest", auth)
			if err != nil || latest != second.Digest {
				t.Errorf("latest is %s (%v), want the newer build's %s, not the older's %s", latest, err, second.Digest, older.Digest)
			}

			// A fresh daemon: nothing of the repository on it.
			removeRepoImages(t, second.Image)
			third, log, _ := run(checkout("three"))
			want := key.Change{Kind: key.Modified, Input: "file input.txt"}
			if third.Previous != second.Image+":latest" || !slices.Contains(third.Changed, want) {
				t.Errorf("previous %q, changed %v; want %v since latest\n%s", third.Previous, third.Changed, want, log.Log())
			}

			// With no moving tag read first (push-latest: false), the newest
			// key's image, found by listing the tags and reading labels.
			four := checkout("four")
			four.PushLatest = false
			removeRepoImages(t, second.Image)
			fourth, log, _ := run(four)
			if newest := third.Image + ":" + third.Tag; fourth.Previous != newest || !slices.Contains(fourth.Changed, want) {
				t.Errorf("previous %q, changed %v; want %v since %s\n%s", fourth.Previous, fourth.Changed, want, newest, log.Log())
			}
		})
	}
}

func write(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// removeRepoImages untags every local image of the repository image, and
// checks that the daemon has none left.
func removeRepoImages(t *testing.T, image string) {
	out, err := exec.Command("docker", "images", "--format", "{{.Repository}}:{{.Tag}}", image).Output()
	if err != nil {
		t.Errorf("docker images: %v", err)
		return
	}
	if refs := strings.Fields(string(out)); len(refs) > 0 {
		if out, err := exec.Command("docker", append([]string{"image", "rm", "-f"}, refs...)...).CombinedOutput(); err != nil {
			t.Errorf("docker image rm: %v\n%s", err, out)
		}
	}
	if err := exec.Command("docker", "image", "inspect", image+":latest").Run(); err == nil {
		t.Errorf("%s:latest is still on the daemon", image)
	}
}
