package oci

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/retry"
	"github.com/docker-ecr-cache/docker-ecr-cache/internal/ecrtest"
	"github.com/docker-ecr-cache/docker-ecr-cache/internal/testenv"
)

// fast retries quickly, so that fault tests take milliseconds.
var fast = retry.Policy{Attempts: 3, Base: time.Millisecond, Max: 2 * time.Second, Deadline: 10 * time.Second}

// client returns a Client with fast retries, and the retries it logs.
func client(t *testing.T) (*Client, *[]string) {
	t.Helper()
	var mu sync.Mutex
	var logged []string
	return &Client{Retry: fast, Log: func(f string, a ...any) {
		mu.Lock()
		defer mu.Unlock()
		logged = append(logged, fmt.Sprintf(f, a...))
	}}, &logged
}

func TestLookupOpenRegistry(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	want := ecrtest.PushImage(t, reg.Host, "cache", "abc", "", "", "content")
	reg.Reset()
	c, _ := client(t)

	digest, err := c.Lookup(context.Background(), reg.Host+"/cache", "abc", engine.Auth{})
	if err != nil || digest != want {
		t.Fatalf("Lookup(abc) = %q, %v; want %s", digest, err, want)
	}
	if got := strings.Join(reg.Requests(), ", "); got != "HEAD /v2/cache/manifests/abc 200" {
		t.Errorf("requests = %q, want one HEAD besides the API check", got)
	}
	_, err = c.Lookup(context.Background(), reg.Host+"/cache", "missing", engine.Auth{})
	if !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("Lookup(missing) error = %v, want ErrNotFound", err)
	}
	_, err = c.Lookup(context.Background(), reg.Host+"/no-such-repo", "abc", engine.Auth{})
	if !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("Lookup in a missing repository: %v, want ErrNotFound", err)
	}
}

func TestLookupAuthRegistry(t *testing.T) {
	t.Parallel()
	good := engine.Auth{Username: "ci", Password: "right"}
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{Username: good.Username, Password: good.Password})
	ecrtest.PushImage(t, reg.Host, "cache", "abc", good.Username, good.Password, "content")
	c, logged := client(t)

	if _, err := c.Lookup(context.Background(), reg.Host+"/cache", "abc", good); err != nil {
		t.Fatalf("Lookup with credentials: %v", err)
	}
	for name, auth := range map[string]engine.Auth{"none": {}, "wrong": {Username: "ci", Password: "wrong"}} {
		_, err := c.Lookup(context.Background(), reg.Host+"/cache", "abc", auth)
		if status, ok := Denied(err); !ok || status != http.StatusUnauthorized || errors.Is(err, engine.ErrNotFound) {
			t.Errorf("%s credentials: error = %v, want HTTP 401 that is not a miss", name, err)
		}
		// The registry's own code and message reach the user.
		if err == nil || !strings.Contains(err.Error(), "UNAUTHORIZED") {
			t.Errorf("%s credentials: error %v does not carry the registry's code", name, err)
		}
	}
	if len(*logged) != 0 {
		t.Errorf("a refused credential was retried: %q", *logged)
	}
}

func TestLookupCarriesTheRegistrysDenial(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/" {
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}`))
	}))
	defer srv.Close()
	c, _ := client(t)
	_, err := c.Lookup(context.Background(), strings.TrimPrefix(srv.URL, "http://")+"/cache", "t", engine.Auth{})
	if err == nil || !strings.Contains(err.Error(), "DENIED: requested access to the resource is denied") || errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("err = %v, want the registry's DENIED and its message, not a miss", err)
	}
	if status, ok := Denied(err); !ok || status != http.StatusForbidden {
		t.Errorf("Denied = %d, %v; want 403", status, ok)
	}
}

func TestLookupBearerTokenFlow(t *testing.T) {
	t.Parallel()
	// The token endpoint is on the registry's host: go-containerregistry
	// refuses a realm on another loopback or private address.
	var registry *httptest.Server
	registry = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/token" {
			u, p, _ := r.BasicAuth()
			if u != "ci" || p != "pw" || r.URL.Query().Get("scope") != "repository:cache:pull" {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			_, _ = w.Write([]byte(`{"token":"tok-123"}`))
			return
		}
		if r.Header.Get("Authorization") != "Bearer tok-123" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="`+registry.URL+`/token",service="reg"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
		w.Header().Set("Docker-Content-Digest", "sha256:"+strings.Repeat("f", 64))
		w.Header().Set("Content-Length", "100")
	}))
	defer registry.Close()
	host := strings.TrimPrefix(registry.URL, "http://")
	c, _ := client(t)
	digest, err := c.Lookup(context.Background(), host+"/cache", "t", engine.Auth{Username: "ci", Password: "pw"})
	if err != nil || digest != "sha256:"+strings.Repeat("f", 64) {
		t.Fatalf("Lookup = %q, %v", digest, err)
	}
}

func TestLookupUnreachable(t *testing.T) {
	t.Parallel()
	c, _ := client(t)
	_, err := c.Lookup(context.Background(), "127.0.0.1:1/cache", "t", engine.Auth{})
	if err == nil || errors.Is(err, engine.ErrNotFound) || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("err = %v, want connection refused", err)
	}
}

// TestLookupRetriesThenSucceeds puts a fault in front of a real registry
// for the first tries of every request, as a flaky network or proxy does.
func TestLookupRetriesThenSucceeds(t *testing.T) {
	t.Parallel()
	for _, fault := range []string{"503", "429", "reset"} {
		t.Run(fault, func(t *testing.T) {
			t.Parallel()
			reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
			want := ecrtest.PushImage(t, reg.Host, "cache", "abc", "", "", "content")
			var failed atomic.Int32
			front := faulty(t, reg.Host, fault, func(r *http.Request) bool {
				return r.Method == http.MethodHead && failed.Add(1) <= 2
			})
			c, logged := client(t)
			start := time.Now()
			digest, err := c.Lookup(context.Background(), front+"/cache", "abc", engine.Auth{})
			if err != nil || digest != want {
				t.Fatalf("Lookup = %q, %v; want %s after two faults", digest, err, want)
			}
			// net/http itself may resend a HEAD whose reused connection
			// was reset, so a reset can cost one logged retry instead of two.
			if len(*logged) < 1 || len(*logged) > 2 || fault != "reset" && len(*logged) != 2 {
				t.Errorf("logged %d retries, want 2", len(*logged))
			}
			if fault == "429" && time.Since(start) < 2*time.Second {
				t.Errorf("took %s, want Retry-After: 1 honoured twice", time.Since(start))
			}
		})
	}
}

// TestLabelsRetriesABodyCutMidway cuts the manifest GET's body once.
func TestLabelsRetriesABodyCutMidway(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	ecrtest.PushImage(t, reg.Host, "cache", "abc", "", "", "content")
	var failed atomic.Int32
	front := faulty(t, reg.Host, "cut", func(r *http.Request) bool {
		return r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/manifests/") && failed.Add(1) == 1
	})
	c, logged := client(t)
	if _, err := c.Labels(context.Background(), front+"/cache", "abc", engine.Auth{}); err != nil {
		t.Fatalf("Labels: %v", err)
	}
	if len(*logged) != 1 || failed.Load() < 2 {
		t.Errorf("logged %q after %d manifest GETs, want one retry", *logged, failed.Load())
	}
}

// TestPersistentFaultFailsInBoundedTime: a registry that keeps failing is
// an error after the policy's tries, never a miss.
func TestPersistentFaultFailsInBoundedTime(t *testing.T) {
	t.Parallel()
	for _, fault := range []string{"503", "reset"} {
		t.Run(fault, func(t *testing.T) {
			t.Parallel()
			reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
			front := faulty(t, reg.Host, fault, func(r *http.Request) bool { return r.Method == http.MethodHead })
			c, logged := client(t)
			start := time.Now()
			_, err := c.Lookup(context.Background(), front+"/cache", "abc", engine.Auth{})
			if err == nil || errors.Is(err, engine.ErrNotFound) {
				t.Fatalf("err = %v, want an error that is not a miss", err)
			}
			if len(*logged) != fast.Attempts-1 || time.Since(start) > 5*time.Second {
				t.Errorf("%d retries in %s, want %d quickly", len(*logged), time.Since(start), fast.Attempts-1)
			}
			if fault == "503" && !strings.Contains(err.Error(), "503") {
				t.Errorf("err = %v, want the status", err)
			}
		})
	}
}

func TestCredentials(t *testing.T) {
	home := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, ".docker"), 0o700); err != nil {
		t.Fatal(err)
	}
	// "ci:pw" in base64; an identity token for another registry.
	config := `{"auths":{"reg.example:5000":{"auth":"Y2k6cHc="},"id.example":{"auth":"PHRva2VuPjo=","identitytoken":"refresh-me"}}}`
	if err := os.WriteFile(filepath.Join(home, ".docker", "config.json"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HOME", home)
	t.Setenv("DOCKER_CONFIG", filepath.Join(home, ".docker"))
	env := map[string]string{}
	kc := Keychain(func(k string) string { return env[k] })
	ctx := context.Background()

	a, err := Credentials(ctx, kc, "reg.example:5000/cache")
	if err != nil || a.Username != "ci" || a.Password != "pw" || a.Server != "reg.example:5000" {
		t.Errorf("from docker config: %+v, %v", a, err)
	}
	if a, err := Credentials(ctx, kc, "id.example/cache"); err != nil || a.IdentityToken != "refresh-me" {
		t.Errorf("identity token: %+v, %v", a, err)
	}
	if a, err := Credentials(ctx, kc, "other.example/cache"); err != nil || a != (engine.Auth{Server: "other.example"}) {
		t.Errorf("no credential: %+v, %v; want anonymous", a, err)
	}
	env[EnvUsername], env[EnvPassword] = "u", "p"
	if a, _ := Credentials(ctx, kc, "reg.example:5000/cache"); a.Username != "u" || a.Password != "p" {
		t.Errorf("environment should win: %+v", a)
	}
	delete(env, EnvPassword)
	if _, err := Credentials(ctx, kc, "reg.example:5000/cache"); !engine.IsConfigError(err) {
		t.Errorf("a username without a password: %v, want a configuration error", err)
	}
	after, _ := os.ReadFile(filepath.Join(home, ".docker", "config.json"))
	if string(after) != config {
		t.Errorf("docker config was modified: %s", after)
	}
}

func TestProviderNamesTheFixesForARefusedCredential(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{Username: "ci", Password: "right"})
	c := engine.NewConfig()
	c.Registry = "http://" + reg.Host + "/cache/"
	r := New(&c, engine.Discard)
	r.Client.Retry = fast
	if repo, _ := r.Repository(context.Background()); repo != reg.Host+"/cache" {
		t.Errorf("repository %q, want %s/cache", repo, reg.Host)
	}
	_, err := r.Lookup(context.Background(), "abc", engine.Auth{Username: "ci", Password: "wrong"})
	for _, want := range []string{"registry denied access to " + reg.Host + "/cache:abc (HTTP 401)", EnvUsername, "UNAUTHORIZED"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want it to say %q", err, want)
		}
	}
}

// TestLookupRetriesATimeout: an answer slower than the transport's bound
// is a timeout, retried.
func TestLookupRetriesATimeout(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	want := ecrtest.PushImage(t, reg.Host, "cache", "abc", "", "", "content")
	var failed atomic.Int32
	front := faulty(t, reg.Host, "delay", func(r *http.Request) bool {
		return r.Method == http.MethodHead && failed.Add(1) == 1
	})
	c, logged := client(t)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.ResponseHeaderTimeout = 200 * time.Millisecond
	c.Transport = tr
	digest, err := c.Lookup(context.Background(), front+"/cache", "abc", engine.Auth{})
	if err != nil || digest != want {
		t.Fatalf("Lookup = %q, %v; want %s after a timeout", digest, err, want)
	}
	if len(*logged) != 1 || !strings.Contains((*logged)[0], "timeout") {
		t.Errorf("logged %q, want one retry after a timeout", *logged)
	}
}

func TestPlainHTTPOnlyToLoopback(t *testing.T) {
	t.Parallel()
	for host, ok := range map[string]bool{"127.0.0.1:5000": true, "localhost:5000": true, "[::1]:5000": true, "10.0.0.1:5000": false, "registry.example": false} {
		req, _ := http.NewRequest(http.MethodGet, "http://"+host+"/v2/", nil)
		_, err := tlsOnly{roundTripFunc(func(*http.Request) (*http.Response, error) {
			return &http.Response{StatusCode: 200, Body: http.NoBody}, nil
		})}.RoundTrip(req)
		if (err == nil) != ok {
			t.Errorf("plain HTTP to %s: %v, want allowed %v", host, err, ok)
		}
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
