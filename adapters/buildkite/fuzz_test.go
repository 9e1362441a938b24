package buildkite

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker-ecr-cache/docker-ecr-cache/adapters/frontend"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
)

// maxFuzzInput bounds what a fuzz target takes, so each run is quick.
const maxFuzzInput = 4 << 10

// FuzzLoadJSON: any BUILDKITE_PLUGIN_CONFIGURATION either loads or is a
// configuration error, and never panics, nor does validating what loaded.
func FuzzLoadJSON(f *testing.F) {
	for _, seed := range []string{
		`{}`,
		`{"cache-on":["package.json","**/*.lock"],"build-args":["A=1","B"],"secrets":["S","id=n,src=.npmrc"]}`,
		`{"ecr-tags":{"Team":"web"},"max-age-days":"7","push-latest":false}`,
		`{"registry-provider":"gcr","gcp-project":"p","additional-build-args":"--ssh default --network=host"}`,
		`{"cache-on":"not-a-list","max-age-days":{"x":1}}`,
		`[1,2]`, `null`, `{"dockerfile-inline":"FROM scratch\n"}`,
	} {
		f.Add(seed)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, raw string) {
		if len(raw) > maxFuzzInput {
			t.Skip()
		}
		j := job{ConfigurationVar: raw, "SECRET": "wow", "S": "x"}
		loadAndValidate(t, j, dir)
	})
}

// FuzzLoadFlattened: the same for the flattened variables of older agents.
func FuzzLoadFlattened(f *testing.F) {
	f.Add("CACHE_ON_0", "package.json", "BUILD_ARGS_0", "A=1")
	f.Add("ECR_TAGS_TEAM", "web", "MAX_AGE_DAYS", "x")
	f.Add("PUSH_LATEST", "maybe", "SECRETS_1", "id=a")
	f.Add("UNKNOWN", "1", "CACHE_ON", "x\ny")
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string) {
		if len(k1)+len(v1)+len(k2)+len(v2) > maxFuzzInput || strings.ContainsAny(k1+k2, "=\x00") {
			t.Skip()
		}
		j := job{Prefix + k1: v1, Prefix + k2: v2}
		loadAndValidate(t, j, dir)
	})
}

// loadAndValidate loads j's configuration in the empty checkout dir.
func loadAndValidate(t *testing.T, j job, dir string) {
	t.Helper()
	cfg, err := Load(frontend.Env{Getenv: j.getenv, Environ: j.environ(), Dir: dir})
	if err != nil && !engine.IsConfigError(err) {
		t.Fatalf("Load: %v is not a configuration error", err)
	}
	if err := cfg.Validate(); err != nil && !engine.IsConfigError(err) {
		t.Fatalf("Validate: %v is not a configuration error", err)
	}
}

// FuzzExportRoundTrip: any value written to the export file reads back
// from bash as the same bytes, and nothing in it runs. A value bash cannot
// hold (with a NUL byte) is refused.
func FuzzExportRoundTrip(f *testing.F) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		f.Skip("no bash")
	}
	for _, seed := range []string{"", "reg/img:tag", "it's", "'; touch pwned; '", "$(touch pwned)", "`touch pwned`",
		"a\nb\r\n", "\\", "${HOME}", "!x", "\xff\xfe", "\x00"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, value string) {
		if len(value) > maxFuzzInput {
			t.Skip()
		}
		dir := t.TempDir()
		var buf bytes.Buffer
		err := WriteExports(&buf, []engine.Output{{Name: "VAR", Value: value}})
		if strings.Contains(value, "\x00") {
			if err == nil {
				t.Fatal("a value with a NUL byte is written")
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(dir, "exports")
		if err := os.WriteFile(file, buf.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bash, "--norc", "--noprofile", "-c", `source ./exports && printf %s "$VAR"`)
		cmd.Dir, cmd.Env = dir, []string{"PATH=/nonexistent"}
		out, err := cmd.Output()
		if err != nil || string(out) != value {
			t.Fatalf("%q read back as %q (%v) from:\n%s", value, out, err, buf.Bytes())
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 1 {
			t.Fatalf("sourcing the export file made files: %v", entries)
		}
	})
}
