package key

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLeafPackage: the key imports nothing of the project, and outside the
// standard library only doublestar, gojq (with its time formatting) and
// x/sys.
func TestLeafPackage(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	const self = "github.com/docker-ecr-cache/docker-ecr-cache/engine/key"
	allowed := []string{"github.com/bmatcuk/doublestar/", "github.com/itchyny/gojq", "github.com/itchyny/timefmt-go", "golang.org/x/sys/"}
	for _, dep := range strings.Fields(string(out)) {
		if dep == self {
			continue
		}
		if strings.HasPrefix(dep, "github.com/docker-ecr-cache/") {
			t.Errorf("engine/key imports %s, a package of the project", dep)
			continue
		}
		ok := false
		for _, a := range allowed {
			ok = ok || strings.HasPrefix(dep, a)
		}
		if !ok {
			t.Errorf("engine/key imports %s: only the standard library, doublestar, gojq and x/sys are wanted", dep)
		}
	}
}
