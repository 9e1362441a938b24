package key

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/itchyny/gojq"
)

// fuzzCheckout makes a checkout full of traps next to a directory outside
// it: symlinks out of it (absolute, relative, to /dev/zero), links inside
// it, a loop, a FIFO, dot-names. It returns the checkout and the content
// of the secret file outside.
func fuzzCheckout(f *testing.F) (string, string) {
	base := f.TempDir()
	checkout, outside := filepath.Join(base, "checkout"), filepath.Join(base, "outside")
	const secret = "secret outside the checkout"
	files := map[string]string{
		"Dockerfile":              "FROM scratch\n",
		"package.json":            `{"name":"root","deps":{"a":"1"}}`,
		"yarn.lock":               "lock\n",
		"packages/a/package.json": `{"name":"a"}`,
		"packages/b/src/x.ts":     "x",
		".git/HEAD":               "ref",
		"sub/.hidden/h.json":      "{}",
	}
	for name, content := range files {
		p := filepath.Join(checkout, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			f.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			f.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(outside, "etc"), 0o755); err != nil {
		f.Fatal(err)
	}
	for _, name := range []string{"secret.txt", "package.json", "etc/hostname"} {
		if err := os.WriteFile(filepath.Join(outside, name), []byte(secret), 0o644); err != nil {
			f.Fatal(err)
		}
	}
	links := map[string]string{
		"sub/root":         outside,
		"sub/slash":        "/",
		"sub/rel":          "../../outside",
		"host.txt":         filepath.Join(outside, "secret.txt"),
		"packages/c":       "../../outside",
		"zero":             "/dev/zero",
		"inside.json":      "packages/a/package.json",
		"packages/up":      "..",
		"loop":             "loop",
		"packages/b/dangl": "missing",
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(checkout, filepath.FromSlash(name))); err != nil {
			f.Skipf("symlinks: %v", err)
		}
	}
	if err := syscall.Mkfifo(filepath.Join(checkout, "packages/fifo.json"), 0o644); err != nil {
		f.Skipf("mkfifo: %v", err)
	}
	return checkout, secret
}

// FuzzCacheOnGlob: whatever the cache-on glob, the key hashes nothing from
// outside the checkout, does not panic, and finishes within seconds.
func FuzzCacheOnGlob(f *testing.F) {
	checkout, secret := fuzzCheckout(f)
	for _, seed := range []string{"**", "**/package.json", "sub/root/etc/host*", "*/*/*", "{sub/rel,x}/*", "packages/**"} {
		f.Add(seed)
	}
	secretDigest := digest([]byte(secret))
	f.Fuzz(func(t *testing.T, glob string) {
		if strings.Contains(glob, "#") {
			t.Skip("selectors have FuzzSelector")
		}
		c := Spec{}
		c.Dir = checkout
		c.DockerfileInline = "FROM scratch\n"
		c.Platform = "linux/amd64"
		c.CacheOn = []string{glob}
		c.AllowEmptyCacheOn = true
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		start := time.Now()
		k, err := Compute(ctx, c, nil)
		if d := time.Since(start); d > 6*time.Second || errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("cache-on %q took %v: %v", glob, d, err)
		}
		if err != nil {
			if !isConfigError(err) {
				t.Fatalf("cache-on %q: %v is not a ConfigError", glob, err)
			}
			return
		}
		for _, in := range k.Inputs {
			if in.Digest == secretDigest {
				t.Fatalf("cache-on %q hashed the secret outside the checkout as %s", glob, in.Name)
			}
			name, ok := strings.CutPrefix(in.Name, "file ")
			if !ok {
				continue
			}
			if path.IsAbs(name) || name != path.Clean(name) || name == ".." || strings.HasPrefix(name, "../") {
				t.Fatalf("cache-on %q: input path %q is not clean and relative", glob, name)
			}
			real, err := filepath.EvalSymlinks(filepath.Join(checkout, filepath.FromSlash(name)))
			if err != nil {
				t.Fatalf("cache-on %q: input %s: %v", glob, name, err)
			}
			if rel, err := filepath.Rel(checkout, real); err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
				t.Fatalf("cache-on %q: input %s is %s, outside the checkout", glob, name, real)
			}
			if fi, err := os.Stat(real); err != nil || !fi.Mode().IsRegular() {
				t.Fatalf("cache-on %q: input %s is no regular file", glob, name)
			}
		}
	})
}

// FuzzSelector: whatever the selector and the JSON, selectDigest does not
// panic and stops within its deadline; the values it hashes are written as
// json.Marshal writes them, so keys stay what they were (FuzzDecodeJSON
// compares the values with json.Unmarshal's).
func FuzzSelector(f *testing.F) {
	for _, seed := range [][2]string{
		{".deps", `{"deps":{"x":"1.0","y":"2.0"},"version":"1.2.3"}`},
		{"repeat(.)", `{"a":1}`},
		{"$ENV", `{}`},
		{".[] | tostring", `[1, 1.5, 1e300, "<&>", "\u2028", null, true, {"b":1,"a":[]}]`},
		{"reduce range(30) as $i (.; [., .])", `[0]`},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, selector, doc string) {
		if len(doc) > 64<<10 {
			t.Skip("documents of at most 64 KiB")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		start := time.Now()
		d, err := selectDigest(ctx, []byte(doc), selector)
		if took := time.Since(start); took > 4*time.Second {
			t.Fatalf("selector %q ran %v, past its 2s deadline", selector, took)
		}
		if err == nil && (!strings.HasPrefix(d, "sha256:") || len(d) != len("sha256:")+64) {
			t.Fatalf("selector %q: digest %q", selector, d)
		}
		if err != nil {
			return
		}
		// The canonical writer agrees with json.Marshal on what was hashed.
		q, err := gojq.Parse(selector)
		if err != nil {
			t.Fatalf("selector %q hashed but does not parse: %v", selector, err)
		}
		v, err := decodeJSON([]byte(doc), nil)
		if err != nil {
			t.Fatalf("document %q hashed but does not parse: %v", doc, err)
		}
		iter := q.RunWithContext(ctx, v)
		var enc canonical
		for range 100 {
			v, ok := iter.Next()
			if !ok {
				break
			}
			if _, ok := v.(error); ok {
				break
			}
			want, err := json.Marshal(v)
			enc.reset(1 << 20)
			if gotErr := enc.value(v); err == nil && gotErr == nil && string(enc.buf) != string(want) {
				t.Fatalf("selector %q: canonical %s, json.Marshal %s", selector, enc.buf, want)
			}
		}
	})
}

// FuzzDecodeJSON: decodeJSON accepts what json.Unmarshal accepts, but
// invalid UTF-8, lone surrogates and integers past a float64's range, and
// gives the same values, but integers past 2^53, which it keeps exact.
func FuzzDecodeJSON(f *testing.F) {
	for _, seed := range []string{
		`{"a":[1,2.5,-0,1e400,"x\u00e9\ud83d\ude00"],"b":{"c":null,"d":true}}`,
		`100000000000000000001`, `1` + strings.Repeat("0", 400), "\"\xff\"", `"\ud800"`, `[01]`, `{"a":1,"a":2}`, ` [ ] `, `{}x`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		got, err := decodeJSON(doc, nil)
		var want any
		werr := json.Unmarshal(doc, &want)
		switch {
		case err == nil && werr == nil:
			g, _ := json.Marshal(got)
			w, _ := json.Marshal(want)
			if string(g) != string(w) && !hasExactInteger(got) {
				t.Fatalf("%q: %s, json.Unmarshal %s", doc, g, w)
			}
		case err == nil:
			if !hasExactInteger(got) {
				t.Fatalf("%q: json.Unmarshal fails (%v), decodeJSON gives %v", doc, werr, got)
			}
		case werr == nil:
			msg := err.Error()
			if !strings.Contains(msg, "UTF-8") && !strings.Contains(msg, "surrogate") {
				t.Fatalf("%q: %v, where json.Unmarshal succeeds", doc, err)
			}
		}
	})
}

// hasExactInteger reports whether v holds an integer that json.Unmarshal
// would round: past 2^53.
func hasExactInteger(v any) bool {
	switch v := v.(type) {
	case int:
		return v > 1<<53 || v < -(1<<53)
	case json.Number:
		return true
	case []any:
		return slices.ContainsFunc(v, hasExactInteger)
	case map[string]any:
		for _, e := range v {
			if hasExactInteger(e) {
				return true
			}
		}
	}
	return false
}
