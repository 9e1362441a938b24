package buildsession

import (
	"context"
	"testing"

	"github.com/moby/buildkit/session/auth"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
)

func TestRegistryHost(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"https://123.dkr.ecr.us-east-1.amazonaws.com": "123.dkr.ecr.us-east-1.amazonaws.com",
		"127.0.0.1:5000":              "127.0.0.1:5000",
		"http://127.0.0.1:5000/v2/":   "127.0.0.1:5000",
		"https://index.docker.io/v1/": "registry-1.docker.io",
		"europe-docker.pkg.dev":       "europe-docker.pkg.dev",
	} {
		if got := registryHost(in); got != want {
			t.Errorf("registryHost(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestAuthProvider(t *testing.T) {
	t.Parallel()
	p := &authProvider{auth: engine.Auth{Server: "https://123.dkr.ecr.eu-west-1.amazonaws.com", Username: "AWS", Password: "token"}}
	for host, want := range map[string]string{"123.dkr.ecr.eu-west-1.amazonaws.com": "AWS", "registry-1.docker.io": "", "ghcr.io": ""} {
		resp, err := p.Credentials(context.Background(), &auth.CredentialsRequest{Host: host})
		if err != nil {
			t.Fatal(err)
		}
		if resp.Username != want || (want == "") != (resp.Secret == "") {
			t.Errorf("credentials for %s: user %q, secret set %v; want user %q", host, resp.Username, resp.Secret != "", want)
		}
	}
}

func TestIdentityTokenIsSentAsTheDockerCLIDoes(t *testing.T) {
	t.Parallel()
	a := engine.Auth{Server: "id.example", Username: "<token>", IdentityToken: "refresh-me"}
	resp, err := (&authProvider{auth: a}).Credentials(context.Background(), &auth.CredentialsRequest{Host: "id.example"})
	if err != nil || resp.Username != "" || resp.Secret != "refresh-me" {
		t.Errorf("session credentials %+v, %v; want the identity token as the secret", resp, err)
	}
}
