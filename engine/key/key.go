package key

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
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/bmatcuk/doublestar/v4"
)

// Scheme is the first input of every key: a change of scheme never
// collides with tags made by another.
const Scheme = "docker-ecr-cache/key/v1"

// Length is the number of hex digits of the key used as the image tag.
const Length = 40

// Input is one thing that went into the key, with the digest of its value.
type Input struct {
	Name   string `json:"name"`
	Digest string `json:"digest"`
}

// Key is the cache key and what went into it.
type Key struct {
	Tag    string  `json:"key"`
	Inputs []Input `json:"inputs"`
	// CacheOn are the cache-on entries and the inputs each matched: they
	// are not hashed, they say how Record groups the inputs.
	CacheOn []Pattern `json:"-"`
}

// Spec is what the key hashes, as the plan gives it.
type Spec struct {
	// Dir is the checkout: the Dockerfile and cache-on are read inside it.
	// Empty is the current directory.
	Dir string
	// Dockerfile is the dockerfile option, relative to Dir or absolute;
	// empty is "Dockerfile". Unused with DockerfileInline.
	Dockerfile       string
	DockerfileInline string
	Target           string
	// Platform is os/arch[/variant]; empty: Compute asks for it.
	Platform string
	// BuildArgs are NAME=value, in order.
	BuildArgs []string
	// Flags are the other build flags, in canonical form.
	Flags string
	// CacheOn are the cache-on entries: a path or glob, each with an
	// optional #jq-selector for JSON files.
	CacheOn           []string
	AllowEmptyCacheOn bool
	// CacheKey are strings hashed as one framed input, to bust the cache on
	// purpose; empty leaves the key as it was.
	CacheKey []string
}

// ConfigError is a problem with the spec or the checkout that the user
// fixes in the configuration.
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

func configf(format string, args ...any) error {
	return &ConfigError{Err: fmt.Errorf(format, args...)}
}

// maxQuoted bounds the bytes of a value that an error quotes.
const maxQuoted = 64

// Preview quotes s for an error: whole if short, else its first bytes and
// its length, so that no message grows with the input.
func Preview(s string) string {
	if len(s) <= maxQuoted {
		return strconv.Quote(s)
	}
	cut := maxQuoted
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%q… (%d bytes)", s[:cut], len(s))
}

// maxMessage bounds the bytes of another's error message that an error
// repeats.
const maxMessage = 256

// clip cuts msg, an error message that may quote a value (a jq error()),
// to a prefix and its length.
func clip(msg string) string {
	if len(msg) <= maxMessage {
		return msg
	}
	cut := maxMessage
	for cut > 0 && !utf8.RuneStart(msg[cut]) {
		cut--
	}
	return fmt.Sprintf("%s… (%d bytes in all)", msg[:cut], len(msg))
}

// Compute computes the cache key of s. When s gives no platform, it asks
// platform, once the files are read (so that a problem with them is found
// without a daemon). Problems of the configuration are *ConfigError; when
// ctx ends, the error says which step it stopped.
func Compute(ctx context.Context, s Spec, platform func() (string, error)) (Key, error) {
	k, err := s.compute(ctx, platform)
	if err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return Key{}, fmt.Errorf("computing the key: %w", err)
	}
	return k, err
}

func (s Spec) compute(ctx context.Context, platform func() (string, error)) (Key, error) {
	if err := ctx.Err(); err != nil {
		return Key{}, err
	}
	dockerfile, err := s.dockerfileContent(ctx)
	if err != nil {
		return Key{}, err
	}
	files, patterns, err := s.cacheOnInputs(ctx)
	if err != nil {
		return Key{}, err
	}
	if s.Platform == "" {
		if s.Platform, err = platform(); err != nil {
			return Key{}, err
		}
	}

	var inputs []Input
	add := func(name string, value []byte) {
		inputs = append(inputs, Input{Name: name, Digest: digest(value)})
	}
	add("dockerfile", dockerfile)
	add("target", []byte(s.Target))
	add("platform", []byte(s.Platform))
	for _, a := range s.BuildArgs {
		name, _, _ := strings.Cut(a, "=")
		add(BuildArgInput+name, []byte(a))
	}
	add("additional-build-args", []byte(s.Flags))
	if len(s.CacheKey) > 0 {
		var b strings.Builder
		for _, part := range s.CacheKey {
			frame(&b, part)
		}
		add("cache-key", []byte(b.String()))
	}
	for i := range patterns {
		for j := range patterns[i].Inputs {
			patterns[i].Inputs[j] += len(inputs)
		}
	}
	inputs = append(inputs, files...)

	h := sha256.New()
	frame(h, Scheme)
	for _, in := range inputs {
		frame(h, in.Name)
		frame(h, in.Digest)
	}
	return Key{Tag: hex.EncodeToString(h.Sum(nil))[:Length], Inputs: inputs, CacheOn: patterns}, nil
}

// frame writes s length-prefixed, so that no two input lists hash alike.
func frame(w io.Writer, s string) {
	fmt.Fprintf(w, "%d:%s;", len(s), s)
}

func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// dockerfileContent is the Dockerfile's bytes: DockerfileInline, or the
// file, read through the checkout (see openRegular).
func (s *Spec) dockerfileContent(ctx context.Context) ([]byte, error) {
	if s.DockerfileInline != "" {
		return []byte(s.DockerfileInline), nil
	}
	name := s.dockerfileName()
	rel, err := checkoutRel(s.Dir, name)
	if err != nil {
		return nil, configf("dockerfile %s %v: give a path inside it, or use dockerfile-inline", Preview(name), err)
	}
	ck, err := openCheckout(s.Dir)
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
		return nil, fmt.Errorf("reading dockerfile %s: %w", Preview(name), ctx.Err())
	case errors.Is(err, fs.ErrNotExist):
		return nil, configf("dockerfile %s does not exist: set dockerfile to the path of your Dockerfile, relative to %s, or use dockerfile-inline", Preview(name), dirName(s.Dir))
	case errors.As(err, &outside):
		return nil, configf("dockerfile %s %v: give a path inside it, or use dockerfile-inline", Preview(name), err)
	case errors.As(err, &irregular):
		return nil, configf("dockerfile %s %v: set dockerfile to the path of your Dockerfile, relative to %s", Preview(name), err, dirName(s.Dir))
	}
	return nil, configf("dockerfile %s: %s", Preview(name), clip(err.Error()))
}

func (s *Spec) dockerfileName() string {
	if s.Dockerfile == "" {
		return "Dockerfile"
	}
	return s.Dockerfile
}

// dirName names the checkout dir for messages.
func dirName(dir string) string {
	if dir == "" {
		return "the current directory"
	}
	return dir
}

// cacheOnInputs expands the cache-on patterns into one input per file (or
// JSON selection), sorted by path and de-duplicated, then hashes the files.
// It reads the checkout through an os.Root: a symlink leading out of it is
// an error naming the link. Only regular files are hashed: a wildcard
// leaves out what is not one (a FIFO, a device, a socket, a link to a
// directory), and a pattern naming one exactly is an error.
func (s *Spec) cacheOnInputs(ctx context.Context) ([]Input, []Pattern, error) {
	if len(s.CacheOn) == 0 {
		return nil, nil, nil
	}
	dir := s.Dir
	if dir == "" {
		dir = "."
	}
	ck, err := openCheckout(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("reading cache-on: %w", err)
	}
	defer ck.Close()
	t := newTree(ctx, ck)
	ids := map[string]int{}
	sels := map[string]*selector{} // each selector compiled once
	var jobs []hashJob
	matches := make([][]int, len(s.CacheOn)) // the jobs of each pattern
	for i, pattern := range s.CacheOn {
		pattern = strings.TrimSpace(pattern)
		glob, text, _ := strings.Cut(pattern, "#")
		sel := sels[text]
		if text != "" && sel == nil {
			if sel, err = compileSelector(text); err != nil {
				return nil, nil, configf("cache-on %s: %v", Preview(pattern), err)
			}
			sels[text] = sel
		}
		exact := !strings.ContainsAny(glob, "*?[{")
		err := t.match(glob, func(p string) {
			id := p + "#" + text
			k, ok := ids[id]
			if !ok {
				k = len(jobs)
				ids[id] = k
				jobs = append(jobs, hashJob{id: k, path: p, selector: text, sel: sel})
			}
			jobs[k].exact = jobs[k].exact || exact
			matches[i] = append(matches[i], k)
		})
		var outside *outsideError
		switch {
		case ctx.Err() != nil:
			return nil, nil, fmt.Errorf("listing the files of cache-on %s: %w", Preview(pattern), ctx.Err())
		case errors.As(err, &outside):
			return nil, nil, configf("cache-on %s %v: %s", Preview(pattern), err, fixOutside)
		case err != nil:
			return nil, nil, configf("cache-on %s: %s", Preview(pattern), clip(err.Error()))
		case len(matches[i]) == 0 && !s.AllowEmptyCacheOn:
			return nil, nil, errMatchesNothing(pattern, dir)
		}
	}
	if err := hashAll(ctx, ck, jobs); err != nil {
		return nil, nil, err
	}
	for i, pattern := range s.CacheOn {
		if len(matches[i]) > 0 && !s.AllowEmptyCacheOn && !slices.ContainsFunc(matches[i], func(k int) bool { return !jobs[k].skip }) {
			return nil, nil, errMatchesNothing(strings.TrimSpace(pattern), dir)
		}
	}
	slices.SortFunc(jobs, func(a, b hashJob) int {
		return cmp.Or(strings.Compare(a.path, b.path), strings.Compare(a.selector, b.selector))
	})
	inputs := make([]Input, 0, len(jobs))
	at := make([]int, len(jobs)) // a job's input, by its id; -1 if none
	for _, j := range jobs {
		at[j.id] = len(inputs)
		if j.skip {
			at[j.id] = -1
		}
		var outside *outsideError
		var irregular *notRegularError
		switch {
		case j.skip:
		case errors.As(j.err, &outside):
			return nil, nil, configf("cache-on %s %v: %s", j.path, j.err, fixOutside)
		case errors.As(j.err, &irregular):
			return nil, nil, configf("cache-on %s %v: cache-on hashes regular files only: remove it from cache-on", j.path, j.err)
		case j.err != nil:
			return nil, nil, configf("cache-on %s: %v", j.path, j.err)
		case j.selector == "":
			inputs = append(inputs, Input{Name: "file " + j.path, Digest: j.digest})
		default:
			inputs = append(inputs, Input{Name: "json " + j.path + "#" + j.selector, Digest: j.digest})
		}
	}
	patterns := make([]Pattern, len(s.CacheOn))
	for i, pattern := range s.CacheOn {
		patterns[i].Entry = strings.TrimSpace(pattern)
		for _, id := range matches[i] {
			if at[id] >= 0 {
				patterns[i].Inputs = append(patterns[i].Inputs, at[id])
			}
		}
		slices.Sort(patterns[i].Inputs)
		patterns[i].Inputs = slices.Compact(patterns[i].Inputs)
	}
	return inputs, patterns, nil
}

const fixOutside = "cache-on hashes files inside the checkout only: point the link inside it, or narrow the pattern"

func errMatchesNothing(pattern, dir string) error {
	return configf("cache-on %s matches no file in %s: fix the path or glob, or set allow-empty-cache-on: true", Preview(pattern), dir)
}

// A hashJob is a matched file, or a JSON selection in it, and its digest.
// exact is set if a pattern without wildcards named it; skip if it is no
// regular file and only wildcards matched it.
type hashJob struct {
	id             int // the job's index before sorting
	path, selector string
	sel            *selector // selector, compiled
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
					j.digest, j.err = ck.jsonDigest(ctx, j.path, j.sel)
				}
				var irregular *notRegularError
				j.skip = !j.exact && errors.As(j.err, &irregular)
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		for _, j := range jobs {
			if errors.Is(j.err, err) {
				return j.err
			}
		}
		return fmt.Errorf("hashing the cache-on files: %w", err)
	}
	return nil
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
