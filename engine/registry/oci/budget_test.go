package oci

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/retry"
	"github.com/docker-ecr-cache/docker-ecr-cache/internal/ecrtest"
	"github.com/docker-ecr-cache/docker-ecr-cache/internal/faultproxy"
	"github.com/docker-ecr-cache/docker-ecr-cache/internal/testenv"
)

// TestLookupFailsAtOnceOnALongRetryAfter: a registry answering 429 with
// Retry-After: 999999 made the lookup's HEAD try five times, then the
// explanatory GET five times more, 10 requests over 160 s, where the docs
// promise two minutes. A wait beyond the policy is an error at once.
func TestLookupFailsAtOnceOnALongRetryAfter(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	ecrtest.PushImage(t, reg.Host, "cache", "abc", "", "", "content")
	p := faultproxy.Start(t, reg.Host, faultproxy.Rule{Path: `/manifests/`, Fault: faultproxy.TooManyRequests("999999")})
	c, logged := client(t)
	c.Retry = retry.Default // the production policy: a test within its bounds would wait minutes
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	start := time.Now()
	_, err := c.Lookup(ctx, p.Host+"/cache", "abc", engine.Auth{})
	took := time.Since(start)
	if err == nil || errors.Is(err, engine.ErrNotFound) || ctx.Err() != nil {
		t.Fatalf("Lookup = %v after %s; want an error at once", err, took)
	}
	for _, want := range []string{"429", "asks to wait 277h46m39s", "Retry-After", "not retried"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if reqs := p.Matching("", `/manifests/`); len(reqs) != 1 || took > 5*time.Second || len(*logged) != 0 {
		t.Errorf("%d manifest requests in %s (%v), %d retries logged; want one request at once", len(reqs), took, reqs, len(*logged))
	}
}

// TestLookupStepSharesOneBudget: the HEAD and the explanatory GET that
// follows it are one step, with one budget of tries.
func TestLookupStepSharesOneBudget(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	ecrtest.PushImage(t, reg.Host, "cache", "abc", "", "", "content")
	p := faultproxy.Start(t, reg.Host, faultproxy.Rule{Path: `/manifests/`, Fault: faultproxy.TooManyRequests("0")})
	c, logged := client(t)
	_, err := c.Lookup(t.Context(), p.Host+"/cache", "abc", engine.Auth{})
	if err == nil || !strings.Contains(err.Error(), "429") {
		t.Fatalf("Lookup = %v, want the 429", err)
	}
	heads, gets := p.Matching("HEAD", `/manifests/`), p.Matching("GET", `/manifests/`)
	if len(heads) != fast.Attempts || len(gets) > 1 || len(*logged) != fast.Attempts-1 {
		t.Errorf("%d HEADs, %d GETs, %d retries logged; want %d HEADs, at most one GET, %d retries in all",
			len(heads), len(gets), len(*logged), fast.Attempts, fast.Attempts-1)
	}
}
