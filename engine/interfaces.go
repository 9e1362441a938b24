package engine

import (
	"context"
	"errors"
	"io"
	"strconv"
	"time"
)

// ErrNotFound is returned by lookups when the image or tag does not exist.
var ErrNotFound = errors.New("not found")

// ErrDenied marks a registry's refusal of a credential or of an action
// (HTTP 401 or 403), as the daemon reports a refused push.
var ErrDenied = errors.New("denied by the registry")

// Warmer is a Registry that can start getting its credential in the
// background, so that the token exchange overlaps the key's computation.
// Auth then waits for it.
type Warmer interface {
	Warm(ctx context.Context)
}

// Explainer is a Registry that adds its own fixes to a run's error, such
// as the permission a refused push needs.
type Explainer interface {
	Explain(err error) error
}

// Auth is a registry credential, sent per request and never stored.
type Auth struct {
	Server        string
	Username      string
	Password      string
	IdentityToken string // an OAuth2 refresh token, from a Docker config or credential helper
}

// Registry is where cached images are kept.
type Registry interface {
	// Repository is the image name without a tag: host/path.
	Repository(ctx context.Context) (string, error)
	// Remote is false for the local provider: nothing is pushed or looked up.
	Remote() bool
	// Auth returns the credential for the repository's host.
	Auth(ctx context.Context) (Auth, error)
	// Lookup returns the manifest digest of tag, or ErrNotFound, using the
	// credential Auth returned. Any other error (denied, unreachable) must
	// not be taken for a miss.
	Lookup(ctx context.Context, tag string, auth Auth) (string, error)
	// Prepare readies the repository for a push: it creates it if needed
	// and applies tags and retention. Called on a miss, before the build.
	Prepare(ctx context.Context) error
}

// LabelReader is a Registry that can read an image's labels without pulling
// it, so that a miss can say what changed since the previous image.
type LabelReader interface {
	Labels(ctx context.Context, tag string, auth Auth) (map[string]string, error)
}

// Image is what the daemon knows of a local image.
type Image struct {
	ID          string
	RepoDigests []string
	Labels      map[string]string
	Created     time.Time
}

// BuildSpec is one image build, made from a Plan.
type BuildSpec struct {
	ContextDir string // absolute path
	Dockerfile string // absolute path, or empty with Inline
	Inline     []byte // Dockerfile content when given inline
	Target     string
	Platform   string   // os/arch[/variant]; empty: the daemon's
	BuildArgs  []string // NAME=value
	Secrets    []Secret
	Flags      BuildFlags // the flags other than --platform and --build-arg
	Tags       []string
	Labels     map[string]string
	CacheFrom  []string
	Auth       Auth                // for pulling base images and cache from the cache's registry
	Getenv     func(string) string // reads env secrets and --ssh paths when the build asks
	// CacheTo is the registry ref that a build on a BuildKit host exports
	// its full layer cache to (mode=max) and imports it from; empty: none.
	CacheTo string
}

// BuildResult is a finished build.
type BuildResult struct {
	ID     string // the image's config digest
	Digest string // manifest digest of the pushed image, when Pushed
	Pushed bool   // the builder pushed spec.Tags itself
}

// Docker is the Docker Engine, as the cache uses it.
type Docker interface {
	// Inspect returns a local image, or ErrNotFound.
	Inspect(ctx context.Context, ref string) (Image, error)
	Pull(ctx context.Context, ref string, auth Auth) error
	// Build builds spec and returns the image ID.
	Build(ctx context.Context, spec BuildSpec) (string, error)
	Tag(ctx context.Context, src, dst string) error
	// Push pushes ref and returns its manifest digest.
	Push(ctx context.Context, ref string, auth Auth) (string, error)
	// Platform is the platform the daemon builds for when none is given,
	// os/arch[/variant] as containerd normalizes it (linux/amd64).
	Platform(ctx context.Context) (string, error)
}

// Reporter shows the user what is happening, in the CI's own way.
type Reporter interface {
	// Phase starts a phase of the run on subject (an image reference, or
	// empty): a collapsible section that ends the one before.
	Phase(p Phase, subject string)
	Infof(format string, args ...any)
	Warnf(format string, args ...any)
	// Mask hides a secret value in all later output, and asks the CI to.
	Mask(secret string)
	// Progress is where build and pull progress is written.
	Progress() io.Writer
}

// Result is what a run hands over.
type Result struct {
	Image    string `json:"image"`
	Tag      string `json:"tag"`
	Ref      string `json:"image-ref"`
	CacheHit bool   `json:"cache-hit"`
	Digest   string `json:"digest"`
	Key      Key    `json:"-"`

	Pulled   bool          `json:"-"`
	Built    bool          `json:"-"`
	Pushed   bool          `json:"-"`
	Elapsed  time.Duration `json:"-"`
	Saved    time.Duration `json:"-"` // the recorded build time a hit avoided
	Changed  []Change      `json:"-"` // inputs that differ from the previous image, on a miss
	Previous string        `json:"-"` // the image the change was measured against
}

// Variables every front end exports to the job, named as the original
// Buildkite plugin named them so that scripts work on every CI.
const (
	DefaultImageVar = "BUILDKITE_PLUGIN_DOCKER_IMAGE" // export-env-variable's default: image:tag
	ExportImage     = "BUILDKITE_PLUGIN_DOCKER_ECR_CACHE_EXPORT_IMAGE"
	ExportTag       = "BUILDKITE_PLUGIN_DOCKER_ECR_CACHE_EXPORT_TAG"
	ExportCacheHit  = "BUILDKITE_PLUGIN_DOCKER_ECR_CACHE_EXPORT_CACHE_HIT"
	ExportDigest    = "BUILDKITE_PLUGIN_DOCKER_ECR_CACHE_EXPORT_DIGEST"
)

// Exports are the variables the original plugin exported, also when the
// pull was skipped, and two more: whether the key hit, and the digest.
// imageVar is export-env-variable; empty means DefaultImageVar.
func (r Result) Exports(imageVar string) []Output {
	if imageVar == "" {
		imageVar = DefaultImageVar
	}
	return []Output{
		{imageVar, r.Ref},
		{ExportImage, r.Image},
		{ExportTag, r.Tag},
		{ExportCacheHit, strconv.FormatBool(r.CacheHit)},
		{ExportDigest, r.Digest},
	}
}

// Output is one named result value.
type Output struct{ Name, Value string }

// Outputs lists the results every front end writes, in a fixed order.
func (r Result) Outputs() []Output {
	return []Output{
		{"image", r.Image},
		{"tag", r.Tag},
		{"image-ref", r.Ref},
		{"cache-hit", strconv.FormatBool(r.CacheHit)},
		{"digest", r.Digest},
		{"key", r.Key.Tag},
	}
}
