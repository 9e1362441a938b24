package prune

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/registry/oci"
)

// Registry prunes any OCI or Docker registry through its API: it lists
// the tags, reads the config of each key tag's image (its labels), takes
// the digest of every other tag with a HEAD, and deletes manifests by
// digest.
type Registry struct {
	Repo   string // host[:port]/path
	Auth   engine.Auth
	Client *oci.Client
	// Retention names the registry's own retention feature, for the error
	// when it refuses deletes.
	Retention string
	// Workers is how many images are read at once (default 8).
	Workers int

	once   sync.Once
	puller *remote.Puller
	repo   name.Repository
	del    *http.Client
	err    error

	mu      sync.Mutex
	index   ageIndex          // the last prune's, by config digest
	configs map[string]string // key tag -> its image's config digest
	guessed map[string]bool   // key tags whose labels came from the index
}

var _ Backend = (*Registry)(nil)

// Repository is Repo.
func (r *Registry) Repository() string { return r.Repo }

func (r *Registry) init(ctx context.Context) error {
	r.once.Do(func() {
		var opts []name.Option
		if host, _, _ := strings.Cut(r.Repo, "/"); engine.Loopback(host) {
			opts = append(opts, name.Insecure)
		}
		r.configs, r.guessed = map[string]string{}, map[string]bool{}
		if r.repo, r.err = name.NewRepository(r.Repo, opts...); r.err != nil {
			return
		}
		// One puller for every read: one API check and token exchange,
		// not one per request.
		r.puller, r.err = remote.NewPuller(r.Client.Options(ctx, r.Auth)...)
	})
	return r.err
}

// List reads every tag: the config of key tags' images, the digest of the
// others. A tag deleted meanwhile is left out.
func (r *Registry) List(ctx context.Context) ([]Image, error) {
	if err := r.init(ctx); err != nil {
		return nil, err
	}
	tags, err := r.puller.List(ctx, r.repo)
	if oci.NotFound(err) || nameUnknown(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	r.configs, r.guessed = map[string]string{}, map[string]bool{}
	r.index = nil
	if i := slices.Index(tags, IndexTag); i >= 0 {
		tags = slices.Delete(tags, i, i+1)
		r.index = r.loadIndex(ctx)
	}
	workers := r.Workers
	if workers <= 0 {
		workers = 8
	}
	images := make([]Image, len(tags))
	found := make([]bool, len(tags))
	errs := make([]error, len(tags))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, len(tags)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				images[i], found[i], errs[i] = r.read(ctx, tags[i])
			}
		}()
	}
	for i := range tags {
		next <- i
	}
	close(next)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	var out []Image
	for i, img := range images {
		if found[i] {
			out = append(out, img)
		}
	}
	return out, nil
}

// read reads one tag: a key tag's manifest (one GET) and, unless the last
// prune's index knows its config, the config (a second GET; one more for
// a multi-platform index); any other tag's digest (one HEAD).
func (r *Registry) read(ctx context.Context, tag string) (Image, bool, error) {
	ref := r.repo.Tag(tag)
	img := Image{Tag: tag}
	if !IsKeyTag(tag) {
		desc, err := r.puller.Head(ctx, ref)
		if err != nil {
			return img, false, ignoreNotFound(ref, err)
		}
		img.Digest = desc.Digest.String()
		return img, true, nil
	}
	desc, err := r.puller.Get(ctx, ref)
	if err != nil {
		return img, false, ignoreNotFound(ref, err)
	}
	img.Digest = desc.Digest.String()
	im, err := pickImage(desc)
	if err != nil || im == nil {
		return img, err == nil, ignoreNotFound(ref, err)
	}
	m, err := im.Manifest() // already read: ConfigName would fetch the config
	if err != nil {
		return img, false, ignoreNotFound(ref, err)
	}
	r.mu.Lock()
	r.configs[tag] = m.Config.Digest.String()
	e, known := r.index[m.Config.Digest.String()]
	r.guessed[tag] = known
	r.mu.Unlock()
	if known {
		img.Key = e.Key
		img.Pushed, _ = engine.ParseStarted(e.Started)
		return img, true, nil
	}
	cfg, err := oci.ConfigFile(im)
	switch {
	case errors.Is(err, oci.ErrConfigTooLarge):
		return img, true, nil // no key: kept, as every image not of the cache's making
	case err != nil:
		return img, false, ignoreNotFound(ref, err)
	}
	img.Key = cfg.Config.Labels[engine.LabelKey]
	img.Pushed, _ = engine.ParseStarted(cfg.Config.Labels[engine.LabelBuildStarted])
	return img, true, nil
}

// pickImage is desc's image, or from an index the image of this
// machine's platform, else the first image; nil for a manifest that is no
// image (a BuildKit cache manifest).
func pickImage(desc *remote.Descriptor) (v1.Image, error) {
	switch {
	case desc.MediaType.IsIndex():
		idx, err := desc.ImageIndex()
		if err != nil {
			return nil, err
		}
		im, err := idx.IndexManifest()
		if err != nil {
			return nil, err
		}
		var pick *v1.Descriptor
		for i, m := range im.Manifests {
			if !m.MediaType.IsImage() {
				continue
			}
			if m.Platform != nil && m.Platform.OS == "linux" && m.Platform.Architecture == runtime.GOARCH {
				pick = &im.Manifests[i]
				break
			}
			if pick == nil && (m.Platform == nil || m.Platform.OS != "unknown") {
				pick = &im.Manifests[i]
			}
		}
		if pick == nil {
			return nil, nil
		}
		return idx.Image(pick.Digest)
	case desc.MediaType.IsImage():
		return desc.Image()
	}
	return nil, nil
}

// config reads the image config of desc's image (see pickImage).
func config(desc *remote.Descriptor) (*v1.ConfigFile, error) {
	img, err := pickImage(desc)
	if err != nil || img == nil {
		return nil, err
	}
	return oci.ConfigFile(img)
}

func ignoreNotFound(ref name.Reference, err error) error {
	if oci.NotFound(err) || blobUnknown(err) {
		return nil
	}
	return fmt.Errorf("reading %s: %w", ref, err)
}

func nameUnknown(err error) bool { return hasCode(err, transport.NameUnknownErrorCode) }
func blobUnknown(err error) bool { return hasCode(err, transport.BlobUnknownErrorCode) }

func hasCode(err error, code transport.ErrorCode) bool {
	var te *transport.Error
	if !errors.As(err, &te) {
		return false
	}
	for _, d := range te.Errors {
		if d.Code == code {
			return true
		}
	}
	return false
}

// Confirm reads the config of each image the plan would delete whose
// labels List took from the index, so that no image is deleted on the
// index's word: the index only spares reads of images that are kept.
func (r *Registry) Confirm(ctx context.Context, plan []Decision) error {
	for i := range plan {
		d := &plan[i]
		if !d.Delete || !r.guessed[d.Tag] {
			continue
		}
		// The config the listed manifest names: one GET of its blob.
		ref := r.repo.Digest(r.configs[d.Tag])
		d.Key, d.Pushed = "", time.Time{}
		blob, err := r.puller.Layer(ctx, ref)
		if err != nil {
			return fmt.Errorf("reading %s: %w", ref, err)
		}
		rc, err := blob.Compressed()
		if err != nil {
			if err := ignoreNotFound(ref, err); err != nil {
				return err
			}
			r.guessed[d.Tag] = false
			continue // gone since the listing: kept, for the next prune
		}
		cfg, err := v1.ParseConfigFile(rc)
		rc.Close()
		if err != nil {
			return fmt.Errorf("reading %s: %w", ref, err)
		}
		d.Key = cfg.Config.Labels[engine.LabelKey]
		d.Pushed, _ = engine.ParseStarted(cfg.Config.Labels[engine.LabelBuildStarted])
		r.guessed[d.Tag] = false
	}
	return nil
}

// Delete deletes the manifest digest. A manifest already gone is not an
// error; a registry refusing deletes is ErrUnsupported, with its own
// retention feature named.
func (r *Registry) Delete(ctx context.Context, digest string) error {
	if err := r.init(ctx); err != nil {
		return err
	}
	if r.del == nil {
		// One client for every delete, scoped for it: one API check.
		tr, err := transport.NewWithContext(ctx, r.repo.Registry, oci.Authenticator(r.Auth), r.Client.RoundTripper(),
			[]string{r.repo.Scope(transport.DeleteScope)})
		if err != nil {
			return err
		}
		r.del = &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	u := url.URL{Scheme: r.repo.Scheme(), Host: r.repo.RegistryStr(), Path: fmt.Sprintf("/v2/%s/manifests/%s", r.repo.RepositoryStr(), digest)}
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, u.String(), nil)
	if err != nil {
		return err
	}
	resp, err := r.del.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	err = transport.CheckError(resp, http.StatusOK, http.StatusAccepted)
	switch {
	case err == nil:
		return nil
	case oci.NotFound(err):
		return nil
	case resp.StatusCode == http.StatusMethodNotAllowed || hasCode(err, transport.UnsupportedErrorCode):
		return &RefusedError{Registry: r.repo.RegistryStr(), Answer: fmt.Sprintf("HTTP %d %s", resp.StatusCode, answer(err)), Retention: r.Retention}
	}
	return err
}

// answer is a registry error's codes and messages.
func answer(err error) string {
	var te *transport.Error
	if !errors.As(err, &te) || len(te.Errors) == 0 {
		return ""
	}
	var parts []string
	for _, d := range te.Errors {
		parts = append(parts, fmt.Sprintf("%s: %s", d.Code, d.Message))
	}
	return strings.Join(parts, "; ")
}

// Retention names a registry's own retention feature, by its host.
func Retention(host string) string {
	switch {
	case host == "docker.io" || host == "index.docker.io" || host == "registry-1.docker.io":
		return "Docker Hub deletes tags through its web API or its image management page, not the registry API: prune cannot run there."
	case strings.HasSuffix(host, "-docker.pkg.dev"):
		return "Use Artifact Registry's cleanup policies (gcloud artifacts repositories set-cleanup-policies), or grant the credential artifactregistry.versions.delete."
	case strings.Contains(host, "gitlab"):
		return "Use GitLab's cleanup policy for the container registry (Settings > Packages and registries), or give the token the api or write_registry scope."
	case host == "quay.io" || strings.Contains(host, "quay"):
		return "Use Quay's auto-pruning policies (Repository settings), or a robot account with admin on the repository."
	}
	return "Turn deletes on in the registry (distribution: storage.delete.enabled: true, REGISTRY_STORAGE_DELETE_ENABLED=true), " +
		"or use its own retention: Harbor's tag retention rules, Quay's auto-pruning, Nexus's cleanup policies, GitLab's cleanup policy."
}
