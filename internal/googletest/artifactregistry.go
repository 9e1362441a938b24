package googletest

import (
	"encoding/json"
	"net/http"
	"strings"
)

// SetRepository declares an Artifact Registry repository for the API's
// repositories.get: name is projects/P/locations/L/repositories/R. Others
// are not found.
func (s *Server) SetRepository(name string, immutableTags bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.repositories == nil {
		s.repositories = map[string]bool{}
	}
	s.repositories[name] = immutableTags
}

// DenyRepositories makes repositories.get answer 403, as it does to a
// credential without artifactregistry.repositories.get.
func (s *Server) DenyRepositories(deny bool) {
	s.mu.Lock()
	s.denyRepositories = deny
	s.mu.Unlock()
}

// APIRequests lists the Artifact Registry API requests, "METHOD path".
func (s *Server) APIRequests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.apiRequests...)
}

// serveAPI is the Artifact Registry API's repositories.get, GET
// /v1/projects/P/locations/L/repositories/R with the access token as a
// bearer, answering as the real one does: the Repository resource, whose
// dockerConfig holds immutableTags when it is set, or a google.rpc.Status
// error.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/v1/")
	s.mu.Lock()
	s.apiRequests = append(s.apiRequests, r.Method+" "+r.URL.Path)
	immutable, found := s.repositories[name]
	deny, token := s.denyRepositories, s.Token
	s.mu.Unlock()
	parts := strings.Split(name, "/")
	switch {
	case r.Method != http.MethodGet:
		apiError(w, http.StatusMethodNotAllowed, "INVALID_ARGUMENT", "repositories.get takes GET")
	case r.Header.Get("Authorization") != "Bearer "+token:
		apiError(w, http.StatusUnauthorized, "UNAUTHENTICATED", "Request had invalid authentication credentials.")
	case len(parts) != 6 || parts[0] != "projects" || parts[2] != "locations" || parts[4] != "repositories":
		apiError(w, http.StatusNotFound, "NOT_FOUND", "Requested entity was not found.")
	case deny:
		apiError(w, http.StatusForbidden, "PERMISSION_DENIED", "Permission 'artifactregistry.repositories.get' denied on resource '"+name+"' (or it may not exist).")
	case !found:
		apiError(w, http.StatusNotFound, "NOT_FOUND", "Requested entity was not found.")
	default:
		repo := map[string]any{"name": name, "format": "DOCKER", "mode": "STANDARD_REPOSITORY"}
		if immutable {
			repo["dockerConfig"] = map[string]any{"immutableTags": true}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(repo)
	}
}

// apiError writes a Google API error body.
func apiError(w http.ResponseWriter, code int, status, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": code, "message": message, "status": status}})
}
