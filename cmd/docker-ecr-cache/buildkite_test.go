package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/docker-ecr-cache/docker-ecr-cache/adapters/buildkite"
	"github.com/docker-ecr-cache/docker-ecr-cache/adapters/frontend"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/internal/ecrtest"
	"github.com/docker-ecr-cache/docker-ecr-cache/internal/googletest"
	"github.com/docker-ecr-cache/docker-ecr-cache/internal/testenv"
)

// exportNames are the variables the tests read after the hook.
var bkExportNames = []string{
	engine.DefaultImageVar, engine.ExportImage, engine.ExportTag,
	engine.ExportCacheHit, engine.ExportDigest,
}

// agentScript is what the agent does for a step: source the plugin's hook
// in the checkout, then run the command in the same environment. The EXIT
// trap records what the hook exported, however the step ends.
const bkAgentScript = `
trap 'for v in $DEC_TEST_VARS; do printf "%s=%s\0" "$v" "${!v-<unset>}"; done >"$DEC_TEST_EXPORTS"' EXIT
source "$DEC_TEST_HOOK"
eval "$DEC_TEST_COMMAND"
`

const bkRunMarker = `docker run --rm "$BUILDKITE_PLUGIN_DOCKER_IMAGE" cat /marker`

// step is one Buildkite job running the plugin.
type bkStep struct {
	dir      string         // the checkout
	config   map[string]any // the plugin's configuration in pipeline.yml
	oldAgent bool           // only the flattened variables, no BUILDKITE_PLUGIN_CONFIGURATION
	env      []string       // the step's env, plus what the agent sets
	command  string         // the step's command (default: runMarker)
	vars     []string       // exported variables to record, besides exportNames
	binary   string         // DOCKER_ECR_CACHE_BINARY
	path     string         // PATH (default: the fake buildkite-agent's, then the test's)
	agentLog string         // where the fake buildkite-agent records its calls
}

// result is how a step ended.
type bkResult struct {
	code    int
	output  string
	exports map[string]string // "<unset>" when not exported
}

func (s *bkStep) run(t *testing.T) bkResult {
	t.Helper()
	agentEnv, err := buildkite.AgentEnv(s.config, s.oldAgent)
	if err != nil {
		t.Fatal(err)
	}
	exportsFile := filepath.Join(t.TempDir(), "exports")
	command := s.command
	if command == "" {
		command = bkRunMarker
	}
	path := s.path
	if path == "" {
		path = bkFakeAgent(t, s) + string(os.PathListSeparator) + os.Getenv("PATH")
	}
	env := []string{
		"PATH=" + path,
		"HOME=" + os.Getenv("HOME"),
		"DOCKER_HOST=" + os.Getenv("DOCKER_HOST"),
		"TMPDIR=" + t.TempDir(),
		"DOCKER_ECR_CACHE_BINARY=" + s.binary,
		"DOCKER_ECR_CACHE_DOWNLOAD_URL=http://127.0.0.1:1",
		"BUILDKITE=true",
		"BUILDKITE_BUILD_CHECKOUT_PATH=" + s.dir,
		"BUILDKITE_PLUGINS_PATH=" + t.TempDir(),
		"BUILDKITE_JOB_ID=0190a1b2-job",
		"BUILDKITE_STEP_KEY=deps",
		"DEC_TEST_HOOK=" + filepath.Join(testenv.RepoRoot(), "hooks", "pre-command"),
		"DEC_TEST_COMMAND=" + command,
		"DEC_TEST_EXPORTS=" + exportsFile,
		"DEC_TEST_VARS=" + strings.Join(append(append([]string(nil), bkExportNames...), s.vars...), " "),
	}
	env = append(append(env, s.env...), agentEnv...)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", bkAgentScript)
	cmd.Dir = s.dir
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	r := bkResult{output: out.String(), exports: map[string]string{}}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running the step: %v\n%s", err, r.output)
	}
	b, err := os.ReadFile(exportsFile)
	if err != nil {
		t.Fatalf("the step recorded no exports: %v\n%s", err, r.output)
	}
	for _, kv := range strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00") {
		k, v, _ := strings.Cut(kv, "=")
		r.exports[k] = v
	}
	return r
}

// fakeAgent puts a buildkite-agent on the step's PATH that records each
// call as args and stdin in s.agentLog.
func bkFakeAgent(t *testing.T, s *bkStep) string {
	t.Helper()
	dir := t.TempDir()
	if s.agentLog == "" {
		s.agentLog = filepath.Join(t.TempDir(), "buildkite-agent.log")
	}
	script := fmt.Sprintf("#!/bin/bash\n{ echo \"ARGS: $*\"; cat; echo END; } >>%q\n", s.agentLog)
	testenv.WriteExecutable(t, filepath.Join(dir, "buildkite-agent"), script)
	return dir
}

func (r bkResult) requireSuccess(t *testing.T) {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("the step failed with status %d:\n%s", r.code, r.output)
	}
}

// requireNothingExported checks a failed step exported nothing.
func (r bkResult) requireNothingExported(t *testing.T) {
	t.Helper()
	for _, name := range bkExportNames {
		if v := r.exports[name]; v != "<unset>" {
			t.Errorf("%s = %q after a failed step, want it unset", name, v)
		}
	}
}

// lastLine is the step's last line of output: the command's.
func (r bkResult) lastLine() string {
	lines := strings.Split(strings.TrimRight(r.output, "\n"), "\n")
	return lines[len(lines)-1]
}

// mode is how the plugin is set up: the registry provider, and how the
// agent hands over the configuration.
type bkMode struct {
	name     string
	provider string
	oldAgent bool
}

var bkModes = []bkMode{
	{"registry-json", engine.ProviderRegistry, false},
	{"registry-flattened", engine.ProviderRegistry, true},
	{"local-json", engine.ProviderLocal, false},
	{"local-flattened", engine.ProviderLocal, true},
}

// seedCase is one example of the original plugin's README, as a step.
type bkCase struct {
	name   string
	files  map[string]string // the checkout, besides busybox at its root
	config map[string]any    // the example's configuration
	env    []string          // the step's env
	// want is the command's output: what the image's /marker holds.
	want string
	// command replaces runMarker.
	command string
	vars    []string
	// then runs after the first step, for examples that need more.
	then func(t *testing.T, h *bkHarness, first bkResult)
	// remoteOnly marks examples that mean something only with a registry.
	remoteOnly bool
	setup      func(t *testing.T, c *bkCase)
	// mode names the one of bkModes the example runs in (default: the first).
	mode string
}

// base is the start of every test Dockerfile: no Docker Hub here, so a
// static busybox from the checkout makes the shell.
const bkBase = "FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\n"

var bkCases = []bkCase{
	{
		name:  "basic",
		files: map[string]string{"Dockerfile": bkBase + "RUN echo 'my expensive build step' > /marker\n"},
		want:  "my expensive build step",
		then:  bkExpectHitOnRerun,
	},
	{
		name: "cache-on",
		files: map[string]string{
			"Dockerfile":        bkBase + "WORKDIR /workdir\nCOPY package.json package-lock.json /workdir/\nRUN cat package.json > /marker\n",
			"package.json":      `{"name": "one"}`,
			"package-lock.json": `{"lockfileVersion": 3}`,
		},
		config: map[string]any{"cache-on": []any{"package.json", "package-lock.json"}},
		want:   `{"name": "one"}`,
		then:   bkExpectRebuildOnChange("package.json", `{"name": "two"}`),
	},
	{
		name: "cache-on-globstar",
		mode: "registry-flattened",
		files: map[string]string{
			"Dockerfile":                     bkBase + "COPY . /src\nRUN cat /src/packages/b/deep/package.json > /marker\n",
			"packages/a/package.json":        `{"name": "a"}`,
			"packages/b/deep/package.json":   `{"name": "b"}`,
			"yarn.lock":                      "# yarn lockfile v1\n",
			"packages/b/deep/not-hashed.txt": "x",
		},
		config: map[string]any{"cache-on": []any{"**/package.json", "yarn.lock"}},
		want:   `{"name": "b"}`,
		// A change to a deep match gives another key: engine's key tests; the
		// rebuild on a change runs end to end with cache-on above.
	},
	{
		name:   "dockerfile",
		mode:   "local-json",
		files:  map[string]string{"my-dockerfile": bkBase + "RUN echo from my-dockerfile > /marker\n"},
		config: map[string]any{"dockerfile": "my-dockerfile"},
		want:   "from my-dockerfile",
	},
	{
		name:   "dockerfile-inline",
		mode:   "local-flattened",
		config: map[string]any{"dockerfile-inline": bkBase + "WORKDIR /workdir\nRUN echo inline > /marker\n"},
		want:   "inline",
	},
	{
		name: "building-on-the-image",
		files: map[string]string{
			"Dockerfile": bkBase + "RUN echo first > /marker\n",
			"Dockerfile.secondary": "ARG BUILDKITE_PLUGIN_DOCKER_ECR_CACHE_EXPORT_IMAGE\nARG BUILDKITE_PLUGIN_DOCKER_ECR_CACHE_EXPORT_TAG\n" +
				"FROM ${BUILDKITE_PLUGIN_DOCKER_ECR_CACHE_EXPORT_IMAGE}:${BUILDKITE_PLUGIN_DOCKER_ECR_CACHE_EXPORT_TAG}\nRUN echo wow >> /marker\n",
		},
		// The README's command, tagged so that the test can run and remove it.
		command: `docker build -q --build-arg BUILDKITE_PLUGIN_DOCKER_ECR_CACHE_EXPORT_IMAGE --build-arg BUILDKITE_PLUGIN_DOCKER_ECR_CACHE_EXPORT_TAG ` +
			`--file Dockerfile.secondary --tag "$BUILDKITE_PLUGIN_DOCKER_IMAGE-secondary" . >/dev/null && ` +
			`docker run --rm "$BUILDKITE_PLUGIN_DOCKER_IMAGE-secondary" cat /marker | tr '\n' ' ' && docker rmi -f "$BUILDKITE_PLUGIN_DOCKER_IMAGE-secondary" >/dev/null && echo`,
		want: "first wow ",
	},
	{
		name: "target",
		mode: "local-json",
		files: map[string]string{"Dockerfile": strings.Replace(bkBase, "FROM scratch", "FROM scratch AS build-deps", 1) +
			"RUN echo build-deps > /marker\n\nFROM build-deps AS final\nRUN echo final > /marker\n"},
		config: map[string]any{"target": "build-deps"},
		want:   "build-deps",
	},
	{
		name: "context",
		mode: "registry-flattened",
		files: map[string]string{
			"dockerfiles/test/Dockerfile": bkBase + "COPY dockerfiles/test/data.txt /marker\n",
			"dockerfiles/test/data.txt":   "from the root context",
		},
		config: map[string]any{"dockerfile": "dockerfiles/test/Dockerfile", "context": "."},
		want:   "from the root context",
	},
	{
		name:   "build-args",
		files:  map[string]string{"Dockerfile": bkBase + "ARG ARG_1\nARG ARG_2\nRUN echo \"${ARG_1} ${ARG_2}\" > /marker\n"},
		config: map[string]any{"build-args": []any{"ARG_1", "ARG_2=such"}},
		env:    []string{"ARG_1=wow"},
		want:   "wow such",
	},
	{
		name:   "additional-build-args",
		mode:   "local-json",
		files:  map[string]string{"Dockerfile": bkBase + "RUN --mount=type=ssh test -S \"$SSH_AUTH_SOCK\" && echo ssh agent forwarded > /marker\n"},
		config: map[string]any{"additional-build-args": `--ssh= default=\$SSH_AUTH_SOCK`},
		env:    []string{"ARG_1=wow"},
		want:   "ssh agent forwarded",
		setup:  bkWithSSHAgent,
	},
	{
		name:   "secrets",
		mode:   "registry-flattened",
		files:  map[string]string{"Dockerfile": bkBase + "RUN --mount=type=secret,id=SECRET cat /run/secrets/SECRET > /marker\n"},
		config: map[string]any{"secrets": []any{"SECRET"}},
		env:    []string{"SECRET=wow"},
		want:   "wow",
	},
	{
		name: "secrets-src",
		mode: "local-flattened",
		files: map[string]string{
			"Dockerfile": bkBase + "RUN --mount=type=secret,id=npmrc cat /run/secrets/npmrc > /marker\n",
			".npmrc":     "//registry.npmjs.org/:_authToken=s3cret",
		},
		config: map[string]any{"secrets": []any{"id=npmrc,src=.npmrc"}},
		env:    []string{"SECRET=wow"},
		want:   "//registry.npmjs.org/:_authToken=s3cret",
	},
	{
		name:   "max-age-days",
		files:  map[string]string{"Dockerfile": bkBase + "RUN echo kept a week > /marker\n"},
		config: map[string]any{"max-age-days": 7},
		want:   "kept a week",
	},
	{
		name:    "export-env-variable",
		mode:    "local-json",
		files:   map[string]string{"Dockerfile": bkBase + "RUN echo custom > /marker\n"},
		config:  map[string]any{"export-env-variable": "BUILDKITE_PLUGIN_MY_CUSTOM_PLUGIN_CACHE_IMAGE"},
		command: `docker run --rm "$BUILDKITE_PLUGIN_MY_CUSTOM_PLUGIN_CACHE_IMAGE" cat /marker`,
		vars:    []string{"BUILDKITE_PLUGIN_MY_CUSTOM_PLUGIN_CACHE_IMAGE"},
		want:    "custom",
		then: func(t *testing.T, h *bkHarness, r bkResult) {
			if got := r.exports["BUILDKITE_PLUGIN_MY_CUSTOM_PLUGIN_CACHE_IMAGE"]; got != r.exports[engine.ExportImage]+":"+r.exports[engine.ExportTag] {
				t.Errorf("BUILDKITE_PLUGIN_MY_CUSTOM_PLUGIN_CACHE_IMAGE = %q, want image:tag", got)
			}
			if got := r.exports[engine.DefaultImageVar]; got != "<unset>" {
				t.Errorf("BUILDKITE_PLUGIN_DOCKER_IMAGE = %q, want it left alone", got)
			}
		},
	},
	{
		name:       "skip-pull-from-cache",
		files:      map[string]string{"Dockerfile": bkBase + "RUN echo not pulled > /marker\n"},
		config:     map[string]any{"skip-pull-from-cache": true},
		want:       "not pulled",
		remoteOnly: true,
		then:       bkExpectNoPullWhenSkipping,
	},
}

// cloudCase is an example that needs a cloud provider: the basic example
// with no options (ECR is the default provider), those of the README's
// "AWS ECR specific configuration" and "GCP GCR specific configuration"
// sections, and max-age-days, which means something only on ECR. Each
// runs against the ECR or Google test server, reached by the real AWS SDK
// and golang.org/x/oauth2/google, whose registry is on loopback:
// registry-hostname points there, as the real hosts are out of reach.
type bkCloudCase struct {
	bkCase
	provider string // engine.ProviderECR or engine.ProviderGCR: which test server
}

const bkGCPProject = "foo-bar-123456"

var bkCloudCases = []bkCloudCase{
	{provider: engine.ProviderECR, bkCase: bkCase{
		name:  "basic",
		files: map[string]string{"Dockerfile": bkBase + "RUN echo 'my expensive build step' > /marker\n"},
		want:  "my expensive build step",
		then:  bkExpectECRDefaults,
	}},
	{provider: engine.ProviderECR, bkCase: bkCase{
		name:  "ecr-name-and-tags",
		files: map[string]string{"Dockerfile": bkBase + "RUN echo in my unique repository > /marker\n"},
		config: map[string]any{
			"ecr-name": "my-unique-repository-name",
			"ecr-tags": map[string]any{"Key": "Value", "Key2": "Value2"},
		},
		want: "in my unique repository",
		then: bkExpectECRTags,
	}},
	{provider: engine.ProviderECR, bkCase: bkCase{
		name:   "max-age-days",
		files:  map[string]string{"Dockerfile": bkBase + "RUN echo kept a week in ECR > /marker\n"},
		config: map[string]any{"max-age-days": 7},
		want:   "kept a week in ECR",
		then: func(t *testing.T, h *bkHarness, first bkResult) {
			if days := ecrtest.PolicyDays(t, bkECRRepo(t, h).Policy); days != 7 {
				t.Errorf("the lifecycle policy expires images after %d days, want 7", days)
			}
			if !strings.Contains(first.output, "images expire 7 days after their push") {
				t.Errorf("the log does not give the lifecycle policy:\n%s", first.output)
			}
		},
	}},
	{provider: engine.ProviderGCR, bkCase: bkCase{
		name:   "gcp-project",
		files:  map[string]string{"Dockerfile": bkBase + "RUN echo cached in GCR > /marker\n"},
		config: map[string]any{"registry-provider": engine.ProviderGCR, "gcp-project": bkGCPProject},
		want:   "cached in GCR",
		then:   bkExpectGCRHitOnRerun,
	}},
}

// harness is one example in one mode.
type bkHarness struct {
	t      *testing.T
	c      bkCase
	m      bkMode
	dir    string
	binary string
	config map[string]any
	repo   string // the image name the step should export

	ecr *ecrtest.Server    // for ECR cloud cases
	gcr *googletest.Server // for the GCR cloud case
}

func (h *bkHarness) newStep() *bkStep {
	return &bkStep{
		dir: h.dir, config: h.config, oldAgent: h.m.oldAgent, binary: h.binary,
		env:     append([]string{"BUILDKITE_ORGANIZATION_SLUG=acme", "BUILDKITE_PIPELINE_SLUG=" + h.pipeline()}, h.c.env...),
		command: h.c.command, vars: h.c.vars,
	}
}

func (h *bkHarness) pipeline() string {
	return strings.ToLower(h.c.name + "-" + h.m.name + "-" + bkRunID)
}

// check runs a step and checks what every step must do.
func (h *bkHarness) check(s *bkStep, wantHit bool) bkResult {
	t := h.t
	t.Helper()
	r := s.run(t)
	r.requireSuccess(t)
	if got := r.lastLine(); got != h.c.want {
		t.Errorf("the command printed %q, want %q\n%s", got, h.c.want, r.output)
	}
	if got := r.exports[engine.ExportImage]; got != h.repo {
		t.Errorf("%s = %q, want %q", engine.ExportImage, got, h.repo)
	}
	tag := r.exports[engine.ExportTag]
	if !regexp.MustCompile(`^[0-9a-f]{40}$`).MatchString(tag) {
		t.Errorf("%s = %q, want 40 hex digits", engine.ExportTag, tag)
	}
	if h.c.vars == nil {
		if got := r.exports[engine.DefaultImageVar]; got != h.repo+":"+tag {
			t.Errorf("%s = %q, want %s:%s", engine.DefaultImageVar, got, h.repo, tag)
		}
	}
	if got, want := r.exports[engine.ExportCacheHit], fmt.Sprint(wantHit); got != want {
		t.Errorf("%s = %q, want %s", engine.ExportCacheHit, got, want)
	}
	if d := r.exports[engine.ExportDigest]; !strings.HasPrefix(d, "sha256:") {
		t.Errorf("%s = %q, want a sha256 digest", engine.ExportDigest, d)
	}
	for _, group := range []string{"--- :key: Computing cache key"} {
		if !strings.Contains(r.output, group) {
			t.Errorf("the log has no %q group:\n%s", group, r.output)
		}
	}
	if !wantHit && !strings.Contains(r.output, "--- :docker: Building "+h.repo+":"+tag) {
		t.Errorf("the log has no build group:\n%s", r.output)
	}
	h.checkAnnotation(s, wantHit, h.repo+":"+tag)
	return r
}

func (h *bkHarness) checkAnnotation(s *bkStep, hit bool, ref string) {
	t := h.t
	t.Helper()
	b, err := os.ReadFile(s.agentLog)
	if err != nil {
		t.Errorf("no annotation: %v", err)
		return
	}
	style := "info"
	if hit {
		style = "success"
	}
	// One annotation; the other calls hand secrets to the agent's redactor.
	var log string
	annotations := 0
	for _, call := range strings.SplitAfter(string(b), "END\n") {
		switch {
		case call == "" || strings.HasPrefix(call, "ARGS: redactor add\n"):
		case strings.HasPrefix(call, "ARGS: annotate "):
			log, annotations = call, annotations+1
		default:
			t.Errorf("unexpected buildkite-agent call:\n%s", call)
		}
	}
	wantContext := "docker-ecr-cache-deps"
	if v, ok := h.c.config["export-env-variable"].(string); ok {
		wantContext += "-" + strings.ToLower(v) // one annotation per plugin instance
	}
	if want := "ARGS: annotate --style " + style + " --context " + wantContext + "\n"; !strings.HasPrefix(log, want) || annotations != 1 {
		t.Errorf("buildkite-agent calls:\n%s\nwant one annotation, starting %q", b, want)
	}
	if !strings.Contains(log, "`"+ref+"`") || !strings.Contains(log, "| dockerfile | `sha256:") {
		t.Errorf("the annotation does not show %s and the key's inputs:\n%s", ref, log)
	}
}

func bkExpectHitOnRerun(t *testing.T, h *bkHarness, first bkResult) {
	r := h.check(h.newStep(), true)
	if r.exports[engine.ExportTag] != first.exports[engine.ExportTag] {
		t.Errorf("the same inputs gave another tag: %s, then %s", first.exports[engine.ExportTag], r.exports[engine.ExportTag])
	}
}

// expectRebuildOnChange reruns (a hit), changes a cache-on file and reruns
// (a miss, with another tag and the new content), then reruns (a hit).
func bkExpectRebuildOnChange(file, content string) func(t *testing.T, h *bkHarness, first bkResult) {
	return func(t *testing.T, h *bkHarness, first bkResult) {
		bkExpectHitOnRerun(t, h, first)
		if err := os.WriteFile(filepath.Join(h.dir, file), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		h.c.want = content
		changed := h.check(h.newStep(), false)
		if changed.exports[engine.ExportTag] == first.exports[engine.ExportTag] {
			t.Errorf("changing %s kept the tag %s", file, first.exports[engine.ExportTag])
		}
		said := regexp.MustCompile(`changed since \S+: [^\n]*file ` + regexp.QuoteMeta(file) + `(,|\n)`)
		if h.m.provider == engine.ProviderRegistry && !said.MatchString(changed.output) {
			t.Errorf("the log does not say that %s changed:\n%s", file, changed.output)
		}
		h.check(h.newStep(), true)
	}
}

// expectNoPullWhenSkipping removes the image from the daemon; the next step
// finds it in the registry, does not pull it, and still exports it.
func bkExpectNoPullWhenSkipping(t *testing.T, h *bkHarness, first bkResult) {
	ref := first.exports[engine.DefaultImageVar]
	bkDocker(t, "rmi", "-f", ref)
	s := h.newStep()
	s.command = `docker image inspect "$BUILDKITE_PLUGIN_DOCKER_IMAGE" >/dev/null 2>&1 && echo pulled || echo not pulled`
	r := h.check(s, true)
	if r.exports[engine.DefaultImageVar] != ref {
		t.Errorf("%s = %q, want %q", engine.DefaultImageVar, r.exports[engine.DefaultImageVar], ref)
	}
	if !strings.Contains(r.output, "skip-pull-from-cache is set") {
		t.Errorf("the log does not say the pull was skipped:\n%s", r.output)
	}
}

// ecrName is the repository the step should use: ecr-name, or
// build-cache/<organization>/<pipeline>.
func (h *bkHarness) ecrName() string {
	if name, ok := h.config["ecr-name"].(string); ok {
		return name
	}
	return "build-cache/acme/" + h.pipeline()
}

// ecrRepo is the repository on the ECR test server.
func bkECRRepo(t *testing.T, h *bkHarness) ecrtest.Repo {
	t.Helper()
	repo, ok := h.ecr.Repository(h.ecr.AccountID, h.ecrName())
	if !ok {
		t.Fatalf("the ECR test server has no repository %s; calls: %q", h.ecrName(), h.ecr.Calls())
	}
	return repo
}

// expectECRDefaults: with no options, the step made the original plugin's
// repository, build-cache/<organization>/<pipeline>, untagged, with images
// expiring after 30 days; a rerun is a hit that asks ECR only for a token
// and the registry only for the manifest.
func bkExpectECRDefaults(t *testing.T, h *bkHarness, first bkResult) {
	if got, want := strings.Join(h.ecr.Calls(), " "), "GetAuthorizationToken DescribeRepositories CreateRepository PutLifecyclePolicy"; got != want {
		t.Errorf("ECR calls on a miss %q, want %q", got, want)
	}
	repo := bkECRRepo(t, h)
	if len(repo.Tags) != 0 {
		t.Errorf("repository tags %v, want none", repo.Tags)
	}
	if days := ecrtest.PolicyDays(t, repo.Policy); days != 30 {
		t.Errorf("the lifecycle policy expires images after %d days, want 30", days)
	}
	h.ecr.Reset()
	bkExpectHitOnRerun(t, h, first)
	if got := strings.Join(h.ecr.Calls(), " "); got != "GetAuthorizationToken" {
		t.Errorf("ECR calls on a hit %q, want only GetAuthorizationToken", got)
	}
	want := "HEAD /v2/" + h.ecrName() + "/manifests/" + first.exports[engine.ExportTag] + " 200"
	if got := h.ecr.Registry.Requests(); len(got) != 1 || got[0] != want {
		t.Errorf("registry requests on a hit %q, want exactly %q", got, want)
	}
}

// expectECRTags: the repository has ecr-tags. With the JSON configuration
// the keys keep their case; an agent without BUILDKITE_PLUGIN_CONFIGURATION
// hands them over upper-cased, and the step warns about it.
func bkExpectECRTags(t *testing.T, h *bkHarness, first bkResult) {
	// The log lists the tags as key=value sorted: Key2=… before Key=….
	want, said := map[string]string{"Key": "Value", "Key2": "Value2"}, "Key2=Value2, Key=Value"
	if h.m.oldAgent {
		want, said = map[string]string{"KEY": "Value", "KEY2": "Value2"}, "KEY2=Value2, KEY=Value"
	}
	repo := bkECRRepo(t, h)
	if fmt.Sprint(repo.Tags) != fmt.Sprint(want) {
		t.Errorf("repository tags %v, want %v", repo.Tags, want)
	}
	said = "created repository my-unique-repository-name with tags " + said
	if !strings.Contains(first.output, said) {
		t.Errorf("the log does not say %q:\n%s", said, first.output)
	}
	warning := "⚠️ warning: this agent does not set BUILDKITE_PLUGIN_CONFIGURATION, so ecr-tags keys arrive upper-cased"
	if warned := strings.Contains(first.output, warning); warned != h.m.oldAgent {
		t.Errorf("warned about upper-cased ecr-tags keys: %v, want %v\n%s", warned, h.m.oldAgent, first.output)
	}
}

// expectGCRHitOnRerun: the miss took one access token and pushed to
// <host>/<project>/build-cache/<organization>/<pipeline>; a rerun is a hit
// with one more token and one manifest HEAD.
func bkExpectGCRHitOnRerun(t *testing.T, h *bkHarness, first bkResult) {
	path := "/v2/" + bkGCPProject + "/" + h.ecrName() + "/manifests/"
	tag := first.exports[engine.ExportTag]
	if reqs := strings.Join(h.gcr.Registry.Requests(), "\n"); !strings.Contains(reqs, "PUT "+path+tag+" 201") {
		t.Errorf("the image was not pushed as %s%s:\n%s", path, tag, reqs)
	}
	if n := h.gcr.Issued(); n != 1 {
		t.Errorf("%d access tokens for one step, want 1", n)
	}
	h.gcr.Registry.Reset()
	bkExpectHitOnRerun(t, h, first)
	if got, want := h.gcr.Registry.Requests(), "HEAD "+path+tag+" 200"; len(got) != 1 || got[0] != want {
		t.Errorf("registry requests on a hit %q, want exactly %q", got, want)
	}
	if n := h.gcr.Issued(); n != 2 {
		t.Errorf("%d access tokens for two steps, want 2", n)
	}
}

// runID keeps this run's local images apart from earlier runs'.
var bkRunID = func() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}()

// TestBuildkiteSeedExamples runs every example of the original plugin's
// README that can run here, once, through hooks/pre-command as the agent
// runs it, against the real daemon. The examples are spread over the modes
// (a registry on loopback or the local provider, the configuration as JSON
// or flattened) so that each mode runs end to end; that every example reads
// the same in every mode is adapters/buildkite's TestDocumentedExamples.
// The examples that need ECR or GCR run against their test servers, with the
// configuration as JSON, and ecr-tags also flattened, whose keys lose their case.
func TestBuildkiteSeedExamples(t *testing.T) {
	testenv.Docker(t)
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	binary := testenv.Binary(t)
	modes := map[string]bkMode{}
	for _, m := range bkModes {
		modes[m.name] = m
	}
	for _, c := range bkCases {
		m, ok := modes[c.mode]
		if c.mode == "" {
			m, ok = bkModes[0], true
		}
		if !ok || c.remoteOnly && m.provider == engine.ProviderLocal {
			t.Fatalf("%s: mode %q is not one this example can run in", c.name, c.mode)
		}
		t.Run(m.name+"/"+c.name, func(t *testing.T) {
			t.Parallel()
			if c.setup != nil {
				c.setup(t, &c)
			}
			h := &bkHarness{t: t, c: c, m: m, dir: bkCheckout(t, c.files), binary: binary, config: map[string]any{}}
			for k, v := range c.config {
				h.config[k] = v
			}
			h.config["registry-provider"] = m.provider
			if m.provider == engine.ProviderRegistry {
				h.repo = reg.Host + "/cache/" + h.pipeline()
				h.config["registry"] = h.repo
			} else {
				h.repo = "build-cache/acme/" + h.pipeline() // the default name
			}
			t.Cleanup(func() { bkRemoveImages(t, h.repo) })
			first := h.check(h.newStep(), false)
			if c.then != nil {
				c.then(t, h, first)
			}
		})
	}
	for _, c := range bkCloudCases {
		forms := []bool{false}
		if c.name == "ecr-name-and-tags" {
			forms = append(forms, true)
		}
		for _, oldAgent := range forms {
			m := bkMode{c.provider + "-json", c.provider, oldAgent}
			if oldAgent {
				m.name = c.provider + "-flattened"
			}
			t.Run(m.name+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				bkRunCloudCase(t, c.bkCase, m, binary)
			})
		}
	}
}

// runCloudCase runs a cloud case against a test server of its own, so
// that the server's call log is the step's.
func bkRunCloudCase(t *testing.T, c bkCase, m bkMode, binary string) {
	h := &bkHarness{t: t, c: c, m: m, dir: bkCheckout(t, c.files), binary: binary, config: map[string]any{}}
	for k, v := range c.config {
		h.config[k] = v
	}
	var secrets []string // what the step must never print
	switch m.provider {
	case engine.ProviderECR:
		h.ecr = ecrtest.Start(t, ecrtest.Options{})
		h.config["registry-hostname"] = h.ecr.RegistryHost
		h.c.env = append(append([]string(nil), c.env...), h.ecr.Env(t)...)
		h.repo = h.ecr.RegistryHost + "/" + h.ecrName()
		secrets = []string{h.ecr.Password, base64.StdEncoding.EncodeToString([]byte(ecrtest.TokenUser + ":" + h.ecr.Password))}
	case engine.ProviderGCR:
		h.gcr = googletest.Start(t, googletest.Options{Project: bkGCPProject})
		h.config["registry-hostname"] = h.gcr.RegistryHost
		h.c.env = append(append([]string(nil), c.env...), "GOOGLE_APPLICATION_CREDENTIALS="+h.gcr.WriteKeyFile(t, t.TempDir()))
		h.repo = h.gcr.RegistryHost + "/" + bkGCPProject + "/" + h.ecrName()
		secrets = []string{h.gcr.Token}
	default:
		t.Fatalf("no test server for provider %q", m.provider)
	}
	t.Cleanup(func() { bkRemoveImages(t, h.repo) })
	first := h.check(h.newStep(), false)
	for _, secret := range secrets {
		if strings.Contains(first.output, secret) {
			t.Errorf("the step printed the registry credential:\n%s", first.output)
		}
	}
	if c.then != nil {
		c.then(t, h, first)
	}
}

// checkout makes a checkout holding files and busybox.
func bkCheckout(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	testenv.Busybox(t, dir)
	for name, content := range files {
		testenv.WriteFile(t, dir, name, content)
	}
	return dir
}

// withSSHAgent starts an ssh-agent for the step, as a Buildkite agent with
// SSH forwarding has one.
func bkWithSSHAgent(t *testing.T, c *bkCase) {
	if _, err := exec.LookPath("ssh-agent"); err != nil {
		t.Skip("no ssh-agent")
	}
	sock := filepath.Join(t.TempDir(), "agent.sock")
	cmd := exec.Command("ssh-agent", "-D", "-a", sock)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	for i := 0; i < 100; i++ {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.env = append(append([]string(nil), c.env...), "SSH_AUTH_SOCK="+sock)
}

func bkDocker(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("docker", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// removeImages removes every local tag of repo.
func bkRemoveImages(t *testing.T, repo string) {
	out, err := exec.Command("docker", "images", "--format", "{{.Repository}}:{{.Tag}}", repo).Output()
	if err != nil {
		return
	}
	refs := strings.Fields(string(out))
	if len(refs) > 0 {
		_ = exec.Command("docker", append([]string{"rmi", "-f"}, refs...)...).Run()
	}
}

// TestBuildkiteBadInput: each mistake fails the step with a message that
// names it, the hook's status is not zero, and nothing is exported.
func TestBuildkiteBadInput(t *testing.T) {
	binary := testenv.Binary(t)
	dockerfile := map[string]string{"Dockerfile": bkBase}
	tests := []struct {
		name   string
		config map[string]any
		old    bool
		want   []string
	}{
		{"cache-on as an object", map[string]any{"cache-on": map[string]any{"file": "package.json"}}, false,
			[]string{"cache-on must be a list of strings, not an object"}},
		{"cache-on as an object, old agent", map[string]any{"cache-on": map[string]any{"file": "package.json"}}, true,
			[]string{"BUILDKITE_PLUGIN_DOCKER_ECR_CACHE_CACHE_ON_FILE: cache-on must be a list of strings, not an object"}},
		{"max-age-days -1", map[string]any{"max-age-days": -1}, false,
			[]string{"max-age-days is -1: give a whole number of days, 1 or more"}},
		{"max-age-days abc", map[string]any{"max-age-days": "abc"}, true,
			[]string{`max-age-days is "abc": write a whole number`}},
		{"unknown key", map[string]any{"cache_on": []any{"package.json"}}, false,
			[]string{`unknown option "cache_on" (did you mean "cache-on"?)`}},
		{"unknown key, old agent", map[string]any{"cache-onn": []any{"package.json"}}, true,
			[]string{`BUILDKITE_PLUGIN_DOCKER_ECR_CACHE_CACHE_ONN_0: unknown option "cache-onn" (did you mean "cache-on"?)`}},
		{"dockerfile and dockerfile-inline", map[string]any{"dockerfile": "Dockerfile", "dockerfile-inline": bkBase}, false,
			[]string{"dockerfile and dockerfile-inline are both set: keep one of them"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := &bkStep{dir: bkCheckout(t, dockerfile), config: tt.config, oldAgent: tt.old, binary: binary,
				env: []string{"BUILDKITE_ORGANIZATION_SLUG=acme", "BUILDKITE_PIPELINE_SLUG=bad"}}
			r := s.run(t)
			if r.code != exitConfig {
				t.Errorf("the step's status is %d, want %d (a configuration error)\n%s", r.code, exitConfig, r.output)
			}
			if !strings.Contains(r.output, "^^^ +++\n+++ :x: ") {
				t.Errorf("the error does not reopen the log group (^^^ +++):\n%s", r.output)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.output, w) {
					t.Errorf("the output does not say %q:\n%s", w, r.output)
				}
			}
			r.requireNothingExported(t)
			if _, err := os.Stat(s.agentLog); err == nil {
				t.Error("a failed step was annotated")
			}
		})
	}

	t.Run("no binary, no Go, no network", func(t *testing.T) {
		t.Parallel()
		tools := t.TempDir()
		for _, name := range []string{"bash", "cat", "dirname", "tr", "uname", "mktemp", "rm", "mv", "chmod", "mkdir", "sha256sum", "curl", "git"} {
			if p, err := exec.LookPath(name); err == nil {
				if err := os.Symlink(p, filepath.Join(tools, name)); err != nil {
					t.Fatal(err)
				}
			}
		}
		s := &bkStep{dir: bkCheckout(t, dockerfile), binary: "", path: tools,
			env: []string{"BUILDKITE_ORGANIZATION_SLUG=acme", "BUILDKITE_PIPELINE_SLUG=bad"}}
		r := s.run(t)
		if r.code != 1 {
			t.Errorf("the step's status is %d, want 1\n%s", r.code, r.output)
		}
		for _, w := range []string{
			"^^^ +++", "no docker-ecr-cache binary for version",
			"  - DOCKER_ECR_CACHE_BINARY: not set",
			"  - download: skipped, the plugin version", "go is not on PATH",
		} {
			if !strings.Contains(r.output, w) {
				t.Errorf("the output does not say %q:\n%s", w, r.output)
			}
		}
		r.requireNothingExported(t)
	})
}

// --- the command in process, without a daemon -------------------------------

func bkProcess(env map[string]string) (frontend.Env, *bytes.Buffer, *bytes.Buffer) {
	var stdout, stderr bytes.Buffer
	var environ []string
	for k, v := range env {
		environ = append(environ, k+"="+v)
	}
	sort.Strings(environ)
	return frontend.Env{Environ: environ, Getenv: func(k string) string { return env[k] }, Stdout: &stdout, Stderr: &stderr}, &stdout, &stderr
}

func TestBuildkiteConfigErrorInProcess(t *testing.T) {
	t.Parallel()
	exports := filepath.Join(t.TempDir(), "exports")
	if err := os.WriteFile(exports, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	p, stdout, stderr := bkProcess(map[string]string{
		buildkite.ConfigurationVar: `{"cache_on": ["package.json"], "max-age-days": -1}`,
	})
	code := realMain(context.Background(), []string{"buildkite", "--export-file", exports}, p)
	if code != exitConfig {
		t.Errorf("exit code %d, want %d", code, exitConfig)
	}
	want := "^^^ +++\n+++ :x: unknown option \"cache_on\" (did you mean \"cache-on\"?)"
	if !strings.HasPrefix(stderr.String(), want) {
		t.Errorf("stderr:\n%s\nwant it to start with\n%s", stderr, want)
	}
	if !strings.Contains(stderr.String(), "\nmax-age-days is -1") {
		t.Errorf("stderr does not report every problem at once:\n%s", stderr)
	}
	if strings.Count(stderr.String(), "cache_on") != 1 {
		t.Errorf("the error is printed more than once:\n%s", stderr)
	}
	if stdout.Len() != 0 {
		t.Errorf("stdout: %q, want nothing", stdout)
	}
	if b, _ := os.ReadFile(exports); len(b) != 0 {
		t.Errorf("the export file holds %q after a failure", b)
	}
}

func TestBuildkiteArguments(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"--export-file"}, {"--output", "x"}, {"extra"}} {
		p, _, stderr := bkProcess(nil)
		code := realMain(context.Background(), append([]string{"buildkite"}, args...), p)
		if code != exitConfig || !strings.Contains(stderr.String(), "buildkite: ") {
			t.Errorf("buildkite %q: exit %d, stderr %q; want a usage error", args, code, stderr)
		}
	}
}
