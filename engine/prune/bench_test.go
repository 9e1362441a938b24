package prune_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine/prune"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/registry/oci"
	"github.com/docker-ecr-cache/docker-ecr-cache/internal/testenv"
)

// counting counts a client's requests by kind.
type counting struct {
	inner http.RoundTripper
	mu    sync.Mutex
	n     map[string]int
}

func (c *counting) RoundTrip(r *http.Request) (*http.Response, error) {
	kind := r.Method + " "
	switch p := r.URL.Path; {
	case p == "/v2/":
		kind += "/v2/ (API check)"
	case strings.Contains(p, "/tags/list"):
		kind += "tags/list"
	case strings.Contains(p, "/manifests/"):
		kind += "manifest"
	case strings.Contains(p, "/blobs/"):
		kind += "blob"
	default:
		kind += p
	}
	c.mu.Lock()
	c.n[kind]++
	c.mu.Unlock()
	return c.inner.RoundTrip(r)
}

func (c *counting) total() (n int) {
	for _, v := range c.n {
		n += v
	}
	return n
}

// BenchmarkPrune1000 prunes 1,000 keys built over 100 days (max-age-days
// 7, keep-last 10) on the in-process distribution registry: the plan (a
// dry run) and then the deletes. It reports the time of each and the
// registry requests per key. Run it once: bench/prune.sh.
func BenchmarkPrune1000(b *testing.B) {
	const keys = 1000
	reg := testenv.StartRegistry(b, testenv.RegistryOptions{Delete: true})
	repo := reg.Host + "/build-cache/bench"
	now := time.Now()
	var wg sync.WaitGroup
	next := make(chan int)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range next {
				push(b, repo, keyTag(n), cacheImage(b, keyTag(n), now.Add(-time.Duration(n)*100*day/keys-2*time.Hour)))
			}
		}()
	}
	for n := range keys {
		next <- n
	}
	close(next)
	wg.Wait()
	copyTag(b, repo, keyTag(500), "latest")
	policy := prune.Policy{MaxAge: 7 * day, KeepLast: 10}
	b.ResetTimer()
	for range b.N {
		plan := &counting{inner: http.DefaultTransport, n: map[string]int{}}
		start := time.Now()
		dry, err := prune.Run(context.Background(), &prune.Registry{Repo: repo, Client: &oci.Client{Transport: plan}}, policy, prune.Options{DryRun: true})
		if err != nil {
			b.Fatal(err)
		}
		planTime := time.Since(start)
		del, keep := dry.Count()

		real := &counting{inner: http.DefaultTransport, n: map[string]int{}}
		start = time.Now()
		res, err := prune.Run(context.Background(), &prune.Registry{Repo: repo, Client: &oci.Client{Transport: real}}, policy, prune.Options{})
		if err != nil {
			b.Fatal(err)
		}
		total := time.Since(start)
		deletes := real.n["DELETE manifest"]
		b.ReportMetric(float64(planTime.Milliseconds()), "plan-ms")
		b.ReportMetric(float64(total.Milliseconds()), "plan+delete-ms")
		b.ReportMetric(float64(real.total()-plan.total())/float64(max(deletes, 1)), "req/deleted-key(delete)")
		b.ReportMetric(float64(real.total())/float64(keys+1), "req/key(all)")
		b.Logf("%d keys and latest: %d deleted, %d kept (%d images deleted by the real run)", keys, del, keep, len(res.Deleted))
		b.Logf("plan: %s, %d requests %v", planTime.Round(time.Millisecond), plan.total(), plan.n)
		b.Logf("plan and deletes: %s, %d requests %v", total.Round(time.Millisecond), real.total(), real.n)
		again := &counting{inner: http.DefaultTransport, n: map[string]int{}}
		start = time.Now()
		res, err = prune.Run(context.Background(), &prune.Registry{Repo: repo, Client: &oci.Client{Transport: again}}, policy, prune.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("a second prune, of the %d images left (its index read): %s, %d requests %v", len(res.Plan), time.Since(start).Round(time.Millisecond), again.total(), again.n)
		b.ReportMetric(float64(again.total())/float64(len(res.Plan)), "req/kept-key(2nd)")
	}
}
