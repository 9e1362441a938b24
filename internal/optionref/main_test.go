package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/docker-ecr-cache/docker-ecr-cache/adapters/github"
	"github.com/docker-ecr-cache/docker-ecr-cache/adapters/gitlab"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
)

const root = "../.."

// entry is one option as a file lists it.
type entry struct{ name, def, desc string }

// surfaces are the files that list every option, and where: a YAML
// mapping of options (path), or docs/options.md's table (no path). A
// front end added later is one line.
var surfaces = []struct {
	file          string
	path          []string                   // YAML keys to the mapping of options
	note          func(engine.Option) string // what follows the usage there
	defaults      map[string]string          // defaults that differ from the engine's
	before, after []string                   // the front end's own entries around the options
}{
	{"docs/options.md", nil, nil, nil, nil, nil},
	{"plugin.yml", []string{"configuration", "properties"}, nil, nil, nil, nil},
	{"action.yml", []string{"inputs"}, actionNote, actionDefaults, nil, []string{github.TokenInput}},
	{gitlab.ComponentFile, []string{"spec", "inputs"}, componentNote, gitlab.ComponentDefaults, gitlab.ComponentJobInputs, nil},
}

// TestReferenceMatchesOptions: every file lists engine.Options, in order,
// each with its default and its usage as the description.
func TestReferenceMatchesOptions(t *testing.T) {
	t.Parallel()
	for _, s := range surfaces {
		b, err := os.ReadFile(filepath.Join(root, s.file))
		if err != nil {
			t.Fatal(err)
		}
		var got []entry
		if s.path == nil {
			got = markdownEntries(string(b))
		} else if got, err = yamlEntries(b, s.path); err != nil {
			t.Errorf("%s: %v", s.file, err)
			continue
		}
		var want []entry
		for _, name := range s.before {
			want = append(want, entry{name: name})
		}
		for _, o := range engine.Options {
			desc := o.Usage
			if s.note != nil {
				desc += s.note(o)
			}
			want = append(want, entry{o.Name, defaultIn(o, s.defaults), desc})
		}
		for _, name := range s.after {
			want = append(want, entry{name: name})
		}
		// The front end's own entries are compared by name only.
		for i := range got {
			if i < len(s.before) || i >= len(got)-len(s.after) {
				got[i].def, got[i].desc = "", ""
			}
		}
		for _, p := range compare(got, want) {
			t.Errorf("%s: %s (run go generate ./... to write it from engine/options.go)", s.file, p)
		}
	}
}

// compare lists how got differs from want.
func compare(got, want []entry) []string {
	var problems []string
	names := func(es []entry) string {
		var n []string
		for _, e := range es {
			n = append(n, e.name)
		}
		return strings.Join(n, " ")
	}
	if names(got) != names(want) {
		return []string{fmt.Sprintf("lists the options\n%s\nthe engine has\n%s", names(got), names(want))}
	}
	for i := range want {
		if got[i].def != want[i].def {
			problems = append(problems, fmt.Sprintf("%s: default %q, the engine's is %q", want[i].name, got[i].def, want[i].def))
		}
		if got[i].desc != want[i].desc {
			problems = append(problems, fmt.Sprintf("%s: description\n%q\nthe engine's usage gives\n%q", want[i].name, got[i].desc, want[i].desc))
		}
	}
	return problems
}

// markdownEntries reads the rows of docs/options.md's table.
func markdownEntries(md string) []entry {
	var out []entry
	for _, line := range strings.Split(md, "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := splitRow(line)
		if len(cells) != 4 {
			continue
		}
		out = append(out, entry{strings.Trim(cells[0], "`"), strings.Trim(cells[2], "`"), mdUnescape(cells[3])})
	}
	return out
}

// splitRow splits a table row at the | that are not escaped.
func splitRow(line string) []string {
	line = strings.TrimSuffix(strings.TrimPrefix(line, "|"), "|")
	var cells []string
	var cell strings.Builder
	for i := 0; i < len(line); i++ {
		switch {
		case line[i] == '\\' && i+1 < len(line):
			cell.WriteString(line[i : i+2])
			i++
		case line[i] == '|':
			cells = append(cells, strings.TrimSpace(cell.String()))
			cell.Reset()
		default:
			cell.WriteByte(line[i])
		}
	}
	return append(cells, strings.TrimSpace(cell.String()))
}

// yamlEntries reads the mapping at path, in the first YAML document that
// has it: each key, its default and its description.
func yamlEntries(b []byte, path []string) ([]entry, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	for {
		var doc yaml.Node
		if err := dec.Decode(&doc); err != nil {
			return nil, fmt.Errorf("no %s mapping: %v", strings.Join(path, "."), err)
		}
		n := &doc
		if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
			n = n.Content[0]
		}
		for _, key := range path {
			n = lookup(n, key)
		}
		if n == nil || n.Kind != yaml.MappingNode {
			continue
		}
		var out []entry
		for i := 0; i+1 < len(n.Content); i += 2 {
			e := entry{name: n.Content[i].Value}
			if d := lookup(n.Content[i+1], "default"); d != nil {
				e.def = d.Value
			}
			if d := lookup(n.Content[i+1], "description"); d != nil {
				e.desc = d.Value
			}
			out = append(out, e)
		}
		return out, nil
	}
}

func lookup(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// The files are as go generate writes them, byte for byte.
func TestGenerated(t *testing.T) {
	t.Parallel()
	for _, f := range files {
		old, err := os.ReadFile(filepath.Join(root, f.name))
		if err != nil {
			t.Fatal(err)
		}
		text, err := f.render(string(old))
		if err != nil {
			t.Fatalf("%s: %v", f.name, err)
		}
		if text != string(old) {
			t.Errorf("%s is not what go generate ./... writes from engine/options.go: run it", f.name)
		}
	}
}

// A description changed in one place only is found, wherever it is.
func TestDriftIsFound(t *testing.T) {
	t.Parallel()
	want := []entry{{"a", "1", "Alpha."}, {"b", "", "Beta."}}
	for name, got := range map[string][]entry{
		"description": {{"a", "1", "Alpha, changed."}, {"b", "", "Beta."}},
		"default":     {{"a", "2", "Alpha."}, {"b", "", "Beta."}},
		"order":       {{"b", "", "Beta."}, {"a", "1", "Alpha."}},
		"missing":     {{"a", "1", "Alpha."}},
	} {
		if len(compare(got, want)) == 0 {
			t.Errorf("%s: a change is not found", name)
		}
	}
	if p := compare(want, want); len(p) != 0 {
		t.Errorf("the same entries differ: %v", p)
	}
	md := markdown()
	if got := markdownEntries(md); len(got) != len(engine.Options) || got[7].desc != engine.Options[7].Usage {
		t.Errorf("docs/options.md's table does not read back: %+v", got)
	}
	stale := strings.Replace(md, mdEscape(engine.Options[0].Usage), "Another text.", 1)
	var opts []entry
	for _, o := range engine.Options {
		opts = append(opts, entry{o.Name, o.Default(), o.Usage})
	}
	if len(compare(markdownEntries(stale), opts)) != 1 {
		t.Error("a description changed in docs/options.md only is not found")
	}
	y := "a: 1\n---\nspec:\n  inputs:\n    x:\n      description: X.\n      default: 'v'\n"
	if got, err := yamlEntries([]byte(y), []string{"spec", "inputs"}); err != nil || len(got) != 1 || got[0] != (entry{"x", "v", "X."}) {
		t.Errorf("yamlEntries = %+v, %v", got, err)
	}
}
