package prune

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/registry/oci"
)

// GHCR prunes a GitHub container package through GitHub's REST API for
// packages: it lists the package's versions with their tags and push
// times, and deletes versions. Only the images it would delete are read
// from the registry (Registry), to check their key label; untagged
// versions are deleted when they are the cache's: superseded key images
// and buildcache manifests.
type GHCR struct {
	Registry *Registry // the same package through the registry API, ghcr.io/OWNER/NAME
	API      string    // GitHub's API root (GITHUB_API_URL; default https://api.github.com)
	Token    string
	HTTP     *http.Client // nil: http.DefaultClient
	// PerPage is the versions asked for per page (default 100, GitHub's most).
	PerPage int
	// MaxWait bounds one wait for a rate limit to lift (default 2m).
	MaxWait time.Duration
	// Log reports waits for rate limits; may be nil.
	Log func(format string, args ...any)

	base      string           // .../packages/container/NAME
	ids       map[string]int64 // digest -> version id
	confirmed map[string]Image // tag@digest -> the image as read
}

var _ Backend = (*GHCR)(nil)

// Repository is the package's image name.
func (g *GHCR) Repository() string { return g.Registry.Repo }

type version struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"` // the manifest digest
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	Metadata  struct {
		Container struct {
			Tags []string `json:"tags"`
		} `json:"container"`
	} `json:"metadata"`
}

// List lists every version: one image per tag, or one untagged image. A
// key tag is taken for a key image, an untagged version for the cache's,
// until Confirm reads those the plan would delete.
func (g *GHCR) List(ctx context.Context) ([]Image, error) {
	if err := g.owner(ctx); err != nil {
		return nil, err
	}
	g.ids = map[string]int64{}
	var images []Image
	perPage := g.PerPage
	if perPage <= 0 {
		perPage = 100
	}
	next := fmt.Sprintf("%s/versions?per_page=%d", g.base, perPage)
	for pages := 0; next != ""; pages++ {
		if pages == maxPages {
			return nil, fmt.Errorf("listing %s: more than %d pages of versions: prune stops rather than read on", g.Registry.Repo, maxPages)
		}
		var page []version
		resp, err := g.do(ctx, http.MethodGet, next, &page)
		if err != nil {
			return nil, err
		}
		if next, err = g.nextPage(resp.Header.Get("Link")); err != nil {
			return nil, err
		}
		for _, v := range page {
			g.ids[v.Name] = v.ID
			pushed := v.CreatedAt
			if v.UpdatedAt.After(pushed) {
				pushed = v.UpdatedAt
			}
			if len(v.Metadata.Container.Tags) == 0 {
				images = append(images, Image{Digest: v.Name, Cache: true, Pushed: pushed})
			}
			for _, tag := range v.Metadata.Container.Tags {
				img := Image{Tag: tag, Digest: v.Name, Pushed: pushed}
				if IsKeyTag(tag) {
					img.Key = tag
				}
				images = append(images, img)
			}
		}
	}
	return images, nil
}

// owner finds whether the package's owner is a user or an organization.
func (g *GHCR) owner(ctx context.Context) error {
	_, path, _ := strings.Cut(g.Registry.Repo, "/")
	owner, pkg, ok := strings.Cut(path, "/")
	if !ok {
		return engine.Configf("registry %q names no package: write ghcr.io/OWNER/NAME", g.Registry.Repo)
	}
	api := strings.TrimSuffix(g.API, "/")
	if api == "" {
		api = "https://api.github.com"
	}
	var user struct {
		Type string `json:"type"`
	}
	if _, err := g.do(ctx, http.MethodGet, api+"/users/"+url.PathEscape(owner), &user); err != nil {
		return fmt.Errorf("finding the owner %s: %w", owner, err)
	}
	kind := "users"
	if user.Type == "Organization" {
		kind = "orgs"
	}
	g.base = fmt.Sprintf("%s/%s/%s/packages/container/%s", api, kind, url.PathEscape(owner), url.PathEscape(pkg))
	return nil
}

// Confirm reads from the registry the images the plan would delete: a
// tagged one must carry its tag as key label, an untagged one must be a
// key image or a BuildKit cache manifest, and not an image of a kept
// multi-platform index.
func (g *GHCR) Confirm(ctx context.Context, plan []Decision) error {
	r := g.Registry
	if err := r.init(ctx); err != nil {
		return err
	}
	if g.confirmed == nil {
		g.confirmed = map[string]Image{}
	}
	children := map[string]bool{}
	untagged := false
	for _, d := range plan {
		untagged = untagged || d.Delete && d.Tag == ""
	}
	for i := range plan {
		d := &plan[i]
		switch {
		case d.Delete && d.Tag != "":
			if img, ok := g.confirmed[d.Tag+"@"+d.Digest]; ok {
				d.Key = img.Key
				continue
			}
			img, found, err := r.read(ctx, d.Tag)
			if err != nil {
				return err
			}
			if !found || img.Digest != d.Digest {
				d.Key = "" // moved or gone since the listing: left for the next prune
			} else {
				d.Key = img.Key
			}
			g.confirmed[d.Tag+"@"+d.Digest] = d.Image
		case !d.Delete && d.Tag != "" && untagged:
			// A kept index's platform images are untagged versions.
			if err := g.indexChildren(ctx, d.Digest, children); err != nil {
				return err
			}
		}
	}
	for i := range plan {
		d := &plan[i]
		if d.Delete && d.Tag == "" {
			img, ok := g.confirmed["@"+d.Digest]
			if !ok {
				cache, err := g.cacheManifest(ctx, d.Digest)
				if err != nil {
					return err
				}
				img = Image{Cache: cache}
				g.confirmed["@"+d.Digest] = img
			}
			d.Cache = img.Cache && !children[d.Digest]
		}
	}
	return nil
}

func (g *GHCR) indexChildren(ctx context.Context, digest string, into map[string]bool) error {
	desc, err := g.Registry.puller.Get(ctx, g.Registry.repo.Digest(digest))
	if err != nil {
		return ignoreNotFound(g.Registry.repo.Digest(digest), err)
	}
	if !desc.MediaType.IsIndex() {
		return nil
	}
	idx, err := desc.ImageIndex()
	if err != nil {
		return err
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return err
	}
	for _, m := range im.Manifests {
		into[m.Digest.String()] = true
	}
	return nil
}

const buildkitCacheConfig = "application/vnd.buildkit.cacheconfig.v0"

// cacheManifest reports whether the untagged manifest digest is the
// cache's: an image with the key label, or a BuildKit cache manifest.
func (g *GHCR) cacheManifest(ctx context.Context, digest string) (bool, error) {
	ref := g.Registry.repo.Digest(digest)
	desc, err := g.Registry.puller.Get(ctx, ref)
	if err != nil {
		return false, ignoreNotFound(ref, err)
	}
	var m struct {
		Config    struct{ MediaType string }   `json:"config"`
		Manifests []struct{ MediaType string } `json:"manifests"`
		Layers    []struct{ MediaType string } `json:"layers"`
	}
	if err := json.Unmarshal(desc.Manifest, &m); err != nil {
		return false, fmt.Errorf("reading %s: %w", ref, err)
	}
	if m.Config.MediaType == buildkitCacheConfig {
		return true, nil
	}
	for _, c := range m.Manifests {
		if c.MediaType == buildkitCacheConfig {
			return true, nil
		}
	}
	cfg, err := config(desc)
	switch {
	case errors.Is(err, oci.ErrConfigTooLarge):
		return false, nil // not the cache's
	case err != nil || cfg == nil:
		return false, ignoreNotFound(ref, err)
	}
	return cfg.Config.Labels[engine.LabelKey] != "", nil
}

// Delete deletes the package version of digest.
func (g *GHCR) Delete(ctx context.Context, digest string) error {
	id, ok := g.ids[digest]
	if !ok {
		return fmt.Errorf("no package version has the digest %s", digest)
	}
	_, err := g.do(ctx, http.MethodDelete, fmt.Sprintf("%s/versions/%d", g.base, id), nil)
	var he *httpError
	if errors.As(err, &he) && he.Status == http.StatusNotFound {
		return nil // deleted meanwhile
	}
	return err
}

// httpError is an answer of GitHub's API that is not a success.
type httpError struct {
	Method, URL string
	Status      int
	Message     string
	Scopes      string // X-OAuth-Scopes: the token's
}

func (e *httpError) Error() string {
	msg := fmt.Sprintf("GitHub API %s %s: HTTP %d: %s", e.Method, e.URL, e.Status, e.Message)
	if e.Status == http.StatusForbidden || e.Status == http.StatusUnauthorized {
		scopes := ""
		if e.Scopes != "" {
			scopes = " (the token has: " + e.Scopes + ")"
		}
		msg += "; deleting package versions needs a token with the delete:packages and read:packages scopes" + scopes +
			", or GITHUB_TOKEN with `permissions: packages: write` in a repository that has Admin access to the package (its Package settings)"
	}
	return msg
}

var ghcrTries = 5

// maxPages bounds a listing: 100,000 versions at 100 a page.
const maxPages = 1000

// do sends one API request and decodes a JSON answer into out. It waits
// out a secondary rate limit (retry-after) and a spent primary one
// (x-ratelimit-remaining: 0 until x-ratelimit-reset), up to MaxWait each
// time and ghcrTries times.
func (g *GHCR) do(ctx context.Context, method, u string, out any) (*http.Response, error) {
	client := g.HTTP
	if client == nil {
		client = http.DefaultClient
	}
	maxWait := g.MaxWait
	if maxWait == 0 {
		maxWait = 2 * time.Minute
	}
	for try := 1; ; try++ {
		req, err := http.NewRequestWithContext(ctx, method, u, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Accept", "application/vnd.github+json")
		req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
		req.Header.Set("User-Agent", "docker-ecr-cache")
		if g.Token != "" {
			req.Header.Set("Authorization", "Bearer "+g.Token)
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil, err
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("reading GitHub's answer to %s %s: %w", method, u, err)
		}
		if resp.StatusCode/100 == 2 {
			if out != nil && resp.StatusCode != http.StatusNoContent {
				if err := json.Unmarshal(body, out); err != nil {
					return nil, fmt.Errorf("GitHub API %s %s: %w", method, u, err)
				}
			}
			return resp, nil
		}
		var msg struct {
			Message string `json:"message"`
		}
		_ = json.Unmarshal(body, &msg)
		wait, limited := rateLimited(resp, time.Now())
		if !limited {
			return nil, &httpError{Method: method, URL: u, Status: resp.StatusCode, Message: msg.Message, Scopes: resp.Header.Get("X-OAuth-Scopes")}
		}
		if wait > maxWait || try >= ghcrTries {
			return nil, fmt.Errorf("GitHub API %s %s: rate limited (HTTP %d: %s); the limit lifts in %s: prune again later", method, u, resp.StatusCode, msg.Message, wait.Round(time.Second))
		}
		if g.Log != nil {
			g.Log("GitHub's API is rate limiting (%s): waiting %s (try %d of %d)", msg.Message, wait.Round(time.Second), try+1, ghcrTries)
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		}
	}
}

// rateLimited reads a refusal for a rate limit and how long to wait: a
// secondary limit gives retry-after in seconds; a spent primary limit
// x-ratelimit-remaining 0 and the reset time in unix seconds.
func rateLimited(resp *http.Response, now time.Time) (time.Duration, bool) {
	if resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusTooManyRequests {
		return 0, false
	}
	if s := resp.Header.Get("Retry-After"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n >= 0 {
			return time.Duration(n) * time.Second, true
		}
	}
	if resp.Header.Get("X-RateLimit-Remaining") == "0" {
		if reset, err := strconv.ParseInt(resp.Header.Get("X-RateLimit-Reset"), 10, 64); err == nil {
			return max(time.Unix(reset, 0).Sub(now), 0) + time.Second, true
		}
		return time.Minute, true
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		return time.Minute, true // a secondary limit without retry-after: GitHub says wait a minute
	}
	return 0, false
}

// nextPage is the Link header's next page, which must be on the API's
// host: the token goes with it.
func (g *GHCR) nextPage(link string) (string, error) {
	next := nextLink(link)
	if next == "" {
		return "", nil
	}
	u, err := url.Parse(next)
	b, _ := url.Parse(g.base)
	if err != nil || u.Scheme != b.Scheme || u.Host != b.Host {
		return "", fmt.Errorf("GitHub's API named a next page off its host (%q): refusing to send the token there", next)
	}
	return next, nil
}

var linkNext = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`<([^>]+)>;\s*rel="next"`) })

// nextLink is the rel="next" URL of a Link header, or "".
func nextLink(h string) string {
	if m := linkNext().FindStringSubmatch(h); m != nil {
		return m[1]
	}
	return ""
}
