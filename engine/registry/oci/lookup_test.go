package oci

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/internal/testenv"
)

// putManifest stores a tiny image manifest under repo:tag over the
// distribution API, so lookups have something real to find.
func putManifest(t *testing.T, host, repo, tag string, auth engine.Auth) {
	t.Helper()
	send := func(method, path, contentType string, body []byte) *http.Response {
		req, _ := http.NewRequest(method, "http://"+host+path, strings.NewReader(string(body)))
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		if auth.Username != "" {
			req.SetBasicAuth(auth.Username, auth.Password)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	config := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`)
	cfgDigest := sha256Digest(config)
	// Monolithic upload: POST then PUT with the digest.
	resp := send(http.MethodPost, "/v2/"+repo+"/blobs/uploads/", "", nil)
	loc := resp.Header.Get("Location")
	sep := "?"
	if strings.Contains(loc, "?") {
		sep = "&"
	}
	loc = strings.TrimPrefix(loc, "http://"+host)
	if r := send(http.MethodPut, loc+sep+"digest="+cfgDigest, "application/octet-stream", config); r.StatusCode != http.StatusCreated {
		t.Fatalf("uploading config: %s", r.Status)
	}
	manifest := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"` +
		cfgDigest + `","size":` + itoa(len(config)) + `},"layers":[]}`)
	if r := send(http.MethodPut, "/v2/"+repo+"/manifests/"+tag, "application/vnd.oci.image.manifest.v1+json", manifest); r.StatusCode != http.StatusCreated {
		t.Fatalf("putting manifest: %s", r.Status)
	}
}

func TestLookupOpenRegistry(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	putManifest(t, reg.Host, "cache", "abc", engine.Auth{})
	reg.Reset()

	digest, err := DefaultClient.Lookup(context.Background(), reg.Host+"/cache", "abc", engine.Auth{})
	if err != nil || !strings.HasPrefix(digest, "sha256:") {
		t.Fatalf("Lookup(abc) = %q, %v; want a digest", digest, err)
	}
	if got := reg.Requests(); len(got) != 1 || !strings.HasPrefix(got[0], "HEAD /v2/cache/manifests/abc 200") {
		t.Errorf("requests = %q, want exactly one HEAD", got)
	}
	_, err = DefaultClient.Lookup(context.Background(), reg.Host+"/cache", "missing", engine.Auth{})
	if !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("Lookup(missing) error = %v, want ErrNotFound", err)
	}
}

func TestLookupAuthRegistry(t *testing.T) {
	t.Parallel()
	good := engine.Auth{Username: "ci", Password: "right"}
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{Username: good.Username, Password: good.Password})
	putManifest(t, reg.Host, "cache", "abc", good)
	reg.Reset()

	if _, err := DefaultClient.Lookup(context.Background(), reg.Host+"/cache", "abc", good); err != nil {
		t.Fatalf("Lookup with credentials: %v", err)
	}
	if n := len(reg.Requests()); n != 1 {
		t.Errorf("a lookup with known credentials made %d requests, want 1", n)
	}
	for name, auth := range map[string]engine.Auth{"none": {}, "wrong": {Username: "ci", Password: "wrong"}} {
		_, err := DefaultClient.Lookup(context.Background(), reg.Host+"/cache", "abc", auth)
		var se *StatusError
		if !errors.As(err, &se) || se.Status != http.StatusUnauthorized || errors.Is(err, engine.ErrNotFound) {
			t.Errorf("%s credentials: error = %v, want HTTP 401 that is not a miss", name, err)
		}
		if status, ok := Denied(err); !ok || status != http.StatusUnauthorized {
			t.Errorf("%s credentials: Denied = %d, %v; want 401, true", name, status, ok)
		}
	}
}

func TestLookupBearerTokenFlow(t *testing.T) {
	t.Parallel()
	tokenServer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, _ := r.BasicAuth()
		if u != "ci" || p != "pw" || r.URL.Query().Get("scope") != "repository:cache:pull" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		_, _ = w.Write([]byte(`{"token":"tok-123"}`))
	}))
	defer tokenServer.Close()
	registry := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok-123" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="`+tokenServer.URL+`/token",service="reg",scope="repository:cache:pull"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Docker-Content-Digest", "sha256:feed")
	}))
	defer registry.Close()
	host := strings.TrimPrefix(registry.URL, "http://")
	digest, err := DefaultClient.Lookup(context.Background(), host+"/cache", "t", engine.Auth{Username: "ci", Password: "pw"})
	if err != nil || digest != "sha256:feed" {
		t.Fatalf("Lookup = %q, %v", digest, err)
	}
}

func TestLookupRetriesServerErrorsThenFails(t *testing.T) {
	t.Parallel()
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	c := &Client{HTTP: srv.Client(), Attempts: 3, Backoff: time.Millisecond}
	_, err := c.Lookup(context.Background(), strings.TrimPrefix(srv.URL, "http://")+"/cache", "t", engine.Auth{})
	if err == nil || errors.Is(err, engine.ErrNotFound) || calls != 3 {
		t.Fatalf("err = %v after %d calls; want a non-miss error after 3", err, calls)
	}
	if status, ok := Denied(err); ok {
		t.Errorf("a 503 counts as denied (HTTP %d)", status)
	}
}

func TestLookupUnreachable(t *testing.T) {
	t.Parallel()
	c := &Client{HTTP: &http.Client{Timeout: time.Second}, Attempts: 2, Backoff: time.Millisecond}
	_, err := c.Lookup(context.Background(), "127.0.0.1:1/cache", "t", engine.Auth{})
	if err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Fatalf("err = %v, want unreachable", err)
	}
}

func TestCredentials(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, ".docker"), 0o700); err != nil {
		t.Fatal(err)
	}
	// "ci:pw" in base64.
	if err := os.WriteFile(filepath.Join(home, ".docker", "config.json"), []byte(`{"auths":{"reg.example:5000":{"auth":"Y2k6cHc="}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"HOME": home}
	getenv := func(k string) string { return env[k] }

	a, err := Credentials(context.Background(), "reg.example:5000", getenv)
	if err != nil || a.Username != "ci" || a.Password != "pw" {
		t.Errorf("from docker config: %+v, %v", a, err)
	}
	env["DOCKER_ECR_CACHE_REGISTRY_USERNAME"], env["DOCKER_ECR_CACHE_REGISTRY_PASSWORD"] = "u", "p"
	if a, _ := Credentials(context.Background(), "reg.example:5000", getenv); a.Username != "u" || a.Password != "p" {
		t.Errorf("environment should win: %+v", a)
	}
	delete(env, "DOCKER_ECR_CACHE_REGISTRY_PASSWORD")
	if _, err := Credentials(context.Background(), "reg.example:5000", getenv); !engine.IsConfigError(err) {
		t.Errorf("a username without a password: %v, want a configuration error", err)
	}
	before, _ := os.ReadFile(filepath.Join(home, ".docker", "config.json"))
	if !strings.Contains(string(before), "Y2k6cHc=") || strings.Contains(string(before), "\"u\"") {
		t.Errorf("docker config was modified: %s", before)
	}
}
