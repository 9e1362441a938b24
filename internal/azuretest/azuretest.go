// Package azuretest stands in for Azure AD (Microsoft Entra ID) and an
// Azure Container Registry, speaking their protocols, so that tests run
// the real azidentity and the real registry clients against them.
//
// The authority is an HTTPS server (azidentity refuses any other) that
// serves the tenant's OpenID configuration, the instance discovery
// metadata and the v2.0 token endpoint's client-credentials grant, with a
// client secret or a federated (workload identity) assertion. A test
// points azidentity at it with AZURE_AUTHORITY_HOST and trusts its
// certificate with SSL_CERT_FILE (Env gives both).
//
// The registry is a real distribution registry with token authentication,
// on loopback, fronted by ACR's token service on the same host:
// /oauth2/exchange trades an access token of the authority for an ACR
// refresh token, and /oauth2/token trades that (Basic auth with the user
// 00000000-0000-0000-0000-000000000000, or the refresh_token grant) for an
// access token the registry verifies. Nothing else gets in.
package azuretest

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/distribution/distribution/v3/registry/handlers"
	"github.com/golang-jwt/jwt/v5"
	"github.com/sirupsen/logrus"

	"github.com/docker-ecr-cache/docker-ecr-cache/internal/testenv"

	_ "github.com/distribution/distribution/v3/registry/auth/token"              // token access controller
	_ "github.com/distribution/distribution/v3/registry/storage/driver/inmemory" // in-memory storage
)

// The registry's identities, as ACR has them.
const (
	// TokenUser is the registry user that goes with a refresh token.
	TokenUser = "00000000-0000-0000-0000-000000000000"
	// Scope is the Azure AD scope an exchanged token must have.
	Scope = "https://containerregistry.azure.net/.default"
	// Issuer is the issuer of the registry's access tokens.
	Issuer = "Azure Container Registry"
)

// Server is the authority and the registry.
type Server struct {
	AuthorityHost string // https://127.0.0.1:port/: AZURE_AUTHORITY_HOST
	CertFile      string // the authority's certificate (PEM): SSL_CERT_FILE
	RegistryHost  string // 127.0.0.1:port: the login server, registry-hostname

	TenantID, ClientID, ClientSecret string
	// FederatedToken is the workload identity assertion the authority
	// takes instead of the secret (AZURE_FEDERATED_TOKEN_FILE's content).
	FederatedToken string

	key   *rsa.PrivateKey // signs the registry's access tokens
	keyID string

	mu      sync.Mutex
	aad     map[string]bool    // access tokens the authority handed out
	refresh map[string]bool    // refresh tokens the registry handed out
	counts  map[string]int     // requests by endpoint
	log     testenv.RequestLog // registry requests
}

// Start starts the authority and the registry for the test's lifetime.
func Start(t testing.TB) *Server {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{
		TenantID:       "72f988bf-86f1-41af-91ab-2d7cd011db47",
		ClientID:       "0d6c1b9e-1f2a-4c1b-9a59-7d1e2f3a4b5c",
		ClientSecret:   "client~secret-" + testenv.RandomHex(16),
		FederatedToken: "federated." + testenv.RandomHex(24),
		key:            key,
		keyID:          testenv.RandomHex(8),
		aad:            map[string]bool{},
		refresh:        map[string]bool{},
		counts:         map[string]int{},
	}
	s.startAuthority(t)
	s.startRegistry(t)
	return s
}

// Env is the environment of a job with the service principal, pointed at
// the authority and trusting its certificate alone: SSL_CERT_DIR names an
// empty directory, so that the system's CA directory is not read.
func (s *Server) Env() map[string]string {
	return map[string]string{
		"AZURE_AUTHORITY_HOST": s.AuthorityHost,
		"SSL_CERT_FILE":        s.CertFile,
		"SSL_CERT_DIR":         filepath.Dir(s.CertFile) + "/no-such-dir",
		"AZURE_TENANT_ID":      s.TenantID,
		"AZURE_CLIENT_ID":      s.ClientID,
		"AZURE_CLIENT_SECRET":  s.ClientSecret,
	}
}

// Count is the number of requests so far to an endpoint: "token" (the
// authority's), "exchange" or "acr-token".
func (s *Server) Count(endpoint string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[endpoint]
}

// Requests returns "METHOD /path status" for every registry request but
// the API checks (GET /v2/) and the token service's.
func (s *Server) Requests() []string {
	var out []string
	for _, r := range s.log.Requests() {
		if !strings.Contains(r, " /oauth2/") {
			out = append(out, r)
		}
	}
	return out
}

// Reset forgets the requests and counts so far.
func (s *Server) Reset() {
	s.log.Reset()
	s.mu.Lock()
	s.counts = map[string]int{}
	s.mu.Unlock()
}

func (s *Server) count(endpoint string) {
	s.mu.Lock()
	s.counts[endpoint]++
	s.mu.Unlock()
}

// startAuthority serves Azure AD's endpoints over HTTPS.
func (s *Server) startAuthority(t testing.TB) {
	srv := httptest.NewUnstartedServer(nil)
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		base := "https://" + r.Host
		tenant, rest, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/common/discovery/instance":
			host := r.Host
			writeJSON(w, http.StatusOK, map[string]any{
				"tenant_discovery_endpoint": base + "/" + s.TenantID + "/v2.0/.well-known/openid-configuration",
				"api-version":               "1.1",
				"metadata":                  []map[string]any{{"preferred_network": host, "preferred_cache": host, "aliases": []string{host}}},
			})
		case r.Method == http.MethodGet && rest == "v2.0/.well-known/openid-configuration":
			if tenant != s.TenantID {
				aadError(w, http.StatusBadRequest, "invalid_tenant", 90002, "Tenant '"+tenant+"' not found.")
				return
			}
			writeJSON(w, http.StatusOK, map[string]any{
				"issuer":                                base + "/" + tenant + "/v2.0",
				"authorization_endpoint":                base + "/" + tenant + "/oauth2/v2.0/authorize",
				"token_endpoint":                        base + "/" + tenant + "/oauth2/v2.0/token",
				"jwks_uri":                              base + "/" + tenant + "/discovery/v2.0/keys",
				"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
				"subject_types_supported":               []string{"pairwise"},
				"id_token_signing_alg_values_supported": []string{"RS256"},
				"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
				"tenant_region_scope":                   "EU",
			})
		case r.Method == http.MethodPost && rest == "oauth2/v2.0/token":
			s.count("token")
			s.token(w, r, tenant)
		default:
			http.NotFound(w, r)
		}
	})
	srv.StartTLS()
	t.Cleanup(srv.Close)
	s.AuthorityHost = srv.URL + "/"
	s.CertFile = filepath.Join(t.TempDir(), "authority.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(s.CertFile, pemBytes, 0o644); err != nil {
		t.Fatal(err)
	}
}

// token is the v2.0 token endpoint's client-credentials grant.
func (s *Server) token(w http.ResponseWriter, r *http.Request, tenant string) {
	if err := r.ParseForm(); err != nil {
		aadError(w, http.StatusBadRequest, "invalid_request", 900144, "The request body must be form encoded.")
		return
	}
	f := r.PostForm
	switch {
	case tenant != s.TenantID:
		aadError(w, http.StatusBadRequest, "invalid_tenant", 90002, "Tenant '"+tenant+"' not found.")
	case f.Get("grant_type") != "client_credentials":
		aadError(w, http.StatusBadRequest, "unsupported_grant_type", 70003, "The app requested an unsupported grant type.")
	case f.Get("client_id") != s.ClientID:
		aadError(w, http.StatusBadRequest, "unauthorized_client", 700016, "Application with identifier '"+f.Get("client_id")+"' was not found in the directory.")
	case f.Get("client_secret") != "" && f.Get("client_secret") != s.ClientSecret,
		f.Get("client_secret") == "" && (f.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" || f.Get("client_assertion") != s.FederatedToken):
		aadError(w, http.StatusUnauthorized, "invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.")
	case !resourceScope(f.Get("scope")):
		aadError(w, http.StatusBadRequest, "invalid_scope", 1002012, "The provided value for scope "+f.Get("scope")+" is not valid.")
	default:
		token := "eyJ0eXAiOiJKV1QifQ.aad-" + testenv.RandomHex(24)
		s.mu.Lock()
		s.aad[token] = true
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": token})
	}
}

// startRegistry serves the registry and ACR's token service on one host.
func (s *Server) startRegistry(t testing.TB) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.RegistryHost = ln.Addr().String()
	jwks := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(jwks, s.jwks(), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := &configuration.Configuration{Storage: configuration.Storage{"inmemory": configuration.Parameters{}}}
	cfg.HTTP.Secret = "test-secret"
	cfg.Auth = configuration.Auth{"token": configuration.Parameters{
		"realm":   "http://" + s.RegistryHost + "/oauth2/token",
		"service": s.RegistryHost,
		"issuer":  Issuer,
		"jwks":    jwks,
	}}
	logrus.SetLevel(logrus.FatalLevel)
	app := handlers.NewApp(context.Background(), cfg)
	srv := httptest.NewUnstartedServer(s.log.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/oauth2/exchange":
			s.count("exchange")
			s.exchange(w, r)
		case "/oauth2/token":
			s.count("acr-token")
			s.accessToken(w, r)
		default:
			app.ServeHTTP(w, r)
		}
	})))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
}

// exchange is ACR's /oauth2/exchange: an access token of the authority for
// a refresh token of the registry.
func (s *Server) exchange(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.ParseForm() != nil {
		acrError(w, http.StatusBadRequest, "BAD_REQUEST", "POST a form")
		return
	}
	f := r.PostForm
	s.mu.Lock()
	known := s.aad[f.Get("access_token")]
	s.mu.Unlock()
	switch {
	case f.Get("grant_type") != "access_token":
		acrError(w, http.StatusBadRequest, "BAD_REQUEST", "unsupported grant_type "+f.Get("grant_type"))
	case f.Get("service") != s.RegistryHost:
		acrError(w, http.StatusBadRequest, "BAD_REQUEST", "service must be "+s.RegistryHost)
	case f.Get("tenant") != "" && f.Get("tenant") != s.TenantID:
		acrError(w, http.StatusUnauthorized, "UNAUTHORIZED", "the tenant is not the registry's")
	case !known:
		acrError(w, http.StatusUnauthorized, "UNAUTHORIZED", "the access token is not valid")
	default:
		token := s.sign(map[string]any{"grant_type": "refresh_token", "tenant": s.TenantID}, 3*time.Hour)
		s.mu.Lock()
		s.refresh[token] = true
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{"refresh_token": token})
	}
}

// accessToken is ACR's /oauth2/token: a refresh token (Basic auth, as the
// Docker daemon and go-containerregistry send it, or the refresh_token
// grant) for an access token of the requested scopes.
func (s *Server) accessToken(w http.ResponseWriter, r *http.Request) {
	var refresh, service string
	var scopes []string
	switch r.Method {
	case http.MethodGet:
		user, pass, ok := r.BasicAuth()
		if ok && user == TokenUser {
			refresh = pass
		}
		service, scopes = r.URL.Query().Get("service"), r.URL.Query()["scope"]
	case http.MethodPost:
		if r.ParseForm() != nil || r.PostForm.Get("grant_type") != "refresh_token" {
			acrError(w, http.StatusBadRequest, "BAD_REQUEST", "want grant_type=refresh_token")
			return
		}
		refresh, service = r.PostForm.Get("refresh_token"), r.PostForm.Get("service")
		scopes = strings.Fields(strings.Join(r.PostForm["scope"], " "))
	}
	s.mu.Lock()
	known := s.refresh[refresh]
	s.mu.Unlock()
	switch {
	case service != s.RegistryHost:
		acrError(w, http.StatusBadRequest, "BAD_REQUEST", "service must be "+s.RegistryHost)
	case !known:
		acrError(w, http.StatusUnauthorized, "UNAUTHORIZED", "authentication required, visit https://aka.ms/acr/authorization for more information.")
	default:
		var access []map[string]any
		for _, sc := range scopes {
			typ, rest, _ := strings.Cut(sc, ":")
			i := strings.LastIndex(rest, ":")
			if i < 0 {
				continue
			}
			access = append(access, map[string]any{"type": typ, "name": rest[:i], "actions": strings.Split(rest[i+1:], ",")})
		}
		token := s.sign(map[string]any{"access": access}, 75*time.Minute)
		writeJSON(w, http.StatusOK, map[string]any{"access_token": token})
	}
}

// sign makes a registry token with extra claims, valid for life.
func (s *Server) sign(extra map[string]any, life time.Duration) string {
	now := time.Now()
	claims := jwt.MapClaims{
		"iss": Issuer, "sub": s.ClientID, "aud": s.RegistryHost,
		"iat": now.Unix(), "nbf": now.Add(-time.Minute).Unix(), "exp": now.Add(life).Unix(),
		"jti": testenv.RandomHex(16),
	}
	for k, v := range extra {
		claims[k] = v
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = s.keyID
	signed, err := tok.SignedString(s.key)
	if err != nil {
		panic(err)
	}
	return signed
}

// jwks is the registry's trusted key set, as distribution reads it.
func (s *Server) jwks() []byte {
	enc := base64.RawURLEncoding.EncodeToString
	b, _ := json.Marshal(map[string]any{"keys": []map[string]any{{
		"kty": "RSA", "use": "sig", "alg": "RS256", "kid": s.keyID,
		"n": enc(s.key.N.Bytes()), "e": enc(big.NewInt(int64(s.key.E)).Bytes()),
	}}})
	return b
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// aadError is Azure AD's error answer.
func aadError(w http.ResponseWriter, code int, errCode string, aadsts int, msg string) {
	writeJSON(w, code, map[string]any{
		"error":             errCode,
		"error_description": fmt.Sprintf("AADSTS%d: %s Trace ID: 00000000-0000-0000-0000-000000000000", aadsts, msg),
		"error_codes":       []int{aadsts},
		"timestamp":         time.Now().UTC().Format("2006-01-02 15:04:05Z"),
	})
}

// acrError is the registry's error answer.
func acrError(w http.ResponseWriter, code int, errCode, msg string) {
	writeJSON(w, code, map[string]any{"errors": []map[string]string{{"code": errCode, "message": msg}}})
}

// resourceScope reports whether scope asks for the registry's resource,
// with at most the OpenID scopes MSAL adds to every request.
func resourceScope(scope string) bool {
	found := false
	for _, sc := range strings.Fields(scope) {
		switch sc {
		case Scope:
			found = true
		case "openid", "offline_access", "profile":
		default:
			return false
		}
	}
	return found
}
