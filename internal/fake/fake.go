// Package fake holds in-memory doubles of the engine's seams: a registry, a
// Docker daemon that builds and pushes into it, and a reporter that
// records. Engine tests run every branch of a run on them, without a
// daemon. Each double records its calls, in order, as "Method arg" strings,
// fails a call whose string is a key of its Fail map, and blocks one in
// its Hang map until the run is cancelled.
package fake

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
)

var (
	_ engine.Registry        = (*Registry)(nil)
	_ engine.Docker          = (*Docker)(nil)
	_ engine.Builder         = (*Docker)(nil)
	_ engine.Builder         = (*Builder)(nil)
	_ engine.Pinger          = (*Docker)(nil)
	_ engine.PlatformBuilder = (*Builder)(nil)
	_ engine.Reporter        = (*Reporter)(nil)
)

// calls records calls and injects failures.
type calls struct {
	mu    sync.Mutex
	Calls []string
	// Fail makes the call with this string (for example "Lookup latest")
	// return the error; with " #n" after it, only the nth such call.
	Fail map[string]error
	// Hang makes the call with this string (" #n" as for Fail) block until
	// its context ends, then return the context's error, as a stuck daemon or registry does
	// until the run is cancelled.
	Hang map[string]bool
	// Hook, when set, sees each call's string as the call starts, before
	// Hang or Fail apply: tests cancel a run there, or change the state.
	Hook func(call string)
}

func (c *calls) call(ctx context.Context, format string, args ...any) error {
	s := strings.TrimSpace(fmt.Sprintf(format, args...))
	c.mu.Lock()
	c.Calls = append(c.Calls, s)
	n := 0
	for _, prev := range c.Calls {
		if prev == s {
			n++
		}
	}
	nth := fmt.Sprintf("%s #%d", s, n)
	err, ok := c.Fail[nth]
	if !ok {
		err = c.Fail[s]
	}
	hang, hook := c.Hang[nth] || c.Hang[s], c.Hook
	c.mu.Unlock()
	if hook != nil {
		hook(s)
	}
	if hang {
		<-ctx.Done()
		return fmt.Errorf("%s: %w", s, ctx.Err())
	}
	return err
}

// Called returns the calls made so far.
func (c *calls) Called() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.Calls...)
}

// Manifest is an image stored in the registry.
type Manifest struct {
	Digest string
	Labels map[string]string
}

// Registry is an in-memory engine.Registry holding one repository. It can
// do everything a registry can, unless a test opts out of a capability, so
// that the engine takes each provider's branch.
type Registry struct {
	calls
	Repo  string // host/path
	Local bool   // can nothing, as the local provider
	// NoLabels and NoTag opt out of reading labels and of tagging in the
	// registry: Can says so, and Labels or Tag answer ErrUnsupported.
	NoLabels, NoTag bool
	// NoList makes ListTags answer ErrUnsupported.
	NoList bool
	// Prepared is what Prepare answers.
	Prepared engine.Prepared
	// Immutable refuses to overwrite a stored tag, as an ECR repository
	// with IMMUTABLE tag mutability does, on a push and on Tag.
	Immutable bool
	Cred      engine.Auth
	// Tags holds the stored images by tag.
	Tags map[string]Manifest
}

// NewRegistry returns an empty remote registry for repo.
func NewRegistry(repo string) *Registry {
	return &Registry{Repo: repo, Cred: engine.Auth{Server: strings.Split(repo, "/")[0], Username: "user", Password: "token"}, Tags: map[string]Manifest{}}
}

// Repository returns Repo.
func (r *Registry) Repository(ctx context.Context) (string, error) {
	return r.Repo, r.call(ctx, "Repository")
}

// Can is everything, but Local, NoLabels and NoTag.
func (r *Registry) Can() engine.Capabilities {
	return engine.Capabilities{Remote: !r.Local, Labels: !r.Local && !r.NoLabels, Tag: !r.Local && !r.NoTag}
}

// Auth returns Cred.
func (r *Registry) Auth(ctx context.Context) (engine.Auth, error) {
	if err := r.call(ctx, "Auth"); err != nil {
		return engine.Auth{}, err
	}
	return r.Cred, nil
}

// Lookup returns the digest of tag, or ErrNotFound. A credential other
// than Cred is refused.
func (r *Registry) Lookup(ctx context.Context, tag string, auth engine.Auth) (string, error) {
	if err := r.call(ctx, "Lookup %s", tag); err != nil {
		return "", err
	}
	if auth != r.Cred {
		return "", fmt.Errorf("%s: 401 UNAUTHORIZED", r.Repo)
	}
	m, ok := r.manifest(tag)
	if !ok {
		return "", fmt.Errorf("%s:%s: %w", r.Repo, tag, engine.ErrNotFound)
	}
	return m.Digest, nil
}

// Labels returns the labels of tag's image.
func (r *Registry) Labels(ctx context.Context, tag string, _ engine.Auth) (map[string]string, error) {
	if err := r.call(ctx, "Labels %s", tag); err != nil {
		return nil, err
	}
	if !r.Can().Labels {
		return nil, fmt.Errorf("reading %s:%s: %w", r.Repo, tag, engine.ErrUnsupported)
	}
	m, ok := r.manifest(tag)
	if !ok {
		return nil, fmt.Errorf("%s:%s: %w", r.Repo, tag, engine.ErrNotFound)
	}
	return m.Labels, nil
}

// ListTags returns the stored tags, sorted, unless NoList.
func (r *Registry) ListTags(ctx context.Context, auth engine.Auth) ([]string, error) {
	if err := r.call(ctx, "ListTags"); err != nil {
		return nil, err
	}
	if r.NoList {
		return nil, fmt.Errorf("listing %s: %w", r.Repo, engine.ErrUnsupported)
	}
	if auth != r.Cred {
		return nil, fmt.Errorf("%s: 401 UNAUTHORIZED", r.Repo)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	tags := make([]string, 0, len(r.Tags))
	for t := range r.Tags {
		tags = append(tags, t)
	}
	slices.Sort(tags)
	return tags, nil
}

// Prepare records the call, and answers Prepared.
func (r *Registry) Prepare(ctx context.Context) (engine.Prepared, error) {
	return r.Prepared, r.call(ctx, "Prepare")
}

// Tag gives the image under tag the tag newTag too. A credential other
// than Cred is refused.
func (r *Registry) Tag(ctx context.Context, tag, newTag string, auth engine.Auth) error {
	if err := r.call(ctx, "Tag %s %s", tag, newTag); err != nil {
		return err
	}
	if !r.Can().Tag {
		return fmt.Errorf("tagging %s:%s: %w", r.Repo, tag, engine.ErrUnsupported)
	}
	if auth != r.Cred {
		return fmt.Errorf("%s: 401 UNAUTHORIZED", r.Repo)
	}
	m, ok := r.manifest(tag)
	if !ok {
		return fmt.Errorf("%s:%s: %w", r.Repo, tag, engine.ErrNotFound)
	}
	return r.put(newTag, m)
}

// manifest returns the image stored under tag, or under the digest of
// "@digest".
func (r *Registry) manifest(tag string) (Manifest, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if digest, ok := strings.CutPrefix(tag, "@"); ok {
		for _, m := range r.Tags {
			if m.Digest == digest {
				return m, true
			}
		}
		return Manifest{}, false
	}
	m, ok := r.Tags[tag]
	return m, ok
}

// put stores an image under tag, as a push does; with Immutable, a tag
// already stored is refused with ECR's error.
func (r *Registry) put(tag string, m Manifest) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if old, ok := r.Tags[tag]; ok && r.Immutable && old.Digest != m.Digest {
		return fmt.Errorf("ImageTagAlreadyExistsException: The image tag '%s' already exists in the '%s' repository and cannot be overwritten because the repository is immutable", tag, r.Repo)
	}
	r.Calls = append(r.Calls, "Put "+tag)
	r.Tags[tag] = m
	return nil
}

// Docker is an in-memory engine.Docker whose pushes land in Registry.
type Docker struct {
	calls
	// Registry receives pushes of its repository's references.
	Registry *Registry
	// Images holds the local images by reference.
	Images map[string]engine.Image
	// Arch is what Platform returns; empty means linux/amd64.
	Arch string
	// Absent, when set, is what Ping answers: no daemon answers. Ping is
	// not recorded in Calls, so that Calls are the daemon's work.
	Absent error
	// Specs are the builds asked for, in order.
	Specs []engine.BuildSpec
	ids   int
}

// Ping answers Absent.
func (d *Docker) Ping(context.Context) error { return d.Absent }

// NewDocker returns a daemon with no images that pushes into reg.
func NewDocker(reg *Registry) *Docker {
	return &Docker{Registry: reg, Images: map[string]engine.Image{}}
}

// Inspect returns a local image, or ErrNotFound.
func (d *Docker) Inspect(ctx context.Context, ref string) (engine.Image, error) {
	if err := d.call(ctx, "Inspect %s", ref); err != nil {
		return engine.Image{}, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	img, ok := d.Images[ref]
	if !ok {
		return engine.Image{}, fmt.Errorf("image %s: %w", ref, engine.ErrNotFound)
	}
	return img, nil
}

// Pull copies ref, repo:tag or repo@digest, from Registry, when it is there.
func (d *Docker) Pull(ctx context.Context, ref string, auth engine.Auth) error {
	if err := d.call(ctx, "Pull %s", ref); err != nil {
		return err
	}
	repo, tag := split(ref)
	if d.Registry == nil || repo != d.Registry.Repo || auth != d.Registry.Cred {
		return fmt.Errorf("pull access denied for %s", ref)
	}
	m, ok := d.Registry.manifest(tag)
	if !ok {
		return fmt.Errorf("manifest for %s not found", ref)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.Images[ref] = engine.Image{ID: "sha256:id-" + m.Digest, RepoDigests: []string{repo + "@" + m.Digest}, Labels: m.Labels, Created: time.Now()}
	return nil
}

// Build makes an image with spec's labels under spec's tags, and keeps it.
func (d *Docker) Build(ctx context.Context, spec engine.BuildSpec) (engine.BuildResult, error) {
	if err := d.call(ctx, "Build %s", strings.Join(spec.Tags, ",")); err != nil {
		return engine.BuildResult{}, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.Specs = append(d.Specs, spec)
	d.ids++
	img := engine.Image{ID: fmt.Sprintf("sha256:built-%d", d.ids), Labels: spec.ImageLabels(), Created: time.Now()}
	for _, t := range spec.Tags {
		d.Images[t] = img
	}
	return engine.BuildResult{ID: img.ID}, nil
}

// Tag names the image src dst too.
func (d *Docker) Tag(ctx context.Context, src, dst string) error {
	if err := d.call(ctx, "Tag %s %s", src, dst); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	img, ok := d.Images[src]
	if !ok {
		return fmt.Errorf("no such image: %s", src)
	}
	d.Images[dst] = img
	return nil
}

// Push stores the local image ref in Registry and returns its digest.
func (d *Docker) Push(ctx context.Context, ref string, auth engine.Auth) (string, error) {
	if err := d.call(ctx, "Push %s", ref); err != nil {
		return "", err
	}
	d.mu.Lock()
	img, ok := d.Images[ref]
	d.mu.Unlock()
	repo, tag := split(ref)
	switch {
	case !ok:
		return "", fmt.Errorf("no such image: %s", ref)
	case d.Registry == nil || repo != d.Registry.Repo || auth != d.Registry.Cred:
		return "", fmt.Errorf("push access denied for %s", ref)
	}
	digest := Digest(img.ID)
	if err := d.Registry.put(tag, Manifest{Digest: digest, Labels: img.Labels}); err != nil {
		return "", err
	}
	d.mu.Lock()
	img.RepoDigests = append(slices.Clip(img.RepoDigests), repo+"@"+digest)
	d.Images[ref] = img
	d.mu.Unlock()
	return digest, nil
}

// Platform returns Arch, or linux/amd64.
func (d *Docker) Platform(ctx context.Context) (string, error) {
	if err := d.call(ctx, "Platform"); err != nil {
		return "", err
	}
	if d.Arch == "" {
		return "linux/amd64", nil
	}
	return d.Arch, nil
}

// Digest is a made-up manifest digest for s, well-formed as a real one.
func Digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Builder is a BuildKit daemon that pushes what it builds into Registry,
// as a buildkit-host does: its stores show in the Registry's record as
// "Put tag".
type Builder struct {
	calls
	Registry *Registry
	// Arch is what Platform returns; empty means linux/amd64.
	Arch string
	// Specs are the builds asked for, in order.
	Specs []engine.BuildSpec
}

// Build records spec and stores an image with its labels in Registry under
// each of spec's tags, with the credential spec.Auth.
func (b *Builder) Build(ctx context.Context, spec engine.BuildSpec) (engine.BuildResult, error) {
	if err := b.call(ctx, "Build %s", strings.Join(spec.Tags, ",")); err != nil {
		return engine.BuildResult{}, err
	}
	b.mu.Lock()
	b.Specs = append(b.Specs, spec)
	n := len(b.Specs)
	b.mu.Unlock()
	// A refused push is marked, as the BuildKit builder marks it.
	if spec.Auth != b.Registry.Cred {
		return engine.BuildResult{}, engine.MarkRefusal(errors.New("failed to push: push access denied"))
	}
	digest := BuilderDigest(n)
	for _, t := range spec.Tags {
		repo, tag := split(t)
		if repo != b.Registry.Repo {
			return engine.BuildResult{}, engine.MarkRefusal(fmt.Errorf("failed to push %s: push access denied", t))
		}
		if err := b.Registry.put(tag, Manifest{Digest: digest, Labels: spec.ImageLabels()}); err != nil {
			return engine.BuildResult{}, engine.MarkRefusal(fmt.Errorf("failed to push %s: %w", t, err))
		}
	}
	return engine.BuildResult{ID: fmt.Sprintf("sha256:bk-%d", n), Digest: digest, Pushed: true}, nil
}

// Platform returns Arch, or linux/amd64, as the workers' platform.
func (b *Builder) Platform(ctx context.Context) (string, error) {
	if err := b.call(ctx, "Platform"); err != nil {
		return "", err
	}
	if b.Arch == "" {
		return "linux/amd64", nil
	}
	return b.Arch, nil
}

// Built returns the builds asked for so far.
func (b *Builder) Built() []engine.BuildSpec {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.Specs)
}

// BuilderDigest is the manifest digest of the Builder's nth build.
func BuilderDigest(n int) string { return Digest(fmt.Sprintf("manifest of BuildKit build %d", n)) }

// split cuts ref into repository and tag; for repo@digest, the tag is the
// one that holds digest, or the digest itself.
func split(ref string) (repo, tag string) {
	if repo, digest, ok := strings.Cut(ref, "@"); ok {
		return repo, "@" + digest
	}
	i := strings.LastIndex(ref, ":")
	if i < 0 || strings.Contains(ref[i:], "/") {
		return ref, "latest"
	}
	return ref[:i], ref[i+1:]
}

// Reporter records what a run reports.
type Reporter struct {
	mu       sync.Mutex
	Phases   []string // "Title subject"
	Infos    []string
	Warnings []string
	Masked   []string
	Out      strings.Builder // the progress writer's output
}

// Phase records p's title for subject.
func (r *Reporter) Phase(p engine.Phase, subject string) { r.add(&r.Phases, p.Title(subject)) }

// Infof records a line.
func (r *Reporter) Infof(format string, args ...any) { r.add(&r.Infos, fmt.Sprintf(format, args...)) }

// Warnf records a warning.
func (r *Reporter) Warnf(format string, args ...any) {
	r.add(&r.Warnings, fmt.Sprintf(format, args...))
}

// Mask records a secret.
func (r *Reporter) Mask(secret string) { r.add(&r.Masked, secret) }

// Progress is Out.
func (r *Reporter) Progress() io.Writer { return writer{r} }

// Log is every phase, line and warning, one a line, in kind order.
func (r *Reporter) Log() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(append(append(append([]string(nil), r.Phases...), r.Infos...), r.Warnings...), "\n")
}

func (r *Reporter) add(list *[]string, s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	*list = append(*list, s)
}

type writer struct{ r *Reporter }

func (w writer) Write(p []byte) (int, error) {
	w.r.mu.Lock()
	defer w.r.mu.Unlock()
	return w.r.Out.Write(p)
}
