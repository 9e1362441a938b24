package engine

import (
	"context"
	"errors"
	"io"
	"time"
)

// ErrNotFound is returned by lookups when the image or tag does not exist.
var ErrNotFound = errors.New("not found")

// ErrDenied marks a registry's refusal of a credential or of an action
// (HTTP 401 or 403), as the daemon reports a refused push.
var ErrDenied = errors.New("denied by the registry")

// ErrImmutable marks a registry's refusal to overwrite a tag, as an ECR
// repository with IMMUTABLE tag mutability refuses.
var ErrImmutable = errors.New("the registry refuses to overwrite a tag")

// Immutable is the expression, compiled on first use, that matches a
// registry's message refusing to overwrite a tag: ECR's
// ImageTagAlreadyExistsException ("… cannot be overwritten because the
// repository is immutable"), and the immutable-tag rules of other
// registries.
var Immutable = lazyRegexp(`(?i)cannot be overwritten|ImageTagAlreadyExists|\bimmutable\b`)

// denied is a registry's 401 or 403, as the daemon and BuildKit word it.
var denied = lazyRegexp(`(?i)unauthorized|authentication required|\bdenied\b|forbidden|\b40[13]\b`)

// MarkRefusal marks err, a failed push, with ErrImmutable or ErrDenied
// when its text is a registry's refusal to overwrite a tag or to take the
// credential; it still reads as err. Any other err is returned as is.
func MarkRefusal(err error) error {
	switch {
	case err == nil:
		return nil
	case Immutable().MatchString(err.Error()):
		return refusal{err, ErrImmutable}
	case denied().MatchString(err.Error()):
		return refusal{err, ErrDenied}
	}
	return err
}

// refusal is a push the registry refused: it reads as err and is mark.
type refusal struct{ err, mark error }

func (r refusal) Error() string   { return r.err.Error() }
func (r refusal) Unwrap() []error { return []error{r.err, r.mark} }

// refusesOverwrite reports whether err is a registry's refusal to
// overwrite a tag.
func refusesOverwrite(err error) bool {
	return errors.Is(err, ErrImmutable) || Immutable().MatchString(err.Error())
}

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

// Registry is where cached images are kept. Every provider implements it
// whole; one that cannot do something says so in Can, and the run checks
// that before its first step rather than fail after a push.
type Registry interface {
	// Repository is the image name without a tag: host/path.
	Repository(ctx context.Context) (string, error)
	// Can says what the provider can do.
	Can() Capabilities
	// Auth returns the credential for the repository's host. The run masks
	// it: providers do not.
	Auth(ctx context.Context) (Auth, error)
	// Lookup returns the manifest digest of tag, or ErrNotFound, using the
	// credential Auth returned. Any other error (denied, unreachable) must
	// not be taken for a miss.
	Lookup(ctx context.Context, tag string, auth Auth) (string, error)
	// Labels reads the labels of tag's image without pulling it, or
	// answers ErrNotFound.
	Labels(ctx context.Context, tag string, auth Auth) (map[string]string, error)
	// Tag gives the image under tag the tag newTag too, without pulling it.
	Tag(ctx context.Context, tag, newTag string, auth Auth) error
	// ListTags lists the repository's tags, so that a miss finds the
	// newest key's image where no moving tag is kept.
	ListTags(ctx context.Context, auth Auth) ([]string, error)
	// Prepare readies the repository for a push: it creates it if needed
	// and applies tags and retention. Called on a miss, before the build.
	Prepare(ctx context.Context) (Prepared, error)
}

// Prepared is what Prepare learned of the repository.
type Prepared struct {
	// LatestImmutable says why the repository refuses to move latest (an
	// ECR repository's IMMUTABLE tag mutability), or is "": a miss then
	// neither pushes latest nor reads it before fallback-tag and the
	// newest key's image.
	LatestImmutable string
}

// Capabilities are what a registry provider can do.
type Capabilities struct {
	// Remote is false for the local provider: nothing is looked up in a
	// registry or pushed, and the daemon's images are the cache.
	Remote bool
	// Labels: Registry.Labels reads an image's labels, so that latest
	// moves forward only and a miss names what changed, on any agent.
	Labels bool
	// Tag: Registry.Tag tags in the registry, as latest moves after a
	// BuildKit host pushed the key tag.
	Tag bool
}

// ErrUnsupported is what a provider answers for what Can says it cannot do.
var ErrUnsupported = errors.New("not supported by this registry provider")

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
	Tag(ctx context.Context, src, dst string) error
	// Push pushes ref and returns its manifest digest.
	Push(ctx context.Context, ref string, auth Auth) (string, error)
	// Platform is the platform the daemon builds for when none is given,
	// os/arch[/variant] as containerd normalizes it (linux/amd64).
	Platform(ctx context.Context) (string, error)
}

// Pinger is a Docker that can say, before the run relies on it, whether a
// daemon answers at all. A run where none answers is daemonless: a hit is
// handed over by reference, and a miss is built on buildkit-host. A Docker
// that is not a Pinger is taken to answer.
type Pinger interface {
	Ping(ctx context.Context) error
}

// PlatformBuilder is a Builder that knows the platform it builds for when
// none is given: a BuildKit host's workers'. A daemonless run hashes it.
type PlatformBuilder interface {
	Platform(ctx context.Context) (string, error)
}

// Builder builds the image of a miss: the job's Docker daemon, which keeps
// it for the run to push, or a BuildKit daemon at buildkit-host
// (engine/buildkit), which pushes spec.Tags itself (BuildResult.Pushed).
type Builder interface {
	Build(ctx context.Context, spec BuildSpec) (BuildResult, error)
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

// Discard is a Reporter that shows nothing, for callers with no user to tell.
var Discard Reporter = discard{}

type discard struct{}

func (discard) Phase(Phase, string)  {}
func (discard) Infof(string, ...any) {}
func (discard) Warnf(string, ...any) {}
func (discard) Mask(string)          {}
func (discard) Progress() io.Writer  { return io.Discard }
