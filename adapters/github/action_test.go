package github

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
)

type actionFile struct {
	Name     string
	Branding struct{ Icon, Color string }
	Inputs   yaml.Node
	Outputs  yaml.Node
	Runs     struct {
		Using string
		Image string
		Args  []string
	}
}

type actionInput struct {
	Description string
	Required    bool
	Default     *string
}

// entries returns a mapping node's keys in order, with their values.
func entries[T any](t *testing.T, n yaml.Node) ([]string, map[string]T) {
	t.Helper()
	if n.Kind != yaml.MappingNode {
		t.Fatalf("line %d: not a mapping", n.Line)
	}
	var keys []string
	values := map[string]T{}
	for i := 0; i < len(n.Content); i += 2 {
		var v T
		if err := n.Content[i+1].Decode(&v); err != nil {
			t.Fatalf("%s: %v", n.Content[i].Value, err)
		}
		keys = append(keys, n.Content[i].Value)
		values[n.Content[i].Value] = v
	}
	return keys, values
}

func readAction(t *testing.T) actionFile {
	t.Helper()
	b, err := os.ReadFile("../../action.yml")
	if err != nil {
		t.Fatal(err)
	}
	var a actionFile
	if err := yaml.Unmarshal(b, &a); err != nil {
		t.Fatal(err)
	}
	return a
}

// action.yml is written by go generate (internal/optionref): its inputs must be the engine's options,
// in the same order, each described by the option's usage (a GitHub note
// may follow), with a default exactly when the engine has one, and the same.
func TestActionInputs(t *testing.T) {
	t.Parallel()
	a := readAction(t)
	names, inputs := entries[actionInput](t, a.Inputs)
	if want := append(engine.OptionNames(), TokenInput); !reflect.DeepEqual(names, want) {
		t.Fatalf("action.yml inputs:\n%q\nengine.OptionNames() and the action's own %s:\n%q", names, TokenInput, want)
	}
	if in := inputs[TokenInput]; in.Default == nil || *in.Default != "${{ github.token }}" || in.Required {
		t.Errorf("%s: %+v, want an optional input whose default is ${{ github.token }}", TokenInput, in)
	}
	for _, o := range engine.Options {
		in := inputs[o.Name]
		if o.Name == "registry-provider" {
			// The action's default is GitHub's own registry, which Load
			// chooses when the input is empty (TestLoadDefaultsToGHCR).
			if in.Default != nil {
				t.Errorf("registry-provider: default %q; want none, so that Load picks ghcr", *in.Default)
			}
			continue
		}
		if !strings.HasPrefix(in.Description, o.Usage) {
			t.Errorf("%s: description %q does not start with the option's usage %q", o.Name, in.Description, o.Usage)
		}
		if in.Required {
			t.Errorf("%s: required; no input is, action.yml or not", o.Name)
		}
		// The runner sets the default when the workflow gives nothing;
		// Load then sets it as text. That must give NewConfig's value.
		text := ""
		if in.Default != nil {
			text = *in.Default
		}
		c, want := engine.NewConfig(), engine.NewConfig()
		if err := c.SetText(o.Name, text); err != nil {
			t.Errorf("%s: default %q: %v (booleans and numbers need their default written out)", o.Name, text, err)
			continue
		}
		if !reflect.DeepEqual(c, want) {
			t.Errorf("%s: default %q differs from the engine's default", o.Name, text)
		}
		if in.Default != nil && text == "" {
			t.Errorf("%s: an empty default is no default: remove it", o.Name)
		}
	}
}

func TestActionOutputsAndRuns(t *testing.T) {
	t.Parallel()
	a := readAction(t)
	names, outputs := entries[struct{ Description string }](t, a.Outputs)
	var want []string
	for _, o := range (engine.Result{}).Outputs() {
		want = append(want, o.Name)
	}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("action.yml outputs %q, want %q", names, want)
	}
	for name, o := range outputs {
		if o.Description == "" {
			t.Errorf("output %s has no description", name)
		}
	}
	if a.Runs.Using != "docker" || a.Runs.Image != "Dockerfile" || !reflect.DeepEqual(a.Runs.Args, []string{"github"}) {
		t.Errorf("runs: %+v, want using: docker, image: Dockerfile, args: [github]", a.Runs)
	}
	if a.Name == "" || a.Branding.Icon == "" || a.Branding.Color == "" {
		t.Errorf("name %q, branding %+v: both are needed on the Marketplace", a.Name, a.Branding)
	}
}
