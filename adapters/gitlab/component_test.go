package gitlab

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
)

type componentInput struct {
	Description string
	Type        string
	Default     yaml.Node
}

type componentJob struct {
	Stage string
	Image struct {
		Name       string
		Entrypoint []string
	}
	Services  string
	Variables map[string]string
	Script    []string
	Artifacts struct {
		Reports struct{ Dotenv string }
	}
}

// readComponent reads the component's two documents: its spec's inputs in
// order, and its jobs.
func readComponent(t *testing.T) ([]string, map[string]componentInput, map[string]componentJob) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", ComponentFile))
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var header struct {
		Spec struct {
			Description string
			Inputs      yaml.Node
		}
	}
	var jobs map[string]componentJob
	if err := dec.Decode(&header); err != nil {
		t.Fatal(err)
	}
	if err := dec.Decode(&jobs); err != nil {
		t.Fatal(err)
	}
	if err := dec.Decode(new(any)); !errors.Is(err, io.EOF) {
		t.Fatalf("a third document: %v", err)
	}
	if header.Spec.Description == "" {
		t.Error("the spec has no description, which the CI/CD catalog shows")
	}
	n := header.Spec.Inputs
	var names []string
	inputs := map[string]componentInput{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		var in componentInput
		if err := n.Content[i+1].Decode(&in); err != nil {
			t.Fatalf("input %s: %v", n.Content[i].Value, err)
		}
		names = append(names, n.Content[i].Value)
		inputs[n.Content[i].Value] = in
	}
	return names, inputs, jobs
}

// The component's inputs are the job's, then the engine's options in
// their order, each described by the option's usage (a GitLab note may
// follow), typed by its kind, with the engine's default but where
// ComponentDefaults says otherwise. Every input has a default: GitLab
// requires an input that has none.
func TestComponentInputs(t *testing.T) {
	t.Parallel()
	names, inputs, _ := readComponent(t)
	if want := append(slices.Clone(ComponentJobInputs), engine.OptionNames()...); !slices.Equal(names, want) {
		t.Fatalf("inputs:\n%q\nwant:\n%q", names, want)
	}
	types := map[engine.Kind]string{engine.String: "", engine.Map: "", engine.List: "array", engine.Bool: "boolean", engine.Int: "number"}
	for _, o := range engine.Options {
		in := inputs[o.Name]
		if !strings.HasPrefix(in.Description, o.Usage) {
			t.Errorf("%s: description %q does not start with the option's usage %q", o.Name, in.Description, o.Usage)
		}
		if in.Type != types[o.Kind] {
			t.Errorf("%s: type %q, want %q", o.Name, in.Type, types[o.Kind])
		}
		if in.Default.Kind == 0 {
			t.Errorf("%s: no default, so GitLab would require it", o.Name)
			continue
		}
		// The default, as the job's variable carries it.
		text := in.Default.Value
		if in.Default.Kind == yaml.SequenceNode {
			if len(in.Default.Content) != 0 {
				t.Errorf("%s: a list's default is []", o.Name)
			}
			text = "[]"
		}
		c, want := engine.NewConfig(), engine.NewConfig()
		if d, ok := ComponentDefaults[o.Name]; ok {
			if err := want.SetText(o.Name, d); err != nil {
				t.Fatal(err)
			}
		}
		if err := c.SetText(o.Name, text); err != nil {
			t.Errorf("%s: default %q: %v", o.Name, text, err)
			continue
		}
		if !reflect.DeepEqual(c, want) {
			t.Errorf("%s: default %q differs from the engine's (or ComponentDefaults')", o.Name, text)
		}
	}
	for _, name := range ComponentJobInputs {
		if inputs[name].Description == "" || inputs[name].Default.Kind == 0 {
			t.Errorf("%s: needs a description and a default", name)
		}
	}
}

// The job: each option's input in its DOCKER_ECR_CACHE_ variable (lists,
// numbers and booleans in block scalars, interpolated as text), the image
// with no entrypoint, the gitlab command and the dotenv report.
func TestComponentJob(t *testing.T) {
	t.Parallel()
	_, _, jobs := readComponent(t)
	job, ok := jobs["$[[ inputs.job-name ]]"]
	if len(jobs) != 1 || !ok {
		t.Fatalf("jobs %v, want one named by job-name", jobs)
	}
	for _, o := range engine.Options {
		name := "DOCKER_ECR_CACHE_" + engine.EnvName(o.Name)
		want := fmt.Sprintf("$[[ inputs.%s ]]", o.Name)
		if o.Kind != engine.String && o.Kind != engine.Map {
			want += "\n"
		}
		if got := job.Variables[name]; got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
	if job.Stage != "$[[ inputs.stage ]]" || job.Image.Name != "$[[ inputs.image ]]" || !slices.Equal(job.Image.Entrypoint, []string{""}) ||
		job.Services != "$[[ inputs.services ]]" || job.Artifacts.Reports.Dotenv != DefaultReport {
		t.Errorf("job %+v", job)
	}
	if last := job.Script[len(job.Script)-1]; last != "/docker-ecr-cache gitlab --output-file "+DefaultReport {
		t.Errorf("script ends with %q", last)
	}
}
