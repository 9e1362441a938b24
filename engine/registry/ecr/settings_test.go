package ecr_test

import (
	"context"
	"strings"
	"testing"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/registry/ecr"
)

func TestInvalidOptionsFailBeforeAnyCall(t *testing.T) {
	s := serve(t)
	cases := []struct {
		name string
		set  func(*engine.Config)
		want string
	}{
		{"upper case", func(c *engine.Config) { c.ECRName = "Cache/App" }, `ecr-name "Cache/App" is not a valid ECR repository name`},
		{"too short", func(c *engine.Config) { c.ECRName = "a" }, `ecr-name "a"`},
		{"too long", func(c *engine.Config) { c.ECRName = strings.Repeat("a", 257) }, "2 to 256 characters"},
		{"empty part", func(c *engine.Config) { c.ECRName = "cache//app" }, `ecr-name "cache//app"`},
		{"leading separator", func(c *engine.Config) { c.ECRName = "-cache" }, `ecr-name "-cache"`},
		{"double separator", func(c *engine.Config) { c.ECRName = "cache__app" }, `ecr-name "cache__app"`},
		{"trailing slash", func(c *engine.Config) { c.ECRName = "cache/" }, `ecr-name "cache/"`},
		{"default name", func(c *engine.Config) { c.ECRName, c.DefaultName = "", "build-cache/My Org/x" }, "set ecr-name"},
		{"short account", func(c *engine.Config) { c.ECRAccountID = "12345" }, `ecr-account-id "12345" is not an AWS account ID`},
		{"account with letters", func(c *engine.Config) { c.ECRAccountID = "12345678901a" }, "12 digits"},
		{"region", func(c *engine.Config) { c.Region = "eu west 1" }, `region "eu west 1" is not an AWS region name`},
		{"registry-hostname", func(c *engine.Config) { c.RegistryHostname = "host/path" }, `registry-hostname "host/path" is not host[:port]`},
		{"max-age-days", func(c *engine.Config) { c.MaxAgeDays = 0 }, "max-age-days is 0"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := config(s, "cache/app")
			tc.set(&c)
			_, err := ecr.New(context.Background(), &c, &recorder{})
			if !engine.IsConfigError(err) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want a configuration error saying %q", err, tc.want)
			}
		})
	}
	if got := calls(s); got != "" {
		t.Errorf("calls %q, want none", got)
	}
}

func TestValidNames(t *testing.T) {
	serve(t)
	for _, name := range []string{"ab", strings.Repeat("a", 256), "a.b_c-d/e", "build-cache/my-org/my-pipeline", "0/1/2"} {
		c := config(nil, name)
		if _, err := ecr.New(context.Background(), &c, &recorder{}); err != nil {
			t.Errorf("%q: %v", name, err)
		}
	}
}

func TestDefaultNameIsTheFrontEnds(t *testing.T) {
	serve(t)
	c := config(nil, "")
	c.DefaultName = "build-cache/org/pipeline"
	c.ECRAccountID = "111122223333"
	r, _ := provider(t, c)
	repo, err := r.Repository(context.Background())
	if want := "111122223333.dkr.ecr.us-east-1.amazonaws.com/build-cache/org/pipeline"; err != nil || repo != want {
		t.Errorf("repository %q, %v; want %s", repo, err, want)
	}
}

func TestUnknownProfileIsAConfigurationError(t *testing.T) {
	serve(t)
	t.Setenv("AWS_PROFILE", "no-such-profile")
	c := config(nil, "cache/app")
	_, err := ecr.New(context.Background(), &c, &recorder{})
	if !engine.IsConfigError(err) || !strings.Contains(err.Error(), "no-such-profile") {
		t.Errorf("error %v", err)
	}
}
