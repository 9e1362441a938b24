package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/bmatcuk/doublestar/v4"
	"github.com/itchyny/gojq"
)

// KeyScheme is the first input of every key: a change of scheme never
// collides with tags made by another.
const KeyScheme = "docker-ecr-cache/key/v1"

// KeyLength is the number of hex digits of the key used as the image tag.
const KeyLength = 40

// Input is one thing that went into the key, with the digest of its value.
type Input struct {
	Name   string `json:"name"`
	Digest string `json:"digest"`
}

// Key is the cache key and what went into it.
type Key struct {
	Tag    string  `json:"key"`
	Inputs []Input `json:"inputs"`
}

// ComputeKey computes the cache key of c. It needs no daemon and no registry.
func ComputeKey(c *Config) (Key, error) {
	var inputs []Input
	add := func(name string, value []byte) {
		inputs = append(inputs, Input{Name: name, Digest: digest(value)})
	}

	dockerfile, err := c.DockerfileContent()
	if err != nil {
		return Key{}, err
	}
	add("dockerfile", dockerfile)
	add("target", []byte(c.Target))
	flags, err := ParseBuildFlags(c.AdditionalBuildArgs)
	if err != nil {
		return Key{}, err
	}
	platform, err := c.BuildPlatform(flags)
	if err != nil {
		return Key{}, err
	}
	add("platform", []byte(platform))
	args := c.ResolvedBuildArgs(flags)
	for _, a := range args {
		name, _, _ := strings.Cut(a, "=")
		add("build-arg "+name, []byte(a))
	}
	add("additional-build-args", []byte(flags.canonical()))

	files, err := c.cacheOnInputs()
	if err != nil {
		return Key{}, err
	}
	inputs = append(inputs, files...)

	h := sha256.New()
	frame(h, KeyScheme)
	for _, in := range inputs {
		frame(h, in.Name)
		frame(h, in.Digest)
	}
	return Key{Tag: hex.EncodeToString(h.Sum(nil))[:KeyLength], Inputs: inputs}, nil
}

// frame writes s length-prefixed, so that no two input lists hash alike.
func frame(w io.Writer, s string) {
	fmt.Fprintf(w, "%d:%s;", len(s), s)
}

func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// DockerfileContent is the Dockerfile's bytes: dockerfile-inline, or the file.
func (c *Config) DockerfileContent() ([]byte, error) {
	if c.DockerfileInline != "" {
		return []byte(c.DockerfileInline), nil
	}
	b, err := os.ReadFile(c.DockerfilePath())
	if err != nil {
		if os.IsNotExist(err) {
			return nil, Configf("dockerfile %q does not exist: set dockerfile to the path of your Dockerfile, relative to %s, or use dockerfile-inline", c.dockerfileOption(), c.workDirName())
		}
		return nil, fmt.Errorf("reading dockerfile: %w", err)
	}
	return b, nil
}

func (c *Config) dockerfileOption() string {
	if c.Dockerfile == "" {
		return "Dockerfile"
	}
	return c.Dockerfile
}

// DockerfilePath is the Dockerfile's path on disk (unused with dockerfile-inline).
func (c *Config) DockerfilePath() string {
	return c.Path(c.dockerfileOption())
}

// ContextDir is the build context: context, else the Dockerfile's directory,
// else the working directory for dockerfile-inline.
func (c *Config) ContextDir() string {
	switch {
	case c.Context != "":
		return c.Path(c.Context)
	case c.DockerfileInline != "":
		return c.Path(".")
	default:
		return filepath.Dir(c.DockerfilePath())
	}
}

func (c *Config) workDirName() string {
	if c.WorkDir == "" {
		return "the current directory"
	}
	return c.WorkDir
}

// BuildPlatform is the platform the image is built for.
func (c *Config) BuildPlatform(flags BuildFlags) (string, error) {
	switch {
	case c.Platform != "" && flags.Platform != "" && c.Platform != flags.Platform:
		return "", Configf("platform is %q but additional-build-args says --platform %s: keep one", c.Platform, flags.Platform)
	case c.Platform != "":
		return c.Platform, nil
	case flags.Platform != "":
		return flags.Platform, nil
	}
	return DefaultPlatform(), nil
}

// DefaultPlatform is the platform of this machine, as docker names it.
func DefaultPlatform() string {
	p := "linux/" + runtime.GOARCH
	if runtime.GOARCH == "arm" {
		p += "/v7"
	}
	return p
}

// ResolvedBuildArgs is build-args then additional-build-args' --build-arg,
// each as NAME=value with bare names taken from the environment.
func (c *Config) ResolvedBuildArgs(flags BuildFlags) []string {
	var out []string
	for _, a := range append(append([]string(nil), c.BuildArgs...), flags.BuildArgs...) {
		if !strings.Contains(a, "=") {
			a += "=" + c.getenv(a)
		}
		out = append(out, a)
	}
	return out
}

// cacheOnInputs expands the cache-on patterns into one input per file (or
// JSON selection), sorted by path and de-duplicated.
func (c *Config) cacheOnInputs() ([]Input, error) {
	root := c.WorkDir
	if root == "" {
		root = "."
	}
	type job struct{ path, selector string }
	seen := map[string]bool{}
	var jobs []job
	for _, pattern := range c.CacheOn {
		pattern = strings.TrimSpace(pattern)
		glob, selector, _ := strings.Cut(pattern, "#")
		matches, err := matchFiles(root, glob)
		if err != nil {
			return nil, Configf("cache-on %q: %v", pattern, err)
		}
		if len(matches) == 0 && !c.AllowEmptyCacheOn {
			return nil, Configf("cache-on %q matches no file in %s: fix the path or glob, or set allow-empty-cache-on: true", pattern, root)
		}
		for _, m := range matches {
			id := m + "#" + selector
			if !seen[id] {
				seen[id] = true
				jobs = append(jobs, job{m, selector})
			}
		}
	}
	sort.Slice(jobs, func(i, j int) bool {
		if jobs[i].path != jobs[j].path {
			return jobs[i].path < jobs[j].path
		}
		return jobs[i].selector < jobs[j].selector
	})

	inputs := make([]Input, len(jobs))
	errs := make([]error, len(jobs))
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < runtime.NumCPU()*2; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				j := jobs[i]
				if j.selector == "" {
					inputs[i].Name = "file " + j.path
					inputs[i].Digest, errs[i] = fileDigest(filepath.Join(root, filepath.FromSlash(j.path)))
				} else {
					inputs[i].Name = "json " + j.path + "#" + j.selector
					inputs[i].Digest, errs[i] = jsonDigest(filepath.Join(root, filepath.FromSlash(j.path)), j.selector)
				}
			}
		}()
	}
	for i := range jobs {
		next <- i
	}
	close(next)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return nil, Configf("cache-on %s: %v", jobs[i].path, err)
		}
	}
	return inputs, nil
}

// matchFiles returns the regular files under root matching glob, as
// slash-separated relative paths. Like bash's globstar without dotglob, a
// wildcard does not match a name that starts with a dot.
func matchFiles(root, glob string) ([]string, error) {
	glob = filepath.ToSlash(glob)
	if path.IsAbs(glob) {
		rel, err := filepath.Rel(root, glob)
		if err != nil || strings.HasPrefix(rel, "..") {
			return nil, fmt.Errorf("is outside the checkout %s", root)
		}
		glob = filepath.ToSlash(rel)
	}
	glob = path.Clean(glob)
	if strings.HasPrefix(glob, "../") {
		return nil, fmt.Errorf("is outside the checkout %s", root)
	}
	if !doublestar.ValidatePattern(glob) {
		return nil, fmt.Errorf("is not a valid glob")
	}
	var out []string
	err := doublestar.GlobWalk(os.DirFS(root), glob, func(p string, d os.DirEntry) error {
		if hiddenByWildcard(glob, p) {
			return nil
		}
		out = append(out, p)
		return nil
	}, doublestar.WithFilesOnly(), doublestar.WithNoFollow())
	return out, err
}

// hiddenByWildcard reports whether a wildcard in glob matched a dot-name in p.
func hiddenByWildcard(glob, p string) bool {
	if !strings.Contains(p, "/.") && !strings.HasPrefix(p, ".") {
		return false
	}
	for _, part := range strings.Split(glob, "/") {
		if strings.HasPrefix(part, ".") {
			return false
		}
	}
	return true
}

func fileDigest(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// jsonDigest hashes the canonical JSON of what the jq selector picks.
func jsonDigest(p, selector string) (string, error) {
	q, err := gojq.Parse(selector)
	if err != nil {
		return "", fmt.Errorf("selector %q: %v", selector, err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return "", err
	}
	var doc any
	if err := json.Unmarshal(b, &doc); err != nil {
		return "", fmt.Errorf("is not JSON: %v", err)
	}
	var canon []byte
	iter := q.Run(doc)
	for {
		v, ok := iter.Next()
		if !ok {
			break
		}
		if err, ok := v.(error); ok {
			return "", fmt.Errorf("selector %q: %v", selector, err)
		}
		out, err := json.Marshal(v)
		if err != nil {
			return "", err
		}
		canon = strconv.AppendInt(canon, int64(len(out)), 10)
		canon = append(canon, ':')
		canon = append(canon, out...)
	}
	return digest(canon), nil
}
