package registry

import (
	"slices"
	"testing"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
)

// TestEveryProviderHasAConstructor keeps the factory map and the list
// Config.Validate checks registry-provider against the same.
func TestEveryProviderHasAConstructor(t *testing.T) {
	t.Parallel()
	var names []string
	for name := range providers {
		names = append(names, name)
	}
	slices.Sort(names)
	want := slices.Sorted(slices.Values(engine.Providers))
	if !slices.Equal(names, want) {
		t.Errorf("constructors for %q, want one for each of %q", names, want)
	}
}
