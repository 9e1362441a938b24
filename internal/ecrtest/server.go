// Package ecrtest is an AWS ECR and STS test server that speaks the real
// wire protocols (AWS JSON 1.1 for ECR, the query protocol for STS), so
// that tests run the real aws-sdk-go-v2 against it. It is backed by a real
// distribution registry whose htpasswd password is exactly the one in the
// tokens GetAuthorizationToken hands out: a wrong or missing token really
// fails a lookup or a push. A front to that registry refuses pushes to
// repositories that CreateRepository did not create, as ECR does.
//
// Point the SDK at it with Env or Setenv (AWS_ENDPOINT_URL_ECR and
// AWS_ENDPOINT_URL_STS, static credentials, no profile, no instance
// metadata) and the registry with registry-hostname: RegistryHost.
package ecrtest

import (
	"crypto/rand"
	"encoding/hex"
	"net/http/httptest"
	"path"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/docker-ecr-cache/docker-ecr-cache/internal/testenv"
)

// Defaults for Options.
const (
	DefaultAccountID       = "123456789012"
	DefaultAccessKeyID     = "AKIAECRTEST000000001"
	DefaultSecretAccessKey = "ecrtest-secret-access-key"
	// TokenUser is the user every ECR token holds.
	TokenUser = "AWS"
)

// Options configures a Server.
type Options struct {
	AccountID       string // the caller's account (STS); default DefaultAccountID
	AccessKeyID     string // the only key the server accepts; default DefaultAccessKeyID
	SecretAccessKey string // default DefaultSecretAccessKey
}

// Repo is a repository as the server keeps it.
type Repo struct {
	Account string
	Name    string
	ARN     string
	Tags    map[string]string
	Policy  string // lifecycle policy text, empty for none
	Created time.Time
	// Mutability is the repository's tag mutability, "" for MUTABLE:
	// IMMUTABLE, under which the registry refuses to move a tag that names
	// an image, or IMMUTABLE_WITH_EXCLUSION and MUTABLE_WITH_EXCLUSION,
	// under which the tags Exclusions match (ECR's wildcard filters) are
	// the exceptions.
	Mutability string
	Exclusions []string
}

// immutable reports whether the repository refuses to move tag.
func (r *Repo) immutable(tag string) bool {
	excluded := slices.ContainsFunc(r.Exclusions, func(f string) bool {
		ok, _ := path.Match(f, tag) // ECR's filters have no special character but *
		return ok
	})
	switch r.Mutability {
	case "IMMUTABLE":
		return true
	case "IMMUTABLE_WITH_EXCLUSION":
		return !excluded
	case "MUTABLE_WITH_EXCLUSION":
		return excluded
	}
	return false
}

// Server is the ECR and STS API, and the registry behind it.
type Server struct {
	URL          string            // API endpoint for ECR and STS
	RegistryHost string            // 127.0.0.1:port of the registry front: use as registry-hostname
	Registry     *testenv.Registry // the real registry behind the front, with its request log
	Password     string            // the registry's password, which every good token holds
	Region       string            // region written in ARNs and proxy endpoints

	AccountID, AccessKeyID, SecretAccessKey string

	mu       sync.Mutex
	calls    []string
	repos    map[string]*Repo // by account + "/" + name
	faults   map[string]string
	flaky    map[string]flaky
	badToken bool
	hold     *barrier
}

// Start starts the server, its registry and the registry's front for the
// test's lifetime.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	s := &Server{
		Password:        randomHex(t, 24),
		Region:          "us-east-1",
		AccountID:       or(opts.AccountID, DefaultAccountID),
		AccessKeyID:     or(opts.AccessKeyID, DefaultAccessKeyID),
		SecretAccessKey: or(opts.SecretAccessKey, DefaultSecretAccessKey),
		repos:           map[string]*Repo{},
		faults:          map[string]string{},
		flaky:           map[string]flaky{},
	}
	s.Registry = testenv.StartRegistry(t, testenv.RegistryOptions{Username: TokenUser, Password: s.Password})
	api := httptest.NewServer(s)
	t.Cleanup(api.Close)
	s.URL = api.URL
	s.RegistryHost = s.startFront(t)
	return s
}

// Calls lists the API actions received so far, in order, ECR's and STS's
// alike (GetAuthorizationToken, GetCallerIdentity, …), failed ones too.
func (s *Server) Calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.calls...)
}

// Count is how many times action was called.
func (s *Server) Count(action string) int {
	n := 0
	for _, c := range s.Calls() {
		if c == action {
			n++
		}
	}
	return n
}

// Reset forgets the calls so far, the server's and the registry's.
func (s *Server) Reset() {
	s.mu.Lock()
	s.calls = nil
	s.mu.Unlock()
	s.Registry.Reset()
}

// Repository returns a copy of a repository's state.
func (s *Server) Repository(account, name string) (Repo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.repos[account+"/"+name]
	if !ok {
		return Repo{}, false
	}
	c := *r
	c.Tags = copyTags(r.Tags)
	return c, true
}

// AddRepository creates a repository directly, as if another tool had.
func (s *Server) AddRepository(account, name string, tags map[string]string, policy string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.repos[account+"/"+name] = s.newRepo(account, name, tags, policy)
}

func (s *Server) newRepo(account, name string, tags map[string]string, policy string) *Repo {
	return &Repo{
		Account: account,
		Name:    name,
		ARN:     "arn:aws:ecr:" + s.Region + ":" + account + ":repository/" + name,
		Tags:    copyTags(tags),
		Policy:  policy,
		Created: time.Now(),
	}
}

// SetImmutable gives a repository IMMUTABLE tag mutability, as
// PutImageTagMutability does.
func (s *Server) SetImmutable(account, name string) { s.SetMutability(account, name, "IMMUTABLE") }

// SetMutability gives a repository a tag mutability, with the wildcard
// exclusion filters of the _WITH_EXCLUSION kinds, as
// PutImageTagMutability does.
func (s *Server) SetMutability(account, name, mutability string, exclusions ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.repos[account+"/"+name]; ok {
		r.Mutability, r.Exclusions = mutability, exclusions
	}
}

// immutable reports whether a repository called name refuses to move tag.
func (s *Server) immutable(name, tag string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.repos {
		if r.Name == name && r.immutable(tag) {
			return true
		}
	}
	return false
}

// hasRepo reports whether any account has a repository called name: the
// registry front has one host for all of them.
func (s *Server) hasRepo(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.repos {
		if r.Name == name {
			return true
		}
	}
	return false
}

func copyTags(tags map[string]string) map[string]string {
	out := make(map[string]string, len(tags))
	for k, v := range tags {
		out[k] = v
	}
	return out
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func randomHex(t testing.TB, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
