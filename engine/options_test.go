package engine

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine/key"
)

func TestSetText(t *testing.T) {
	t.Parallel()
	c := NewConfig()
	for name, text := range map[string]string{
		"target":               "ci",
		"cache-on":             "yarn.lock\r\n\n  **/package.json  \n",
		"skip-pull-from-cache": " TRUE ",
		"push-latest":          "false",
		"max-age-days":         " 7 ",
		"ecr-tags":             "team=web\nowner: me\n",
	} {
		if err := c.SetText(name, text); err != nil {
			t.Fatalf("SetText(%s): %v", name, err)
		}
	}
	if c.Target != "ci" || !slices.Equal(c.CacheOn, []string{"yarn.lock", "**/package.json"}) || !c.SkipPullFromCache ||
		c.PushLatest || c.MaxAgeDays != 7 || !maps.Equal(c.ECRTags, map[string]string{"team": "web", "owner": "me"}) {
		t.Errorf("config %+v", c)
	}
	if err := c.SetText("ecr-tags", `{"team":"api","n":1}`); err != nil || !maps.Equal(c.ECRTags, map[string]string{"team": "api", "n": "1"}) {
		t.Errorf("JSON ecr-tags: %v, %v", c.ECRTags, err)
	}
	if err := c.SetText("ecr-tags", " "); err != nil || c.ECRTags != nil {
		t.Errorf("empty ecr-tags: %v, %v", c.ECRTags, err)
	}
	if err := c.AppendText("build-args", "A=1"); err != nil {
		t.Fatal(err)
	}
	if err := c.AppendText("build-args", "B"); err != nil || !slices.Equal(c.BuildArgs, []string{"A=1", "B"}) {
		t.Errorf("AppendText: %q, %v", c.BuildArgs, err)
	}
	if err := c.AppendText("region", "eu-west-1"); err != nil || c.Region != "eu-west-1" {
		t.Errorf("AppendText of a string: %q, %v", c.Region, err)
	}
	for _, tt := range []struct{ name, text, want string }{
		{"push-latest", "yes", `push-latest is "yes": write true or false`},
		{"max-age-days", "ten", `max-age-days is "ten": write a whole number`},
		{"ecr-tags", "{bad", "ecr-tags: not a JSON object"},
		{"ecr-tags", "novalue", `ecr-tags: line "novalue" is not KEY=value`},
		{"cache_on", "x", `unknown option "cache_on" (did you mean "cache-on"?)`},
	} {
		err := c.SetText(tt.name, tt.text)
		if !IsConfigError(err) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("SetText(%s, %q) = %v, want %q", tt.name, tt.text, err, tt.want)
		}
	}
	if err := c.AppendText("nope", "x"); !IsConfigError(err) {
		t.Errorf("AppendText(nope) = %v", err)
	}
}

func TestSetJSON(t *testing.T) {
	t.Parallel()
	c := NewConfig()
	for name, v := range map[string]any{
		"target":               "ci",
		"region":               float64(12),
		"cache-on":             "yarn.lock",
		"secrets":              []any{"A", "B"},
		"skip-pull-from-cache": true,
		"push-latest":          "false",
		"max-age-days":         float64(14),
		"ecr-tags":             map[string]any{"team": "web", "n": float64(2), "on": true},
	} {
		if err := c.SetJSON(name, v); err != nil {
			t.Fatalf("SetJSON(%s): %v", name, err)
		}
	}
	if c.Target != "ci" || c.Region != "12" || !slices.Equal(c.CacheOn, []string{"yarn.lock"}) || !slices.Equal(c.Secrets, []string{"A", "B"}) ||
		!c.SkipPullFromCache || c.PushLatest || c.MaxAgeDays != 14 || !maps.Equal(c.ECRTags, map[string]string{"team": "web", "n": "2", "on": "true"}) {
		t.Errorf("config %+v", c)
	}
	if err := c.SetJSON("max-age-days", "9"); err != nil || c.MaxAgeDays != 9 {
		t.Errorf("max-age-days as a string: %d, %v", c.MaxAgeDays, err)
	}
	for _, tt := range []struct {
		name string
		v    any
		want string
	}{
		{"target", true, "target must be a string, not a boolean"},
		{"cache-on", map[string]any{}, "cache-on must be a list of strings, not an object"},
		{"cache-on", []any{"a", float64(1)}, "cache-on[1] must be a string, not a number"},
		{"push-latest", nil, "push-latest must be a boolean (true or false), not null"},
		{"max-age-days", 1.5, "max-age-days is 1.5: write a whole number"},
		{"max-age-days", []any{}, "max-age-days must be a whole number, not a list"},
		{"ecr-tags", "x", "ecr-tags must be a map of strings, not a string"},
		{"ecr-tags", map[string]any{"k": []any{}}, "ecr-tags.k must be a string, not a list"},
		{"nope", "x", `unknown option "nope"`},
	} {
		err := c.SetJSON(tt.name, tt.v)
		if !IsConfigError(err) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("SetJSON(%s, %v) = %v, want %q", tt.name, tt.v, err, tt.want)
		}
	}
	if got := jsonType(struct{}{}); got != "struct {}" {
		t.Errorf("jsonType = %q", got)
	}
}

func TestEnvName(t *testing.T) {
	t.Parallel()
	if got := EnvName("skip-pull-from-cache"); got != "SKIP_PULL_FROM_CACHE" {
		t.Errorf("EnvName = %q", got)
	}
}

func TestResultOutputs(t *testing.T) {
	t.Parallel()
	r := Result{Image: "h/r", Tag: "k", Ref: "h/r:k", CacheHit: true, Digest: "sha256:d", Key: key.Key{Tag: "k"}}
	exports := r.Exports("")
	if exports[0] != (Output{DefaultImageVar, "h/r:k"}) || exports[3] != (Output{ExportCacheHit, "true"}) || len(exports) != 5 {
		t.Errorf("Exports = %v", exports)
	}
	if got := r.Exports("MY_IMAGE")[0].Name; got != "MY_IMAGE" {
		t.Errorf("export-env-variable ignored: %s", got)
	}
	var names []string
	for _, o := range r.Outputs() {
		names = append(names, o.Name+"="+o.Value)
	}
	if want := []string{"image=h/r", "tag=k", "image-ref=h/r:k", "cache-hit=true", "digest=sha256:d", "key=k"}; !slices.Equal(names, want) {
		t.Errorf("Outputs = %q", names)
	}
	if got := Summary(Result{Ref: "h/r:k"}); !strings.HasPrefix(got, "cache miss: built and stored h/r:k") {
		t.Errorf("Summary = %q", got)
	}
	if got := Summary(Result{Ref: "h/r:k", CacheHit: true}); !strings.HasPrefix(got, "cache hit: h/r:k in ") || strings.Contains(got, "saving") {
		t.Errorf("Summary = %q", got)
	}
	if got := Phase(99).String(); got != "Phase(99)" {
		t.Errorf("Phase(99) = %q", got)
	}
	inner := errors.New("x")
	if ce := (&ConfigError{Err: inner}); !errors.Is(ce, inner) {
		t.Error("ConfigError does not unwrap")
	}
	d := "sha256:" + strings.Repeat("d", 64)
	if localDigest(Image{ID: "sha256:id", RepoDigests: []string{"h.io/r@" + d}}, "h.io/r") != d || ShortDigest("sha256:ab") != "sha256:ab" {
		t.Error("localDigest or ShortDigest")
	}
	// The daemon writes Docker Hub names short.
	if localDigest(Image{ID: "sha256:id", RepoDigests: []string{"org/r@" + d}}, "docker.io/org/r") != d ||
		localDigest(Image{ID: "sha256:id", RepoDigests: []string{"other/r@" + d}}, "docker.io/org/r") != "sha256:id" {
		t.Error("localDigest does not compare normalized names")
	}
}

func TestLookupOption(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		ok      bool
		suggest string
	}{
		{"cache-on", true, ""},
		{"allow-empty-cache-on", true, ""},
		{"cache_on", false, "cache-on"},
		{"cach-on", false, "cache-on"},
		{"Cache-On", false, "cache-on"},
		{"dockerfil", false, "dockerfile"},
		{"max_age_days", false, "max-age-days"},
		{"completely-unrelated-thing", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o, err := LookupOption(tt.name)
			if tt.ok {
				if err != nil || o.Name != tt.name {
					t.Errorf("LookupOption(%q) = %q, %v", tt.name, o.Name, err)
				}
				return
			}
			if err == nil || !IsConfigError(err) {
				t.Fatalf("LookupOption(%q) error = %v, want a ConfigError", tt.name, err)
			}
			msg := err.Error()
			if !strings.Contains(msg, `unknown option "`+tt.name+`"`) || !strings.Contains(msg, "valid options are:") {
				t.Errorf("error %q does not name the option and list the valid ones", msg)
			}
			if tt.suggest == "" {
				if strings.Contains(msg, "did you mean") {
					t.Errorf("error %q suggests an option", msg)
				}
			} else if !strings.Contains(msg, `did you mean "`+tt.suggest+`"?`) {
				t.Errorf("error %q does not suggest %q", msg, tt.suggest)
			}
		})
	}
}

// Every list form a CI writes reads as the same items: lines, a JSON array
// (GitLab's array input in a string), a YAML flow sequence.
func TestParseList(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		text string
		want []string
	}{
		{"a\nb\n", []string{"a", "b"}},
		{`["a","b"]`, []string{"a", "b"}},
		{` ["a", "b"] ` + "\n", []string{"a", "b"}},
		{"[\n  \"a\",\n  \"b\"\n]", []string{"a", "b"}},
		{"[a, b]", []string{"a", "b"}},
		{"[ a ,b,, ]", []string{"a", "b"}},
		{`['it''s, quoted', "x,\"y\"", plain **/*.json]`, []string{"it's, quoted", `x,"y"`, "plain **/*.json"}},
		{"[]", nil},
		{`[""]`, nil},
		{"", nil},
		{`["[ab]"]`, []string{"[ab]"}},
		{"[ab].txt", []string{"[ab].txt"}},
		{"x[0-9]", []string{"x[0-9]"}},
		{"[a]\n[b]", []string{"[a]", "[b]"}},
	} {
		got, err := ParseList(tt.text)
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("ParseList(%q) = %q, %v; want %q", tt.text, got, err, tt.want)
		}
	}
	for _, text := range []string{`["a, b]`, `['a, b]`, `["a" "b"]`, `['a'b]`} {
		if got, err := ParseList(text); err == nil {
			t.Errorf("ParseList(%q) = %q, want an error", text, got)
		}
	}
}

// The list forms reach the options through every way of setting them:
// text (environment, action inputs), a flag's value, a Buildkite string.
func TestListFormsEverywhere(t *testing.T) {
	t.Parallel()
	want := []string{"yarn.lock", "**/package.json"}
	for _, text := range []string{"yarn.lock\n**/package.json", `["yarn.lock","**/package.json"]`, "[yarn.lock, '**/package.json']"} {
		c := NewConfig()
		if err := c.SetText("cache-on", text); err != nil || !slices.Equal(c.CacheOn, want) {
			t.Errorf("SetText(%q) = %q, %v", text, c.CacheOn, err)
		}
		c = NewConfig()
		if err := c.SetJSON("cache-on", text); err != nil || !slices.Equal(c.CacheOn, want) {
			t.Errorf("SetJSON(%q) = %q, %v", text, c.CacheOn, err)
		}
		c = NewConfig()
		if err := c.AppendText("cache-on", "Dockerfile"); err != nil {
			t.Fatal(err)
		}
		if err := c.AppendText("cache-on", text); err != nil || !slices.Equal(c.CacheOn, append([]string{"Dockerfile"}, want...)) {
			t.Errorf("AppendText(%q) = %q, %v", text, c.CacheOn, err)
		}
	}
	c := NewConfig()
	if err := c.SetText("secrets", `["A`); err != nil || !slices.Equal(c.Secrets, []string{`["A`}) {
		t.Errorf("an unclosed bracket is one item: %q, %v", c.Secrets, err)
	}
	for _, set := range []func() error{
		func() error { return c.SetText("secrets", `["A, B]`) },
		func() error { return c.SetJSON("secrets", `['A, B]`) },
		func() error { return c.AppendText("secrets", `["A" B]`) },
	} {
		if err := set(); !IsConfigError(err) || !strings.HasPrefix(err.Error(), "secrets: the list item") {
			t.Errorf("a broken list: %v", err)
		}
	}
}
