package engine

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine/key"
	"github.com/docker-ecr-cache/docker-ecr-cache/internal/testenv"
)

func mapEnv(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func mustKey(t *testing.T, c *Config) key.Key {
	t.Helper()
	k, err := ComputeKey(t.Context(), c)
	if err != nil {
		t.Fatalf("ComputeKey: %v", err)
	}
	return k
}

// keyTree is the checkout the key tests start from (as engine/key's).
func keyTree() map[string]string {
	return map[string]string{
		"Dockerfile":                  "FROM node:22\nCOPY . .\n",
		"yarn.lock":                   "left-pad@^1.3.0:\n  version \"1.3.0\"\n",
		"package.json":                `{"name":"root","private":true,"workspaces":["packages/*"]}`,
		"packages/a/package.json":     `{"name":"a","version":"1.0.0"}`,
		"packages/b/package.json":     `{"name":"b","version":"2.0.0"}`,
		"packages/b/src/index.ts":     "export const b = 2;\n",
		"tools/deep/x/y/package.json": `{"name":"deep"}`,
		".git/package.json":           `{"not":"a package"}`,
		"config.json":                 `{"deps":{"x":"1.0","y":"2.0"},"version":"1.2.3","scripts":{"test":"jest"}}`,
	}
}

func keyConfig(dir string, env map[string]string) Config {
	c := NewConfig()
	c.WorkDir = dir
	c.Target = "build"
	c.Platform = "linux/amd64"
	c.BuildArgs = []string{"A=1", "BARE"}
	c.AdditionalBuildArgs = "--network host"
	c.CacheOn = []string{"yarn.lock", "**/package.json", "config.json#.deps"}
	c.Getenv = mapEnv(env)
	return c
}

func defaultEnv() map[string]string { return map[string]string{"BARE": "from-env"} }

// TestComputeKeyGolden: the config that engine/key's golden spec is the
// plan of gives the same pinned key.
func TestComputeKeyGolden(t *testing.T) {
	t.Parallel()
	c := keyConfig(testenv.Tree(t, keyTree()), defaultEnv())
	const want = "4ebbb6e5b095a81ffa5c14d58cc106162a194568"
	if k := mustKey(t, &c); k.Tag != want {
		t.Errorf("key = %s, want %s", k.Tag, want)
	}
}

// TestComputeKeyConfigChanges: what the plan resolves before the key (the
// environment, additional-build-args, secrets) changes the key or not.
func TestComputeKeyConfigChanges(t *testing.T) {
	t.Parallel()
	base := keyConfig(testenv.Tree(t, keyTree()), defaultEnv())
	baseKey := mustKey(t, &base)
	tests := []struct {
		name    string
		change  func(c *Config, env map[string]string)
		changes bool
	}{
		{"platform from additional-build-args", func(c *Config, env map[string]string) {
			c.Platform = ""
			c.AdditionalBuildArgs = "--network host --platform linux/arm64/v8"
		}, true},
		{"bare build-arg from Getenv", func(c *Config, env map[string]string) { env["BARE"] = "other" }, true},
		{"bare build-arg unset", func(c *Config, env map[string]string) { delete(env, "BARE") }, true},
		{"unrelated environment variable", func(c *Config, env map[string]string) { env["UNRELATED"] = "x" }, false},
		{"additional-build-args network", func(c *Config, env map[string]string) { c.AdditionalBuildArgs = "--network none" }, true},
		{"additional-build-args label", func(c *Config, env map[string]string) {
			c.AdditionalBuildArgs = "--network host --label team=web"
		}, true},
		{"additional-build-args build-arg", func(c *Config, env map[string]string) {
			c.AdditionalBuildArgs = "--network host --build-arg EXTRA=1"
		}, true},
		{"additional-build-args respelled", func(c *Config, env map[string]string) { c.AdditionalBuildArgs = "  --network=host " }, false},
		{"secrets", func(c *Config, env map[string]string) {
			c.Secrets = []string{"NPM_TOKEN"}
			env["NPM_TOKEN"] = "s3cret"
		}, false},
		{"unhashed-build-args", func(c *Config, env map[string]string) { c.UnhashedBuildArgs = []string{"BUILD_NUMBER=7"} }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := defaultEnv()
			c := keyConfig(testenv.Tree(t, keyTree()), env)
			tt.change(&c, env)
			if changed := mustKey(t, &c).Tag != baseKey.Tag; changed != tt.changes {
				t.Errorf("key changed = %v, want %v", changed, tt.changes)
			}
		})
	}
}

// TestComputeKeyConfigError: the key's configuration problems are
// ConfigErrors (exit 2); its other errors are not.
func TestComputeKeyConfigError(t *testing.T) {
	t.Parallel()
	c := keyConfig(testenv.Tree(t, keyTree()), defaultEnv())
	c.CacheOn = append(c.CacheOn, "missing.json#.deps")
	_, err := ComputeKey(t.Context(), &c)
	if !IsConfigError(err) || !strings.Contains(err.Error(), "missing.json") {
		t.Errorf("cache-on matching nothing: %v, want a ConfigError naming it", err)
	}

	c = keyConfig(testenv.Tree(t, keyTree()), defaultEnv())
	c.Platform = ""
	p, err := c.Plan()
	if err != nil {
		t.Fatal(err)
	}
	daemon := errors.New("daemon unreachable")
	if _, err := computeKey(t.Context(), p, func() (string, error) { return "", daemon }); !errors.Is(err, daemon) || IsConfigError(err) {
		t.Errorf("platform failing: %v, want the daemon's error, no ConfigError", err)
	}
	if _, err := computeKey(t.Context(), p, func() (string, error) { return "linux/s390x", nil }); err != nil || p.Platform != "linux/s390x" {
		t.Errorf("computeKey recorded platform %q, %v; want linux/s390x", p.Platform, err)
	}
}

// TestCheckoutProblems: Validate names the dockerfile, context and cache-on
// entries that lead out of the checkout.
func TestCheckoutProblems(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	checkout, outside := filepath.Join(base, "checkout"), filepath.Join(base, "outside")
	for name, content := range keyTree() {
		testenv.WriteFile(t, checkout, name, content)
	}
	testenv.WriteFile(t, outside, "secret.txt", "outside the checkout")
	if err := os.Symlink(outside, filepath.Join(checkout, "root")); err != nil {
		t.Skipf("symlinks: %v", err)
	}
	c := keyConfig(checkout, defaultEnv())
	if errs := c.CheckoutProblems(); len(errs) != 0 {
		t.Errorf("CheckoutProblems of the default paths = %v", errs)
	}
	c.Dockerfile = "../../../../etc/passwd"
	c.Context = "root"
	c.CacheOn = []string{"root/*.txt"}
	errs := errors.Join(c.CheckoutProblems()...)
	for _, want := range []string{`dockerfile "../../../../etc/passwd"`, `context "root"`, `cache-on "root/*.txt"`, "outside the checkout", "inside " + checkout} {
		if errs == nil || !strings.Contains(errs.Error(), want) {
			t.Errorf("CheckoutProblems = %v, want %q", errs, want)
		}
	}
	// A Dockerfile outside gives an outside context too: one problem.
	c.Context, c.CacheOn = "", nil
	if errs := c.CheckoutProblems(); len(errs) != 1 {
		t.Errorf("CheckoutProblems with only the dockerfile outside = %v, want one problem", errs)
	}
}

// TestPlanRefusesImpureSelectors: a selector that reads the clock, the
// time zone or the environment is refused when the plan is made, before
// any file is read, with the list of refused builtins.
func TestPlanRefusesImpureSelectors(t *testing.T) {
	t.Parallel()
	for sel, want := range map[string]string{
		"now":                      "now (reads the clock)",
		".t | localtime":           "localtime (reads the time zone)",
		`.t | strflocaltime("%H")`: "strflocaltime (reads the time zone)",
		"$ENV.HOME":                "$ENV (reads the environment)",
	} {
		c := NewConfig()
		c.WorkDir = t.TempDir() // no file: the plan refuses first
		c.CacheOn = []string{"package.json#" + sel}
		_, err := c.Plan()
		if !IsConfigError(err) || !strings.Contains(err.Error(), `cache-on "package.json": selector`) ||
			!strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "may not use $ENV, debug, env, input") {
			t.Errorf("cache-on package.json#%s: %v, want a ConfigError naming %q and the list", sel, err, want)
		}
	}
	c := NewConfig()
	c.CacheOn = []string{"package.json#.t | gmtime | mktime"}
	if _, err := c.Plan(); err != nil {
		t.Errorf("gmtime and mktime are pure: %v", err)
	}
}
