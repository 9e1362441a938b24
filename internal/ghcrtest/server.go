// Package ghcrtest is a GitHub Container Registry test server: GitHub's REST
// API for container packages (the owner, the package's versions with
// their tags, version deletion) as GitHub speaks it (Link pagination,
// x-ratelimit headers, a secondary rate limit answered with retry-after,
// 403 for a token without delete:packages), in front of a real
// distribution registry. As on GHCR, every manifest pushed through
// RegistryHost is a package version, a tag moved to another manifest
// leaves the old version untagged, and deleting a version deletes its
// manifest from the registry.
package ghcrtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker-ecr-cache/docker-ecr-cache/internal/testenv"
)

// Options configures a Server.
type Options struct {
	Owner string // the package owner's login
	Org   bool   // the owner is an organization
	// Tokens are the tokens the API accepts, each with its scopes
	// (read:packages, delete:packages).
	Tokens map[string][]string
}

// Version is one package version.
type Version struct {
	ID      int64
	Package string
	Digest  string
	Tags    []string
	Created time.Time
	Updated time.Time
}

// Server is the API and the registry front.
type Server struct {
	URL          string // API root: GITHUB_API_URL
	RegistryHost string // 127.0.0.1:port: push here to make versions
	Registry     *testenv.Registry

	opts      Options
	mu        sync.Mutex
	versions  []*Version
	nextID    int64
	secondary int
	requests  []string
}

// Start starts a server for the test's lifetime.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	s := &Server{opts: opts, nextID: 1000, Registry: testenv.StartRegistry(t, testenv.RegistryOptions{Delete: true})}
	api := httptest.NewServer(http.HandlerFunc(s.api))
	t.Cleanup(api.Close)
	s.URL = api.URL
	front := httptest.NewServer(s.front())
	t.Cleanup(front.Close)
	s.RegistryHost = strings.TrimPrefix(front.URL, "http://")
	return s
}

// Versions returns the versions of pkg, newest first.
func (s *Server) Versions(pkg string) []Version {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Version
	for _, v := range s.sorted() {
		if v.Package == pkg {
			out = append(out, *v)
		}
	}
	return out
}

// SetPushed backdates the version of digest, as if pushed at t.
func (s *Server) SetPushed(digest string, t time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range s.versions {
		if v.Digest == digest {
			v.Created, v.Updated = t, t
		}
	}
}

// SecondaryLimit makes the next n API requests meet a secondary rate
// limit: 403 with retry-after: 1.
func (s *Server) SecondaryLimit(n int) {
	s.mu.Lock()
	s.secondary = n
	s.mu.Unlock()
}

// Requests returns "METHOD /path?query status" for every API request.
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requests...)
}

// front proxies the registry and records pushed manifests as versions.
func (s *Server) front() http.Handler {
	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: s.Registry.Host})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := testenv.NewStatusRecorder(w)
		proxy.ServeHTTP(rec, r)
		path := strings.TrimPrefix(r.URL.Path, "/v2/")
		repo, ref, ok := strings.Cut(path, "/manifests/")
		if r.Method != http.MethodPut || !ok || rec.Status != http.StatusCreated {
			return
		}
		owner, pkg, _ := strings.Cut(repo, "/")
		if owner != s.opts.Owner {
			return
		}
		s.pushed(pkg, rec.Header().Get("Docker-Content-Digest"), ref)
	})
}

// pushed records a manifest push: a new version, or a tag moved onto it.
func (s *Server) pushed(pkg, digest, ref string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now().UTC()
	var v *Version
	for _, x := range s.versions {
		if x.Package == pkg && x.Digest == digest {
			v = x
		}
	}
	if v == nil {
		s.nextID++
		v = &Version{ID: s.nextID, Package: pkg, Digest: digest, Created: now, Updated: now}
		s.versions = append(s.versions, v)
	}
	if strings.HasPrefix(ref, "sha256:") {
		return
	}
	for _, x := range s.versions {
		if x.Package == pkg && x != v {
			if i := index(x.Tags, ref); i >= 0 {
				x.Tags = append(x.Tags[:i], x.Tags[i+1:]...)
				x.Updated = now
			}
		}
	}
	if index(v.Tags, ref) < 0 {
		v.Tags = append(v.Tags, ref)
		v.Updated = now
	}
}

func index(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}

func (s *Server) sorted() []*Version {
	out := append([]*Version(nil), s.versions...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].ID > out[j].ID })
	return out
}

func (s *Server) api(w http.ResponseWriter, r *http.Request) {
	rec := testenv.NewStatusRecorder(w)
	s.serve(rec, r)
	s.mu.Lock()
	s.requests = append(s.requests, fmt.Sprintf("%s %s %d", r.Method, r.URL.RequestURI(), rec.Status))
	s.mu.Unlock()
}

func fail(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"message": msg, "documentation_url": "https://docs.github.com/rest/packages/packages"})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-RateLimit-Limit", "5000")
	h.Set("X-RateLimit-Remaining", "4999")
	h.Set("X-RateLimit-Reset", strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10))
	s.mu.Lock()
	limited := s.secondary > 0
	if limited {
		s.secondary--
	}
	s.mu.Unlock()
	if limited {
		h.Set("Retry-After", "1")
		fail(w, http.StatusForbidden, "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.")
		return
	}
	token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	scopes, ok := s.opts.Tokens[token]
	if !ok {
		fail(w, http.StatusUnauthorized, "Bad credentials")
		return
	}
	h.Set("X-OAuth-Scopes", strings.Join(scopes, ", "))
	parts := strings.Split(strings.TrimPrefix(r.URL.EscapedPath(), "/"), "/")
	switch {
	case len(parts) == 2 && parts[0] == "users" && r.Method == http.MethodGet:
		if parts[1] != s.opts.Owner {
			fail(w, http.StatusNotFound, "Not Found")
			return
		}
		kind := "User"
		if s.opts.Org {
			kind = "Organization"
		}
		writeJSON(w, map[string]any{"login": s.opts.Owner, "id": 1, "type": kind})
	case len(parts) >= 6 && parts[2] == "packages" && parts[3] == "container" && parts[5] == "versions":
		kind := "users"
		if s.opts.Org {
			kind = "orgs"
		}
		pkg, err := url.PathUnescape(parts[4])
		if parts[0] != kind || parts[1] != s.opts.Owner || err != nil || len(s.Versions(pkg)) == 0 {
			fail(w, http.StatusNotFound, "Package not found.")
			return
		}
		if index(scopes, "read:packages") < 0 {
			h.Set("X-Accepted-OAuth-Scopes", "read:packages")
			fail(w, http.StatusForbidden, "You need at least read:packages scope to list packages.")
			return
		}
		switch {
		case len(parts) == 6 && r.Method == http.MethodGet:
			s.list(w, r, pkg)
		case len(parts) == 7 && r.Method == http.MethodDelete:
			if index(scopes, "delete:packages") < 0 {
				h.Set("X-Accepted-OAuth-Scopes", "delete:packages, read:packages")
				fail(w, http.StatusForbidden, "You need at least delete:packages scope to delete a package version.")
				return
			}
			id, _ := strconv.ParseInt(parts[6], 10, 64)
			s.delete(w, pkg, id)
		default:
			fail(w, http.StatusNotFound, "Not Found")
		}
	default:
		fail(w, http.StatusNotFound, "Not Found")
	}
}

func (s *Server) list(w http.ResponseWriter, r *http.Request, pkg string) {
	q := r.URL.Query()
	perPage, page := 30, 1
	if n, err := strconv.Atoi(q.Get("per_page")); err == nil && n > 0 {
		perPage = min(n, 100)
	}
	if n, err := strconv.Atoi(q.Get("page")); err == nil && n > 0 {
		page = n
	}
	all := s.Versions(pkg)
	last := max((len(all)+perPage-1)/perPage, 1)
	link := func(p int, rel string) string {
		u := *r.URL
		u.Scheme, u.Host = "http", r.Host
		v := u.Query()
		v.Set("per_page", strconv.Itoa(perPage))
		v.Set("page", strconv.Itoa(p))
		u.RawQuery = v.Encode()
		return fmt.Sprintf("<%s>; rel=%q", u.String(), rel)
	}
	var links []string
	if page < last {
		links = append(links, link(page+1, "next"), link(last, "last"))
	}
	if page > 1 {
		links = append(links, link(1, "first"), link(page-1, "prev"))
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, ", "))
	}
	from, to := min((page-1)*perPage, len(all)), min(page*perPage, len(all))
	out := []map[string]any{}
	for _, v := range all[from:to] {
		tags := append([]string{}, v.Tags...)
		out = append(out, map[string]any{
			"id":               v.ID,
			"name":             v.Digest,
			"url":              fmt.Sprintf("https://api.github.com/users/%s/packages/container/%s/versions/%d", s.opts.Owner, url.PathEscape(pkg), v.ID),
			"package_html_url": fmt.Sprintf("https://github.com/users/%s/packages/container/package/%s", s.opts.Owner, url.PathEscape(pkg)),
			"created_at":       v.Created.Format(time.RFC3339),
			"updated_at":       v.Updated.Format(time.RFC3339),
			"html_url":         fmt.Sprintf("https://github.com/users/%s/packages/container/%s/%d", s.opts.Owner, url.PathEscape(pkg), v.ID),
			"metadata":         map[string]any{"package_type": "container", "container": map[string]any{"tags": tags}},
		})
	}
	writeJSON(w, out)
}

func (s *Server) delete(w http.ResponseWriter, pkg string, id int64) {
	s.mu.Lock()
	var v *Version
	for i, x := range s.versions {
		if x.Package == pkg && x.ID == id {
			v = x
			s.versions = append(s.versions[:i], s.versions[i+1:]...)
			break
		}
	}
	s.mu.Unlock()
	if v == nil {
		fail(w, http.StatusNotFound, "Not Found")
		return
	}
	req, _ := http.NewRequest(http.MethodDelete, fmt.Sprintf("http://%s/v2/%s/%s/manifests/%s", s.Registry.Host, s.opts.Owner, pkg, v.Digest), nil)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
	}
	w.WriteHeader(http.StatusNoContent)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(v)
}
