package main

import (
	"os"
	"strings"
	"testing"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/internal/testenv"
)

// The README's option table names every option, in the engine's order.
func TestReadmeOptionTable(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(testenv.RepoRoot() + "/README.md")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, line := range strings.Split(string(b), "\n") {
		if name, ok := strings.CutPrefix(line, "| `"); ok && strings.Contains(line, "` | ") {
			name, _, _ = strings.Cut(name, "`")
			if _, err := engine.LookupOption(name); err == nil {
				names = append(names, name)
			}
		}
	}
	want := engine.OptionNames()
	if strings.Join(names[:min(len(names), len(want))], " ") != strings.Join(want, " ") {
		t.Errorf("README option table lists\n%v\nwant\n%v", names, want)
	}
}
