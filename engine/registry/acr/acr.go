// Package acr is the provider for registry-provider: acr, Azure Container
// Registry, reached with the job's Azure AD (Entra ID) credential and no
// az binary: the OCI provider, whose credential is an ACR refresh token.
//
// The credential comes from the environment through azidentity's
// DefaultAzureCredential: a service principal (AZURE_CLIENT_ID,
// AZURE_TENANT_ID, AZURE_CLIENT_SECRET or AZURE_CLIENT_CERTIFICATE_PATH),
// workload identity (AZURE_FEDERATED_TOKEN_FILE), a managed identity, or
// the Azure CLI's login when az is installed. Its Azure AD access token is
// exchanged at the registry's /oauth2/exchange for an ACR refresh token,
// which the registry clients (this tool's and the Docker daemon's) trade at
// /oauth2/token for access tokens, as after az acr login.
package acr

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/registry/oci"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/retry"
)

// User is the registry user that goes with an ACR refresh token.
const User = "00000000-0000-0000-0000-000000000000"

// Scope is the Azure AD scope of the token exchanged for ACR's.
const Scope = "https://containerregistry.azure.net/.default"

// refreshLife is how long a refresh token is used before another is
// exchanged for: ACR's last three hours.
const refreshLife = time.Hour

// requestTimeout bounds each token request; retry.Default retries them.
const requestTimeout = 60 * time.Second

// CredentialFixes names the usual ways to give a job Azure credentials.
const CredentialFixes = "give the job Azure credentials: a service principal in AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_CLIENT_SECRET, " +
	"workload identity (AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_FEDERATED_TOKEN_FILE), a managed identity on an Azure agent, " +
	"or az login; or give a registry token in DOCKER_ECR_CACHE_REGISTRY_USERNAME and DOCKER_ECR_CACHE_REGISTRY_PASSWORD"

// Fixes names what a refused credential usually needs.
const Fixes = "the job's identity needs the AcrPull role on the registry to look up and AcrPush to push " +
	"(az role assignment create --assignee CLIENT_ID --role AcrPush --scope REGISTRY_ID)"

// Registry is an ACR repository.
type Registry struct {
	*oci.Registry
	kc     *keychain
	getenv func(string) string
}

var (
	_ engine.Registry = Registry{}
	_ engine.Warmer   = Registry{}
)

// Warm starts the exchange in the background, unless a registry
// credential in the environment makes it needless.
func (r Registry) Warm(ctx context.Context) {
	if r.getenv(oci.EnvUsername) != "" || r.getenv(oci.EnvPassword) != "" {
		return
	}
	r.kc.warm(ctx)
}

// New returns the provider for c's ACR options, which Config.Validate
// checked: the image registry-hostname/NAME. It makes no call: the
// credential is found by Warm or Auth.
func New(c *engine.Config, log engine.Reporter) Registry {
	host := engine.StripScheme(strings.TrimSpace(c.RegistryHostname))
	kc := &keychain{
		host:   host,
		log:    log,
		client: &http.Client{Timeout: requestTimeout, Transport: retry.Default.Transport(nil, log.Warnf)},
	}
	return Registry{
		Registry: &oci.Registry{
			Repo:     host + "/" + c.RepositoryName(),
			Keychain: oci.Keychain(c.Getenv, kc),
			Client:   oci.NewClient(log),
			Fixes:    Fixes,
		},
		kc:     kc,
		getenv: c.Env, // never nil
	}
}

// keychain is the ACR refresh token for the registry host, exchanged once
// an hour for the Azure AD credential's access token.
type keychain struct {
	host   string
	log    engine.Reporter
	client *http.Client

	mu      sync.Mutex
	cred    azcore.TokenCredential
	refresh string
	expires time.Time
	warmErr error // why the background exchange failed, for the next Auth
}

var _ authn.ContextKeychain = (*keychain)(nil)

func (k *keychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	return k.ResolveContext(context.Background(), r)
}

func (k *keychain) ResolveContext(ctx context.Context, _ authn.Resource) (authn.Authenticator, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.warmErr; err != nil {
		k.warmErr = nil
		return nil, err
	}
	if err := k.renew(ctx); err != nil {
		return nil, err
	}
	return &authn.Basic{Username: User, Password: k.refresh}, nil
}

// warm renews the refresh token in the background; Resolve waits for it,
// as it holds the lock until done.
func (k *keychain) warm(ctx context.Context) {
	k.mu.Lock()
	go func() {
		defer k.mu.Unlock()
		ctx, cancel := context.WithTimeout(ctx, 2*requestTimeout)
		defer cancel()
		k.warmErr = k.renew(ctx)
	}()
}

// renew exchanges for a new refresh token when there is none or it is old.
// The caller holds k.mu.
func (k *keychain) renew(ctx context.Context) error {
	if k.refresh != "" && time.Now().Before(k.expires) {
		return nil
	}
	refresh, err := k.exchange(ctx)
	if err != nil {
		return err
	}
	k.refresh, k.expires = refresh, time.Now().Add(refreshLife)
	return nil
}

// exchange gets an Azure AD access token and trades it at the registry's
// /oauth2/exchange for an ACR refresh token.
func (k *keychain) exchange(ctx context.Context) (string, error) {
	if k.cred == nil {
		cred, err := azidentity.NewDefaultAzureCredential(&azidentity.DefaultAzureCredentialOptions{
			DisableInstanceDiscovery: privateCloud(os.Getenv("AZURE_AUTHORITY_HOST")),
		})
		if err != nil {
			return "", fmt.Errorf("reading the Azure credentials: %w: %s", err, CredentialFixes)
		}
		k.cred = cred
	}
	aad, err := k.cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{Scope}})
	if err != nil {
		return "", fmt.Errorf("getting an Azure AD token for %s: %w: %s", k.host, err, CredentialFixes)
	}
	k.log.Mask(aad.Token) // the engine masks what Auth returns, but never sees this one
	form := url.Values{"grant_type": {"access_token"}, "service": {k.host}, "access_token": {aad.Token}}
	if tenant := os.Getenv("AZURE_TENANT_ID"); tenant != "" {
		form.Set("tenant", tenant)
	}
	var body struct {
		RefreshToken string `json:"refresh_token"`
	}
	if err := k.post(ctx, "/oauth2/exchange", form, &body); err != nil {
		return "", err
	}
	if body.RefreshToken == "" {
		return "", fmt.Errorf("exchanging the Azure AD token at %s/oauth2/exchange: the answer held no refresh token", k.host)
	}
	return body.RefreshToken, nil
}

// post sends form to the registry's path and decodes its JSON answer. A
// loopback registry is spoken to over plain HTTP, as the daemon does; any
// other over HTTPS only.
func (k *keychain) post(ctx context.Context, path string, form url.Values, out any) error {
	scheme := "https"
	if engine.Loopback(k.host) {
		scheme = "http"
	}
	endpoint := scheme + "://" + k.host + path
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("exchanging the Azure AD token at %s: %w", endpoint, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := k.client.Do(req)
	if err != nil {
		return fmt.Errorf("exchanging the Azure AD token at %s: %w", endpoint, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("exchanging the Azure AD token at %s: %w", endpoint, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("exchanging the Azure AD token at %s: HTTP %d: %s: %s", endpoint, resp.StatusCode, registryMessage(b), exchangeHint(resp.StatusCode))
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("exchanging the Azure AD token at %s: the answer is not JSON: %w", endpoint, err)
	}
	return nil
}

// registryMessage is the registry's own error, short, for the user.
func registryMessage(b []byte) string {
	var e struct {
		Errors []struct{ Code, Message string }
	}
	if json.Unmarshal(b, &e) == nil && len(e.Errors) > 0 {
		return e.Errors[0].Code + ": " + e.Errors[0].Message
	}
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// exchangeHint says what a refused exchange usually needs.
func exchangeHint(status int) string {
	switch status {
	case http.StatusUnauthorized, http.StatusForbidden:
		return "the registry did not accept the Azure AD token: check that the identity's tenant is the registry's, and " + Fixes
	case http.StatusNotFound:
		return "no ACR token service there: check that registry-hostname is the registry's login server (NAME.azurecr.io)"
	}
	return "the registry's token service failed"
}

// privateCloud reports whether the authority host is not one of Azure's
// public or sovereign clouds (an Azure Stack or other private cloud):
// Microsoft's instance discovery cannot vouch for it, and is skipped.
func privateCloud(authorityHost string) bool {
	if authorityHost == "" {
		return false
	}
	u, err := url.Parse(authorityHost)
	if err != nil {
		return false
	}
	switch strings.ToLower(u.Hostname()) {
	case "login.microsoftonline.com", "login.microsoft.com", "login.windows.net", "sts.windows.net",
		"login.chinacloudapi.cn", "login.partner.microsoftonline.cn", "login.microsoftonline.us",
		"login-us.microsoftonline.com", "login.usgovcloudapi.net", "login.microsoftonline.de":
		return false
	}
	return true
}
