package ecr_test

import (
	"context"
	"strings"
	"testing"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/registry/ecr"
)

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
