package ecr_test

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/internal/ecrtest"
)

func TestOneTokenPerRun(t *testing.T) {
	s := serve(t)
	r, log := provider(t, config(s, "cache/app"))
	for range 3 {
		auth, err := r.Auth(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		want := engine.Auth{Server: s.RegistryHost, Username: "AWS", Password: s.Password}
		if auth != want {
			t.Fatalf("auth %+v, want %+v", auth, want)
		}
	}
	if got := calls(s); got != "GetAuthorizationToken" {
		t.Errorf("calls %q, want one GetAuthorizationToken", got)
	}
	token := base64.StdEncoding.EncodeToString([]byte("AWS:" + s.Password))
	if len(log.masks) != 0 {
		t.Errorf("masked %q: the engine's auth step masks, once, not the provider", log.masks)
	}
	if strings.Contains(log.text(), s.Password) || strings.Contains(log.text(), token) {
		t.Errorf("the log shows the token: %q", log.text())
	}
}

func TestLookupIsOneHead(t *testing.T) {
	s := serve(t)
	s.AddRepository(s.AccountID, "cache/app", nil, "")
	digest := ecrtest.PushImage(t, s.RegistryHost, "cache/app", "k1", "AWS", s.Password, "content")
	s.Reset()

	r, log := provider(t, config(s, "cache/app"))
	ctx := context.Background()
	auth, err := r.Auth(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.Lookup(ctx, "k1", auth)
	if err != nil || got != digest {
		t.Fatalf("lookup: %q, %v; want %s", got, err, digest)
	}
	if reqs := strings.Join(s.Registry.Requests(), ", "); reqs != "HEAD /v2/cache/app/manifests/k1 200" {
		t.Errorf("registry requests %q, want one HEAD", reqs)
	}
	if got := calls(s); got != "GetAuthorizationToken" {
		t.Errorf("API calls %q, want only GetAuthorizationToken", got)
	}
	if _, err := r.Lookup(ctx, "k2", auth); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("lookup of a missing tag: %v, want ErrNotFound", err)
	}
	if strings.Contains(log.text(), s.Password) {
		t.Errorf("the log shows the password: %q", log.text())
	}
}

func TestRejectedTokenIsAnAuthErrorNotAMiss(t *testing.T) {
	s := serve(t)
	s.AddRepository(s.AccountID, "cache/app", nil, "")
	s.InvalidToken()
	r, _ := provider(t, config(s, "cache/app"))
	ctx := context.Background()
	auth, err := r.Auth(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Lookup(ctx, "k1", auth)
	if err == nil || errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("lookup with a rejected token: %v, want an auth error", err)
	}
	errorSays(t, err, "ECR refused the authorization token", "HTTP 401", "check the ECR token", "permissions")
	if strings.Contains(err.Error(), auth.Password) {
		t.Errorf("the error shows the password")
	}
}

func TestMissingCredentialsNameTheFixes(t *testing.T) {
	s := ecrtest.Start(t, ecrtest.Options{})
	ecrtest.ClearAWSEnv(t)
	t.Setenv("AWS_ENDPOINT_URL_ECR", s.URL)
	t.Setenv("AWS_ENDPOINT_URL_STS", s.URL)
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("HOME", t.TempDir())

	check := func(what string, err error) {
		t.Helper()
		if err == nil {
			t.Fatalf("%s without credentials succeeded", what)
		}
		for _, want := range []string{"no AWS credentials", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "web identity (OIDC)", "instance or container role"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s: error %q does not say %q", what, err, want)
			}
		}
	}
	r, _ := provider(t, config(s, "cache/app"))
	_, err := r.Auth(context.Background())
	check("Auth", err)
	_, err = r.Prepare(context.Background())
	check("Prepare", err)
	r, _ = provider(t, config(nil, "cache/app"))
	_, err = r.Repository(context.Background())
	check("Repository (STS)", err)
	if got := calls(s); got != "" {
		t.Errorf("calls %q, want none", got)
	}
}

func TestRejectedCredentialsNameTheFixes(t *testing.T) {
	s := serve(t)
	s.ExpireCredentials()
	r, _ := provider(t, config(s, "cache/app"))
	_, err := r.Auth(context.Background())
	errorSays(t, err, "ecr:GetAuthorizationToken", "rejected the job's credentials", "ExpiredTokenException", "AWS_PROFILE")
}

// The SDK itself honours AWS_ENDPOINT_URL_ECR and AWS_ENDPOINT_URL through
// LoadDefaultConfig; the service-specific one wins.
func TestEndpointVariables(t *testing.T) {
	s := serve(t)
	t.Setenv("AWS_ENDPOINT_URL_ECR", "")
	t.Setenv("AWS_ENDPOINT_URL_STS", "")
	t.Setenv("AWS_ENDPOINT_URL", s.URL)
	r, _ := provider(t, config(nil, "cache/app"))
	if _, err := r.Auth(context.Background()); err != nil {
		t.Fatalf("with AWS_ENDPOINT_URL only: %v", err)
	}
	if got := calls(s); got != "GetCallerIdentity GetAuthorizationToken" {
		t.Errorf("calls %q", got)
	}

	other := ecrtest.Start(t, ecrtest.Options{})
	t.Setenv("AWS_ENDPOINT_URL_ECR", other.URL)
	r, _ = provider(t, config(s, "cache/app"))
	if _, err := r.Auth(context.Background()); err != nil {
		t.Fatal(err)
	}
	if other.Count("GetAuthorizationToken") != 1 || s.Count("GetAuthorizationToken") != 1 {
		t.Errorf("AWS_ENDPOINT_URL_ECR did not win over AWS_ENDPOINT_URL: %q / %q", calls(other), calls(s))
	}
}
