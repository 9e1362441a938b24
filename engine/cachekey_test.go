package engine

import (
	"slices"
	"testing"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine/key"
	"github.com/docker-ecr-cache/docker-ecr-cache/internal/testenv"
)

// cache-key is an input of its own: empty leaves the key as it was (the
// golden key pins that), any value changes it, and its strings are framed
// one by one, so that no two lists hash alike.
func TestCacheKeyInput(t *testing.T) {
	t.Parallel()
	dir := testenv.Tree(t, keyTree())
	keyOf := func(parts ...string) key.Key {
		c := keyConfig(dir, defaultEnv())
		c.CacheKey = parts
		return mustKey(t, &c)
	}
	plain := keyOf()
	if slices.ContainsFunc(plain.Inputs, func(in key.Input) bool { return in.Name == "cache-key" }) {
		t.Errorf("no cache-key, yet an input: %v", plain.Inputs)
	}
	seen := map[string]string{plain.Tag: "none"}
	for name, parts := range map[string][]string{
		"v2": {"v2"}, "v3": {"v3"}, "a b": {"a", "b"}, "ab": {"ab"}, "b a": {"b", "a"}, "empty string": {""},
	} {
		k := keyOf(parts...)
		if other, ok := seen[k.Tag]; ok {
			t.Errorf("cache-key %s gives the key of %s: %s", name, other, k.Tag)
		}
		seen[k.Tag] = name
		if i := slices.IndexFunc(k.Inputs, func(in key.Input) bool { return in.Name == "cache-key" }); i < 0 {
			t.Errorf("cache-key %s: no cache-key input in %v", name, k.Inputs)
		}
		if again := keyOf(parts...); again.Tag != k.Tag {
			t.Errorf("cache-key %s: %s then %s", name, k.Tag, again.Tag)
		}
	}
}
