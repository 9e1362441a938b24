package main

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var updateDeps = flag.Bool("update-deps", false, "rewrite testdata/deps.txt from the binary's dependencies")

// depsFile lists the packages linked into the binary, the standard
// library's aside, for linux/amd64. Regenerate it with:
//
//	go test ./cmd/docker-ecr-cache -run TestDependencyList -update-deps
const depsFile = "testdata/deps.txt"

// TestDependencyList compares the binary's packages with depsFile, so
// that each new dependency is a deliberate change: every package linked
// runs its initialisers at each start, and is code the binary trusts.
func TestDependencyList(t *testing.T) {
	t.Parallel()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	cmd := exec.Command(goTool, "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".")
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=amd64", "CGO_ENABLED=0")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	got := strings.Fields(string(out))
	slices.Sort(got)
	if *updateDeps {
		if err := os.WriteFile(depsFile, []byte(strings.Join(got, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	b, err := os.ReadFile(depsFile)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Fields(string(b))
	var added, removed []string
	for _, p := range got {
		if _, found := slices.BinarySearch(want, p); !found {
			added = append(added, p)
		}
	}
	for _, p := range want {
		if _, found := slices.BinarySearch(got, p); !found {
			removed = append(removed, p)
		}
	}
	if len(added)+len(removed) > 0 {
		t.Errorf("the binary's packages changed (%s):\n  new: %s\n  gone: %s\n"+
			"If that is meant, check what the new ones cost at start (bench/startup.sh), then run:\n"+
			"  go test ./cmd/docker-ecr-cache -run TestDependencyList -update-deps",
			filepath.Join("cmd/docker-ecr-cache", depsFile), strings.Join(added, " "), strings.Join(removed, " "))
	}
}
