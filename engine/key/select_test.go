package key

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker-ecr-cache/docker-ecr-cache/internal/testenv"
)

// TestSelectorBounds: a selector whose output grows without end, or a JSON
// file too big to parse, fails fast with an error naming the selector or
// file; the selector cannot see the environment.
func TestSelectorBounds(t *testing.T) {
	t.Parallel()
	files := keyTree()
	files["p.json"] = `{"a":[1,2,3],"b":"x"}`
	checkout := testenv.Tree(t, files)
	big, err := os.Create(filepath.Join(checkout, "big.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := big.Truncate(maxJSONInput + 1); err != nil {
		t.Fatal(err)
	}
	big.Close()

	tests := []struct{ pattern, want string }{
		{"p.json#repeat(.)", `selector "repeat(.)"`},
		{"p.json#repeat(.)", "MiB"},
		{"p.json#range(1e12)", `selector "range(1e12)"`},
		{"p.json#[range(2e6)]", `selector "[range(2e6)]"`},
		{"p.json#reduce range(40) as $i (.; [., .])", "MiB"},
		{"big.json#.a", "big.json"},
		{"big.json#.a", "MiB"},
	}
	for _, tt := range tests {
		t.Run(tt.pattern, func(t *testing.T) {
			t.Parallel()
			c := keySpec(checkout)
			c.CacheOn = []string{tt.pattern}
			start := time.Now()
			_, err := keyWithin(t, t.Context(), c, 30*time.Second)
			if err == nil || !isConfigError(err) {
				t.Fatalf("error = %v, want a ConfigError", err)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "cache-on") {
				t.Errorf("error %q does not contain cache-on and %q", err, tt.want)
			}
			t.Logf("%v: %v", time.Since(start), err)
		})
	}

	t.Run("environment", func(t *testing.T) {
		t.Parallel()
		for _, sel := range []string{"$ENV.PATH", "env.PATH", `$ENV | .PATH // null`, "$ENV | length", "env | keys | length"} {
			c := keySpec(checkout)
			c.CacheOn = []string{"p.json#" + sel}
			_, err := Compute(t.Context(), c, nil)
			if !isConfigError(err) || !strings.Contains(err.Error(), "reads the environment") {
				t.Errorf("selector %s: %v, want a ConfigError refusing the environment", sel, err)
			}
		}
	})
}

// TestSelectorDeadline: a selector that runs long stops at its deadline,
// and the error names it.
func TestSelectorDeadline(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := selectDigest(ctx, []byte(`{}`), "last(range(1e12))")
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("returned after %v", d)
	}
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), `selector "last(range(1e12))"`) {
		t.Errorf("error = %v, want a deadline naming the selector", err)
	}
}

// TestSelectorHeap: a selector that builds a huge value in memory stops
// once the heap has grown past its bound, and the error names it.
func TestSelectorHeap(t *testing.T) {
	t.Parallel()
	start := time.Now()
	_, err := selectDigestWithin(t.Context(), []byte(`{}`), "[range(1e9)] | length", 64<<20)
	if d := time.Since(start); d > selectorTimeout/2 {
		t.Errorf("returned after %v", d)
	}
	if err == nil || !strings.Contains(err.Error(), `selector "[range(1e9)] | length" needs more than 64.0 MiB of memory`) {
		t.Errorf("error = %v, want the selector and its memory bound", err)
	}
}
