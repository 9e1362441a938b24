package ecrtest

import (
	"bytes"
	"encoding/json"
	"io"
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
		if name, tag, ok := tagPut(r); ok && s.immutable(name, tag) && s.retags(r, name, tag) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_ = json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]string{{
				"code":    "TAG_INVALID",
				"message": "The image tag '" + tag + "' already exists in the '" + name + "' repository and cannot be overwritten because the repository is immutable.",
			}}})
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// tagPut reports whether r puts a manifest under a tag (not a digest),
// and which.
func tagPut(r *http.Request) (name, tag string, ok bool) {
	name, ok = repoOf(r.URL.Path)
	if !ok || r.Method != http.MethodPut {
		return "", "", false
	}
	_, tag, ok = strings.Cut(r.URL.Path, "/manifests/")
	if !ok || strings.Contains(tag, ":") {
		return "", "", false
	}
	return name, tag, true
}

// retags reports whether the manifest put to name:tag would move the tag:
// the tag names another image already, as ECR's immutable repositories
// refuse (ImageTagAlreadyExistsException). It reads r's body and puts it
// back for the registry.
func (s *Server) retags(r *http.Request, name, tag string) bool {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return false
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	head, _ := http.NewRequest(http.MethodHead, "http://"+s.Registry.Host+"/v2/"+name+"/manifests/"+tag, nil)
	head.Header.Set("Authorization", r.Header.Get("Authorization"))
	head.Header.Set("Accept", r.Header.Get("Content-Type"))
	resp, err := http.DefaultClient.Do(head)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK && resp.Header.Get("Docker-Content-Digest") != digest(body)
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
