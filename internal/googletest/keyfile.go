package googletest

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
)

// KeyFile is the JSON of a service account key for the server: the key
// Google would hand out, with token_uri pointing at the server.
func (s *Server) KeyFile() []byte {
	return s.keyFile(s.Key)
}

// keyFile is the key file signed by key, which may not be the server's.
func (s *Server) keyFile(key *rsa.PrivateKey) []byte {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		panic(err) // an RSA key always marshals
	}
	b, _ := json.MarshalIndent(map[string]string{
		"type":                        "service_account",
		"project_id":                  s.Project,
		"private_key_id":              s.KeyID,
		"private_key":                 string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email":                s.ClientEmail,
		"client_id":                   "100000000000000000001",
		"auth_uri":                    "https://accounts.google.com/o/oauth2/auth",
		"token_uri":                   s.URL,
		"auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
		"universe_domain":             "googleapis.com",
	}, "", "  ")
	return b
}

// WriteKeyFile writes KeyFile into dir and returns its path, for
// GOOGLE_APPLICATION_CREDENTIALS.
func (s *Server) WriteKeyFile(t testing.TB, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "service-account.json")
	if err := os.WriteFile(path, s.KeyFile(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// Setenv points GOOGLE_APPLICATION_CREDENTIALS at a key file for the
// server, for the test's lifetime. Tests using it cannot be parallel.
func (s *Server) Setenv(t *testing.T) {
	t.Helper()
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", s.WriteKeyFile(t, t.TempDir()))
}
