package docker

import (
	"context"
	"encoding/base64"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/internal/testenv"
)

func TestNewUnreachable(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
	c, err := New(context.Background(), nil)
	if err != nil {
		t.Fatalf("New connects already: %v", err)
	}
	_, err = c.Inspect(context.Background(), "any")
	if err == nil {
		t.Fatal("Inspect succeeded without a daemon")
	}
	for _, want := range []string{"unix:///nonexistent/docker.sock", "DOCKER_HOST", "start dockerd"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

// TestPing: with no daemon, Ping says where none answers, once, and
// without the advice to start one (a run then goes daemonless); with the
// test bed's, it answers nil.
func TestPing(t *testing.T) {
	bed := testenv.Docker(t)
	t.Setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
	c, err := New(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	err = c.Ping(context.Background())
	if err == nil || !strings.Contains(err.Error(), "no Docker daemon answers at unix:///nonexistent/docker.sock") || strings.Contains(err.Error(), "start dockerd") {
		t.Errorf("Ping = %v", err)
	}
	t.Setenv("DOCKER_HOST", bed)
	if c, _ = New(context.Background(), nil); c.Ping(context.Background()) != nil {
		t.Errorf("Ping with the test bed's daemon: %v", c.Ping(context.Background()))
	}
}

func TestInspectMissing(t *testing.T) {
	t.Parallel()
	c, _ := newTestClient(t)
	_, err := c.Inspect(testContext(t), "docker-ecr-cache-test/missing:"+random(t))
	if !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("err = %v, want engine.ErrNotFound", err)
	}
}

func TestNormalizePlatform(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ os, arch, want string }{
		{"linux", "amd64", "linux/amd64"},
		{"linux", "x86_64", "linux/amd64"},
		{"linux", "aarch64", "linux/arm64"},
		{"linux", "arm64", "linux/arm64"},
		{"linux", "arm", "linux/arm/v7"},
		{"linux", "armhf", "linux/arm/v7"},
		{"linux", "i386", "linux/386"},
		{"windows", "amd64", "windows/amd64"},
	} {
		got, err := normalizePlatform(tt.os, tt.arch)
		if err != nil || got != tt.want {
			t.Errorf("normalizePlatform(%q, %q) = %q, %v; want %q", tt.os, tt.arch, got, err, tt.want)
		}
	}
	if _, err := normalizePlatform("", ""); err == nil || !strings.Contains(err.Error(), "set the platform option") {
		t.Errorf("no platform: %v", err)
	}
}

// TestPlatform: the daemon's platform is the one a build without a
// platform makes, and a given one is built.
func TestPlatform(t *testing.T) {
	t.Parallel()
	c, out := newTestClient(t)
	platform, err := c.Platform(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	if want := engine.DefaultPlatform(); platform != want {
		t.Errorf("Platform = %q, want %q (this machine's, where the daemon runs)", platform, want)
	}
	// A COPY-only image of another platform needs no emulator to build.
	for _, p := range []string{"", "linux/s390x"} {
		dir := contextDir(t, map[string]string{"Dockerfile": "FROM scratch\nCOPY Dockerfile /\n"})
		tag := "docker-ecr-cache-test/platform:" + random(t)
		t.Cleanup(func() { removeImage(t, c, tag) })
		if _, err := c.Build(testContext(t), engine.BuildSpec{ContextDir: dir, Dockerfile: filepath.Join(dir, "Dockerfile"), Platform: p, Tags: []string{tag}}); err != nil {
			t.Fatalf("build for %q: %v\n%s", p, err, out)
		}
		img, err := c.api.ImageInspect(testContext(t), tag)
		if err != nil {
			t.Fatal(err)
		}
		want := p
		if p == "" {
			want = platform
		}
		if got := img.Os + "/" + img.Architecture; got != want {
			t.Errorf("built for %q: the image is %s, want %s", p, got, want)
		}
	}
}

func TestBuildOptions(t *testing.T) {
	t.Parallel()
	o := buildOptions(engine.BuildSpec{
		Target:    "ci",
		Platform:  "linux/arm64",
		BuildArgs: []string{"A=1", "UNSET"},
		Tags:      []string{"r:k"},
		Labels:    map[string]string{"k": "spec"},
		CacheFrom: []string{"r:latest"},
		Flags:     engine.BuildFlags{Labels: map[string]string{"k": "flag", "f": "flag"}, NoCache: true, Network: "host", AddHosts: []string{"db:10.0.0.1"}},
	}, "Dockerfile", "session-id")
	if o.Platform != "linux/arm64" || o.Target != "ci" || o.SessionID != "session-id" || o.Dockerfile != "Dockerfile" {
		t.Errorf("options %+v", o)
	}
	if *o.BuildArgs["A"] != "1" || o.BuildArgs["UNSET"] != nil {
		t.Errorf("build args %v", o.BuildArgs)
	}
	if o.Labels["k"] != "spec" || o.Labels["f"] != "flag" || !o.NoCache || o.NetworkMode != "host" || o.ExtraHosts[0] != "db:10.0.0.1" || o.CacheFrom[0] != "r:latest" {
		t.Errorf("options %+v", o)
	}
}

func TestIdentityTokenInRegistryAuth(t *testing.T) {
	t.Parallel()
	a := engine.Auth{Server: "id.example", Username: "<token>", IdentityToken: "refresh-me"}
	enc, err := registryAuth(a)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.URLEncoding.DecodeString(enc)
	if !strings.Contains(string(raw), `"identitytoken":"refresh-me"`) {
		t.Errorf("X-Registry-Auth %s, want the identity token", raw)
	}
}
