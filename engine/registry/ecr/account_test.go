package ecr_test

import (
	"context"
	"strings"
	"testing"
)

func TestAccountFromSTSAskedOnce(t *testing.T) {
	s := serve(t)
	r, log := provider(t, config(nil, "cache/app"))
	for range 3 {
		repo, err := r.Repository(context.Background())
		if want := "123456789012.dkr.ecr.us-east-1.amazonaws.com/cache/app"; err != nil || repo != want {
			t.Fatalf("repository %q, %v; want %s", repo, err, want)
		}
	}
	if got := calls(s); got != "GetCallerIdentity" {
		t.Errorf("calls %q, want one GetCallerIdentity", got)
	}
	if !strings.Contains(log.text(), "account 123456789012") {
		t.Errorf("the log does not name the account: %q", log.text())
	}
}

func TestCrossAccountNeedsNoSTS(t *testing.T) {
	s := serve(t)
	c := config(nil, "cache/app")
	c.ECRAccountID = "210987654321"
	c.Region = "eu-west-2"
	r, _ := provider(t, c)
	repo, err := r.Repository(context.Background())
	if want := "210987654321.dkr.ecr.eu-west-2.amazonaws.com/cache/app"; err != nil || repo != want {
		t.Fatalf("repository %q, %v; want %s", repo, err, want)
	}
	auth, err := r.Auth(context.Background())
	if err != nil || auth.Server != "210987654321.dkr.ecr.eu-west-2.amazonaws.com" {
		t.Fatalf("auth for %q, %v", auth.Server, err)
	}
	if _, err := r.Prepare(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Repository("210987654321", "cache/app"); !ok {
		t.Error("the repository was not created in account 210987654321")
	}
	if _, ok := s.Repository(s.AccountID, "cache/app"); ok {
		t.Error("the repository was created in the caller's account")
	}
	if n := s.Count("GetCallerIdentity"); n != 0 {
		t.Errorf("%d GetCallerIdentity calls with ecr-account-id set: %s", n, calls(s))
	}
}

func TestRegistryHostnameNeedsNoSTS(t *testing.T) {
	s := serve(t)
	c := config(nil, "cache/app")
	c.RegistryHostname = "https://mirror.example.internal:5000/"
	r, _ := provider(t, c)
	repo, err := r.Repository(context.Background())
	if want := "mirror.example.internal:5000/cache/app"; err != nil || repo != want {
		t.Fatalf("repository %q, %v; want %s", repo, err, want)
	}
	if got := calls(s); got != "" {
		t.Errorf("calls %q, want none", got)
	}
}

func TestSTSDeniedNamesTheActionAndTheWayAround(t *testing.T) {
	s := serve(t)
	s.Deny("GetCallerIdentity")
	r, _ := provider(t, config(nil, "cache/app"))
	_, err := r.Repository(context.Background())
	errorSays(t, err, "sts:GetCallerIdentity", "ecr-account-id", "AccessDenied")
}
