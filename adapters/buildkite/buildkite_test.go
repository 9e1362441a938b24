package buildkite

import (
	"reflect"
	"strings"
	"testing"

	"github.com/docker-ecr-cache/docker-ecr-cache/adapters/frontend"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
)

// job is the environment of a Buildkite job running this plugin.
type job map[string]string

func (j job) getenv(name string) string { return j[name] }

func (j job) environ() []string {
	var out []string
	for k, v := range j {
		out = append(out, k+"="+v)
	}
	return out
}

// newJob is a job whose plugin instance has config, set as the agent sets
// it (oldAgent: the flattened variables only).
func newJob(t *testing.T, config map[string]any, oldAgent bool) job {
	t.Helper()
	vars, err := AgentEnv(config, oldAgent)
	if err != nil {
		t.Fatal(err)
	}
	j := job{
		"BUILDKITE":                   "true",
		"BUILDKITE_ORGANIZATION_SLUG": "acme",
		"BUILDKITE_PIPELINE_SLUG":     "web-app",
		"SECRET":                      "wow",
	}
	for _, kv := range vars {
		k, v, _ := strings.Cut(kv, "=")
		j[k] = v
	}
	return j
}

// checkoutDir is the job's working directory in these tests.
const checkoutDir = "/buildkite/builds/agent/acme/web-app"

func (j job) env() frontend.Env {
	return frontend.Env{Environ: j.environ(), Getenv: j.getenv, Dir: checkoutDir}
}

func load(t *testing.T, j job) (engine.Config, error) {
	t.Helper()
	return Load(j.env())
}

// every option the original plugin had, written as its README writes them.
var full = map[string]any{
	"dockerfile":            "dockerfiles/test/Dockerfile",
	"context":               ".",
	"target":                "build-deps",
	"build-args":            []any{"ARG_1", "ARG_2=such"},
	"additional-build-args": `--ssh= default=\$SSH_AUTH_SOCK`,
	"cache-on":              []any{"**/package.json", "yarn.lock"},
	"secrets":               []any{"SECRET", "id=npmrc,src=.npmrc"},
	"ecr-name":              "my-unique-repository-name",
	"ecr-tags":              map[string]any{"Key": "Value", "Key2": "Value2"},
	"region":                "ap-southeast-2",
	"max-age-days":          7,
	"export-env-variable":   "BUILDKITE_PLUGIN_MY_CUSTOM_PLUGIN_CACHE_IMAGE",
	"registry-provider":     "gcr",
	"gcp-project":           "foo-bar-123456",
	"registry-hostname":     "asia.gcr.io",
	"skip-pull-from-cache":  true,
	"push-latest":           false,
	"allow-empty-cache-on":  true,
	"ecr-account-id":        "123456789012",
	"platform":              "linux/arm64",
}

func wantFull(tags map[string]string) engine.Config {
	c := engine.NewConfig()
	c.Dockerfile = "dockerfiles/test/Dockerfile"
	c.Context = "."
	c.Target = "build-deps"
	c.BuildArgs = []string{"ARG_1", "ARG_2=such"}
	c.AdditionalBuildArgs = `--ssh= default=\$SSH_AUTH_SOCK`
	c.CacheOn = []string{"**/package.json", "yarn.lock"}
	c.Secrets = []string{"SECRET", "id=npmrc,src=.npmrc"}
	c.ECRName = "my-unique-repository-name"
	c.ECRTags = tags
	c.Region = "ap-southeast-2"
	c.MaxAgeDays = 7
	c.ExportEnvVariable = "BUILDKITE_PLUGIN_MY_CUSTOM_PLUGIN_CACHE_IMAGE"
	c.RegistryProvider = "gcr"
	c.GCPProject = "foo-bar-123456"
	c.RegistryHostname = "asia.gcr.io"
	c.SkipPullFromCache = true
	c.PushLatest = false
	c.AllowEmptyCacheOn = true
	c.ECRAccountID = "123456789012"
	c.Platform = "linux/arm64"
	c.DefaultName = "build-cache/acme/web-app"
	return c
}

// comparable drops the fields that cannot be compared.
func comparable(t *testing.T, c engine.Config) engine.Config {
	t.Helper()
	if c.WorkDir != checkoutDir {
		t.Errorf("WorkDir = %q, want the working directory %q", c.WorkDir, checkoutDir)
	}
	if c.Getenv == nil {
		t.Error("Getenv is not set")
	} else if got := c.Getenv("SECRET"); got != "wow" {
		t.Errorf("Getenv(SECRET) = %q, want the job's value", got)
	}
	c.WorkDir, c.Getenv = "", nil
	return c
}

func TestLoadJSON(t *testing.T) {
	t.Parallel()
	j := newJob(t, full, false)
	got, err := load(t, j)
	if err != nil {
		t.Fatal(err)
	}
	want := wantFull(map[string]string{"Key": "Value", "Key2": "Value2"})
	if got := comparable(t, got); !reflect.DeepEqual(got, want) {
		t.Errorf("Load =\n%+v\nwant\n%+v", got, want)
	}
	if w := Warnings(j.getenv, j.environ()); len(w) != 0 {
		t.Errorf("Warnings = %q, want none with %s", w, ConfigurationVar)
	}
}

func TestLoadFlattened(t *testing.T) {
	t.Parallel()
	j := newJob(t, full, true)
	if _, ok := j[ConfigurationVar]; ok {
		t.Fatalf("an old agent's job has no %s", ConfigurationVar)
	}
	got, err := load(t, j)
	if err != nil {
		t.Fatal(err)
	}
	// The flattened names lose the keys' case, as with the original plugin.
	want := wantFull(map[string]string{"KEY": "Value", "KEY2": "Value2"})
	if got := comparable(t, got); !reflect.DeepEqual(got, want) {
		t.Errorf("Load =\n%+v\nwant\n%+v", got, want)
	}
	w := Warnings(j.getenv, j.environ())
	if len(w) != 1 || !strings.Contains(w[0], "ecr-tags") || !strings.Contains(w[0], "upper-cased") {
		t.Errorf("Warnings = %q, want one about the case of ecr-tags keys", w)
	}
}

func TestLoadFlattenedListAsString(t *testing.T) {
	t.Parallel()
	j := newJob(t, map[string]any{"cache-on": "package.json", "build-args": "A=1"}, true)
	got, err := load(t, j)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.CacheOn, []string{"package.json"}) || !reflect.DeepEqual(got.BuildArgs, []string{"A=1"}) {
		t.Errorf("CacheOn = %q, BuildArgs = %q: a string is a list of one", got.CacheOn, got.BuildArgs)
	}
}

func TestLoadFlattenedListOrder(t *testing.T) {
	t.Parallel()
	items := make([]any, 12)
	for i := range items {
		items[i] = string(rune('a'+i)) + ".txt"
	}
	got, err := load(t, newJob(t, map[string]any{"cache-on": items}, true))
	if err != nil {
		t.Fatal(err)
	}
	if len(got.CacheOn) != 12 || got.CacheOn[2] != "c.txt" || got.CacheOn[10] != "k.txt" {
		t.Errorf("CacheOn = %q, want the items in index order (10 after 9)", got.CacheOn)
	}
}

func TestLoadNoConfiguration(t *testing.T) {
	t.Parallel()
	for _, raw := range []string{"{}", "null"} {
		j := job{ConfigurationVar: raw, "BUILDKITE_ORGANIZATION_SLUG": "acme", "BUILDKITE_PIPELINE_SLUG": "web-app"}
		got, err := load(t, j)
		if err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		got.WorkDir, got.Getenv = "", nil
		want := engine.NewConfig()
		want.DefaultName = "build-cache/acme/web-app"
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: Load = %+v, want the defaults", raw, got)
		}
	}
}

func TestDefaultRepositoryName(t *testing.T) {
	t.Parallel()
	j := job{ConfigurationVar: "{}", "BUILDKITE_ORGANIZATION_SLUG": "ACME", "BUILDKITE_PIPELINE_SLUG": "Web-App"}
	c, err := load(t, j)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.RepositoryName(); got != "build-cache/acme/web-app" {
		t.Errorf("RepositoryName() = %q, want build-cache/acme/web-app", got)
	}
	j[ConfigurationVar] = `{"ecr-name": "my-unique-repository-name"}`
	if c, _ = load(t, j); c.RepositoryName() != "my-unique-repository-name" {
		t.Errorf("RepositoryName() = %q, want ecr-name", c.RepositoryName())
	}
	if DefaultName(job{}.getenv) != "" {
		t.Error("DefaultName outside a Buildkite job should be empty")
	}
}

// Two instances of the plugin on one step: the second sees what the first
// exported, and its own configuration only.
func TestLoadSecondInstance(t *testing.T) {
	t.Parallel()
	first := map[string]any{"dockerfile": "a.Dockerfile", "cache-on": []any{"a.lock"}}
	second := map[string]any{"dockerfile": "b.Dockerfile", "export-env-variable": "SECOND_IMAGE"}
	for _, old := range []bool{false, true} {
		c, err := load(t, newJob(t, first, old))
		if err != nil || c.Dockerfile != "a.Dockerfile" || !reflect.DeepEqual(c.CacheOn, []string{"a.lock"}) {
			t.Fatalf("oldAgent=%v: first instance: %+v, %v", old, c, err)
		}
		j := newJob(t, second, old)
		// The first instance's exports are in the job's environment now.
		j[engine.DefaultImageVar] = "build-cache/acme/web-app:abc"
		j[engine.ExportImage] = "build-cache/acme/web-app"
		j[engine.ExportTag] = "abc"
		j[engine.ExportCacheHit] = "true"
		j[engine.ExportDigest] = "sha256:0123"
		j[Prefix+"EXPORT_SOMETHING_NEWER"] = "x"
		c, err = load(t, j)
		if err != nil {
			t.Fatalf("oldAgent=%v: %v", old, err)
		}
		if c.Dockerfile != "b.Dockerfile" || c.CacheOn != nil || c.ExportEnvVariable != "SECOND_IMAGE" {
			t.Errorf("oldAgent=%v: got dockerfile %q, cache-on %q, export-env-variable %q: want the second instance's",
				old, c.Dockerfile, c.CacheOn, c.ExportEnvVariable)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		config map[string]any
		old    bool
		want   []string // substrings of the error
	}{
		{"cache-on as an object", map[string]any{"cache-on": map[string]any{"file": "package.json"}}, false,
			[]string{"cache-on must be a list of strings, not an object"}},
		{"cache-on as an object, old agent", map[string]any{"cache-on": map[string]any{"file": "package.json"}}, true,
			[]string{"BUILDKITE_PLUGIN_DOCKER_ECR_CACHE_CACHE_ON_FILE: cache-on must be a list of strings, not an object"}},
		{"max-age-days not a number", map[string]any{"max-age-days": "abc"}, false,
			[]string{`max-age-days is "abc": write a whole number`}},
		{"max-age-days not a number, old agent", map[string]any{"max-age-days": "abc"}, true,
			[]string{`max-age-days is "abc": write a whole number`}},
		{"max-age-days a fraction", map[string]any{"max-age-days": 1.5}, false,
			[]string{"max-age-days is 1.5: write a whole number"}},
		{"skip-pull-from-cache not a boolean", map[string]any{"skip-pull-from-cache": "yes"}, false,
			[]string{`skip-pull-from-cache is "yes": write true or false`}},
		{"dockerfile as a list", map[string]any{"dockerfile": []any{"a", "b"}}, false,
			[]string{"dockerfile must be a string, not a list"}},
		{"dockerfile as a list, old agent", map[string]any{"dockerfile": []any{"a", "b"}}, true,
			[]string{"BUILDKITE_PLUGIN_DOCKER_ECR_CACHE_DOCKERFILE_0", "dockerfile must be a string, not a list"}},
		{"ecr-tags as a list", map[string]any{"ecr-tags": []any{"a"}}, false,
			[]string{"ecr-tags must be a map of strings, not a list"}},
		{"an item not a string", map[string]any{"build-args": []any{"A=1", map[string]any{"B": "2"}}}, false,
			[]string{"build-args[1] must be a string, not an object"}},
		{"unknown key", map[string]any{"cache_on": []any{"package.json"}}, false,
			[]string{`unknown option "cache_on" (did you mean "cache-on"?)`}},
		{"unknown key, old agent", map[string]any{"cache-onn": []any{"package.json"}}, true,
			[]string{`BUILDKITE_PLUGIN_DOCKER_ECR_CACHE_CACHE_ONN_0: unknown option "cache-onn" (did you mean "cache-on"?)`}},
		{"two problems", map[string]any{"dockerfil": "x", "target": false}, false,
			[]string{`unknown option "dockerfil" (did you mean "dockerfile"?)`, "target must be a string, not a boolean"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := load(t, newJob(t, tt.config, tt.old))
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			if !engine.IsConfigError(err) {
				t.Errorf("error %v is not a configuration error", err)
			}
			for _, s := range tt.want {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
		})
	}
}

func TestLoadNotAnObject(t *testing.T) {
	t.Parallel()
	_, err := load(t, job{ConfigurationVar: `["cache-on"]`})
	if err == nil || !strings.Contains(err.Error(), ConfigurationVar+" is not a JSON object") {
		t.Errorf("Load = %v, want an error naming %s", err, ConfigurationVar)
	}
}

// Problems that only Validate sees: Load reads them, Validate names them.
func TestValidateErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		config map[string]any
		want   string
	}{
		{"max-age-days -1", map[string]any{"max-age-days": -1}, "max-age-days is -1: give a whole number of days, 1 or more"},
		{"dockerfile and dockerfile-inline", map[string]any{"dockerfile": "my-dockerfile", "dockerfile-inline": "FROM scratch\n"},
			"dockerfile and dockerfile-inline are both set"},
		{"registry-provider unknown", map[string]any{"registry-provider": "ecs"}, `registry-provider "ecs" is not known`},
		{"gcr without gcp-project", map[string]any{"registry-provider": "gcr"}, "gcp-project is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for _, old := range []bool{false, true} {
				c, err := load(t, newJob(t, tt.config, old))
				if err != nil {
					t.Fatalf("oldAgent=%v: Load: %v", old, err)
				}
				err = c.Validate()
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("oldAgent=%v: Validate = %v, want %q", old, err, tt.want)
				}
			}
		})
	}
}

func TestAgentEnv(t *testing.T) {
	t.Parallel()
	got, err := AgentEnv(map[string]any{
		"cache-on": []any{"a", "b"}, "ecr-tags": map[string]any{"Team Name": "x"}, "max-age-days": 7, "skip-pull-from-cache": true,
	}, false)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"BUILDKITE_PLUGIN_NAME=DOCKER_ECR_CACHE",
		"BUILDKITE_PLUGIN_DOCKER_ECR_CACHE_CACHE_ON_0=a",
		"BUILDKITE_PLUGIN_DOCKER_ECR_CACHE_CACHE_ON_1=b",
		"BUILDKITE_PLUGIN_DOCKER_ECR_CACHE_ECR_TAGS_TEAM_NAME=x",
		"BUILDKITE_PLUGIN_DOCKER_ECR_CACHE_MAX_AGE_DAYS=7",
		"BUILDKITE_PLUGIN_DOCKER_ECR_CACHE_SKIP_PULL_FROM_CACHE=true",
	}
	for _, w := range want {
		if !contains(got, w) {
			t.Errorf("AgentEnv has no %s: %q", w, got)
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
