package ecr_test

import (
	"context"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/registry/ecr"
	"github.com/docker-ecr-cache/docker-ecr-cache/internal/ecrtest"
)

func TestPrepareCreatesWithTagsAndPolicy(t *testing.T) {
	s := serve(t)
	c := config(s, "build-cache/org/pipe")
	c.ECRTags = map[string]string{"CostCenter": "Platform", "team": "CI"}
	c.MaxAgeDays = 7
	r, log := provider(t, c)
	if _, err := r.Prepare(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, want := calls(s), "DescribeRepositories CreateRepository PutLifecyclePolicy"; got != want {
		t.Errorf("calls %q, want %q", got, want)
	}
	repo, ok := s.Repository(s.AccountID, "build-cache/org/pipe")
	if !ok {
		t.Fatal("not created")
	}
	if !reflect.DeepEqual(repo.Tags, c.ECRTags) {
		t.Errorf("tags %v, want %v (keys keep their case)", repo.Tags, c.ECRTags)
	}
	checkPolicy(t, repo.Policy, 7)
	if log.warnings() != "" {
		t.Errorf("warnings: %s", log.warnings())
	}
}

// checkPolicy checks the one rule the original plugin put, expiring
// images days after their push.
func checkPolicy(t *testing.T, text string, days int) {
	t.Helper()
	if got := ecrtest.PolicyDays(t, text); got != days {
		t.Errorf("policy %s expires images after %d days, want %d", text, got, days)
	}
}

func TestDefaultMaxAgeIs30Days(t *testing.T) {
	checkPolicy(t, ecr.LifecyclePolicy(engine.NewConfig().MaxAgeDays), 30)
}

func TestPrepareLeavesAnUpToDateRepositoryAlone(t *testing.T) {
	s := serve(t)
	c := config(s, "cache/app")
	c.ECRTags = map[string]string{"CostCenter": "Platform"}
	// Formatted differently and with an extra tag: still the same.
	policy := strings.ReplaceAll(ecr.LifecyclePolicy(30), ",", ",\n  ")
	s.AddRepository(s.AccountID, "cache/app", map[string]string{"CostCenter": "Platform", "Owner": "someone"}, policy)
	r, _ := provider(t, c)
	if _, err := r.Prepare(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, want := calls(s), "DescribeRepositories ListTagsForResource GetLifecyclePolicy"; got != want {
		t.Errorf("calls %q, want %q", got, want)
	}
}

func TestPrepareUpdatesTagsAndPolicyThatDiffer(t *testing.T) {
	s := serve(t)
	c := config(s, "cache/app")
	c.ECRTags = map[string]string{"CostCenter": "Platform", "Team": "CI"}
	c.MaxAgeDays = 14
	s.AddRepository(s.AccountID, "cache/app", map[string]string{"CostCenter": "Old", "Owner": "someone"}, ecr.LifecyclePolicy(30))
	r, _ := provider(t, c)
	if _, err := r.Prepare(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := "DescribeRepositories ListTagsForResource TagResource GetLifecyclePolicy PutLifecyclePolicy"
	if got := calls(s); got != want {
		t.Errorf("calls %q, want %q", got, want)
	}
	repo, _ := s.Repository(s.AccountID, "cache/app")
	if want := map[string]string{"CostCenter": "Platform", "Team": "CI", "Owner": "someone"}; !reflect.DeepEqual(repo.Tags, want) {
		t.Errorf("tags %v, want %v", repo.Tags, want)
	}
	checkPolicy(t, repo.Policy, 14)
}

func TestPrepareWithoutTagsOrPolicyPutsThePolicy(t *testing.T) {
	s := serve(t)
	s.AddRepository(s.AccountID, "cache/app", nil, "")
	r, _ := provider(t, config(s, "cache/app"))
	if _, err := r.Prepare(context.Background()); err != nil {
		t.Fatal(err)
	}
	// No ecr-tags: tags are not read. LifecyclePolicyNotFound: put.
	if got, want := calls(s), "DescribeRepositories GetLifecyclePolicy PutLifecyclePolicy"; got != want {
		t.Errorf("calls %q, want %q", got, want)
	}
}

func TestTagAndPolicyFailuresOnlyWarn(t *testing.T) {
	for _, denied := range []string{"ListTagsForResource", "TagResource", "GetLifecyclePolicy", "PutLifecyclePolicy"} {
		t.Run(denied, func(t *testing.T) {
			s := serve(t)
			s.AddRepository(s.AccountID, "cache/app", map[string]string{"a": "old"}, "")
			s.Deny(denied)
			c := config(s, "cache/app")
			c.ECRTags = map[string]string{"a": "new"}
			r, log := provider(t, c)
			if _, err := r.Prepare(context.Background()); err != nil {
				t.Fatalf("Prepare failed on a denied %s: %v", denied, err)
			}
			if !strings.Contains(log.warnings(), "ecr:"+denied+" was denied") {
				t.Errorf("no warning naming ecr:%s: %q", denied, log.warnings())
			}
		})
	}
}

func TestCreateDeniedFails(t *testing.T) {
	s := serve(t)
	s.Deny("CreateRepository")
	r, _ := provider(t, config(s, "cache/app"))
	_, err := r.Prepare(context.Background())
	errorSays(t, err, "creating repository cache/app", "ecr:CreateRepository was denied", "AccessDeniedException")
	if engine.IsConfigError(err) {
		t.Error("a denied call is a runtime failure, not a configuration error")
	}
	if got := calls(s); got != "DescribeRepositories CreateRepository" {
		t.Errorf("calls %q", got)
	}
}

func TestDescribeDeniedFails(t *testing.T) {
	s := serve(t)
	s.Deny("DescribeRepositories")
	r, _ := provider(t, config(s, "cache/app"))
	_, err := r.Prepare(context.Background())
	errorSays(t, err, "ecr:DescribeRepositories was denied")
}

func TestConcurrentCreatesBothSucceed(t *testing.T) {
	s := serve(t)
	s.HoldCreate(2)
	c := config(s, "cache/new")
	c.ECRTags = map[string]string{"Team": "CI"}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		r, _ := provider(t, c)
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = r.Prepare(context.Background())
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("job %d: %v", i, err)
		}
	}
	if n := s.Count("CreateRepository"); n != 2 {
		t.Errorf("%d CreateRepository calls, want 2 racing", n)
	}
	repo, ok := s.Repository(s.AccountID, "cache/new")
	if !ok || repo.Tags["Team"] != "CI" {
		t.Errorf("repository %+v", repo)
	}
	checkPolicy(t, repo.Policy, 30)
}

// Prepare tells, from DescribeRepositories, whether the repository's tag
// mutability and its exclusion filters let latest move.
func TestPrepareTellsWhetherLatestCanMove(t *testing.T) {
	for _, tc := range []struct {
		mutability string
		exclusions []string
		fixed      bool
	}{
		{"MUTABLE", nil, false},
		{"IMMUTABLE", nil, true},
		{"IMMUTABLE_WITH_EXCLUSION", []string{"lat*"}, false},
		{"IMMUTABLE_WITH_EXCLUSION", []string{"release-*"}, true},
		{"MUTABLE_WITH_EXCLUSION", []string{"latest"}, true},
		{"MUTABLE_WITH_EXCLUSION", []string{"v*"}, false},
	} {
		s := serve(t)
		s.AddRepository(s.AccountID, "cache/app", nil, ecr.LifecyclePolicy(30))
		s.SetMutability(s.AccountID, "cache/app", tc.mutability, tc.exclusions...)
		r, _ := provider(t, config(s, "cache/app"))
		p, err := r.Prepare(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if fixed := p.LatestImmutable != ""; fixed != tc.fixed || (fixed && !strings.Contains(p.LatestImmutable, tc.mutability+" tag mutability")) {
			t.Errorf("%s %v: LatestImmutable %q, want fixed %v", tc.mutability, tc.exclusions, p.LatestImmutable, tc.fixed)
		}
	}
	// A repository this run creates is MUTABLE.
	s := serve(t)
	r, _ := provider(t, config(s, "cache/new"))
	if p, err := r.Prepare(context.Background()); err != nil || p.LatestImmutable != "" {
		t.Errorf("a created repository: %+v, %v", p, err)
	}
}
