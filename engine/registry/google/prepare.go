package google

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/retry"
)

// APIEndpointEnv is gcloud's setting for another Artifact Registry API
// root than DefaultAPI; Prepare honours it the same way.
const APIEndpointEnv = "CLOUDSDK_API_ENDPOINT_OVERRIDES_ARTIFACTREGISTRY"

// DefaultAPI is the Artifact Registry API's root.
const DefaultAPI = "https://artifactregistry.googleapis.com/"

// apiTimeout bounds the question, retries included: its answer is worth
// less than a stalled miss.
const apiTimeout = 20 * time.Second

// gcrLocations are the Artifact Registry locations of the repositories
// that serve the gcr.io hosts, which are named after them.
var gcrLocations = map[string]string{"gcr.io": "us", "us.gcr.io": "us", "eu.gcr.io": "europe", "asia.gcr.io": "asia"}

// Prepare creates nothing: gcr.io repositories are created by the first
// push, and Artifact Registry repositories must already exist. It asks the
// Artifact Registry API (repositories.get, in the Reader role) whether the
// repository has immutable tags, under which latest cannot move. When it
// cannot tell (another host, a credential that is not an access token, a
// refusal), it says so and latest is pushed as before: a refused move only
// warns.
func (r *Registry) Prepare(ctx context.Context) (engine.Prepared, error) {
	if r.arName == "" {
		return engine.Prepared{}, nil
	}
	immutable, err := r.immutableTags(ctx)
	if err != nil {
		r.log.Infof("could not ask Artifact Registry whether %s has immutable tags (%v); latest is pushed, and a refusal to move it only warns", r.arName, err)
		return engine.Prepared{}, nil
	}
	if immutable {
		return engine.Prepared{LatestImmutable: fmt.Sprintf("Artifact Registry repository %s has immutable tags, under which latest cannot move", r.arName)}, nil
	}
	return engine.Prepared{}, nil
}

// arRepository is the Artifact Registry resource name of the repository
// holding the image on host, or "" when host is neither
// LOCATION-docker.pkg.dev nor a gcr.io host. name is the image's name in
// the project: REPOSITORY/IMAGE on Artifact Registry.
func arRepository(host, project, name string) string {
	location, repository := "", ""
	if l, ok := strings.CutSuffix(host, "-docker.pkg.dev"); ok && l != "" && !strings.ContainsAny(l, ".:") {
		first, _, _ := strings.Cut(name, "/")
		location, repository = l, first
	} else if l, ok := gcrLocations[host]; ok {
		location, repository = l, host
	}
	if location == "" || repository == "" || project == "" {
		return ""
	}
	return "projects/" + url.PathEscape(project) + "/locations/" + url.PathEscape(location) + "/repositories/" + url.PathEscape(repository)
}

// immutableTags asks repositories.get for the repository's dockerConfig.
func (r *Registry) immutableTags(ctx context.Context) (bool, error) {
	auth, err := r.Auth(ctx)
	if err != nil {
		return false, err
	}
	switch auth.Username {
	case TokenUser, "_dcgcloud_token", "_token":
	default:
		return false, fmt.Errorf("the credential for %s is not an access token", r.host)
	}
	ctx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.api+"v1/"+r.arName, nil)
	if err != nil {
		return false, err
	}
	req.Header.Set("Authorization", "Bearer "+auth.Password)
	client := &http.Client{Transport: retry.Default.Transport(nil, r.log.Warnf)}
	resp, err := client.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return false, fmt.Errorf("reading the answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error struct{ Message string } `json:"error"`
		}
		_ = json.Unmarshal(body, &e)
		return false, fmt.Errorf("HTTP %d: %.200s", resp.StatusCode, e.Error.Message)
	}
	var repo struct {
		DockerConfig struct {
			ImmutableTags bool `json:"immutableTags"`
		} `json:"dockerConfig"`
	}
	if err := json.Unmarshal(body, &repo); err != nil {
		return false, fmt.Errorf("reading the repository: %w", err)
	}
	return repo.DockerConfig.ImmutableTags, nil
}
