package googletest

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// JWTBearer is the grant type of the service-account flow.
const JWTBearer = "urn:ietf:params:oauth:grant-type:jwt-bearer"

// ServeHTTP is the token endpoint: POST /token with a form holding
// grant_type and an RS256 assertion signed by the service account's key;
// and /v1/ is the Artifact Registry API (serveAPI).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/v1/") {
		s.serveAPI(w, r)
		return
	}
	if r.URL.Path != "/token" {
		http.NotFound(w, r)
		return
	}
	if s.overloaded(w) {
		return
	}
	if r.Method != http.MethodPost {
		s.refuse(w, http.StatusMethodNotAllowed, "invalid_request", "the token endpoint takes POST, not "+r.Method)
		return
	}
	if err := r.ParseForm(); err != nil {
		s.refuse(w, http.StatusBadRequest, "invalid_request", "unreadable form: "+err.Error())
		return
	}
	if g := r.PostForm.Get("grant_type"); g != JWTBearer {
		s.refuse(w, http.StatusBadRequest, "unsupported_grant_type", fmt.Sprintf("grant_type %q is not %s", g, JWTBearer))
		return
	}
	if err := s.verify(r.PostForm.Get("assertion"), time.Now()); err != nil {
		s.refuse(w, http.StatusBadRequest, "invalid_grant", err.Error())
		return
	}
	s.mu.Lock()
	token := s.Token
	if s.handOut != "" {
		token = s.handOut
	}
	s.issued++
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"access_token": token, "token_type": "Bearer", "expires_in": s.expiresIn})
}

func (s *Server) refuse(w http.ResponseWriter, status int, code, why string) {
	s.mu.Lock()
	s.refusals = append(s.refusals, code+": "+why)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": why})
}

// claims are the assertion's claims the server checks.
type claims struct {
	Iss   string `json:"iss"`
	Aud   string `json:"aud"`
	Scope string `json:"scope"`
	Iat   int64  `json:"iat"`
	Exp   int64  `json:"exp"`
}

// verify checks a JWT assertion: RS256, signed by the service account's
// key, issued by its email for this endpoint and the cloud-platform
// scope, and current.
func (s *Server) verify(assertion string, now time.Time) error {
	parts := strings.Split(assertion, ".")
	if len(parts) != 3 {
		return fmt.Errorf("the assertion is not a JWT (%d parts)", len(parts))
	}
	var header struct{ Alg, Typ, Kid string }
	if err := decodePart(parts[0], &header); err != nil {
		return fmt.Errorf("the JWT header: %w", err)
	}
	if header.Alg != "RS256" {
		return fmt.Errorf("the JWT is signed with %q, not RS256", header.Alg)
	}
	if header.Kid != "" && header.Kid != s.KeyID {
		return fmt.Errorf("the JWT names key %q, not the service account's", header.Kid)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return fmt.Errorf("the JWT signature is not base64url: %w", err)
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(&s.Key.PublicKey, crypto.SHA256, sum[:], sig); err != nil {
		return errors.New("invalid JWT signature")
	}
	var c claims
	if err := decodePart(parts[1], &c); err != nil {
		return fmt.Errorf("the JWT claims: %w", err)
	}
	switch {
	case c.Iss != s.ClientEmail:
		return fmt.Errorf("the JWT is issued by %q, not %s", c.Iss, s.ClientEmail)
	case c.Aud != s.URL:
		return fmt.Errorf("the JWT audience is %q, not the token endpoint %s", c.Aud, s.URL)
	case !slices.Contains(strings.Fields(c.Scope), Scope):
		return fmt.Errorf("the JWT asks for scope %q, without %s", c.Scope, Scope)
	case c.Iat > now.Add(time.Minute).Unix():
		return errors.New("the JWT is issued in the future")
	case c.Exp < now.Unix() || c.Exp-c.Iat > 3600:
		return errors.New("invalid JWT: the token must be short-lived (60 minutes) and current")
	}
	return nil
}

func decodePart(part string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(part, "="))
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}
