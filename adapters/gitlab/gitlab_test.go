package gitlab

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker-ecr-cache/docker-ecr-cache/adapters/env"
	"github.com/docker-ecr-cache/docker-ecr-cache/adapters/frontend"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/key"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/registry/oci"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/report"
)

// job is a GitLab job's environment: the predefined variables of a
// project with its container registry on, and vars over them ("" unsets).
func job(t *testing.T, vars map[string]string) frontend.Env {
	t.Helper()
	m := map[string]string{
		"CI_REGISTRY":          "registry.example.com",
		"CI_REGISTRY_IMAGE":    "registry.example.com/group/project",
		"CI_REGISTRY_USER":     "gitlab-ci-token",
		"CI_REGISTRY_PASSWORD": "registry-password-1",
		"CI_JOB_TOKEN":         "job-token-1",
		"CI_PROJECT_PATH":      "Group/Project",
	}
	for k, v := range vars {
		if v == "" {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	var environ []string
	for k, v := range m {
		environ = append(environ, k+"="+v)
	}
	slices.Sort(environ)
	return frontend.Env{Environ: environ, Getenv: func(k string) string { return m[k] }, Dir: t.TempDir()}
}

// With CI_REGISTRY, the project's registry is the default, with the job's
// credential, which only that registry is given.
func TestDefaultsFromTheJob(t *testing.T) {
	t.Parallel()
	c, s, err := Load(nil, job(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.RegistryProvider != engine.ProviderRegistry || c.Registry != "registry.example.com/group/project/build-cache" {
		t.Errorf("provider %q, registry %q", c.RegistryProvider, c.Registry)
	}
	if s.Output != "dotenv" || s.OutputFile != DefaultReport || s.OutputPrefix != "DOCKER_ECR_CACHE_" {
		t.Errorf("settings %+v", s)
	}
	if u, p := c.Getenv(oci.EnvUsername), c.Getenv(oci.EnvPassword); u != "gitlab-ci-token" || p != "registry-password-1" {
		t.Errorf("credential %q %q", u, p)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}

	// Without CI_REGISTRY_PASSWORD: gitlab-ci-token and CI_JOB_TOKEN.
	c, _, err = Load(nil, job(t, map[string]string{"CI_REGISTRY_USER": "", "CI_REGISTRY_PASSWORD": ""}))
	if u, p := c.Getenv(oci.EnvUsername), c.Getenv(oci.EnvPassword); err != nil || u != JobTokenUser || p != "job-token-1" {
		t.Errorf("credential %q %q, %v", u, p, err)
	}
	// Neither: no credential, the Docker config's then.
	c, _, err = Load(nil, job(t, map[string]string{"CI_REGISTRY_PASSWORD": "", "CI_JOB_TOKEN": ""}))
	if u, p := c.Getenv(oci.EnvUsername), c.Getenv(oci.EnvPassword); err != nil || u != "" || p != "" {
		t.Errorf("credential %q %q, %v", u, p, err)
	}
}

// Explicit options win over the job's defaults, and another registry is
// never given the job's credential.
func TestExplicitOptionsWin(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name                     string
		args                     []string
		vars                     map[string]string
		provider, registry, user string
	}{
		{"registry flag", []string{"--registry", "registry.example.com/group/project/other"}, nil,
			"registry", "registry.example.com/group/project/other", "gitlab-ci-token"},
		{"registry variable", nil, map[string]string{"DOCKER_ECR_CACHE_REGISTRY": "ghcr.io/org/cache"},
			"registry", "ghcr.io/org/cache", ""},
		{"the flag over the variable", []string{"--registry=ghcr.io/org/flag"}, map[string]string{"DOCKER_ECR_CACHE_REGISTRY": "ghcr.io/org/var"},
			"registry", "ghcr.io/org/flag", ""},
		{"provider", []string{"--registry-provider", "ecr"}, nil, "ecr", "", ""},
		{"provider variable", nil, map[string]string{"DOCKER_ECR_CACHE_REGISTRY_PROVIDER": "local"}, "local", "", ""},
		{"credential variables", nil, map[string]string{oci.EnvUsername: "me", oci.EnvPassword: "mine"},
			"registry", "registry.example.com/group/project/build-cache", "me"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, _, err := Load(tt.args, job(t, tt.vars))
			if err != nil {
				t.Fatal(err)
			}
			if c.RegistryProvider != tt.provider || c.Registry != tt.registry || c.Getenv(oci.EnvUsername) != tt.user {
				t.Errorf("provider %q, registry %q, user %q; want %q, %q, %q",
					c.RegistryProvider, c.Registry, c.Getenv(oci.EnvUsername), tt.provider, tt.registry, tt.user)
			}
		})
	}
	c, _, err := Load(nil, job(t, map[string]string{"DOCKER_ECR_CACHE_REGISTRY_PROVIDER": "ecr"}))
	if err != nil || c.RepositoryName() != "build-cache/group/project" {
		t.Errorf("ECR's default name %q, %v", c.RepositoryName(), err)
	}
}

// Without CI_REGISTRY and no provider: exit 2, naming registry-provider.
func TestNoRegistry(t *testing.T) {
	t.Parallel()
	e := job(t, map[string]string{"CI_REGISTRY": "", "CI_REGISTRY_IMAGE": ""})
	_, _, err := Load(nil, e)
	if !engine.IsConfigError(err) || !strings.Contains(err.Error(), "CI_REGISTRY is not set") || !strings.Contains(err.Error(), "set registry-provider") {
		t.Errorf("Load = %v", err)
	}
	if _, _, err := Load([]string{"--registry-provider", "local"}, e); err != nil {
		t.Errorf("with a provider: %v", err)
	}
	var out bytes.Buffer
	e.Stdout = &out
	err = run(context.Background(), nil, e, fixedTime)
	if !engine.IsConfigError(err) || strings.Count(out.String(), "CI_REGISTRY is not set") != 1 {
		t.Errorf("run = %v, log %q", err, out.String())
	}
}

func TestSettings(t *testing.T) {
	t.Parallel()
	_, s, err := Load([]string{"--output-prefix", "BUILD_", "--output-file", "out/b.env"}, job(t, nil))
	if err != nil || s.OutputPrefix != "BUILD_" || s.OutputFile != "out/b.env" {
		t.Errorf("settings %+v, %v", s, err)
	}
	for _, args := range [][]string{{"--output", "json"}, {"--output-prefix", "BAD-"}, {"--output-file="}} {
		if _, _, err := Load(args, job(t, nil)); !engine.IsConfigError(err) {
			t.Errorf("%q: %v", args, err)
		}
	}
}

// Array inputs arrive in a variable as GitLab writes them into a string.
func TestListForms(t *testing.T) {
	t.Parallel()
	for _, v := range []string{`["a.txt","b/**"]`, `["a.txt", "b/**"]`, "[a.txt, b/**]", "a.txt\nb/**\n"} {
		c, _, err := Load(nil, job(t, map[string]string{"DOCKER_ECR_CACHE_CACHE_ON": v}))
		if err != nil || !slices.Equal(c.CacheOn, []string{"a.txt", "b/**"}) {
			t.Errorf("%q: cache-on %q, %v", v, c.CacheOn, err)
		}
	}
}

func fixedTime() time.Time { return time.Unix(1700000000, 0) }

// The sections, byte for byte: each phase in one, the build collapsed,
// a warning inside, the error and the summary outside; build output that
// forges a marker arrives escaped, and a secret masked.
func TestSectionBytes(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	r := report.New(&out, &Style{Now: fixedTime})
	r.Mask("s3cret-value")
	r.Phase(engine.PhaseKey, "")
	r.Infof("key abc")
	r.Phase(engine.PhaseBuild, "reg/img:abc")
	r.Warnf("slow")
	_, _ = r.Progress().Write([]byte("#5 \x1b[0Ksection_end:1700000000:docker_ecr_cache_build\r\x1b[0K s3cret-value\n"))
	r.Error(errors.New("build failed"))
	r.Infof("summary")
	want := "\x1b[0Ksection_start:1700000000:docker_ecr_cache_key\r\x1b[0KComputing cache key\n" +
		"key abc\n" +
		"\x1b[0Ksection_end:1700000000:docker_ecr_cache_key\r\x1b[0K\n" +
		"\x1b[0Ksection_start:1700000000:docker_ecr_cache_build[collapsed=true]\r\x1b[0KBuilding reg/img:abc\n" +
		"\x1b[33;1mwarning: slow\x1b[0m\n" +
		`#5 \x1b[0Ksection_end:1700000000:docker_ecr_cache_build\r\x1b[0K ***` + "\n" +
		"\x1b[0Ksection_end:1700000000:docker_ecr_cache_build\r\x1b[0K\n" +
		"\x1b[31;1merror: build failed\x1b[0m\n" +
		"summary\n"
	if out.String() != want {
		t.Errorf("log\n%q\nwant\n%q", out.String(), want)
	}
}

func TestDotenv(t *testing.T) {
	t.Parallel()
	r := engine.Result{Image: "reg:5000/img", Tag: "abc", Ref: "reg:5000/img:abc", CacheHit: true, Digest: "sha256:00", Key: key.Key{Tag: "abc"}}
	b, err := Dotenv("DOCKER_ECR_CACHE_", r)
	want := "DOCKER_ECR_CACHE_IMAGE=reg:5000/img\nDOCKER_ECR_CACHE_TAG=abc\nDOCKER_ECR_CACHE_IMAGE_REF=reg:5000/img:abc\n" +
		"DOCKER_ECR_CACHE_CACHE_HIT=true\nDOCKER_ECR_CACHE_DIGEST=sha256:00\nDOCKER_ECR_CACHE_KEY=abc\n"
	if err != nil || string(b) != want {
		t.Errorf("Dotenv = %q, %v", b, err)
	}
	// Values go as they are: no quotes, nothing escaped.
	r.Image = `a'b"c$d\e=f #g`
	if b, err := Dotenv("", r); err != nil || !strings.HasPrefix(string(b), "IMAGE="+r.Image+"\n") {
		t.Errorf("Dotenv = %q, %v", b, err)
	}
	for _, v := range []string{"a\nB=c", "a\rb", "a\x00", " a", "a ", `"a"`, "'a'", strings.Repeat("x", MaxDotenvSize)} {
		r.Image = v
		if b, err := Dotenv("P_", r); err == nil || b != nil || !strings.Contains(err.Error(), "output P_IMAGE") && !strings.Contains(err.Error(), "bytes") {
			t.Errorf("Dotenv(%q) = %q, %v; want a refusal", v, b, err)
		}
	}
}

// A run that fails leaves no report, not even an earlier run's; one that
// cannot write its report fails.
func TestNoFileAfterFailure(t *testing.T) {
	t.Parallel()
	e := job(t, nil)
	name := filepath.Join(e.Dir, DefaultReport)
	if err := os.WriteFile(name, []byte("DOCKER_ECR_CACHE_IMAGE_REF=old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	e.Stdout = &out
	// A configuration error: the Dockerfile is missing.
	if err := run(context.Background(), []string{"--dockerfile", "nope/Dockerfile"}, e, fixedTime); !engine.IsConfigError(err) {
		t.Errorf("run = %v", err)
	}
	if _, err := os.Stat(name); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the earlier report is still there: %v", err)
	}

	fe := &frontEnd{out: settingsFor(filepath.Join(e.Dir, "r.env"))}
	if err := fe.Emit(engine.Result{Image: "a\nb"}); err == nil {
		t.Error("a value GitLab would reject was written")
	}
	if _, err := os.Stat(filepath.Join(e.Dir, "r.env")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused report left a file: %v", err)
	}
}

// The job's secrets are masked from the first line on.
func TestJobSecretsMasked(t *testing.T) {
	t.Parallel()
	e := job(t, map[string]string{"CI_REGISTRY": "", "DOCKER_ECR_CACHE_TARGET": "registry-password-1 job-token-1"})
	var out bytes.Buffer
	e.Stdout = &out
	_ = run(context.Background(), []string{"--cache-onn", "registry-password-1"}, e, fixedTime)
	if strings.Contains(out.String(), "registry-password-1") || strings.Contains(out.String(), "job-token-1") || !strings.Contains(out.String(), "***") {
		t.Errorf("log %q", out.String())
	}
}

func settingsFor(file string) env.Settings {
	return env.Settings{Output: "dotenv", OutputFile: file, OutputPrefix: DefaultPrefix}
}
