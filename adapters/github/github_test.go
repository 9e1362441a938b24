package github

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/sethvargo/go-githubactions"

	"github.com/docker-ecr-cache/docker-ecr-cache/adapters/frontend"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
)

// runnerEnv is what the runner gives a step of this action: every declared
// input, empty unless the workflow sets it, and the GITHUB_* variables.
func runnerEnv(t *testing.T, inputs map[string]string) map[string]string {
	t.Helper()
	dir := t.TempDir()
	env := map[string]string{
		"GITHUB_WORKSPACE":  dir,
		"GITHUB_REPOSITORY": "My-Org/My.Repo",
		"GITHUB_OUTPUT":     filepath.Join(dir, "output"),
		"GITHUB_ENV":        filepath.Join(dir, "env"),
	}
	for _, name := range engine.OptionNames() {
		env[InputVar(name)] = ""
	}
	for k, v := range inputs {
		env[k] = v
	}
	return env
}

func load(env map[string]string) (engine.Config, error) {
	var environ []string
	for k, v := range env {
		environ = append(environ, k+"="+v)
	}
	return Load(frontend.Env{Environ: environ, Getenv: func(k string) string { return env[k] }, Dir: "/"})
}

func TestInputVar(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]string{
		"cache-on":             "INPUT_CACHE-ON",
		"skip-pull-from-cache": "INPUT_SKIP-PULL-FROM-CACHE",
		"with space":           "INPUT_WITH_SPACE",
	} {
		if got := InputVar(name); got != want {
			t.Errorf("InputVar(%q) = %q, want %q", name, got, want)
		}
	}
	// GetInput reads the variable the runner sets, hyphens kept, for every option.
	for _, name := range engine.OptionNames() {
		a := githubactions.New(githubactions.WithGetenv(func(k string) string {
			if k == InputVar(name) {
				return " value "
			}
			return ""
		}))
		if got := a.GetInput(name); got != "value" {
			t.Errorf("GetInput(%q) = %q, want the value of %s", name, got, InputVar(name))
		}
	}
}

func TestLoadDefaults(t *testing.T) {
	t.Parallel()
	env := runnerEnv(t, nil)
	c, err := load(env)
	if err != nil {
		t.Fatal(err)
	}
	want := engine.NewConfig()
	want.WorkDir = env["GITHUB_WORKSPACE"]
	want.DefaultName = "build-cache/my-org/my.repo"
	want.RegistryProvider, want.Registry = engine.ProviderGHCR, "ghcr.io/my-org/my.repo/build-cache"
	c.Getenv, want.Getenv = nil, nil
	if !reflect.DeepEqual(c, want) {
		t.Errorf("empty inputs:\n got %+v\nwant %+v", c, want)
	}
}

func TestLoadInputs(t *testing.T) {
	t.Parallel()
	env := runnerEnv(t, map[string]string{
		"INPUT_DOCKERFILE":            "docker/build.Dockerfile",
		"INPUT_CACHE-ON":              "package.json\n  **/*.lock  \n\npackage-lock.json#.dependencies\n",
		"INPUT_BUILD-ARGS":            "NODE_VERSION=20\r\nTOKEN\n",
		"INPUT_SECRETS":               "NPM_TOKEN",
		"INPUT_SKIP-PULL-FROM-CACHE":  "TRUE",
		"INPUT_PUSH-LATEST":           "False",
		"INPUT_ALLOW-EMPTY-CACHE-ON":  "  true ",
		"INPUT_MAX-AGE-DAYS":          "7",
		"INPUT_ECR-TAGS":              "Team=infra\nCostCenter: 42",
		"INPUT_ECR-NAME":              "custom/name",
		"INPUT_REGISTRY-PROVIDER":     "registry",
		"INPUT_REGISTRY":              "ghcr.io/my-org/cache",
		"INPUT_EXPORT-ENV-VARIABLE":   "BUILD_IMAGE",
		"INPUT_ADDITIONAL-BUILD-ARGS": "--network host",
		"INPUT_ARGS":                  "github", // uses: docker://… passes args as an input
		"INPUT_ENTRYPOINT":            "",
		"NPM_TOKEN":                   "s3cret-token",
	})
	c, err := load(env)
	if err != nil {
		t.Fatal(err)
	}
	ws := env["GITHUB_WORKSPACE"]
	checks := []struct {
		name      string
		got, want any
	}{
		{"WorkDir", c.WorkDir, ws},
		{"DockerfilePath", c.DockerfilePath(), filepath.Join(ws, "docker/build.Dockerfile")},
		{"ContextDir", c.ContextDir(), filepath.Join(ws, "docker")},
		{"CacheOn", c.CacheOn, []string{"package.json", "**/*.lock", "package-lock.json#.dependencies"}},
		{"BuildArgs", c.BuildArgs, []string{"NODE_VERSION=20", "TOKEN"}},
		{"Secrets", c.Secrets, []string{"NPM_TOKEN"}},
		{"SkipPullFromCache", c.SkipPullFromCache, true},
		{"PushLatest", c.PushLatest, false},
		{"AllowEmptyCacheOn", c.AllowEmptyCacheOn, true},
		{"MaxAgeDays", c.MaxAgeDays, 7},
		{"ECRTags", c.ECRTags, map[string]string{"Team": "infra", "CostCenter": "42"}},
		{"RepositoryName", c.RepositoryName(), "custom/name"},
		{"RegistryProvider", c.RegistryProvider, "registry"},
		{"Registry", c.Registry, "ghcr.io/my-org/cache"},
		{"ExportEnvVariable", c.ExportEnvVariable, "BUILD_IMAGE"},
		{"AdditionalBuildArgs", c.AdditionalBuildArgs, "--network host"},
		{"Getenv", c.Getenv("NPM_TOKEN"), "s3cret-token"},
		{"BuildSecrets", BuildSecrets(c), []string{"s3cret-token"}},
	}
	for _, ch := range checks {
		if !reflect.DeepEqual(ch.got, ch.want) {
			t.Errorf("%s = %#v, want %#v", ch.name, ch.got, ch.want)
		}
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

// Used as `uses: docker://…`, only the inputs the workflow gives are set.
func TestLoadWithoutDeclaredInputs(t *testing.T) {
	t.Parallel()
	env := runnerEnv(t, nil)
	for k := range env {
		if strings.HasPrefix(k, "INPUT_") {
			delete(env, k)
		}
	}
	env["INPUT_ARGS"] = "github"
	env["INPUT_CACHE-ON"] = "go.sum"
	c, err := load(env)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c.CacheOn, []string{"go.sum"}) || c.MaxAgeDays != 30 || !c.PushLatest {
		t.Errorf("got %+v", c)
	}
}

func TestLoadDefaultName(t *testing.T) {
	t.Parallel()
	env := runnerEnv(t, nil)
	delete(env, "GITHUB_REPOSITORY")
	c, err := load(env)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.RepositoryName(), engine.NewConfig().DefaultName; got != want {
		t.Errorf("without GITHUB_REPOSITORY: %q, want %q", got, want)
	}
}

func TestLoadErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		edit func(env map[string]string)
		want []string // substrings of the error
	}{
		{"underscore for hyphen", func(env map[string]string) { env["INPUT_CACHE_ON"] = "x" },
			[]string{"INPUT_CACHE_ON", `unknown input "cache_on"`, `did you mean "cache-on"`, "INPUT_CACHE-ON"}},
		{"typo", func(env map[string]string) { env["INPUT_CACHE-ONN"] = "" },
			[]string{"INPUT_CACHE-ONN", `did you mean "cache-on"`}},
		{"unknown", func(env map[string]string) { env["INPUT_FOO"] = "bar" },
			[]string{"INPUT_FOO", `unknown option "foo"`, "valid options are"}},
		{"not a boolean", func(env map[string]string) { env["INPUT_SKIP-PULL-FROM-CACHE"] = "yes" },
			[]string{`input skip-pull-from-cache is "yes": write true or false`}},
		{"not a number", func(env map[string]string) { env["INPUT_MAX-AGE-DAYS"] = "a week" },
			[]string{"input max-age-days", "whole number"}},
		{"no workspace", func(env map[string]string) { delete(env, "GITHUB_WORKSPACE") },
			[]string{"GITHUB_WORKSPACE is not set"}},
		{"missing workspace", func(env map[string]string) { env["GITHUB_WORKSPACE"] = "/nonexistent/workspace" },
			[]string{"GITHUB_WORKSPACE /nonexistent/workspace", "no such file or directory", "actions/checkout"}},
		{"workspace is a file", func(env map[string]string) { env["GITHUB_WORKSPACE"] = "/dev/null" },
			[]string{"is not a directory"}},
		{"no GITHUB_OUTPUT", func(env map[string]string) { delete(env, "GITHUB_OUTPUT") },
			[]string{"GITHUB_OUTPUT is not set"}},
		{"no GITHUB_ENV", func(env map[string]string) { env["GITHUB_ENV"] = "" },
			[]string{"GITHUB_ENV is not set"}},
		{"every problem at once", func(env map[string]string) {
			env["INPUT_CACHE_ON"] = "x"
			env["INPUT_PUSH-LATEST"] = "maybe"
			delete(env, "GITHUB_WORKSPACE")
		}, []string{"INPUT_CACHE_ON", "push-latest", "GITHUB_WORKSPACE"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := runnerEnv(t, nil)
			tt.edit(env)
			_, err := load(env)
			if err == nil {
				t.Fatal("no error")
			}
			if !engine.IsConfigError(err) {
				t.Errorf("not a configuration error: %v", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// Inputs are read as GetInput reads them, trimmed, but for the inline
// Dockerfile, whose bytes are part of the key.
func TestLoadTrimsInputsButTheInlineDockerfile(t *testing.T) {
	t.Parallel()
	env := runnerEnv(t, map[string]string{
		"INPUT_DOCKERFILE-INLINE": "FROM scratch\nCOPY x /x\n",
		"INPUT_ECR-NAME":          "  team/cache \n",
	})
	c, err := load(env)
	if err != nil {
		t.Fatal(err)
	}
	if c.DockerfileInline != "FROM scratch\nCOPY x /x\n" || c.ECRName != "team/cache" {
		t.Errorf("dockerfile-inline %q, ecr-name %q", c.DockerfileInline, c.ECRName)
	}
}

// Without GITHUB_REPOSITORY, the repository comes from the event payload,
// as githubactions.Context reads it.
func TestLoadDefaultNameFromEvent(t *testing.T) {
	t.Parallel()
	env := runnerEnv(t, nil)
	delete(env, "GITHUB_REPOSITORY")
	event := filepath.Join(t.TempDir(), "event.json")
	if err := os.WriteFile(event, []byte(`{"repository": {"name": "Repo", "owner": {"name": "Owner"}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	env["GITHUB_EVENT_PATH"] = event
	c, err := load(env)
	if err != nil {
		t.Fatal(err)
	}
	if c.DefaultName != "build-cache/owner/repo" {
		t.Errorf("DefaultName = %q, want build-cache/owner/repo", c.DefaultName)
	}

	if err := os.WriteFile(event, []byte(`not json`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := load(env); !engine.IsConfigError(err) || !strings.Contains(err.Error(), "reading the workflow's context") {
		t.Errorf("an unreadable event payload: %v", err)
	}
}
