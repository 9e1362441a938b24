package buildkite

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
)

// root is the repository's root, where plugin.yml, README.md and docs/ are.
var root = filepath.Join("..", "..")

// pluginYML reads plugin.yml.
func pluginYML(t *testing.T) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "plugin.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("plugin.yml: %v", err)
	}
	return doc
}

// schema compiles plugin.yml's configuration as a JSON schema.
func schema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	conf, ok := pluginYML(t)["configuration"]
	if !ok {
		t.Fatal("plugin.yml has no configuration")
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("plugin.yml", asJSON(t, conf)); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("plugin.yml")
	if err != nil {
		t.Fatalf("plugin.yml's configuration is not a valid JSON schema: %v", err)
	}
	return s
}

// asJSON turns a YAML value into the JSON value the agent would hand over.
func asJSON(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// The options plugin.yml declares are exactly the engine's.
func TestPluginYMLOptions(t *testing.T) {
	t.Parallel()
	conf, _ := pluginYML(t)["configuration"].(map[string]any)
	props, _ := conf["properties"].(map[string]any)
	var names []string
	for name := range props {
		names = append(names, name)
	}
	sort.Strings(names)
	want := engine.OptionNames()
	sort.Strings(want)
	if !reflect.DeepEqual(names, want) {
		t.Errorf("plugin.yml declares %q\nthe engine has     %q", names, want)
	}
	if conf["additionalProperties"] != false {
		t.Error("plugin.yml: configuration.additionalProperties must be false")
	}
	for _, o := range engine.Options {
		p, _ := props[o.Name].(map[string]any)
		if p == nil {
			continue
		}
		if d, _ := p["description"].(string); strings.TrimSpace(d) == "" {
			t.Errorf("plugin.yml: %s has no description", o.Name)
		}
		if err := kindMatches(o.Kind, p); err != nil {
			t.Errorf("plugin.yml: %s: %v", o.Name, err)
		}
	}
	rp, _ := props["registry-provider"].(map[string]any)
	if enum := fmt.Sprint(rp["enum"]); enum != fmt.Sprint(engine.Providers) {
		t.Errorf("plugin.yml: registry-provider enum %s, the engine has %v", enum, engine.Providers)
	}
}

// kindMatches checks that a property's schema takes the option's kind:
// lists also take one string, as the original plugin's did.
func kindMatches(k engine.Kind, p map[string]any) error {
	switch k {
	case engine.String, engine.Int, engine.Bool:
		want := map[engine.Kind]string{engine.String: "string", engine.Int: "integer", engine.Bool: "boolean"}[k]
		if p["type"] != want {
			return fmt.Errorf("type is %v, want %s", p["type"], want)
		}
	case engine.List:
		want := []any{
			map[string]any{"type": "string"},
			map[string]any{"type": "array", "items": map[string]any{"type": "string"}},
		}
		if !reflect.DeepEqual(p["oneOf"], want) {
			return fmt.Errorf("oneOf is %v, want a string or an array of strings", p["oneOf"])
		}
	case engine.Map:
		if p["type"] != "object" || p["additionalProperties"] == nil {
			return fmt.Errorf("want type: object with additionalProperties")
		}
	}
	return nil
}

func TestPluginYMLSchema(t *testing.T) {
	t.Parallel()
	s := schema(t)
	valid := []string{
		`{}`,
		`{"cache-on": "package.json"}`,
		`{"cache-on": ["a", "b"], "max-age-days": 7, "skip-pull-from-cache": true, "ecr-tags": {"Key": "Value", "N": 1}}`,
		`{"registry-provider": "registry", "registry": "127.0.0.1:5000/cache"}`,
	}
	for _, v := range valid {
		if err := s.Validate(asJSON(t, jsonValue(t, v))); err != nil {
			t.Errorf("%s is refused: %v", v, err)
		}
	}
	invalid := []string{
		`{"cache-on": {"file": "package.json"}}`,
		`{"cache-on": [1]}`,
		`{"cache_on": ["package.json"]}`,
		`{"max-age-days": -1}`,
		`{"max-age-days": "abc"}`,
		`{"skip-pull-from-cache": "yes"}`,
		`{"registry-provider": "ecs"}`,
		`{"ecr-tags": ["a"]}`,
	}
	for _, v := range invalid {
		if err := s.Validate(asJSON(t, jsonValue(t, v))); err == nil {
			t.Errorf("%s is accepted", v)
		}
	}
}

func jsonValue(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// Every docker-ecr-cache entry of every YAML example in README.md and
// docs/ passes plugin.yml's schema, and the adapter loads it into a
// configuration that validates.
func TestDocumentedExamples(t *testing.T) {
	t.Parallel()
	s := schema(t)
	docs, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	entries := 0
	for _, doc := range append([]string{filepath.Join(root, "README.md")}, docs...) {
		b, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		doc, _ = filepath.Rel(root, doc)
		for _, block := range yamlBlocks(string(b)) {
			var v any
			if err := yaml.Unmarshal([]byte(block.text), &v); err != nil {
				t.Errorf("%s:%d: the yaml example does not parse: %v", doc, block.line, err)
				continue
			}
			for _, e := range pluginEntries(v) {
				entries++
				where := fmt.Sprintf("%s:%d: %s", doc, block.line, e.ref)
				config := asJSON(t, e.config)
				if err := s.Validate(config); err != nil {
					t.Errorf("%s: the configuration does not match plugin.yml: %v", where, err)
					continue
				}
				checkLoads(t, where, config)
			}
		}
	}
	if entries < 20 {
		t.Errorf("found %d docker-ecr-cache examples, want every example of the original README (20 or more)", entries)
	}
}

// modes are the ways the plugin is set up in the end-to-end tests
// (cmd/docker-ecr-cache): a registry-provider, and how the agent hands the
// configuration over.
var modes = []struct {
	name     string
	provider map[string]any // added to the example's configuration
	oldAgent bool           // only the flattened variables
}{
	{"registry-json", map[string]any{"registry-provider": "registry", "registry": "127.0.0.1:5000/cache/app"}, false},
	{"registry-flattened", map[string]any{"registry-provider": "registry", "registry": "127.0.0.1:5000/cache/app"}, true},
	{"local-json", map[string]any{"registry-provider": "local"}, false},
	{"local-flattened", map[string]any{"registry-provider": "local"}, true},
}

// checkLoads runs config through the adapter as the agent would hand it
// over, in every mode: each gives the configuration the JSON gives with the
// mode's provider, but for the ecr-tags keys' case, which the flattened
// variables lose.
func checkLoads(t *testing.T, where string, config any) {
	t.Helper()
	raw, err := json.Marshal(config)
	if err != nil {
		t.Fatal(err)
	}
	j := job{ConfigurationVar: string(raw), "BUILDKITE_ORGANIZATION_SLUG": "acme", "BUILDKITE_PIPELINE_SLUG": "web-app", "SECRET": "wow"}
	c, err := load(t, j)
	if err == nil {
		// A checkout with the files the examples name as secrets.
		c.WorkDir = t.TempDir()
		if err := os.WriteFile(filepath.Join(c.WorkDir, ".npmrc"), []byte("//registry.npmjs.org/:_authToken=x\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		err = c.Validate()
	}
	if err != nil {
		t.Errorf("%s: %v", where, err)
		return
	}
	c, _ = load(t, j)
	for _, m := range modes {
		var withMode map[string]any
		if err := json.Unmarshal(raw, &withMode); err != nil {
			t.Fatal(err)
		}
		for k, v := range m.provider {
			withMode[k] = v
		}
		got, err := load(t, newJob(t, withMode, m.oldAgent))
		if err != nil {
			t.Errorf("%s: %s: %v", where, m.name, err)
			continue
		}
		want := c
		for k, v := range m.provider {
			if err := want.SetJSON(k, v); err != nil {
				t.Fatal(err)
			}
		}
		if m.oldAgent && want.ECRTags != nil {
			want.ECRTags = map[string]string{}
			for k, v := range c.ECRTags {
				want.ECRTags[strings.ToUpper(k)] = v
			}
		}
		got.Getenv, want.Getenv = nil, nil
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: %s: the configuration differs from the JSON's (-want +got):\n%s", where, m.name, diff)
		}
	}
}

type block struct {
	line int
	text string
}

var fence = regexp.MustCompile("(?m)^```(ya?ml)[ \t]*\n((?s:.*?))^```[ \t]*$")

// yamlBlocks finds the ```yaml blocks of a markdown document.
func yamlBlocks(md string) []block {
	var out []block
	for _, m := range fence.FindAllStringSubmatchIndex(md, -1) {
		out = append(out, block{line: strings.Count(md[:m[0]], "\n") + 1, text: md[m[4]:m[5]]})
	}
	return out
}

type entry struct {
	ref    string
	config any
}

// pluginEntries finds the docker-ecr-cache entries of every plugins list
// in a pipeline, step or list of steps.
func pluginEntries(v any) []entry {
	var out []entry
	switch v := v.(type) {
	case []any:
		for _, item := range v {
			out = append(out, pluginEntries(item)...)
		}
	case map[string]any:
		for key, item := range v {
			list, ok := item.([]any)
			if key != "plugins" || !ok {
				out = append(out, pluginEntries(item)...)
				continue
			}
			for _, p := range list {
				switch p := p.(type) {
				case string:
					if isThisPlugin(p) {
						out = append(out, entry{p, map[string]any{}})
					}
				case map[string]any:
					for ref, config := range p {
						if isThisPlugin(ref) {
							if config == nil {
								config = map[string]any{}
							}
							out = append(out, entry{ref, config})
						}
					}
				}
			}
		}
	}
	return out
}

// isThisPlugin recognises this plugin's references, old and new:
// docker-ecr-cache/docker-ecr-cache#v1.0.0, seek-oss/docker-ecr-cache#v1.11.0.
func isThisPlugin(ref string) bool {
	ref, _, _ = strings.Cut(ref, "#")
	name := ref[strings.LastIndex(ref, "/")+1:]
	name = strings.TrimSuffix(strings.TrimSuffix(name, ".git"), "-buildkite-plugin")
	return slices.Contains([]string{"docker-ecr-cache"}, name)
}

func TestPluginEntries(t *testing.T) {
	t.Parallel()
	var v any
	doc := "steps:\n  - plugins:\n      - docker-ecr-cache/docker-ecr-cache#v1.0.0\n      - docker#v3.8.0\n" +
		"  - plugins:\n      - seek-oss/docker-ecr-cache#v1.11.0:\n          cache-on: [a]\n      - docker#v3.8.0:\n          volumes: [x]\n"
	if err := yaml.Unmarshal([]byte(doc), &v); err != nil {
		t.Fatal(err)
	}
	got := pluginEntries(v)
	if len(got) != 2 || got[0].ref != "docker-ecr-cache/docker-ecr-cache#v1.0.0" || got[1].ref != "seek-oss/docker-ecr-cache#v1.11.0" {
		t.Errorf("pluginEntries = %+v", got)
	}
	blocks := yamlBlocks("text\n```yaml\na: 1\n```\n```dockerfile\nFROM x\n```\n```yml\nb: 2\n```\n")
	if len(blocks) != 2 || blocks[0].text != "a: 1\n" || blocks[1].line != 8 {
		t.Errorf("yamlBlocks = %+v", blocks)
	}
}
