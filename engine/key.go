package engine

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/bmatcuk/doublestar/v4"
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

// ComputeKey validates c and computes its cache key. It needs no daemon
// and no registry: with no platform given it hashes this machine's
// (DefaultPlatform), where a run asks the daemon. Give platform to make
// the two agree when DOCKER_HOST is a machine of another kind.
func ComputeKey(ctx context.Context, c *Config) (Key, error) {
	p, err := c.Plan()
	if err != nil {
		return Key{}, err
	}
	return computeKey(ctx, p, func() (string, error) { return DefaultPlatform(), nil })
}

// computeKey computes the cache key of p. When p gives no platform, it
// asks platform, once the files are read (so that a problem with them is
// found without a daemon), and records the answer in p.
func computeKey(ctx context.Context, p *Plan, platform func() (string, error)) (Key, error) {
	c := &p.Config
	if err := ctx.Err(); err != nil {
		return Key{}, err
	}
	dockerfile, err := c.DockerfileContent(ctx)
	if err != nil {
		return Key{}, err
	}
	files, err := c.cacheOnInputs(ctx)
	if err != nil {
		return Key{}, err
	}
	if p.Platform == "" {
		if p.Platform, err = platform(); err != nil {
			return Key{}, err
		}
	}

	var inputs []Input
	add := func(name string, value []byte) {
		inputs = append(inputs, Input{Name: name, Digest: digest(value)})
	}
	add("dockerfile", dockerfile)
	add("target", []byte(c.Target))
	add("platform", []byte(p.Platform))
	for _, a := range p.BuildArgs {
		name, _, _ := strings.Cut(a, "=")
		add("build-arg "+name, []byte(a))
	}
	add("additional-build-args", []byte(p.Flags.canonical()))
	if len(c.CacheKey) > 0 {
		var b strings.Builder
		for _, part := range c.CacheKey {
			frame(&b, part)
		}
		add("cache-key", []byte(b.String()))
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

// DockerfileContent is the Dockerfile's bytes: dockerfile-inline, or the
// file, read through the checkout (see openRegular).
func (c *Config) DockerfileContent(ctx context.Context) ([]byte, error) {
	if c.DockerfileInline != "" {
		return []byte(c.DockerfileInline), nil
	}
	name := c.dockerfileOption()
	rel, err := checkoutRel(c.WorkDir, name)
	if err != nil {
		return nil, Configf("dockerfile %q %v: give a path inside it, or use dockerfile-inline", name, err)
	}
	ck, err := openCheckout(c.WorkDir)
	if err != nil {
		return nil, fmt.Errorf("reading dockerfile: %w", err)
	}
	defer ck.Close()
	b, err := ck.readRegular(ctx, rel, maxDockerfile)
	var outside *outsideError
	var irregular *notRegularError
	switch {
	case err == nil:
		return b, nil
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case errors.Is(err, fs.ErrNotExist):
		return nil, Configf("dockerfile %q does not exist: set dockerfile to the path of your Dockerfile, relative to %s, or use dockerfile-inline", name, c.workDirName())
	case errors.As(err, &outside):
		return nil, Configf("dockerfile %q %v: give a path inside it, or use dockerfile-inline", name, err)
	case errors.As(err, &irregular):
		return nil, Configf("dockerfile %q %v: set dockerfile to the path of your Dockerfile, relative to %s", name, err, c.workDirName())
	}
	return nil, Configf("dockerfile %q: %v", name, err)
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

// cacheOnInputs expands the cache-on patterns into one input per file (or
// JSON selection), sorted by path and de-duplicated, then hashes the files.
// It reads the checkout through an os.Root: a symlink leading out of it is
// an error naming the link. Only regular files are hashed: a wildcard
// leaves out what is not one (a FIFO, a device, a socket, a link to a
// directory), and a pattern naming one exactly is an error.
func (c *Config) cacheOnInputs(ctx context.Context) ([]Input, error) {
	if len(c.CacheOn) == 0 {
		return nil, nil
	}
	dir := c.WorkDir
	if dir == "" {
		dir = "."
	}
	ck, err := openCheckout(dir)
	if err != nil {
		return nil, fmt.Errorf("reading cache-on: %w", err)
	}
	defer ck.Close()
	t := newTree(ctx, ck)
	ids := map[string]int{}
	var jobs []hashJob
	matches := make([][]int, len(c.CacheOn)) // the jobs of each pattern
	for i, pattern := range c.CacheOn {
		pattern = strings.TrimSpace(pattern)
		glob, selector, _ := strings.Cut(pattern, "#")
		exact := !strings.ContainsAny(glob, "*?[{")
		err := t.match(glob, func(p string) {
			id := p + "#" + selector
			k, ok := ids[id]
			if !ok {
				k = len(jobs)
				ids[id] = k
				jobs = append(jobs, hashJob{path: p, selector: selector})
			}
			jobs[k].exact = jobs[k].exact || exact
			matches[i] = append(matches[i], k)
		})
		var outside *outsideError
		switch {
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case errors.As(err, &outside):
			return nil, Configf("cache-on %q %v: %s", pattern, err, fixOutside)
		case err != nil:
			return nil, Configf("cache-on %q: %v", pattern, err)
		case len(matches[i]) == 0 && !c.AllowEmptyCacheOn:
			return nil, errMatchesNothing(pattern, dir)
		}
	}
	if err := hashAll(ctx, ck, jobs); err != nil {
		return nil, err
	}
	for i, pattern := range c.CacheOn {
		if len(matches[i]) > 0 && !c.AllowEmptyCacheOn && !slices.ContainsFunc(matches[i], func(k int) bool { return !jobs[k].skip }) {
			return nil, errMatchesNothing(strings.TrimSpace(pattern), dir)
		}
	}
	slices.SortFunc(jobs, func(a, b hashJob) int {
		return cmp.Or(strings.Compare(a.path, b.path), strings.Compare(a.selector, b.selector))
	})
	inputs := make([]Input, 0, len(jobs))
	for _, j := range jobs {
		var outside *outsideError
		var irregular *notRegularError
		switch {
		case j.skip:
		case errors.As(j.err, &outside):
			return nil, Configf("cache-on %s %v: %s", j.path, j.err, fixOutside)
		case errors.As(j.err, &irregular):
			return nil, Configf("cache-on %s %v: cache-on hashes regular files only: remove it from cache-on", j.path, j.err)
		case j.err != nil:
			return nil, Configf("cache-on %s: %v", j.path, j.err)
		case j.selector == "":
			inputs = append(inputs, Input{Name: "file " + j.path, Digest: j.digest})
		default:
			inputs = append(inputs, Input{Name: "json " + j.path + "#" + j.selector, Digest: j.digest})
		}
	}
	return inputs, nil
}

const fixOutside = "cache-on hashes files inside the checkout only: point the link inside it, or narrow the pattern"

func errMatchesNothing(pattern, dir string) error {
	return Configf("cache-on %q matches no file in %s: fix the path or glob, or set allow-empty-cache-on: true", pattern, dir)
}

// A hashJob is a matched file, or a JSON selection in it, and its digest.
// exact is set if a pattern without wildcards named it; skip if it is no
// regular file and only wildcards matched it.
type hashJob struct {
	path, selector string
	exact, skip    bool
	digest         string
	err            error
}

// hashAll sets the digest (or error) of each job, reading the files of
// the checkout with a bounded pool of workers, each through one reused buffer. It
// stops when ctx is done, and returns ctx's error then.
func hashAll(ctx context.Context, ck *checkout, jobs []hashJob) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.NumCPU()*2, len(jobs)) {
		wg.Go(func() {
			buf := make([]byte, 64<<10)
			for i := int(next.Add(1) - 1); i < len(jobs) && ctx.Err() == nil; i = int(next.Add(1) - 1) {
				j := &jobs[i]
				if j.selector == "" {
					j.digest, j.err = ck.fileDigest(ctx, j.path, buf)
				} else {
					j.digest, j.err = ck.jsonDigest(ctx, j.path, j.selector)
				}
				var irregular *notRegularError
				j.skip = !j.exact && errors.As(j.err, &irregular)
			}
		})
	}
	wg.Wait()
	return ctx.Err()
}

// matchFiles returns the files under dir that glob matches (see
// tree.match), as slash-separated relative paths.
func matchFiles(dir, glob string) ([]string, error) {
	ck, err := openCheckout(dir)
	if err != nil {
		return nil, err
	}
	defer ck.Close()
	var out []string
	err = newTree(context.Background(), ck).match(glob, func(p string) { out = append(out, p) })
	return out, err
}

// A tree lists the directories of a checkout for the cache-on patterns,
// each directory at most once for all of them. The checkout must not
// change meanwhile.
type tree struct {
	ctx    context.Context
	ck     *checkout
	fsys   fs.StatFS // ck.root.FS()
	mu     sync.Mutex
	lists  map[string][]fs.DirEntry
	failed []string // paths whose listing or stat failed, but not as missing
}

func newTree(ctx context.Context, ck *checkout) *tree {
	return &tree{ctx: ctx, ck: ck, fsys: ck.root.FS().(fs.StatFS), lists: map[string][]fs.DirEntry{}}
}

// match calls fn with each path under t's root that glob matches. The
// matching is doublestar.GlobWalk's, with WithFilesOnly and WithNoFollow:
// it yields what is not a directory, and wildcards do not go through
// symlinks to directories (the glob's fixed leading directory does, while
// it stays in the checkout: else match returns an *outsideError). Then,
// like bash's globstar without dotglob, a wildcard does not match a name
// that starts with a dot: unless a part of glob starts with a dot, paths
// with a dot-name are dropped. GlobWalk finds directories listed ahead by
// prefetch, in parallel.
func (t *tree) match(glob string, fn func(string)) error {
	glob, err := checkoutRel(t.ck.dir, glob)
	if err != nil {
		return err
	}
	if !doublestar.ValidatePattern(glob) {
		return fmt.Errorf("is not a valid glob")
	}
	t.failed = nil
	hide := !hasDotName(glob)
	t.prefetch(glob, hide)
	err = doublestar.GlobWalk(treeFS{t.fsys, t, hide}, glob, func(p string, _ fs.DirEntry) error {
		if !hide || !hasDotName(p) {
			fn(p)
		}
		return t.ctx.Err()
	}, doublestar.WithFilesOnly(), doublestar.WithNoFollow())
	if err != nil {
		return err
	}
	if err := t.ctx.Err(); err != nil {
		return err
	}
	for _, p := range t.failed {
		if o := t.ck.outsideLink(p); o != nil {
			return o
		}
	}
	return nil
}

// fail notes that listing or looking up p failed other than as missing.
func (t *tree) fail(p string, err error) {
	if err != nil && !errors.Is(err, fs.ErrNotExist) && t.ctx.Err() == nil {
		t.mu.Lock()
		t.failed = append(t.failed, p)
		t.mu.Unlock()
	}
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
		if t.ctx.Err() != nil {
			return
		}
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
		if err := t.ctx.Err(); err != nil {
			return nil, err
		}
		var err error
		if entries, err = t.ck.listDir(dir); err != nil {
			t.fail(dir, err)
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

// treeFS is the checkout as GlobWalk reads it: root.FS(), with the
// directories listed by t, without dot-names if hide.
type treeFS struct {
	fs.StatFS
	t    *tree
	hide bool
}

// ReadDir implements fs.ReadDirFS.
func (f treeFS) ReadDir(name string) ([]fs.DirEntry, error) { return f.t.readDir(name, f.hide) }

// Stat implements fs.StatFS.
func (f treeFS) Stat(name string) (fs.FileInfo, error) {
	fi, err := f.StatFS.Stat(name)
	f.t.fail(name, err)
	return fi, err
}
