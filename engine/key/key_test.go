package key

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/bmatcuk/doublestar/v4"
	"github.com/docker-ecr-cache/docker-ecr-cache/internal/testenv"
	"github.com/itchyny/gojq"
)

func mustKey(t *testing.T, s Spec) Key {
	t.Helper()
	k, err := Compute(t.Context(), s, nil)
	if err != nil {
		t.Fatalf("Compute: %v", err)
	}
	if len(k.Tag) != Length {
		t.Fatalf("key %q has %d characters, want %d", k.Tag, len(k.Tag), Length)
	}
	return k
}

// keyTree is the checkout most key tests start from.
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

// keySpec is the spec most key tests start from: the plan of a config
// with build-args A=1 and BARE (from the environment), and
// additional-build-args --network host.
func keySpec(dir string) Spec {
	return Spec{
		Dir:       dir,
		Target:    "build",
		Platform:  "linux/amd64",
		BuildArgs: []string{"A=1", "BARE=from-env"},
		Flags:     "--network=host",
		CacheOn:   []string{"yarn.lock", "**/package.json", "config.json#.deps"},
	}
}

func isConfigError(err error) bool {
	var ce *ConfigError
	return errors.As(err, &ce)
}

// TestComputeKeyGolden pins the key of a fixed checkout. Any change to the
// key's inputs, digests, order or framing changes every cached tag: bump
// Scheme if that is wanted, and update this value.
func TestComputeKeyGolden(t *testing.T) {
	t.Parallel()
	c := keySpec(testenv.Tree(t, keyTree()))
	k := mustKey(t, c)
	const want = "4ebbb6e5b095a81ffa5c14d58cc106162a194568"
	if k.Tag != want {
		t.Errorf("key = %s, want %s", k.Tag, want)
	}
	var names []string
	for _, in := range k.Inputs {
		names = append(names, in.Name)
		if !strings.HasPrefix(in.Digest, "sha256:") || len(in.Digest) != len("sha256:")+64 {
			t.Errorf("input %s has digest %q", in.Name, in.Digest)
		}
	}
	wantNames := []string{
		"dockerfile", "target", "platform", "build-arg A", "build-arg BARE", "additional-build-args",
		"json config.json#.deps",
		"file package.json",
		"file packages/a/package.json",
		"file packages/b/package.json",
		"file tools/deep/x/y/package.json",
		"file yarn.lock",
	}
	if !slices.Equal(names, wantNames) {
		t.Errorf("inputs:\n got %q\nwant %q", names, wantNames)
	}
	if got, want := k.Inputs[0].Digest, digest([]byte(keyTree()["Dockerfile"])); got != want {
		t.Errorf("dockerfile digest = %s, want %s", got, want)
	}
	if got, want := k.Inputs[4].Digest, digest([]byte("BARE=from-env")); got != want {
		t.Errorf("bare build-arg digest = %s, want %s (of BARE=from-env)", got, want)
	}
}

func TestComputeKeySameInputsSameKey(t *testing.T) {
	t.Parallel()
	base := keySpec(testenv.Tree(t, keyTree()))
	want := mustKey(t, base)

	tests := []struct {
		name    string
		cacheOn []string
	}{
		{"same order", []string{"yarn.lock", "**/package.json", "config.json#.deps"}},
		{"reversed", []string{"config.json#.deps", "**/package.json", "yarn.lock"}},
		{"duplicates", []string{"**/package.json", "yarn.lock", "**/package.json", "config.json#.deps", "yarn.lock", "config.json#.deps"}},
		{"overlapping globs", []string{"packages/*/package.json", "yarn.lock", "**/package.json", "package.json", "config.json#.deps"}},
		{"spaces and ./", []string{" ./yarn.lock ", "**/package.json", "./config.json#.deps"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// A fresh checkout elsewhere: the key must not depend on where it is.
			c := keySpec(testenv.Tree(t, keyTree()))
			c.CacheOn = tt.cacheOn
			got := mustKey(t, c)
			if got.Tag != want.Tag {
				t.Errorf("key = %s, want %s", got.Tag, want.Tag)
			}
			if !reflect.DeepEqual(got.Inputs, want.Inputs) {
				t.Errorf("inputs:\n got %v\nwant %v", got.Inputs, want.Inputs)
			}
		})
	}
}

func TestComputeKeyInputChanges(t *testing.T) {
	t.Parallel()
	baseKey := mustKey(t, keySpec(testenv.Tree(t, keyTree())))

	tests := []struct {
		name    string
		change  func(t *testing.T, s *Spec, dir string)
		changes bool
	}{
		{"dockerfile content", func(t *testing.T, s *Spec, dir string) {
			testenv.WriteFile(t, dir, "Dockerfile", "FROM node:24\nCOPY . .\n")
		}, true},
		{"dockerfile-inline instead of the same-named file", func(t *testing.T, s *Spec, dir string) {
			s.DockerfileInline = "FROM node:24\n"
		}, true},
		{"target", func(t *testing.T, s *Spec, dir string) { s.Target = "test" }, true},
		{"no target", func(t *testing.T, s *Spec, dir string) { s.Target = "" }, true},
		{"platform", func(t *testing.T, s *Spec, dir string) { s.Platform = "linux/arm64" }, true},
		{"build-arg value", func(t *testing.T, s *Spec, dir string) {
			s.BuildArgs = []string{"A=2", "BARE=from-env"}
		}, true},
		{"build-arg added", func(t *testing.T, s *Spec, dir string) {
			s.BuildArgs = []string{"A=1", "BARE=from-env", "C=3"}
		}, true},
		{"flags", func(t *testing.T, s *Spec, dir string) { s.Flags = "--network=none" }, true},
		{"cache-on file content", func(t *testing.T, s *Spec, dir string) {
			testenv.WriteFile(t, dir, "yarn.lock", "left-pad@^1.3.0:\n  version \"1.3.1\"\n")
		}, true},
		{"nested file matched by **", func(t *testing.T, s *Spec, dir string) {
			testenv.WriteFile(t, dir, "tools/deep/x/y/package.json", `{"name":"deeper"}`)
		}, true},
		{"new file matching a glob", func(t *testing.T, s *Spec, dir string) {
			testenv.WriteFile(t, dir, "packages/c/package.json", `{"name":"c"}`)
		}, true},
		{"file moved", func(t *testing.T, s *Spec, dir string) {
			if err := os.Rename(filepath.Join(dir, "packages", "a"), filepath.Join(dir, "packages", "a2")); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"selected JSON value", func(t *testing.T, s *Spec, dir string) {
			testenv.WriteFile(t, dir, "config.json", `{"deps":{"x":"1.1","y":"2.0"},"version":"1.2.3","scripts":{"test":"jest"}}`)
		}, true},
		{"JSON outside the selected path", func(t *testing.T, s *Spec, dir string) {
			testenv.WriteFile(t, dir, "config.json", `{"deps":{"x":"1.0","y":"2.0"},"version":"9.9.9","scripts":{"test":"vitest"},"new":1}`)
		}, false},
		{"JSON reformatted", func(t *testing.T, s *Spec, dir string) {
			testenv.WriteFile(t, dir, "config.json", "{\n  \"version\": \"1.2.3\",\n  \"deps\": {\"y\": \"2.0\", \"x\": \"1.0\"},\n  \"scripts\": {\"test\": \"jest\"}\n}\n")
		}, false},
		{"file in a dot-directory", func(t *testing.T, s *Spec, dir string) {
			testenv.WriteFile(t, dir, ".git/package.json", `{"changed":true}`)
			testenv.WriteFile(t, dir, "packages/a/.cache/package.json", `{"new":true}`)
		}, false},
		{"file matching no glob", func(t *testing.T, s *Spec, dir string) {
			testenv.WriteFile(t, dir, "packages/b/src/index.ts", "export const b = 3;\n")
			testenv.WriteFile(t, dir, "packages/b/package.json.bak", "{}")
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := testenv.Tree(t, keyTree())
			s := keySpec(dir)
			tt.change(t, &s, dir)
			got := mustKey(t, s)
			if changed := got.Tag != baseKey.Tag; changed != tt.changes {
				t.Errorf("key changed = %v, want %v (key %s)", changed, tt.changes, got.Tag)
			}
		})
	}
}

func TestComputeKeyFraming(t *testing.T) {
	t.Parallel()
	// Each pair's inputs concatenate to the same bytes.
	tests := []struct {
		name string
		a, b func(t *testing.T, c *Spec, dir string)
	}{
		{"dockerfile and target",
			func(t *testing.T, c *Spec, dir string) { c.DockerfileInline, c.Target = "FROM a\n", "x" },
			func(t *testing.T, c *Spec, dir string) { c.DockerfileInline, c.Target = "FROM a\nx", "" }},
		{"target and platform",
			func(t *testing.T, c *Spec, dir string) { c.Target, c.Platform = "ab", "c/d" },
			func(t *testing.T, c *Spec, dir string) { c.Target, c.Platform = "a", "bc/d" }},
		{"build-args",
			func(t *testing.T, c *Spec, dir string) { c.BuildArgs = []string{"A=1", "B=2"} },
			func(t *testing.T, c *Spec, dir string) { c.BuildArgs = []string{"A=1B=2"} }},
		{"file name and content",
			func(t *testing.T, c *Spec, dir string) {
				testenv.WriteFile(t, dir, "ab", "c")
				c.CacheOn = []string{"ab"}
			},
			func(t *testing.T, c *Spec, dir string) {
				testenv.WriteFile(t, dir, "a", "bc")
				c.CacheOn = []string{"a"}
			}},
		{"two files and one",
			func(t *testing.T, c *Spec, dir string) {
				testenv.WriteFile(t, dir, "f1", "x")
				testenv.WriteFile(t, dir, "f2", "y")
				c.CacheOn = []string{"f*"}
			},
			func(t *testing.T, c *Spec, dir string) {
				testenv.WriteFile(t, dir, "f1", "xy")
				c.CacheOn = []string{"f*"}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			key := func(set func(*testing.T, *Spec, string)) string {
				dir := t.TempDir()
				c := Spec{}
				c.Dir = dir
				c.DockerfileInline = "FROM scratch\n"
				c.Platform = "linux/amd64"
				set(t, &c, dir)
				return mustKey(t, c).Tag
			}
			if a, b := key(tt.a), key(tt.b); a == b {
				t.Errorf("both configs give key %s", a)
			}
		})
	}

	var x, y bytes.Buffer
	frame(&x, "ab")
	frame(&x, "c")
	frame(&y, "a")
	frame(&y, "bc")
	if x.String() == y.String() {
		t.Errorf("frame(ab)+frame(c) == frame(a)+frame(bc) == %q", x.String())
	}
}

func TestMatchFilesGlobstar(t *testing.T) {
	t.Parallel()
	dir := testenv.Tree(t, map[string]string{
		"package.json":                     "{}",
		"a/package.json":                   "{}",
		"a/b/c/package.json":               "{}",
		"a/package.json.bak":               "{}",
		"a/not-package.json":               "{}",
		".git/package.json":                "{}",
		".git/modules/x/package.json":      "{}",
		"a/.cache/package.json":            "{}",
		"a/.cache/deep/package.json":       "{}",
		".github/workflows/ci.yml":         "on: push",
		".github/workflows/.hidden/ci.yml": "on: push",
		"a/.env":                           "X=1",
		"a/b/package.json/inner.txt":       "a directory named package.json",
	})
	tests := []struct {
		glob string
		want []string
	}{
		{"**/package.json", []string{"a/b/c/package.json", "a/package.json", "package.json"}},
		{"a/**/package.json", []string{"a/b/c/package.json", "a/package.json"}},
		{"*/package.json", []string{"a/package.json"}},
		{"a/*", []string{"a/not-package.json", "a/package.json", "a/package.json.bak"}},
		{"package.json", []string{"package.json"}},
		{"./a/../package.json", []string{"package.json"}},
		// A pattern that names a dot-directory may look inside it.
		{".git/package.json", []string{".git/package.json"}},
		{".git/**/package.json", []string{".git/modules/x/package.json", ".git/package.json"}},
		{"a/.cache/*.json", []string{"a/.cache/package.json"}},
		{".github/**/*.yml", []string{".github/workflows/.hidden/ci.yml", ".github/workflows/ci.yml"}},
		{"a/.env", []string{"a/.env"}},
		{"**/*.yml", nil},
		{"**/nothing", nil},
	}
	for _, tt := range tests {
		t.Run(tt.glob, func(t *testing.T) {
			t.Parallel()
			got, err := matchFiles(dir, tt.glob)
			if err != nil {
				t.Fatal(err)
			}
			sort.Strings(got)
			if !slices.Equal(got, tt.want) {
				t.Errorf("matchFiles(%q) = %q, want %q", tt.glob, got, tt.want)
			}
		})
	}

	for _, glob := range []string{"../x/*.json", "a/../../x", "..", "/"} {
		if _, err := matchFiles(dir, glob); err == nil || !strings.Contains(err.Error(), "outside the checkout") {
			t.Errorf("matchFiles(%q) error = %v, want outside the checkout", glob, err)
		}
	}
	if _, err := matchFiles(dir, "a/[b"); err == nil || !strings.Contains(err.Error(), "not a valid glob") {
		t.Errorf("matchFiles(a/[b) error = %v, want not a valid glob", err)
	}
	if got, err := matchFiles(dir, filepath.Join(dir, "a", "*.json")); err != nil || len(got) != 2 {
		t.Errorf("absolute glob inside the checkout: %q, %v", got, err)
	}
}

// referenceMatchFiles is the straightforward matchFiles (the first
// version's): doublestar.GlobWalk on os.DirFS, then dropping what a wildcard
// matched in a dot-name. Any faster matchFiles must return the same set.
func referenceMatchFiles(root, glob string) ([]string, error) {
	var out []string
	err := doublestar.GlobWalk(os.DirFS(root), glob, func(p string, d os.DirEntry) error {
		if referenceHiddenByWildcard(glob, p) {
			return nil
		}
		out = append(out, p)
		return nil
	}, doublestar.WithFilesOnly(), doublestar.WithNoFollow())
	sort.Strings(out)
	return out, err
}

// referenceHiddenByWildcard reports whether a wildcard in glob matched a
// dot-name in p.
func referenceHiddenByWildcard(glob, p string) bool {
	if !strings.Contains(p, "/.") && !strings.HasPrefix(p, ".") {
		return false
	}
	for _, part := range strings.Split(glob, "/") {
		if strings.HasPrefix(part, ".") {
			return false
		}
	}
	return true
}

func TestMatchFilesSameAsGlobWalk(t *testing.T) {
	t.Parallel()
	dir := testenv.Tree(t, map[string]string{
		"package.json":                "{}",
		"yarn.lock":                   "",
		"a/package.json":              "{}",
		"a/b/package.json":            "{}",
		"a/b/c.json":                  "{}",
		"a/b/.c.json":                 "{}",
		"a/.d/package.json":           "{}",
		".a/package.json":             "{}",
		".a/x/y.json":                 "{}",
		"b/{x}/package.json":          "{}",
		"b/[y]/package.json":          "{}",
		"b/star*/z.txt":               "",
		"c/x.ts":                      "",
		"c/x.tsx":                     "",
		"c/deep/er/est/x.ts":          "",
		"pkgs/p1/src/index.ts":        "",
		"pkgs/p2/src/index.ts":        "",
		"pkgs/p2/src/.gen/index.ts":   "",
		"pkgs/p2/package.json":        "{}",
		"pkgs/.p3/src/index.ts":       "",
		"Package.JSON":                "{}",
		"dir.json/file":               "",
		"space dir/x y.json":          "{}",
		"node_modules/m/package.json": "{}",
	})
	link := func(target, name string) {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Skipf("symlinks: %v", err)
		}
	}
	link("a", "linkdir")
	link("a/package.json", "linkfile.json")
	link("missing", "dangling.json")
	link("../..", "a/b/loop")

	globs := []string{
		"**/package.json", "**/*.json", "**", "*", "**/*", "*.json", "a/**", "a/**/*.json",
		"a/*/package.json", "**/b/*.json", "{a,pkgs}/**/package.json", "{.a,a}/package.json",
		"**/{package,c}.json", "c/**/*.{ts,tsx}", "c/*.ts?", "pkgs/*/src/**/*.ts", "pkgs/**/src/*.ts",
		"b/\\{x\\}/package.json", "b/\\[y\\]/*", "b/star\\*/z.txt", "[ap]*/package.json",
		"[.]a/package.json", "?a/package.json", ".a/**", ".a/*/*.json", "a/.d/*", "a/b/.*",
		"linkdir/package.json", "linkdir/*.json", "linkdir/**", "linkfile.json", "link*",
		"dangling.json", "*.json", "a/b/loop/*.json", "a/b/loop", "dir.json", "dir.json/*",
		"space dir/*.json", "package.json", "nothing/**", "nothing.json", "**/nothing/*.json",
		"node_modules/**/package.json", "a/**/b/**/*.json", "**/**/package.json", "a/b/",
		// Alternatives naming symlinks, spanning parts, after a wildcard.
		"{linkdir,x}/package.json", "{a,linkdir}/**", "{linkdir/*,c/*}.json", "*/{b,x}/*.json",
		"{a/b,pkgs}/**/*.json", "pkgs/{p1,p2}/src/*.ts", "{a,a/b}/**/*.json", "{**/,}package.json",
		// The loop, more wildcards, names and dot-names.
		"a/b/loop/**/package.json", "a/b/loop/**", "a/b/loop/*/*.json", "**/.*", "**/.d/*", "**/.*/**",
		"[!.]*/package.json", "a**/package.json", "**/b", "**/b/**", "?/*", "*/*/*",
		"space dir/**", "b/*/*", "b/**", ".",
	}
	for _, glob := range globs {
		want, werr := referenceMatchFiles(dir, glob)
		got, gerr := matchFiles(dir, glob)
		sort.Strings(got)
		if (werr == nil) != (gerr == nil) || !slices.Equal(got, want) {
			t.Errorf("matchFiles(%q) = %q, %v\n          GlobWalk gives %q, %v", glob, got, gerr, want, werr)
		}
	}
}

// referenceCacheOnInputs is the first version of cacheOnInputs, on
// referenceMatchFiles, hashing one file after the other.
func referenceCacheOnInputs(c *Spec) ([]Input, error) {
	root := c.Dir
	type job struct{ path, selector string }
	seen := map[string]bool{}
	var jobs []job
	for _, pattern := range c.CacheOn {
		pattern = strings.TrimSpace(pattern)
		glob, selector, _ := strings.Cut(pattern, "#")
		glob = path.Clean(filepath.ToSlash(glob))
		matches, err := referenceMatchFiles(root, glob)
		if err != nil {
			return nil, err
		}
		if len(matches) == 0 && !c.AllowEmptyCacheOn {
			return nil, fmt.Errorf("cache-on %q matches no file", pattern)
		}
		for _, m := range matches {
			if id := m + "#" + selector; !seen[id] {
				seen[id] = true
				jobs = append(jobs, job{m, selector})
			}
		}
	}
	sort.Slice(jobs, func(i, j int) bool {
		if jobs[i].path != jobs[j].path {
			return jobs[i].path < jobs[j].path
		}
		return jobs[i].selector < jobs[j].selector
	})
	var inputs []Input
	for _, j := range jobs {
		p := filepath.Join(root, filepath.FromSlash(j.path))
		if j.selector != "" {
			d, err := referenceJSONDigest(p, j.selector)
			if err != nil {
				return nil, err
			}
			inputs = append(inputs, Input{"json " + j.path + "#" + j.selector, d})
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		inputs = append(inputs, Input{"file " + j.path, digest(b)})
	}
	return inputs, nil
}

// referenceJSONDigest is the first version of the JSON selection's digest:
// json.Marshal of each value gojq yields, length-prefixed.
func referenceJSONDigest(p, selector string) (string, error) {
	q, err := gojq.Parse(selector)
	if err != nil {
		return "", err
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return "", err
	}
	var doc any
	if err := json.Unmarshal(b, &doc); err != nil {
		return "", err
	}
	var canon []byte
	iter := q.Run(doc)
	for {
		v, ok := iter.Next()
		if !ok {
			break
		}
		if err, ok := v.(error); ok {
			return "", err
		}
		out, err := json.Marshal(v)
		if err != nil {
			return "", err
		}
		canon = strconv.AppendInt(canon, int64(len(out)), 10)
		canon = append(canon, ':')
		canon = append(canon, out...)
	}
	return digest(canon), nil
}

// TestCacheOnInputsSameAsReference compares cacheOnInputs with the
// straightforward version on a tree big enough for the walk and the
// prefetching to overlap, with patterns that share directories.
func TestCacheOnInputsSameAsReference(t *testing.T) {
	t.Parallel()
	files := map[string]string{"yarn.lock": "lock", ".git/HEAD": "ref", ".github/workflows/ci.yml": "on: push"}
	for i := 0; i < 120; i++ {
		p := fmt.Sprintf("packages/p%03d/", i)
		files[p+"package.json"] = fmt.Sprintf(`{"name":"p%d","deps":{"x":%d}}`, i, i%7)
		files[p+"src/index.ts"] = fmt.Sprint(i)
		files[p+"src/deep/er/x.ts"] = fmt.Sprint(i)
		if i%10 == 0 {
			files[p+".cache/package.json"] = "{}"
			files[p+"node_modules/dep/package.json"] = "{}"
			files[".git/objects/"+p+"obj"] = "x"
		}
	}
	dir := testenv.Tree(t, files)
	tests := [][]string{
		{"**/package.json", "yarn.lock"},
		{"**/package.json#.deps", "**/package.json", "yarn.lock"},
		{"packages/**/package.json", "**/*.ts", ".git/**", "**/.cache/*.json"},
		{"packages/p00*/**", "**/node_modules/**/package.json", ".github/**/*.yml", "**"},
		{"packages/*/src/**/*.ts", "packages/{p001,p002}/**", "**/package.json"},
	}
	for _, cacheOn := range tests {
		t.Run(strings.Join(cacheOn, ","), func(t *testing.T) {
			t.Parallel()
			c := Spec{}
			c.Dir = dir
			c.CacheOn = cacheOn
			want, err := referenceCacheOnInputs(&c)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 5; i++ {
				got, _, err := c.cacheOnInputs(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("run %d: %d inputs, want %d:\n got %v\nwant %v", i, len(got), len(want), got, want)
				}
			}
		})
	}
}

func TestCacheOnMatchingNothing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		pattern string
	}{
		{"missing file", "yarn.lock.missing"},
		{"glob", "**/Cargo.toml"},
		{"only in a dot-directory", "**/HEAD"},
		{"json selector", "missing.json#.deps"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			files := keyTree()
			files[".git/HEAD"] = "ref: refs/heads/main\n"
			dir := testenv.Tree(t, files)
			c := keySpec(dir)
			want := mustKey(t, c)

			c.CacheOn = append(c.CacheOn, tt.pattern)
			_, err := Compute(t.Context(), c, nil)
			if err == nil {
				t.Fatal("no error")
			}
			if !isConfigError(err) {
				t.Errorf("error %v is not a ConfigError", err)
			}
			if !strings.Contains(err.Error(), tt.pattern) || !strings.Contains(err.Error(), "allow-empty-cache-on") {
				t.Errorf("error %q does not name the pattern and allow-empty-cache-on", err)
			}

			c.AllowEmptyCacheOn = true
			if got := mustKey(t, c); got.Tag != want.Tag {
				t.Errorf("with allow-empty-cache-on, key = %s, want %s as without the pattern", got.Tag, want.Tag)
			}
		})
	}
}

func TestCacheOnErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, pattern, want string
	}{
		{"outside the checkout", "../other/package.json", "outside the checkout"},
		{"invalid glob", "packages/[a/package.json", "not a valid glob"},
		{"not JSON", "yarn.lock#.x", "is not JSON"},
		{"bad selector", "config.json#.deps[", "selector"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := keySpec(testenv.Tree(t, keyTree()))
			c.CacheOn = append(c.CacheOn, tt.pattern)
			_, err := Compute(t.Context(), c, nil)
			if err == nil || !isConfigError(err) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want a ConfigError containing %q", err, tt.want)
			}
		})
	}
}

func TestMissingDockerfile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, dockerfile, want string
	}{
		{"default", "", `dockerfile "Dockerfile" does not exist`},
		{"set", "build/Dockerfile.ci", `dockerfile "build/Dockerfile.ci" does not exist`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			files := keyTree()
			delete(files, "Dockerfile")
			c := keySpec(testenv.Tree(t, files))
			c.Dockerfile = tt.dockerfile
			_, err := Compute(t.Context(), c, nil)
			if err == nil || !isConfigError(err) {
				t.Fatalf("error = %v, want a ConfigError", err)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "dockerfile-inline") {
				t.Errorf("error %q does not contain %q and dockerfile-inline", err, tt.want)
			}
		})
	}
}

func TestEnters(t *testing.T) {
	t.Parallel()
	parts := strings.Split("*/src/**/*.ts", "/") // of packages/*/src/**/*.ts
	for _, tt := range []struct {
		level int
		name  string
		want  bool
	}{
		{0, "pkg-1", true}, {1, "src", true}, {1, "test", false},
		{2, "anything", true}, {3, "x", true}, {7, "deep", true},
	} {
		if got := enters(parts, tt.level, tt.name); got != tt.want {
			t.Errorf("enters(%q, %d, %q) = %v, want %v", parts, tt.level, tt.name, got, tt.want)
		}
	}
	for _, tt := range []struct {
		glob  string
		level int
		name  string
		want  bool
	}{
		{"*/package.json", 0, "a", true},
		{"*/package.json", 1, "b", false},
		{"*.json", 0, "a", false},
		{"**", 5, "a", true},
		{"a*/x/*", 0, "b", false},
		{"a*/x/*", 1, "x", true},
		{"a*/x/*", 2, "y", false},
		{"{a,b}/*", 0, "b", true},
		{"{a,b}/*", 0, "c", false},
		{"{a/b,c}/*", 0, "z", true}, // "{a" alone is no glob: enter
	} {
		if got := enters(strings.Split(tt.glob, "/"), tt.level, tt.name); got != tt.want {
			t.Errorf("enters(%q, %d, %q) = %v, want %v", tt.glob, tt.level, tt.name, got, tt.want)
		}
	}
}

// TestPrefetch checks which directories are listed for a glob: those
// GlobWalk reads, read ahead (so that it reads none itself), and no others.
func TestPrefetch(t *testing.T) {
	t.Parallel()
	dir := testenv.Tree(t, map[string]string{
		"yarn.lock":                               "",
		"packages/p1/package.json":                "{}",
		"packages/p1/src/deep/x.ts":               "",
		"packages/p1/test/y.ts":                   "",
		"packages/p1/node_modules/m/package.json": "{}",
		"packages/.hidden/x.ts":                   "",
		"tools/t/package.json":                    "{}",
		".git/objects/ab/cd":                      "",
	})
	all := []string{".", "packages", "packages/p1", "packages/p1/node_modules", "packages/p1/node_modules/m",
		"packages/p1/src", "packages/p1/src/deep", "packages/p1/test", "tools", "tools/t"}
	tests := []struct {
		glob string
		want []string
	}{
		{"yarn.lock", nil},
		{"packages/p1/package.json", nil},
		{"**/package.json", all},
		{"**", all},
		{"packages/*/src/**/*.ts", []string{"packages", "packages/p1", "packages/p1/src", "packages/p1/src/deep"}},
		{"*/package.json", []string{".", "packages", "tools"}},
		{"*/*/package.json", []string{".", "packages", "packages/p1", "tools", "tools/t"}},
		{"{packages,tools}/*/package.json", []string{".", "packages", "packages/p1", "tools", "tools/t"}},
		{"packages/*.json", []string{"packages"}},
		{".git/**", []string{".git", ".git/objects", ".git/objects/ab"}},
	}
	for _, tt := range tests {
		t.Run(tt.glob, func(t *testing.T) {
			t.Parallel()
			ck, err := openCheckout(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer ck.Close()
			tr := newTree(t.Context(), ck)
			listed := func() []string { return slices.Sorted(maps.Keys(tr.lists)) }
			tr.prefetch(tt.glob, !hasDotName(tt.glob))
			if got := listed(); !slices.Equal(got, tt.want) {
				t.Errorf("prefetch listed %q, want %q", got, tt.want)
			}
			if err := tr.match(tt.glob, func(string) {}); err != nil {
				t.Fatal(err)
			}
			if got := listed(); !slices.Equal(got, tt.want) {
				t.Errorf("after the walk, listed %q, want %q", got, tt.want)
			}
		})
	}
}
