package ecr_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/retry"
)

// TestMain shortens the waits between retries, so that fault tests take
// milliseconds; the number of tries is the production one.
func TestMain(m *testing.M) {
	retry.Default.Base, retry.Default.Max = time.Millisecond, 50*time.Millisecond
	os.Exit(m.Run())
}

func TestTransientAPIFailuresAreRetriedAndLogged(t *testing.T) {
	for _, code := range []string{"ServiceUnavailable", "InternalFailure", "ThrottlingException"} {
		t.Run(code, func(t *testing.T) {
			s := serve(t)
			s.Flaky("GetAuthorizationToken", 2, code)
			r, log := provider(t, config(s, "cache/app"))
			if _, err := r.Auth(context.Background()); err != nil {
				t.Fatalf("Auth after two %s: %v", code, err)
			}
			if n := s.Count("GetAuthorizationToken"); n != 3 {
				t.Errorf("%d GetAuthorizationToken calls, want 3", n)
			}
			if w := log.warnings(); strings.Count(w, "retrying") != 2 || !strings.Contains(w, code) || !strings.Contains(w, "ECR GetAuthorizationToken: ") {
				t.Errorf("warnings %q, want two retries of ECR GetAuthorizationToken naming %s", w, code)
			}
		})
	}
}

func TestPersistentAPIFailureFailsAfterTheLastTry(t *testing.T) {
	s := serve(t)
	s.Flaky("*", 100, "ServiceUnavailable")
	r, _ := provider(t, config(s, "cache/app"))
	start := time.Now()
	_, err := r.Auth(context.Background())
	errorSays(t, err, "ecr:GetAuthorizationToken", "ServiceUnavailable")
	if errors.Is(err, engine.ErrNotFound) {
		t.Errorf("a failure counts as a miss")
	}
	if n := s.Count("GetAuthorizationToken"); n != retry.Default.Attempts || time.Since(start) > 5*time.Second {
		t.Errorf("%d calls in %s, want %d quickly", n, time.Since(start), retry.Default.Attempts)
	}
}

// TestRegistryRefusalIsNotRetried: a 401 is an answer, not a fault.
func TestRegistryRefusalIsNotRetried(t *testing.T) {
	s := serve(t)
	s.AddRepository(s.AccountID, "cache/app", nil, "")
	s.InvalidToken()
	r, log := provider(t, config(s, "cache/app"))
	auth, err := r.Auth(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Lookup(context.Background(), "k1", auth); err == nil || errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("lookup with a refused token: %v", err)
	}
	if strings.Contains(log.warnings(), "retrying") {
		t.Errorf("a refused token was retried: %q", log.warnings())
	}
}

// TestOverallDeadline: however many tries are left, an operation ends at
// the policy's deadline.
func TestOverallDeadline(t *testing.T) {
	saved := retry.Default
	t.Cleanup(func() { retry.Default = saved })
	retry.Default.Attempts, retry.Default.Base, retry.Default.Max, retry.Default.Deadline = 1000, 20*time.Millisecond, 20*time.Millisecond, 300*time.Millisecond
	s := serve(t)
	s.Flaky("*", 100000, "ServiceUnavailable")
	r, _ := provider(t, config(s, "cache/app"))
	start := time.Now()
	_, err := r.Auth(context.Background())
	if err == nil || time.Since(start) > 3*time.Second {
		t.Fatalf("err = %v after %s, want a failure at the deadline", err, time.Since(start))
	}
	if n := s.Count("GetAuthorizationToken"); n < 2 || n >= 1000 {
		t.Errorf("%d calls, want retries cut short by the deadline", n)
	}
}
