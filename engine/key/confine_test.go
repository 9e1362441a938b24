package key

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker-ecr-cache/docker-ecr-cache/internal/testenv"
)

// checkoutWithOutside makes base/checkout from keyTree and base/outside
// holding secret.txt, and returns both directories.
func checkoutWithOutside(t *testing.T) (checkout, outside string) {
	t.Helper()
	base := t.TempDir()
	checkout, outside = filepath.Join(base, "checkout"), filepath.Join(base, "outside")
	for name, content := range keyTree() {
		testenv.WriteFile(t, checkout, name, content)
	}
	testenv.WriteFile(t, outside, "secret.txt", "outside the checkout")
	testenv.WriteFile(t, outside, "etc/hostname", "outside host")
	return checkout, outside
}

func symlink(t *testing.T, target, name string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, name); err != nil {
		t.Skipf("symlinks: %v", err)
	}
}

// keyWithin is Compute, failing the test if it takes longer than d
// (the computation is left running).
func keyWithin(t *testing.T, ctx context.Context, s Spec, d time.Duration) (Key, error) {
	t.Helper()
	type result struct {
		k   Key
		err error
	}
	done := make(chan result, 1)
	go func() {
		k, err := Compute(ctx, s, nil)
		done <- result{k, err}
	}()
	select {
	case r := <-done:
		return r.k, r.err
	case <-time.After(d):
		t.Fatalf("Compute with cache-on %q still running after %v", s.CacheOn, d)
		return Key{}, nil
	}
}

// TestCacheOnSymlinksOutside: a symlink that leads out of the checkout,
// whether the pattern names it or a wildcard matches it, is a config error
// naming the link; nothing outside is hashed.
func TestCacheOnSymlinksOutside(t *testing.T) {
	t.Parallel()
	checkout, outside := checkoutWithOutside(t)
	symlink(t, outside, filepath.Join(checkout, "sub/root"))
	symlink(t, "../../outside/etc", filepath.Join(checkout, "sub/rel"))
	symlink(t, filepath.Join(outside, "secret.txt"), filepath.Join(checkout, "link/host.txt"))
	symlink(t, "../../outside/secret.txt", filepath.Join(checkout, "rel/host.txt"))
	symlink(t, "/dev/zero", filepath.Join(checkout, "dev/zero"))
	tests := []struct{ pattern, entry string }{
		{"sub/root/etc/host*", "sub/root"},
		{"sub/root/etc/hostname", "sub/root"},
		{"sub/root/*.txt", "sub/root"},
		{"sub/root/**", "sub/root"},
		{"sub/rel/host*", "sub/rel"},
		{"sub/*", "sub/r"}, // sub/rel or sub/root, whichever is hashed first
		{"link/host.txt", "link/host.txt"},
		{"link/*.txt", "link/host.txt"},
		{"rel/host.txt", "rel/host.txt"},
		{"rel/host.txt#.", "rel/host.txt"},
		{"**/host.txt", "host.txt"},
		{"dev/zero", "dev/zero"},
		{"**", ""}, // whichever link is hashed first
	}
	for _, tt := range tests {
		t.Run(tt.pattern, func(t *testing.T) {
			t.Parallel()
			c := keySpec(checkout)
			c.CacheOn = []string{tt.pattern}
			k, err := keyWithin(t, t.Context(), c, 20*time.Second)
			if err == nil {
				t.Fatalf("no error; inputs %v", k.Inputs)
			}
			if !isConfigError(err) {
				t.Errorf("error %v is not a ConfigError", err)
			}
			for _, want := range []string{"cache-on", tt.entry, "outside the checkout"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}

	// The case: sub/root -> / must not hash /etc/hostname.
	if _, err := os.Stat("/etc/hostname"); err == nil {
		symlink(t, "/", filepath.Join(checkout, "slash/root"))
		c := keySpec(checkout)
		c.CacheOn = []string{"slash/root/etc/host*"}
		if k, err := keyWithin(t, t.Context(), c, 20*time.Second); err == nil || !strings.Contains(err.Error(), "slash/root") {
			t.Errorf("cache-on slash/root/etc/host*: error %v, inputs %v; want an error naming slash/root", err, k.Inputs)
		}
	}
}

// TestCacheOnSymlinksInside: links that stay in the checkout are followed,
// and hash as their target.
func TestCacheOnSymlinksInside(t *testing.T) {
	t.Parallel()
	checkout, _ := checkoutWithOutside(t)
	symlink(t, "packages/a/package.json", filepath.Join(checkout, "inside.json"))
	symlink(t, "..", filepath.Join(checkout, "sub/up"))
	symlink(t, "../packages", filepath.Join(checkout, "sub/pkgs"))
	c := keySpec(checkout)
	c.CacheOn = []string{"inside.json", "sub/up/yarn.lock", "sub/pkgs/*/package.json", "inside.json#.name"}
	k := mustKey(t, c)
	want := map[string]string{
		"file inside.json":             digest([]byte(keyTree()["packages/a/package.json"])),
		"file sub/up/yarn.lock":        digest([]byte(keyTree()["yarn.lock"])),
		"file sub/pkgs/a/package.json": digest([]byte(keyTree()["packages/a/package.json"])),
		"file sub/pkgs/b/package.json": digest([]byte(keyTree()["packages/b/package.json"])),
		"json inside.json#.name":       digest([]byte(`3:"a"`)),
	}
	got := map[string]string{}
	for _, in := range k.Inputs {
		if strings.HasPrefix(in.Name, "file ") || strings.HasPrefix(in.Name, "json ") {
			got[in.Name] = in.Digest
		}
	}
	if len(got) != len(want) {
		t.Errorf("inputs %v, want %v", got, want)
	}
	for name, d := range want {
		if got[name] != d {
			t.Errorf("%s = %s, want %s", name, got[name], d)
		}
	}
}

func mkfifo(t *testing.T, name string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(name, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
}

// TestCacheOnIrregularFiles: a FIFO, a device or a link to a directory
// that a wildcard matches is left out of the key; named exactly, it is an
// error naming it. Nothing blocks.
func TestCacheOnIrregularFiles(t *testing.T) {
	t.Parallel()
	checkout, _ := checkoutWithOutside(t)
	c := keySpec(checkout)
	c.CacheOn = []string{"**"}
	before := mustKey(t, c)

	mkfifo(t, filepath.Join(checkout, "pipe/fifo.json"))
	symlink(t, "pipe/fifo.json", filepath.Join(checkout, "fifo-link.json"))
	symlink(t, "packages", filepath.Join(checkout, "dirlink"))
	device := syscall.Mknod(filepath.Join(checkout, "zero"), syscall.S_IFCHR|0o666, 1<<8|5) == nil

	t.Run("wildcards skip them", func(t *testing.T) {
		t.Parallel()
		for _, pattern := range []string{"**", "{pipe/*,yarn.lock}", "*"} {
			c := keySpec(checkout)
			c.CacheOn = []string{"**", pattern}
			k, err := keyWithin(t, t.Context(), c, 20*time.Second)
			if err != nil {
				t.Fatalf("cache-on **, %s: %v", pattern, err)
			}
			if k.Tag != before.Tag {
				t.Errorf("cache-on **, %s: key %s, want %s as without the FIFO, device and link", pattern, k.Tag, before.Tag)
			}
		}
	})
	t.Run("a glob matching only them matches nothing", func(t *testing.T) {
		t.Parallel()
		c := keySpec(checkout)
		c.CacheOn = []string{"pipe/*.json"}
		_, err := keyWithin(t, t.Context(), c, 20*time.Second)
		if err == nil || !strings.Contains(err.Error(), "matches no file") {
			t.Errorf("error = %v, want matches no file", err)
		}
	})
	named := []string{"pipe/fifo.json", "fifo-link.json", "pipe/fifo.json#.x"}
	if device {
		named = append(named, "zero")
	}
	for _, pattern := range named {
		t.Run(pattern, func(t *testing.T) {
			t.Parallel()
			c := keySpec(checkout)
			c.CacheOn = []string{pattern}
			_, err := keyWithin(t, t.Context(), c, 20*time.Second)
			if err == nil || !isConfigError(err) {
				t.Fatalf("error = %v, want a ConfigError", err)
			}
			entry, _, _ := strings.Cut(pattern, "#")
			for _, want := range []string{"cache-on", entry, "not a regular file"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
}

// TestDockerfileInCheckout: the Dockerfile is read through the checkout:
// not above it, not through a link out of it, and not from a FIFO.
func TestDockerfileInCheckout(t *testing.T) {
	t.Parallel()
	checkout, outside := checkoutWithOutside(t)
	testenv.WriteFile(t, outside, "Dockerfile", "FROM outside\n")
	symlink(t, filepath.Join(outside, "Dockerfile"), filepath.Join(checkout, "out/Dockerfile"))
	symlink(t, outside, filepath.Join(checkout, "outdir"))
	symlink(t, "../Dockerfile", filepath.Join(checkout, "in/Dockerfile"))
	mkfifo(t, filepath.Join(checkout, "fifo/Dockerfile"))
	tests := []struct{ dockerfile, want string }{
		{"../outside/Dockerfile", "outside the checkout"},
		{filepath.Join(outside, "Dockerfile"), "outside the checkout"},
		{"../../../../../../../../etc/passwd", "outside the checkout"},
		{"out/Dockerfile", "outside the checkout"},
		{"outdir/Dockerfile", "outside the checkout"},
		{"fifo/Dockerfile", "not a regular file"},
		{"packages", "not a regular file"},
	}
	for _, tt := range tests {
		t.Run(tt.dockerfile, func(t *testing.T) {
			t.Parallel()
			c := keySpec(checkout)
			c.Dockerfile = tt.dockerfile
			_, err := keyWithin(t, t.Context(), c, 20*time.Second)
			if err == nil || !isConfigError(err) {
				t.Fatalf("error = %v, want a ConfigError", err)
			}
			for _, want := range []string{"dockerfile", tt.want} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
	for _, dockerfile := range []string{"in/Dockerfile", filepath.Join(checkout, "Dockerfile")} {
		c := keySpec(checkout)
		want := mustKey(t, c)
		c.Dockerfile = dockerfile
		if got := mustKey(t, c); got.Tag != want.Tag {
			t.Errorf("dockerfile %s: key %s, want %s as for Dockerfile", dockerfile, got.Tag, want.Tag)
		}
	}
}

// TestInCheckout checks the paths of dockerfile and context at Validate.
func TestInCheckout(t *testing.T) {
	t.Parallel()
	checkout, outside := checkoutWithOutside(t)
	symlink(t, outside, filepath.Join(checkout, "sub/root"))
	symlink(t, "..", filepath.Join(checkout, "sub/up"))
	symlink(t, "/", filepath.Join(checkout, "slash"))
	inside := []string{"Dockerfile", ".", "", "packages", "sub/up/Dockerfile", "missing/Dockerfile", checkout,
		filepath.Join(checkout, "packages/a"), "a/../Dockerfile"}
	for _, p := range inside {
		if err := InCheckout(checkout, p); err != nil {
			t.Errorf("InCheckout(%q) = %v, want nil", p, err)
		}
	}
	outsidePaths := map[string]string{
		"..":                                 "outside the checkout",
		"../outside":                         "outside the checkout",
		"../../../../../../../etc/passwd":    "outside the checkout",
		"/etc/passwd":                        "outside the checkout",
		filepath.Join(outside, "secret.txt"): "outside the checkout",
		"sub/root":                           "is a symlink to",
		"sub/root/secret.txt":                "sub/root",
		"slash/etc":                          "slash",
	}
	for p, want := range outsidePaths {
		err := InCheckout(checkout, p)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("InCheckout(%q) = %v, want an error containing %q", p, err, want)
		}
	}

}

// TestComputeKeyCancelled: the key stops when its context is cancelled,
// in the walk and in the middle of a huge file.
func TestComputeKeyCancelled(t *testing.T) {
	t.Parallel()
	files := keyTree()
	for i := range 1500 {
		files[filepath.Join("many", string(rune('a'+i%26)), string(rune('a'+i/26%26)), "f"+string(rune('a'+i/676))+".txt")] = "x"
	}
	checkout := testenv.Tree(t, files)
	huge := filepath.Join(checkout, "huge.bin")
	f, err := os.Create(huge)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(1 << 40); err != nil { // sparse: reads as zeros, for hours
		t.Skipf("sparse file: %v", err)
	}
	f.Close()

	for _, cacheOn := range [][]string{{"**/*.txt", "**/package.json"}, {"huge.bin"}, {"**"}} {
		c := keySpec(checkout)
		c.CacheOn = cacheOn

		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := keyWithin(t, ctx, c, 10*time.Second); !errors.Is(err, context.Canceled) {
			t.Errorf("cache-on %q, cancelled before: error %v, want context.Canceled", cacheOn, err)
		}

		ctx, cancel = context.WithCancel(t.Context())
		time.AfterFunc(5*time.Millisecond, cancel)
		start := time.Now()
		k, err := keyWithin(t, ctx, c, 20*time.Second)
		if err == nil && time.Since(start) > time.Second {
			t.Errorf("cache-on %q: finished after %v despite the cancel at 5ms: inputs %d", cacheOn, time.Since(start), len(k.Inputs))
		}
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("cache-on %q, cancelled: error %v, want context.Canceled", cacheOn, err)
		}
		t.Logf("cache-on %q: %v after %v", cacheOn, err, time.Since(start))
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("cache-on %q: returned %v after the cancel, want within 2s", cacheOn, d)
		}
	}
}
