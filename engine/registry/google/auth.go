package google

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"golang.org/x/oauth2"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/registry/oci"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/retry"
)

// TokenUser is the Docker user name that goes with an OAuth2 access token.
const TokenUser = "oauth2accesstoken"

// CredentialFixes names the usual ways to give a job Google credentials.
const CredentialFixes = "give the job Google credentials: set GOOGLE_APPLICATION_CREDENTIALS to a service account key file " +
	"or to a workload identity federation configuration (on GitHub: google-github-actions/auth; on Buildkite: its OIDC token), " +
	"or run gcloud auth application-default login, or run the agent on Google Cloud with a service account, " +
	"or set up a Docker credential helper for the registry host (gcloud auth configure-docker HOST)"

// tokenTimeout bounds each token request; retry.Default retries them.
const tokenTimeout = 60 * time.Second

// Auth returns the credential for the registry host: an access token from
// Application Default Credentials (user oauth2accesstoken), replaced when
// it is about to expire (a build can outlast it), else what the
// environment, the Docker credential helper or the Docker config holds for
// the host. It is handed over per request, never written.
func (r *Registry) Auth(ctx context.Context) (engine.Auth, error) {
	auth, err := oci.Credentials(ctx, r.keychain, r.repo)
	if err != nil {
		return engine.Auth{}, err
	}
	source := r.credentialSource()
	if auth.Username == "" && auth.Password == "" && auth.IdentityToken == "" {
		return engine.Auth{}, fmt.Errorf("no credentials for %s: no Google Application Default Credentials, "+
			"and no Docker credential helper or Docker config entry for the host: %s", r.host, CredentialFixes)
	}
	r.mu.Lock()
	if auth.Password != r.shown {
		r.log.Infof("registry %s: credential from %s", r.host, source)
		r.shown = auth.Password
	}
	r.mu.Unlock()
	return auth, nil
}

// adcKeychain is the Application Default Credentials' access token, for
// the registry host; no credentials at all resolve to anonymous, so that
// the next keychain is asked.
type adcKeychain struct{ r *Registry }

var _ authn.ContextKeychain = adcKeychain{}

func (k adcKeychain) Resolve(target authn.Resource) (authn.Authenticator, error) {
	return k.ResolveContext(context.Background(), target)
}

func (k adcKeychain) ResolveContext(ctx context.Context, _ authn.Resource) (authn.Authenticator, error) {
	creds, err := k.r.adc(ctx)
	switch {
	case errors.Is(err, errNoADC):
		return authn.Anonymous, nil
	case err != nil:
		return nil, fmt.Errorf("reading Google Application Default Credentials for %s: %w", k.r.host, err)
	}
	return accessToken{creds, k.r.host}, nil
}

// accessToken is an ADC access token as an authn.Authenticator.
type accessToken struct {
	creds *adc
	host  string
}

func (a accessToken) Authorization() (*authn.AuthConfig, error) {
	tok, err := a.creds.tokens.Token()
	if err != nil {
		return nil, fmt.Errorf("getting a Google access token from %s for %s: %w", a.creds.source, a.host, explainToken(err))
	}
	if tok.AccessToken == "" {
		return nil, fmt.Errorf("getting a Google access token from %s for %s: the answer held no access token", a.creds.source, a.host)
	}
	return &authn.AuthConfig{Username: TokenUser, Password: tok.AccessToken}, nil
}

// adc finds the Application Default Credentials once per run.
func (r *Registry) adc(ctx context.Context) (*adc, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.creds == nil && r.credsErr == nil {
		client := &http.Client{Timeout: tokenTimeout, Transport: retry.Default.Transport(nil, r.log.Warnf)}
		r.creds, r.credsErr = r.findADC(ctx, client)
	}
	return r.creds, r.credsErr
}

// credentialSource names where the credential comes from, for messages.
func (r *Registry) credentialSource() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case r.creds != nil:
		return r.creds.source
	case r.credsErr != nil:
		return "the Docker credential helper or config for " + r.host
	}
	return "the caller"
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
