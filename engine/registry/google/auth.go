package google

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"golang.org/x/oauth2"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/registry/oci"
)

// TokenUser is the Docker user name that goes with an OAuth2 access token.
const TokenUser = "oauth2accesstoken"

// CredentialFixes names the usual ways to give a job Google credentials.
const CredentialFixes = "give the job Google credentials: set GOOGLE_APPLICATION_CREDENTIALS to a service account key file " +
	"or to a workload identity federation configuration (on GitHub: google-github-actions/auth; on Buildkite: its OIDC token), " +
	"or run gcloud auth application-default login, or run the agent on Google Cloud with a service account, " +
	"or set up a Docker credential helper for the registry host (gcloud auth configure-docker HOST)"

// tokenTimeout bounds finding the credentials and getting the token.
const tokenTimeout = 60 * time.Second

// refreshBefore is how long before its expiry an access token is replaced.
const refreshBefore = 5 * time.Minute

// Auth returns the credential for the registry host, found once per run
// and again only when its access token is about to expire (a build can
// outlast it): an access token from Application Default Credentials (user
// oauth2accesstoken), else what the Docker credential helper or config
// holds for the host. It is handed over per request, never written.
func (r *Registry) Auth(ctx context.Context) (engine.Auth, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.auth != nil && (r.expiry.IsZero() || time.Until(r.expiry) > refreshBefore) {
		return *r.auth, nil
	}
	auth, source, err := r.credential(ctx)
	if err != nil {
		return engine.Auth{}, err
	}
	r.log.Mask(auth.Password)
	r.log.Infof("registry %s: credential from %s", r.host, source)
	r.auth, r.source = &auth, source
	return auth, nil
}

func (r *Registry) credential(ctx context.Context) (engine.Auth, string, error) {
	ctx, cancel := context.WithTimeout(ctx, tokenTimeout)
	defer cancel()
	creds, adcErr := r.findADC(ctx)
	if adcErr == nil {
		return r.fromADC(creds)
	}
	if !errors.Is(adcErr, errNoADC) {
		return engine.Auth{}, "", fmt.Errorf("reading Google Application Default Credentials for %s: %w", r.host, adcErr)
	}
	auth, err := oci.Credentials(ctx, r.host, r.getenv)
	if err != nil {
		return engine.Auth{}, "", fmt.Errorf("no Google Application Default Credentials, and looking in the Docker config for %s: %w", r.host, err)
	}
	if auth.Username == "" && auth.Password == "" {
		return engine.Auth{}, "", fmt.Errorf("no credentials for %s: no Google Application Default Credentials (%v), "+
			"and no Docker credential helper or Docker config entry for the host: %s", r.host, adcErr, CredentialFixes)
	}
	return auth, "the Docker credential helper or config for " + r.host, nil
}

// fromADC gets one access token from creds.
func (r *Registry) fromADC(creds *adc) (engine.Auth, string, error) {
	tok, err := creds.tokens.Token()
	if err != nil {
		return engine.Auth{}, "", fmt.Errorf("getting a Google access token from %s for %s: %w", creds.source, r.host, explainToken(err))
	}
	if tok.AccessToken == "" {
		return engine.Auth{}, "", fmt.Errorf("getting a Google access token from %s for %s: the answer held no access token", creds.source, r.host)
	}
	r.expiry = tok.Expiry
	return engine.Auth{Server: r.host, Username: TokenUser, Password: tok.AccessToken}, creds.source, nil
}

// explainToken says what to do when the token endpoint refused.
func explainToken(err error) error {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		return err
	}
	code := re.ErrorCode
	if code == "" { // the service-account flow does not decode it
		var body struct {
			Error string `json:"error"`
		}
		_ = json.Unmarshal(re.Body, &body)
		code = body.Error
	}
	switch code {
	case "invalid_grant":
		return fmt.Errorf("the token endpoint refused the credential (a deleted or disabled service account key, "+
			"an expired login, or a clock far off): %s: %w", CredentialFixes, err)
	case "invalid_client", "unauthorized_client":
		return fmt.Errorf("the token endpoint does not know the client: %s: %w", CredentialFixes, err)
	}
	return err
}
