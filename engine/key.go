package engine

import (
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
// JSON selection), sorted by path and de-duplicated. Files are hashed by a
// pool of workers while the patterns are still being expanded.
func (c *Config) cacheOnInputs() ([]Input, error) {
	root := c.WorkDir
	if root == "" {
		root = "."
	}
	type job struct {
		path, selector string
		digest         string
		err            error
	}
	seen := map[string]bool{}
	var jobs []*job

	// Jobs go to the workers in batches, to wake them less often.
	const batchSize = 64
	work := make(chan []*job, 64)
	var batch []*job
	var wg sync.WaitGroup
	for w := 0; w < runtime.NumCPU()*2; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []byte
			for b := range work {
				for _, j := range b {
					p := filepath.Join(root, filepath.FromSlash(j.path))
					if j.selector == "" {
						if buf == nil {
							buf = make([]byte, 64<<10)
						}
						j.digest, j.err = fileDigest(p, buf)
					} else {
						j.digest, j.err = jsonDigest(p, j.selector)
					}
				}
			}
		}()
	}
	finished := false
	finish := func() {
		if !finished {
			finished = true
			if len(batch) > 0 {
				work <- batch
			}
			close(work)
			wg.Wait()
		}
	}
	defer finish()

	tree := newDirCache(root)
	defer tree.close()
	for _, pattern := range c.CacheOn {
		pattern = strings.TrimSpace(pattern)
		glob, selector, _ := strings.Cut(pattern, "#")
		matched := 0
		err := tree.match(glob, func(m string) {
			matched++
			id := m + "#" + selector
			if !seen[id] {
				seen[id] = true
				j := &job{path: m, selector: selector}
				jobs = append(jobs, j)
				if batch = append(batch, j); len(batch) == batchSize {
					work <- batch
					batch = nil
				}
			}
		})
		if err != nil {
			return nil, Configf("cache-on %q: %v", pattern, err)
		}
		if matched == 0 && !c.AllowEmptyCacheOn {
			return nil, Configf("cache-on %q matches no file in %s: fix the path or glob, or set allow-empty-cache-on: true", pattern, root)
		}
	}
	finish()

	sort.Slice(jobs, func(i, j int) bool {
		if jobs[i].path != jobs[j].path {
			return jobs[i].path < jobs[j].path
		}
		return jobs[i].selector < jobs[j].selector
	})
	for _, j := range jobs {
		if j.err != nil {
			return nil, Configf("cache-on %s: %v", j.path, j.err)
		}
	}
	inputs := make([]Input, len(jobs))
	for i, j := range jobs {
		if j.selector == "" {
			inputs[i] = Input{Name: "file " + j.path, Digest: j.digest}
		} else {
			inputs[i] = Input{Name: "json " + j.path + "#" + j.selector, Digest: j.digest}
		}
	}
	return inputs, nil
}

// matchFiles returns the regular files under root matching glob, as
// slash-separated relative paths. Like bash's globstar without dotglob, a
// wildcard does not match a name that starts with a dot.
func matchFiles(root, glob string) ([]string, error) {
	var out []string
	d := newDirCache(root)
	defer d.close()
	err := d.match(glob, func(p string) { out = append(out, p) })
	return out, err
}

// A walkPlan tells the prefetching which directories the walk of a glob
// with ** enters: from the glob's fixed prefix, those whose names match its
// segments, up to the first **, then every one (but dot-names if hideDots).
type walkPlan struct {
	segs     []string // the segments before the first **
	hideDots bool
}

// planWalk returns the plan of glob and the directory its walk starts from,
// with that directory's depth in segments; ok is false if glob has no **
// segment or has segments too intricate ({…}, escapes) to follow.
func planWalk(glob string, hideDots bool) (plan *walkPlan, start string, depth int, ok bool) {
	if strings.ContainsAny(glob, "{}\\") {
		return nil, "", 0, false
	}
	segs := strings.Split(glob, "/")
	k := slices.IndexFunc(segs, func(s string) bool { return strings.Contains(s, "**") })
	if k < 0 || segs[k] != "**" {
		return nil, "", 0, false
	}
	for depth < k && !strings.ContainsAny(segs[depth], "*?[") {
		depth++
	}
	return &walkPlan{segs: segs[:k], hideDots: hideDots}, path.Join(append([]string{"."}, segs[:depth]...)...), depth, true
}

// enters reports whether the walk goes into the directory name at depth
// (counted in segments from the checkout, the top level being 0).
func (w *walkPlan) enters(depth int, name string) bool {
	if w.hideDots && strings.HasPrefix(name, ".") {
		return false
	}
	if depth >= len(w.segs) {
		return true
	}
	ok, err := doublestar.Match(w.segs[depth], name)
	return ok || err != nil
}

// match calls fn with each file under the cache's root that glob matches
// (see matchFiles).
func (d *dirCache) match(glob string, fn func(string)) error {
	glob = filepath.ToSlash(glob)
	if path.IsAbs(glob) {
		rel, err := filepath.Rel(d.root, glob)
		if err != nil || strings.HasPrefix(rel, "..") {
			return fmt.Errorf("is outside the checkout %s", d.root)
		}
		glob = filepath.ToSlash(rel)
	}
	glob = path.Clean(glob)
	if strings.HasPrefix(glob, "../") {
		return fmt.Errorf("is outside the checkout %s", d.root)
	}
	if !doublestar.ValidatePattern(glob) {
		return fmt.Errorf("is not a valid glob")
	}
	// Without a dot-part in glob, every path with a dot-name is dropped, so
	// the walk need not list dot-names at all: it skips .git and the like.
	hideDots := !globHasDotPart(glob)
	if plan, start, depth, ok := planWalk(glob, hideDots); ok {
		d.prefetch(prefetch{start, depth, plan})
		defer d.dropPrefetches()
	}
	return doublestar.GlobWalk(globFS{d, hideDots}, glob, func(p string, _ os.DirEntry) error {
		if hideDots && pathHasDotName(p) {
			return nil
		}
		fn(p)
		return nil
	}, doublestar.WithFilesOnly(), doublestar.WithNoFollow())
}

// pathHasDotName reports whether a name in the slash path p starts with a dot.
func pathHasDotName(p string) bool {
	return strings.HasPrefix(p, ".") || strings.Contains(p, "/.")
}

// globHasDotPart reports whether a part of glob starts with a dot: only then
// may a wildcard match a dot-name.
func globHasDotPart(glob string) bool {
	return strings.HasPrefix(glob, ".") || strings.Contains(glob, "/.")
}

// dirCache lists each directory of a checkout at most once while the
// cache-on patterns are expanded: doublestar.GlobWalk reads a directory once
// to walk ** and again to match the name after it, and patterns share
// directories. For a pattern with **, a few goroutines list the directories
// the walk will enter (see walkPlan) ahead of it, and it finds them listed.
// The walk itself, and so what matches, is GlobWalk's. The checkout must not
// change meanwhile.
type dirCache struct {
	root    string
	fsys    fs.FS
	visible map[string]dirList // without dot-names; used by the walk only

	mu       sync.Mutex
	all      map[string]*dirList
	queue    []prefetch // a stack: depth first, as the walk goes
	queued   *sync.Cond
	workers  int
	stopping bool
	wg       sync.WaitGroup
}

type dirList struct {
	done    chan struct{} // closed once entries and err are set
	entries []fs.DirEntry
	err     error
}

type prefetch struct {
	dir   string
	depth int // of dir's entries, in segments from the checkout
	plan  *walkPlan
}

func newDirCache(root string) *dirCache {
	d := &dirCache{root: root, fsys: os.DirFS(root), visible: map[string]dirList{}, all: map[string]*dirList{}}
	d.queued = sync.NewCond(&d.mu)
	return d
}

// list returns the listing of dir, reading it unless it was read or is
// being read.
func (d *dirCache) list(dir string) *dirList {
	d.mu.Lock()
	l, ok := d.all[dir]
	if ok {
		d.mu.Unlock()
		<-l.done
		return l
	}
	l = &dirList{done: make(chan struct{})}
	d.all[dir] = l
	d.mu.Unlock()
	l.entries, l.err = fs.ReadDir(d.fsys, dir)
	close(l.done)
	return l
}

// prefetch lists p.dir and the directories below it that p.plan enters,
// in the background.
func (d *dirCache) prefetch(p prefetch) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stopping {
		return
	}
	d.queue = append(d.queue, p)
	if d.workers < prefetchWorkers {
		d.workers++
		d.wg.Add(1)
		go d.prefetchWorker()
	}
	d.queued.Signal()
}

// prefetchWorkers bounds the goroutines listing directories ahead of the walk.
var prefetchWorkers = max(2, runtime.NumCPU())

func (d *dirCache) prefetchWorker() {
	defer d.wg.Done()
	for {
		d.mu.Lock()
		for len(d.queue) == 0 && !d.stopping {
			d.queued.Wait()
		}
		if d.stopping {
			d.mu.Unlock()
			return
		}
		p := d.queue[len(d.queue)-1]
		d.queue = d.queue[:len(d.queue)-1]
		d.mu.Unlock()

		l := d.list(p.dir)
		if l.err != nil {
			continue
		}
		// Pushed in order, popped last first: the prefetching goes through
		// the tree from its end, the walk from its start, and neither waits
		// for the other until they meet.
		var subdirs []prefetch
		for _, e := range l.entries {
			if e.IsDir() && p.plan.enters(p.depth, e.Name()) {
				subdirs = append(subdirs, prefetch{path.Join(p.dir, e.Name()), p.depth + 1, p.plan})
			}
		}
		if len(subdirs) > 0 {
			d.mu.Lock()
			d.queue = append(d.queue, subdirs...)
			d.queued.Broadcast()
			d.mu.Unlock()
		}
	}
}

// dropPrefetches forgets the directories still to prefetch: once a walk is
// over, they are of no use.
func (d *dirCache) dropPrefetches() {
	d.mu.Lock()
	d.queue = d.queue[:0]
	d.mu.Unlock()
}

// close stops the prefetching goroutines and waits for them.
func (d *dirCache) close() {
	d.mu.Lock()
	d.stopping = true
	d.queue = nil
	d.queued.Broadcast()
	d.mu.Unlock()
	d.wg.Wait()
}

// globFS is the checkout as GlobWalk sees it: os.DirFS, with listings cached
// and, if hideDots, without dot-names.
type globFS struct {
	d        *dirCache
	hideDots bool
}

func (g globFS) Open(name string) (fs.File, error)     { return g.d.fsys.Open(name) }
func (g globFS) Stat(name string) (fs.FileInfo, error) { return fs.Stat(g.d.fsys, name) }

func (g globFS) ReadDir(name string) ([]fs.DirEntry, error) {
	l := g.d.list(name)
	if !g.hideDots {
		return l.entries, l.err
	}
	v, ok := g.d.visible[name]
	if !ok {
		v.err = l.err
		for i, e := range l.entries {
			if strings.HasPrefix(e.Name(), ".") {
				if v.entries == nil {
					v.entries = append(make([]fs.DirEntry, 0, len(l.entries)), l.entries[:i]...)
				}
				continue
			}
			if v.entries != nil {
				v.entries = append(v.entries, e)
			}
		}
		if v.entries == nil {
			v.entries = l.entries
		}
		g.d.visible[name] = v
	}
	return v.entries, v.err
}

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
