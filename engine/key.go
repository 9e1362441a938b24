package engine

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

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
func ComputeKey(ctx context.Context, c *Config) (Key, error) {
	flags, err := ParseBuildFlags(c.AdditionalBuildArgs)
	if err != nil {
		return Key{}, err
	}
	return computeKey(ctx, c, flags)
}

// computeKey is ComputeKey with additional-build-args already parsed.
func computeKey(ctx context.Context, c *Config, flags BuildFlags) (Key, error) {
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
// JSON selection), sorted by path and de-duplicated, then hashes the files.
func (c *Config) cacheOnInputs() ([]Input, error) {
	root := c.WorkDir
	if root == "" {
		root = "."
	}
	t := newTree(root)
	seen := map[string]bool{}
	var jobs []hashJob
	for _, pattern := range c.CacheOn {
		pattern = strings.TrimSpace(pattern)
		glob, selector, _ := strings.Cut(pattern, "#")
		matched := 0
		err := t.match(glob, func(p string) {
			matched++
			if id := p + "#" + selector; !seen[id] {
				seen[id] = true
				jobs = append(jobs, hashJob{path: p, selector: selector})
			}
		})
		if err != nil {
			return nil, Configf("cache-on %q: %v", pattern, err)
		}
		if matched == 0 && !c.AllowEmptyCacheOn {
			return nil, Configf("cache-on %q matches no file in %s: fix the path or glob, or set allow-empty-cache-on: true", pattern, root)
		}
	}
	slices.SortFunc(jobs, func(a, b hashJob) int {
		return cmp.Or(strings.Compare(a.path, b.path), strings.Compare(a.selector, b.selector))
	})
	hashAll(root, jobs)
	inputs := make([]Input, len(jobs))
	for i, j := range jobs {
		switch {
		case j.err != nil:
			return nil, Configf("cache-on %s: %v", j.path, j.err)
		case j.selector == "":
			inputs[i] = Input{Name: "file " + j.path, Digest: j.digest}
		default:
			inputs[i] = Input{Name: "json " + j.path + "#" + j.selector, Digest: j.digest}
		}
	}
	return inputs, nil
}

// A hashJob is a matched file, or a JSON selection in it, and its digest.
type hashJob struct {
	path, selector string
	digest         string
	err            error
}

// hashAll sets the digest (or error) of each job, reading the files under
// root with a bounded pool of workers, each through one reused buffer.
func hashAll(root string, jobs []hashJob) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.NumCPU()*2, len(jobs)) {
		wg.Go(func() {
			buf := make([]byte, 64<<10)
			for i := int(next.Add(1) - 1); i < len(jobs); i = int(next.Add(1) - 1) {
				j := &jobs[i]
				p := filepath.Join(root, filepath.FromSlash(j.path))
				if j.selector == "" {
					j.digest, j.err = fileDigest(p, buf)
				} else {
					j.digest, j.err = jsonDigest(p, j.selector)
				}
			}
		})
	}
	wg.Wait()
}

// matchFiles returns the files under root that glob matches (see
// tree.match), as slash-separated relative paths.
func matchFiles(root, glob string) ([]string, error) {
	var out []string
	err := newTree(root).match(glob, func(p string) { out = append(out, p) })
	return out, err
}

// A tree lists the directories of a checkout for the cache-on patterns,
// each directory at most once for all of them. The checkout must not
// change meanwhile.
type tree struct {
	root  string
	fsys  fs.StatFS // os.DirFS(root)
	mu    sync.Mutex
	lists map[string][]fs.DirEntry
}

func newTree(root string) *tree {
	return &tree{root: root, fsys: os.DirFS(root).(fs.StatFS), lists: map[string][]fs.DirEntry{}}
}

// match calls fn with each path under t's root that glob matches. The
// matching is doublestar.GlobWalk's, with WithFilesOnly and WithNoFollow:
// it yields what is not a directory, and wildcards do not go through
// symlinks to directories (the glob's fixed leading directory does). Then,
// like bash's globstar without dotglob, a wildcard does not match a name
// that starts with a dot: unless a part of glob starts with a dot, paths
// with a dot-name are dropped. GlobWalk finds directories listed ahead by
// prefetch, in parallel.
func (t *tree) match(glob string, fn func(string)) error {
	glob = filepath.ToSlash(glob)
	if path.IsAbs(glob) {
		rel, err := filepath.Rel(t.root, glob)
		if err != nil || strings.HasPrefix(rel, "..") {
			return fmt.Errorf("is outside the checkout %s", t.root)
		}
		glob = filepath.ToSlash(rel)
	}
	glob = path.Clean(glob)
	if strings.HasPrefix(glob, "../") {
		return fmt.Errorf("is outside the checkout %s", t.root)
	}
	if !doublestar.ValidatePattern(glob) {
		return fmt.Errorf("is not a valid glob")
	}
	hide := !hasDotName(glob)
	t.prefetch(glob, hide)
	return doublestar.GlobWalk(treeFS{t.fsys, t, hide}, glob, func(p string, _ fs.DirEntry) error {
		if !hide || !hasDotName(p) {
			fn(p)
		}
		return nil
	}, doublestar.WithFilesOnly(), doublestar.WithNoFollow())
}

// hasDotName reports whether a part of the slash path (or glob) p starts
// with a dot.
func hasDotName(p string) bool {
	return strings.HasPrefix(p, ".") || strings.Contains(p, "/.")
}

// prefetch lists, in parallel, the directories that GlobWalk reads for
// glob: its fixed leading directory, then those whose names match the parts
// of glob in turn, and all of them below a **; symlinks are not followed,
// dot-names are skipped if hide. It only saves time: GlobWalk reads any
// directory not listed itself.
func (t *tree) prefetch(glob string, hide bool) {
	start, rest := doublestar.SplitPattern(glob)
	if !strings.ContainsAny(rest, "*?[{") {
		return // a path: GlobWalk looks it up
	}
	parts := strings.Split(rest, "/")
	sem := make(chan struct{}, prefetchWorkers)
	var wg sync.WaitGroup
	var visit func(dir string, level int)
	visit = func(dir string, level int) {
		entries, _ := t.readDir(dir, hide)
		for _, e := range entries {
			if !e.IsDir() || !enters(parts, level, e.Name()) {
				continue
			}
			sub := path.Join(dir, e.Name())
			select {
			case sem <- struct{}{}: // a worker is free: hand it sub
				wg.Go(func() {
					visit(sub, level+1)
					<-sem
				})
			default:
				visit(sub, level+1)
			}
		}
	}
	visit(start, 0)
	wg.Wait()
}

// prefetchWorkers bounds the goroutines listing directories besides the
// caller's: more than the CPUs, as listing waits on the disk at times.
var prefetchWorkers = runtime.NumCPU() * 4

// enters reports whether the walk of a glob whose parts below its fixed
// leading directory are parts goes into the directory name, found level
// directories below that one.
func enters(parts []string, level int, name string) bool {
	for _, p := range parts[:min(level+1, len(parts))] {
		if strings.Contains(p, "**") {
			return true // into every directory below a **
		}
	}
	if level >= len(parts)-1 {
		return false // the last part names files
	}
	ok, err := doublestar.Match(parts[level], name)
	return ok || err != nil // a part of a {…} spanning parts may be no glob
}

// readDir returns the entries of dir, read once, without dot-names if hide.
func (t *tree) readDir(dir string, hide bool) ([]fs.DirEntry, error) {
	t.mu.Lock()
	entries, ok := t.lists[dir]
	t.mu.Unlock()
	if !ok {
		var err error
		if entries, err = fs.ReadDir(t.fsys, dir); err != nil {
			return nil, err
		}
		t.mu.Lock()
		t.lists[dir] = entries
		t.mu.Unlock()
	}
	if hide && slices.ContainsFunc(entries, isDotEntry) {
		entries = slices.DeleteFunc(slices.Clone(entries), isDotEntry)
	}
	return entries, nil
}

func isDotEntry(e fs.DirEntry) bool { return strings.HasPrefix(e.Name(), ".") }

// treeFS is the checkout as GlobWalk reads it: os.DirFS, with the
// directories listed by t, without dot-names if hide.
type treeFS struct {
	fs.StatFS
	t    *tree
	hide bool
}

// ReadDir implements fs.ReadDirFS.
func (f treeFS) ReadDir(name string) ([]fs.DirEntry, error) { return f.t.readDir(name, f.hide) }

// fileDigest hashes the file at p, reading it through buf (io.Copy would
// allocate a buffer a file).
func fileDigest(p string, buf []byte) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	for {
		n, err := f.Read(buf)
		h.Write(buf[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", err
		}
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
