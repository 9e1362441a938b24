package env

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/docker-ecr-cache/docker-ecr-cache/adapters/frontend"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/key"
)

func load(t *testing.T, args []string, vars map[string]string) (engine.Config, Settings, error) {
	t.Helper()
	var environ []string
	for k, v := range vars {
		environ = append(environ, k+"="+v)
	}
	return Load(args, frontend.Env{Environ: environ, Getenv: func(k string) string { return vars[k] }, Dir: "/home/me/My App"})
}

func TestLoadFromEnvironmentAndFlags(t *testing.T) {
	t.Parallel()
	c, s, err := load(t, []string{"--cache-on", "a.json", "--cache-on=b.lock", "--skip-pull-from-cache", "--output", "json"}, map[string]string{
		"DOCKER_ECR_CACHE_CACHE_ON":          "ignored-because-flags-win\nalso-ignored",
		"DOCKER_ECR_CACHE_BUILD_ARGS":        "A=1\nB",
		"DOCKER_ECR_CACHE_MAX_AGE_DAYS":      "7",
		"DOCKER_ECR_CACHE_ECR_TAGS":          `{"Team":"Build","CostCentre":"42"}`,
		"DOCKER_ECR_CACHE_TARGET":            "", // empty counts as unset
		"DOCKER_ECR_CACHE_REGISTRY_PASSWORD": "not-an-option",
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"a.json", "b.lock"}, c.CacheOn); diff != "" {
		t.Errorf("cache-on (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"A=1", "B"}, c.BuildArgs); diff != "" {
		t.Errorf("build-args (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{"Team": "Build", "CostCentre": "42"}, c.ECRTags); diff != "" {
		t.Errorf("ecr-tags keep their case (-want +got):\n%s", diff)
	}
	if c.MaxAgeDays != 7 || !c.SkipPullFromCache || s.Output != "json" || c.Target != "" {
		t.Errorf("got max-age-days %d, skip-pull %v, output %q, target %q", c.MaxAgeDays, c.SkipPullFromCache, s.Output, c.Target)
	}
	if c.DefaultName != "build-cache/my-app" || c.WorkDir != "/home/me/My App" {
		t.Errorf("default name %q, work dir %q: want build-cache/my-app from the working directory", c.DefaultName, c.WorkDir)
	}
}

func TestLoadErrorsNameTheOption(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		args []string
		vars map[string]string
		want []string
	}{
		{"typo flag", []string{"--cach-on", "x"}, nil, []string{`unknown option "cach-on"`, `did you mean "cache-on"`}},
		{"typo variable", nil, map[string]string{"DOCKER_ECR_CACHE_DOCKERFILES": "x"}, []string{"DOCKER_ECR_CACHE_DOCKERFILES", `did you mean "dockerfile"`}},
		{"bad boolean", []string{"--skip-pull-from-cache=yes"}, nil, []string{"skip-pull-from-cache", "true or false"}},
		{"bad number", nil, map[string]string{"DOCKER_ECR_CACHE_MAX_AGE_DAYS": "week"}, []string{"max-age-days", "whole number"}},
		{"missing value", []string{"--dockerfile"}, nil, []string{"--dockerfile needs a value"}},
		{"bad output", []string{"--output", "yaml"}, nil, []string{`output "yaml"`}},
		{"two at once", []string{"--nope", "--output", "xml"}, nil, []string{`"nope"`, `output "xml"`}},
		// the test bed's variables are the test helpers' business (testenv.WithoutBed), not the command's
		{"a variable of any length", nil, map[string]string{"DOCKER_ECR_CACHE_" + strings.Repeat("X", 100_000): "1"},
			[]string{"DOCKER_ECR_CACHE_XXXX", `unknown option "xxxx`, "(100000 bytes)"}},
		{"test bed variable", nil, map[string]string{"DOCKER_ECR_CACHE_REQUIRE_DOCKER": "1"}, []string{"DOCKER_ECR_CACHE_REQUIRE_DOCKER", "unknown option"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := load(t, tt.args, tt.vars)
			if !engine.IsConfigError(err) {
				t.Fatalf("error %v is not a configuration error", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if n := len(err.Error()); n > 2000 {
				t.Errorf("the error is %d bytes", n)
			}
		})
	}
}

func TestWrite(t *testing.T) {
	t.Parallel()
	r := engine.Result{Image: "reg/cache", Tag: "abc", Ref: "reg/cache:abc", CacheHit: true, Digest: "sha256:00", Key: key.Key{Tag: "abc"}}
	var buf bytes.Buffer
	if err := Write(&buf, Settings{Output: "dotenv"}, r); err != nil {
		t.Fatal(err)
	}
	want := "IMAGE=reg/cache\nTAG=abc\nIMAGE_REF=reg/cache:abc\nCACHE_HIT=true\nDIGEST=sha256:00\nKEY=abc\n"
	if diff := cmp.Diff(want, buf.String()); diff != "" {
		t.Errorf("dotenv (-want +got):\n%s", diff)
	}
	buf.Reset()
	if err := Write(&buf, Settings{Output: "json"}, r); err != nil {
		t.Fatal(err)
	}
	var got map[string]string
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil || got["image-ref"] != "reg/cache:abc" || got["cache-hit"] != "true" {
		t.Errorf("json = %s, %v", buf.String(), err)
	}
}

func TestDotenvQuoting(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"plain:1.0":          "plain:1.0",
		"with space":         "'with space'",
		"it's\nTWO=lines $x": `'it'\''s` + "\n" + `TWO=lines $x'`,
	} {
		if got := dotenvQuote(in); got != want {
			t.Errorf("dotenvQuote(%q) = %q, want %q", in, got, want)
		}
	}
}

// output-prefix starts every dotenv name; results handed to a later step
// (DOCKER_ECR_CACHE_IMAGE_REF) are not taken for options there.
func TestOutputPrefix(t *testing.T) {
	t.Parallel()
	e := frontend.Env{
		Environ: []string{"DOCKER_ECR_CACHE_IMAGE_REF=reg/img:tag", "DOCKER_ECR_CACHE_CACHE_HIT=true", "DOCKER_ECR_CACHE_OUTPUT_PREFIX=BUILD_"},
		Getenv: func(k string) string {
			return map[string]string{"DOCKER_ECR_CACHE_IMAGE_REF": "reg/img:tag", "DOCKER_ECR_CACHE_CACHE_HIT": "true", "DOCKER_ECR_CACHE_OUTPUT_PREFIX": "BUILD_"}[k]
		},
		Dir: t.TempDir(),
	}
	_, s, err := Load(nil, e)
	if err != nil || s.OutputPrefix != "BUILD_" {
		t.Fatalf("Load = %+v, %v", s, err)
	}
	var buf bytes.Buffer
	if err := Write(&buf, s, engine.Result{Image: "reg/img", Tag: "t", Ref: "reg/img:t"}); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), "BUILD_IMAGE=reg/img\nBUILD_TAG=t\nBUILD_IMAGE_REF=reg/img:t\n") {
		t.Errorf("dotenv %q", buf.String())
	}
	for _, p := range []string{"A-B", "1X", "A B", "A\n"} {
		if _, _, err := Load([]string{"--output-prefix", p}, e); !engine.IsConfigError(err) || !strings.Contains(err.Error(), "output-prefix") {
			t.Errorf("output-prefix %q: %v", p, err)
		}
	}
}
