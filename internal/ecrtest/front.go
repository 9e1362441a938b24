package ecrtest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
)

// startFront serves the registry as ECR does: a push to a repository that
// was never created is refused with NAME_UNKNOWN. Everything else passes
// through to the real registry, which checks the token's password.
func (s *Server) startFront(t testing.TB) string {
	target := &url.URL{Scheme: "http", Host: s.Registry.Host}
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if name, ok := repoOf(r.URL.Path); ok && isWrite(r.Method) && !s.hasRepo(name) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			_ = json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]string{{
				"code":    "NAME_UNKNOWN",
				"message": "The repository with name '" + name + "' does not exist in the registry with id '" + s.AccountID + "'",
			}}})
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// repoOf is the repository name in /v2/<name>/{blobs,manifests,tags}/….
func repoOf(path string) (string, bool) {
	rest, ok := strings.CutPrefix(path, "/v2/")
	if !ok {
		return "", false
	}
	for _, sep := range []string{"/blobs/", "/manifests/", "/tags/"} {
		if i := strings.LastIndex(rest, sep); i > 0 {
			return rest[:i], true
		}
	}
	return "", false
}

func isWrite(method string) bool {
	switch method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		return true
	}
	return false
}
