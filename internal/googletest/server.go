// Package googletest is a Google OAuth2 token endpoint test server that
// speaks the service-account flow of the real one (RFC 7523 JWT bearer
// grant), so that tests run the real golang.org/x/oauth2/google against
// it: a test writes the service account key file it makes (WriteKeyFile)
// and points GOOGLE_APPLICATION_CREDENTIALS at it. The same server answers
// the Artifact Registry API's repositories.get (SetRepository), for the
// access tokens it hands out.
//
// It is backed by a real distribution registry whose htpasswd user is
// oauth2accesstoken and whose password is exactly the access token the
// server hands out: a wrong or missing token really fails a lookup or a
// push, as on Artifact Registry.
package googletest

import (
	"crypto/rand"
	"crypto/rsa"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/docker-ecr-cache/docker-ecr-cache/internal/testenv"
)

// Defaults for Options.
const (
	DefaultProject = "foo-bar-123456"
	// TokenUser is the registry user that goes with an access token.
	TokenUser = "oauth2accesstoken"
	// Scope is the scope every assertion must ask for.
	Scope = "https://www.googleapis.com/auth/cloud-platform"
)

// Options configures a Server.
type Options struct {
	Project string // the service account's project; default DefaultProject
	// ExpiresIn is the tokens' lifetime in seconds; default 3600.
	ExpiresIn int
}

// Server is the token endpoint and the registry behind it.
type Server struct {
	URL          string            // the token endpoint: the key file's token_uri
	APIURL       string            // the Artifact Registry API's root (SetRepository)
	Token        string            // the access token handed out: the registry's password
	Project      string            // the service account's project
	ClientEmail  string            // the service account
	KeyID        string            // private_key_id of the key
	Key          *rsa.PrivateKey   // the service account's key; the server knows its public half
	Registry     *testenv.Registry // the registry, with its request log
	RegistryHost string            // 127.0.0.1:port: use as registry-hostname

	expiresIn int

	mu       sync.Mutex
	handOut  string   // token handed out instead of Token, when set
	issued   int      // tokens handed out
	refusals []string // why requests were refused

	unavailable, unavailableStatus int // token requests left to fail, and how

	repositories     map[string]bool // Artifact Registry repositories: immutable tags
	denyRepositories bool            // repositories.get answers 403
	apiRequests      []string        // Artifact Registry API requests
}

// Start starts the token endpoint and its registry for the test's
// lifetime.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	project := opts.Project
	if project == "" {
		project = DefaultProject
	}
	s := &Server{
		Token:       "ya29.test-" + testenv.RandomHex(24),
		Project:     project,
		ClientEmail: "docker-ecr-cache@" + project + ".iam.gserviceaccount.com",
		KeyID:       testenv.RandomHex(20),
		Key:         key,
		expiresIn:   opts.ExpiresIn,
	}
	if s.expiresIn == 0 {
		s.expiresIn = 3600
	}
	s.Registry = testenv.StartRegistry(t, testenv.RegistryOptions{Username: TokenUser, Password: s.Token})
	s.RegistryHost = s.Registry.Host
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	s.URL = srv.URL + "/token"
	s.APIURL = srv.URL + "/"
	return s
}

// HandOut makes the server hand out token instead of Token from now on:
// a token the registry does not accept. An empty token undoes it.
func (s *Server) HandOut(token string) {
	s.mu.Lock()
	s.handOut = token
	s.mu.Unlock()
}

// Unavailable makes the next n token requests answer status (503, or 429
// with Retry-After: 1), as an overloaded endpoint does.
func (s *Server) Unavailable(n, status int) {
	s.mu.Lock()
	s.unavailable, s.unavailableStatus = n, status
	s.mu.Unlock()
}

// overloaded takes one of the failures Unavailable set, if any is left.
func (s *Server) overloaded(w http.ResponseWriter) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.unavailable == 0 {
		return false
	}
	s.unavailable--
	if s.unavailableStatus == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "1")
	}
	w.WriteHeader(s.unavailableStatus)
	return true
}

// Issued is the number of access tokens handed out so far.
func (s *Server) Issued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issued
}

// Refusals lists why token requests were refused, in order.
func (s *Server) Refusals() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.refusals...)
}
