package testenv

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/distribution/distribution/v3/configuration"
	_ "github.com/distribution/distribution/v3/registry/auth/htpasswd" // htpasswd access controller
	"github.com/distribution/distribution/v3/registry/handlers"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/inmemory" // in-memory storage
	"github.com/sirupsen/logrus"
	"golang.org/x/crypto/bcrypt"
)

// RegistryOptions configures a test registry.
type RegistryOptions struct {
	// Username and Password turn on htpasswd authentication.
	Username, Password string
	// RefuseTags refuses every manifest PUT with 403 DENIED, as a registry
	// does when policy forbids the push. Blob uploads still work: the daemon
	// retries those for a minute, but not the manifest.
	RefuseTags bool
	// Delete lets clients delete manifests (storage.delete.enabled); a
	// registry without it answers DELETE with 405 UNSUPPORTED.
	Delete bool
}

// Registry is a real distribution registry served on 127.0.0.1, which the
// Docker daemon reaches over plain HTTP.
type Registry struct {
	Host string // 127.0.0.1:port

	srv      *httptest.Server
	mu       sync.Mutex
	requests []string
}

// StartRegistry starts a registry for the test's lifetime.
func StartRegistry(t testing.TB, opts RegistryOptions) *Registry {
	t.Helper()
	r, err := NewRegistry(opts, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r
}

// NewRegistry starts a registry keeping its files in dir; Close stops it.
func NewRegistry(opts RegistryOptions, dir string) (*Registry, error) {
	cfg := &configuration.Configuration{
		Storage: configuration.Storage{"inmemory": configuration.Parameters{}},
	}
	if opts.Delete {
		cfg.Storage["delete"] = configuration.Parameters{"enabled": true}
	}
	logrus.SetLevel(logrus.FatalLevel) // the registry logs every 404 through logrus' global logger
	cfg.HTTP.Secret = "test-secret"
	if opts.Username != "" {
		hash, err := bcrypt.GenerateFromPassword([]byte(opts.Password), bcrypt.MinCost)
		if err != nil {
			return nil, err
		}
		file := filepath.Join(dir, "htpasswd")
		if err := os.WriteFile(file, []byte(opts.Username+":"+string(hash)+"\n"), 0o600); err != nil {
			return nil, err
		}
		cfg.Auth = configuration.Auth{"htpasswd": configuration.Parameters{"realm": "test", "path": file}}
	}
	app := handlers.NewApp(context.Background(), cfg)
	r := &Registry{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, status: 200}
		if opts.RefuseTags && req.Method == http.MethodPut && strings.Contains(req.URL.Path, "/manifests/") {
			rec.Header().Set("Content-Type", "application/json")
			rec.WriteHeader(http.StatusForbidden)
			fmt.Fprint(rec, `{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}`)
		} else {
			app.ServeHTTP(rec, req)
		}
		r.mu.Lock()
		r.requests = append(r.requests, fmt.Sprintf("%s %s %d", req.Method, req.URL.Path, rec.status))
		r.mu.Unlock()
	}))
	r.Host = strings.TrimPrefix(r.srv.URL, "http://")
	return r, nil
}

// Close stops the registry.
func (r *Registry) Close() { r.srv.Close() }

// Requests returns "METHOD /path status" for every request so far but the
// API version checks (GET /v2/) that clients send to learn the registry's
// auth scheme: what is left are the requests that read or write images.
func (r *Registry) Requests() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, req := range r.requests {
		if !strings.HasPrefix(req, "GET /v2/ ") {
			out = append(out, req)
		}
	}
	return out
}

// Reset forgets the requests so far.
func (r *Registry) Reset() {
	r.mu.Lock()
	r.requests = nil
	r.mu.Unlock()
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}
