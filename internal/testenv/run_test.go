package testenv

import (
	"slices"
	"testing"
)

func TestWithoutBed(t *testing.T) {
	t.Parallel()
	env := []string{"PATH=/bin", RequireDockerEnv + "=1", "DOCKER_ECR_CACHE_DOCKERD_DIR=/tmp/d", "DOCKER_ECR_CACHE_CACHE_ON=x"}
	if got, want := WithoutBed(env), []string{"PATH=/bin", "DOCKER_ECR_CACHE_CACHE_ON=x"}; !slices.Equal(got, want) {
		t.Errorf("WithoutBed = %q, want %q", got, want)
	}
	if WithoutBed(nil) == nil {
		t.Errorf("WithoutBed(nil) is nil: the command would inherit the test's environment")
	}
}
