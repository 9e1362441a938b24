package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/registry/oci"
	"github.com/docker-ecr-cache/docker-ecr-cache/internal/fake"
)

// A miss's explanation is one step with one retry budget: a registry that
// answers 503 to every image read costs one deadline's tries in all, not
// five tries for each of the 100 key images whose labels are read.
func TestExplainSharesOneRetryBudget(t *testing.T) {
	t.Parallel()
	var tags []string
	for i := range 100 {
		tags = append(tags, fmt.Sprintf("%040x", i+1))
	}
	var reads atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch p := r.URL.Path; {
		case p == "/v2/":
		case strings.HasSuffix(p, "/tags/list"):
			_ = json.NewEncoder(w).Encode(map[string]any{"name": "cache", "tags": tags})
		case strings.Contains(p, "/manifests/") && r.Method == http.MethodGet:
			reads.Add(1)
			http.Error(w, "busy", http.StatusServiceUnavailable)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)

	r := newRig(t, func(c *engine.Config) {
		c.Registry = strings.TrimPrefix(srv.URL, "http://") + "/cache"
		c.PushLatest, c.Save = false, false
	})
	plan, err := r.cfg.Plan()
	if err != nil {
		t.Fatal(err)
	}
	e := engine.Engine{Plan: plan, Registry: oci.New(&plan.Config, r.log), Docker: r.dock, Builder: r.dock, Reporter: &fake.Reporter{}}
	start := time.Now()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute) // a budget each would take about 12 minutes
	defer cancel()
	res, err := e.Run(ctx)
	if err != nil || !res.Built {
		t.Fatalf("Run: %+v, %v", res, err)
	}
	if ctx.Err() != nil {
		t.Errorf("the explanation was still retrying after %v", time.Since(start).Round(time.Second))
	}
	if n := reads.Load(); n > 110 {
		t.Errorf("%d image reads in %v, want about 100 and the retries of one budget", n, time.Since(start).Round(time.Second))
	}
}
