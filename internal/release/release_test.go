// Package release holds the tests of the release's files: the one name the
// README, the module, the hook, the action image and the GoReleaser config
// all use, and the release commit made by scripts/release-prepare.sh.
package release

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	pipeline "github.com/buildkite/go-pipeline"
	"gopkg.in/yaml.v3"
)

// repo is the project's one name: its GitHub repository.
const repo = "docker-ecr-cache/docker-ecr-cache"

func root(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func read(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root(t), name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// docs are the documents whose examples name the plugin, the action and
// the release: README.md and docs/*.md.
func docs(t *testing.T) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(root(t), "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	out := []string{"README.md"}
	for _, n := range names {
		out = append(out, filepath.Join("docs", filepath.Base(n)))
	}
	return out
}

// pluginSources returns the source of every plugin in the README's YAML
// examples that have a plugins: list, parsed by go-pipeline as the agent
// parses a pipeline.
// fragmentPlugin is a plugin item of this plugin in a YAML fragment:
// "- SOURCE#VERSION:".
var fragmentPlugin = regexp.MustCompile(`(?m)^\s*-\s+([\w./:-]*docker-ecr-cache[\w./-]*#[\w.-]+):`)

func pluginSources(t *testing.T, readme string) []string {
	t.Helper()
	var sources []string
	blocks := regexp.MustCompile("(?s)```ya?ml\n(.*?)```").FindAllStringSubmatch(readme, -1)
	for _, b := range blocks {
		var doc map[string]any
		if err := yaml.Unmarshal([]byte(b[1]), &doc); err != nil || doc["steps"] == nil || !strings.Contains(b[1], "plugins:") {
			// A fragment, not a pipeline: its plugin items, as written.
			for _, m := range fragmentPlugin.FindAllStringSubmatch(b[1], -1) {
				sources = append(sources, m[1])
			}
			continue
		}
		p, err := pipeline.Parse(strings.NewReader(b[1]))
		if err != nil {
			t.Fatalf("README pipeline does not parse: %v\n%s", err, b[1])
		}
		for _, s := range p.Steps {
			if cs, ok := s.(*pipeline.CommandStep); ok {
				for _, pl := range cs.Plugins {
					sources = append(sources, pl.Source)
				}
			}
		}
	}
	return sources
}

// TestREADMEPluginReferencesResolveHere runs every plugin reference of this
// plugin in the README and docs/ through go-pipeline's expansion (what the agent
// clones) and checks that it names this repository at a release tag.
func TestREADMEPluginReferencesResolveHere(t *testing.T) {
	var sources []string
	for _, d := range docs(t) {
		sources = append(sources, pluginSources(t, read(t, d))...)
	}
	want := regexp.MustCompile(`^github\.com/` + regexp.QuoteMeta(repo) + `#v\d+\.\d+\.\d+$`)
	ours := 0
	for _, s := range sources {
		full := (&pipeline.Plugin{Source: s}).FullSource()
		if !strings.Contains(s, "docker-ecr-cache") {
			continue
		}
		ours++
		if !want.MatchString(full) {
			t.Errorf("README plugin %q expands to %q, not github.com/%s#vX.Y.Z", s, full, repo)
		}
	}
	if ours < 10 {
		t.Fatalf("found %d references to the plugin in the README's pipelines (of %d plugins), want at least 10", ours, len(sources))
	}
}

// TestOneName checks that the module path, the hook's download URL, the
// action image, the GitHub examples and the release config name one
// repository.
func TestOneName(t *testing.T) {
	if got := strings.TrimSpace(strings.SplitN(strings.TrimPrefix(read(t, "go.mod"), "module "), "\n", 2)[0]); got != "github.com/"+repo {
		t.Errorf("go.mod module is %q, want github.com/%s", got, repo)
	}
	if hook := read(t, "hooks/pre-command"); !strings.Contains(hook, `dec_default_url="https://github.com/`+repo+`/releases/download"`) {
		t.Errorf("hooks/pre-command does not download from https://github.com/%s/releases/download", repo)
	}
	image := "ghcr.io/" + repo
	for _, f := range []string{"scripts/release-prepare.sh", ".github/workflows/release.yml"} {
		if !strings.Contains(read(t, f), image) {
			t.Errorf("%s does not name the action image %s", f, image)
		}
	}

	var readme string
	for _, d := range docs(t) {
		readme += read(t, d)
	}
	uses := regexp.MustCompile("uses:\\s*([^\\s`]*docker-ecr-cache[^\\s`]*)").FindAllStringSubmatch(readme, -1)
	if len(uses) == 0 {
		t.Fatal("the README has no uses: line for the action")
	}
	for _, u := range uses {
		if !regexp.MustCompile(`^`+regexp.QuoteMeta(repo)+`@v\d+\.\d+\.\d+$`).MatchString(u[1]) &&
			!strings.HasPrefix(u[1], "docker://"+image+":") {
			t.Errorf("README: uses: %s, want %s@vX.Y.Z", u[1], repo)
		}
	}
	for _, m := range regexp.MustCompile(`ghcr\.io/[\w.-]+/docker-ecr-cache\b`).FindAllString(readme, -1) {
		if m != image {
			t.Errorf("README names the action image %s, want %s", m, image)
		}
	}

	var gr struct {
		Release struct {
			GitHub struct{ Owner, Name string } `yaml:"github"`
		} `yaml:"release"`
	}
	if err := yaml.Unmarshal([]byte(read(t, ".goreleaser.yaml")), &gr); err != nil {
		t.Fatal(err)
	}
	if got := gr.Release.GitHub.Owner + "/" + gr.Release.GitHub.Name; got != repo {
		t.Errorf(".goreleaser.yaml releases to %s, want %s", got, repo)
	}
}

// TestReleasePrepare runs scripts/release-prepare.sh in a copy of the
// repository's files with a built dist/ and checks the release commit's
// changes.
func TestReleasePrepare(t *testing.T) {
	dir := t.TempDir()
	for _, f := range append([]string{"scripts/release-prepare.sh", "action.yml", "hooks/pre-command", "templates/docker-ecr-cache.yml"}, docs(t)...) {
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), []byte(read(t, f)), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	sums := ""
	for i, a := range []string{"darwin_amd64", "darwin_arm64", "linux_amd64", "linux_arm64"} {
		sums += strings.Repeat(string(rune('a'+i)), 64) + "  docker-ecr-cache_" + a + "\n"
	}
	dist := filepath.Join(dir, "built")
	if err := os.MkdirAll(dist, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dist, "checksums.txt"), []byte(sums), 0o644); err != nil {
		t.Fatal(err)
	}

	run := func(version string) (string, error) {
		cmd := exec.Command("bash", filepath.Join(dir, "scripts/release-prepare.sh"), version)
		cmd.Env = append(os.Environ(), "DIST="+dist)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := run("1.2"); err == nil || !strings.Contains(out, `VERSION="1.2" is not a release version`) {
		t.Fatalf("a bad version: err %v, output %s", err, out)
	}
	if out, err := run("v9.8.7"); err != nil {
		t.Fatalf("release-prepare: %v\n%s", err, out)
	}

	got := func(f string) string {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if got("checksums.txt") != sums {
		t.Errorf("checksums.txt is\n%s\nwant dist's\n%s", got("checksums.txt"), sums)
	}
	if got("VERSION") != "v9.8.7\n" {
		t.Errorf("VERSION is %q", got("VERSION"))
	}
	var action struct {
		Runs    struct{ Using, Image string }           `yaml:"runs"`
		Outputs map[string]struct{ Description string } `yaml:"outputs"`
	}
	if err := yaml.Unmarshal([]byte(got("action.yml")), &action); err != nil {
		t.Fatal(err)
	}
	if action.Runs.Image != "docker://ghcr.io/"+repo+":v9.8.7" || action.Runs.Using != "docker" {
		t.Errorf("action.yml runs %+v, want the docker image docker://ghcr.io/%s:v9.8.7", action.Runs, repo)
	}
	if action.Outputs["image"].Description != "The image repository, without a tag." {
		t.Errorf("action.yml's image output changed: %+v", action.Outputs["image"])
	}
	if strings.Count(got("action.yml"), "ghcr.io") != strings.Count(read(t, "action.yml"), "ghcr.io")+1 {
		t.Error("release-prepare changed more than the runs image line of action.yml")
	}
	// The GitLab component's image input defaults to the release's shell image.
	component, before := got("templates/docker-ecr-cache.yml"), read(t, "templates/docker-ecr-cache.yml")
	if !strings.Contains(component, "\n      default: ghcr.io/"+repo+":v9.8.7-shell\n") ||
		len(strings.Split(component, "\n")) != len(strings.Split(before, "\n")) || strings.Count(component, "v9.8.7") != 1 {
		t.Errorf("templates/docker-ecr-cache.yml's image default is not ghcr.io/%s:v9.8.7-shell, or more changed", repo)
	}
	var readme string
	for _, d := range docs(t) {
		readme += got(d)
	}
	n := 0
	for _, s := range pluginSources(t, readme) {
		if strings.Contains(s, "docker-ecr-cache") {
			n++
			if s != "github.com/"+repo+"#v9.8.7" {
				t.Errorf("README plugin %s, want github.com/%s#v9.8.7", s, repo)
			}
		}
	}
	if n == 0 {
		t.Error("README has no plugin reference after release-prepare")
	}
	for _, want := range []string{"releases/download/v9.8.7\n", "cmd/docker-ecr-cache@v9.8.7`", "docker://ghcr.io/" + repo + ":v9.8.7\n"} {
		if !strings.Contains(readme, want) {
			t.Errorf("README has no %q after release-prepare", want)
		}
	}
	sc := bufio.NewScanner(strings.NewReader(readme))
	for sc.Scan() {
		if m := regexp.MustCompile(`uses:\s*` + regexp.QuoteMeta(repo) + "@([^\\s`]+)").FindStringSubmatch(sc.Text()); m != nil && m[1] != "v9.8.7" {
			t.Errorf("README: %s, want @v9.8.7", sc.Text())
		}
	}
	// The hook itself is untouched: it reads VERSION and checksums.txt.
	if got("hooks/pre-command") != read(t, "hooks/pre-command") {
		t.Error("release-prepare changed hooks/pre-command")
	}
}

// The GitLab image's busybox must have the checksum scripts/busybox.sha256
// pins for its arch: another is refused before any image is made.
func TestShellImageBusyboxPinned(t *testing.T) {
	t.Parallel()
	dist, busybox := t.TempDir(), t.TempDir()
	for _, arch := range []string{"amd64", "arm64"} {
		if err := os.WriteFile(filepath.Join(dist, "docker-ecr-cache_linux_"+arch), []byte("binary"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(busybox, "busybox_linux_amd64"), []byte("not the pinned busybox"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ arches, want string }{
		{"amd64", "not the 3d9f2889d6782537624a4e1a10e68a2ddd53e0ee8bac02676f27308f42ec6bf6 that scripts/busybox.sha256 pins for amd64"},
		{"arm64", "busybox"}, // none given for arm64 on an amd64 machine, or none pinned
	} {
		cmd := exec.Command("bash", "scripts/action-image.sh")
		cmd.Dir = filepath.Join("..", "..")
		cmd.Env = append(os.Environ(), "DIST="+dist, "BUSYBOX_DIR="+busybox, "VARIANT=shell", "ARCHES="+tt.arches, "IMAGE=docker-ecr-cache-test/never:made")
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), tt.want) {
			t.Errorf("ARCHES=%s: %v\n%s", tt.arches, err, out)
		}
	}
}

// TestHostBuildFlags checks that scripts/release-snapshot.sh --host, which
// builds the release proofs' binary for make test without GoReleaser,
// passes .goreleaser.yaml's environment, flags and ldflags to go build.
func TestHostBuildFlags(t *testing.T) {
	var gr struct {
		Builds []struct {
			Main    string   `yaml:"main"`
			Env     []string `yaml:"env"`
			Flags   []string `yaml:"flags"`
			Ldflags []string `yaml:"ldflags"`
		} `yaml:"builds"`
	}
	if err := yaml.Unmarshal([]byte(read(t, ".goreleaser.yaml")), &gr); err != nil {
		t.Fatal(err)
	}
	if len(gr.Builds) != 1 {
		t.Fatalf(".goreleaser.yaml has %d builds, want 1", len(gr.Builds))
	}
	b := gr.Builds[0]
	script := read(t, "scripts/release-snapshot.sh")
	_, host, ok := strings.Cut(script, "== --host ]]")
	if !ok {
		t.Fatal("scripts/release-snapshot.sh has no --host mode")
	}
	host, _, _ = strings.Cut(host, "elif")
	// The template that names the version is the script's $version.
	version := regexp.MustCompile(`\{\{[^}]*DOCKER_ECR_CACHE_VERSION[^}]*\}\}`)
	var want []string
	want = append(want, b.Env...)
	want = append(want, b.Flags...)
	for _, l := range b.Ldflags {
		want = append(want, `-ldflags "`+version.ReplaceAllString(l, "$$version")+`"`)
	}
	want = append(want, b.Main)
	for _, w := range want {
		if !strings.Contains(host, w) {
			t.Errorf("scripts/release-snapshot.sh --host does not pass %q, which .goreleaser.yaml does", w)
		}
	}
}
