package googletest

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
	googleoauth "golang.org/x/oauth2/google"
)

// token runs the real service-account flow of golang.org/x/oauth2/google
// against the server with a key file.
func token(t *testing.T, keyFile []byte) (*oauth2.Token, error) {
	t.Helper()
	creds, err := googleoauth.CredentialsFromJSONWithType(context.Background(), keyFile, googleoauth.ServiceAccount, Scope)
	if err != nil {
		t.Fatalf("reading the key file: %v", err)
	}
	return creds.TokenSource.Token()
}

// registryStatus is the registry's answer to GET /v2/ with user:password.
func registryStatus(t *testing.T, s *Server, user, password string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+s.RegistryHost+"/v2/", nil)
	if user != "" {
		req.SetBasicAuth(user, password)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

func TestServiceAccountFlowHandsOutTheRegistryPassword(t *testing.T) {
	t.Parallel()
	s := Start(t, Options{})
	tok, err := token(t, s.KeyFile())
	if err != nil {
		t.Fatalf("token: %v (refusals %q)", err, s.Refusals())
	}
	if tok.AccessToken != s.Token || tok.TokenType != "Bearer" || time.Until(tok.Expiry) < 50*time.Minute {
		t.Errorf("token = %q %q expiring %v; want %q, Bearer, in an hour", tok.AccessToken, tok.TokenType, tok.Expiry, s.Token)
	}
	if s.Issued() != 1 {
		t.Errorf("Issued() = %d, want 1", s.Issued())
	}
	if got := registryStatus(t, s, TokenUser, tok.AccessToken); got != http.StatusOK {
		t.Errorf("registry with the handed-out token: HTTP %d, want 200", got)
	}
	for name, pw := range map[string]string{"none": "", "wrong": "ya29.wrong"} {
		user := TokenUser
		if pw == "" {
			user = ""
		}
		if got := registryStatus(t, s, user, pw); got != http.StatusUnauthorized {
			t.Errorf("registry with %s token: HTTP %d, want 401", name, got)
		}
	}
}

func TestHandOutAWrongToken(t *testing.T) {
	t.Parallel()
	s := Start(t, Options{})
	s.HandOut("ya29.not-the-registry-password")
	tok, err := token(t, s.KeyFile())
	if err != nil {
		t.Fatal(err)
	}
	if tok.AccessToken != "ya29.not-the-registry-password" {
		t.Fatalf("token = %q, want the handed-out one", tok.AccessToken)
	}
	if got := registryStatus(t, s, TokenUser, tok.AccessToken); got != http.StatusUnauthorized {
		t.Errorf("registry with the wrong token: HTTP %d, want 401", got)
	}
}

func TestKeyOfAnotherAccountIsRefused(t *testing.T) {
	t.Parallel()
	s := Start(t, Options{})
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	_, err = token(t, s.keyFile(other))
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || !strings.Contains(string(re.Body), `"invalid_grant"`) {
		t.Fatalf("err = %v, want invalid_grant", err)
	}
	if s.Issued() != 0 || len(s.Refusals()) != 1 || !strings.Contains(s.Refusals()[0], "signature") {
		t.Errorf("issued %d, refusals %q; want none issued and a signature refusal", s.Issued(), s.Refusals())
	}
}

// sign makes an RS256 JWT of claims with key.
func sign(t *testing.T, key *rsa.PrivateKey, kid string, c map[string]any) string {
	t.Helper()
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	head := enc(map[string]string{"alg": "RS256", "typ": "JWT", "kid": kid}) + "." + enc(c)
	sum := sha256.Sum256([]byte(head))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return head + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func TestVerifyChecksTheClaims(t *testing.T) {
	t.Parallel()
	s := Start(t, Options{})
	now := time.Now()
	good := func() map[string]any {
		return map[string]any{"iss": s.ClientEmail, "aud": s.URL, "scope": Scope, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	}
	if err := s.verify(sign(t, s.Key, s.KeyID, good()), now); err != nil {
		t.Fatalf("a good assertion: %v", err)
	}
	cases := map[string]func(c map[string]any){
		"issuer":   func(c map[string]any) { c["iss"] = "someone@else.iam.gserviceaccount.com" },
		"audience": func(c map[string]any) { c["aud"] = "https://oauth2.googleapis.com/token" },
		"scope":    func(c map[string]any) { c["scope"] = "https://www.googleapis.com/auth/devstorage.read_only" },
		"expired":  func(c map[string]any) { c["iat"], c["exp"] = now.Add(-2*time.Hour).Unix(), now.Add(-time.Hour).Unix() },
		"too long": func(c map[string]any) { c["exp"] = now.Add(24 * time.Hour).Unix() },
	}
	for name, change := range cases {
		c := good()
		change(c)
		if err := s.verify(sign(t, s.Key, s.KeyID, c), now); err == nil {
			t.Errorf("%s: a bad assertion was accepted", name)
		}
	}
	if err := s.verify(sign(t, s.Key, "another-key-id", good()), now); err == nil {
		t.Errorf("an assertion naming another key was accepted")
	}
	if err := s.verify("not.a-jwt", now); err == nil {
		t.Errorf("a malformed assertion was accepted")
	}
}

func TestOtherGrantsAreRefused(t *testing.T) {
	t.Parallel()
	s := Start(t, Options{})
	resp, err := http.PostForm(s.URL, map[string][]string{"grant_type": {"client_credentials"}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var body struct{ Error string }
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusBadRequest || body.Error != "unsupported_grant_type" {
		t.Errorf("HTTP %d %q, want 400 unsupported_grant_type", resp.StatusCode, body.Error)
	}
}
