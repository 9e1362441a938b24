package ecr

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
)

// Prepare readies the repository for a push, on a miss: it creates it with
// ecr-tags when DescribeRepositories does not find it, else brings its tags
// up to date; then it makes sure the lifecycle policy expires images
// max-age-days after their push. Only creation failing is an error: tags
// and the policy, as in the original, only warn. It tells whether the
// repository's tag mutability lets latest move.
func (r *Registry) Prepare(ctx context.Context) (engine.Prepared, error) {
	if err := r.credentials(ctx); err != nil {
		return engine.Prepared{}, err
	}
	repo, created, err := r.ensureRepository(ctx)
	if err != nil {
		return engine.Prepared{}, err
	}
	if !created {
		r.ensureTags(ctx, aws.ToString(repo.RepositoryArn))
	}
	r.ensureLifecycle(ctx, created)
	return engine.Prepared{LatestImmutable: latestImmutable(repo)}, nil
}

// latestImmutable says why repo refuses to move latest, or is "": its tag
// mutability, whose exclusion filters (wildcards, with no special
// character but *) name the tags that are the exceptions.
func latestImmutable(repo types.Repository) string {
	excluded := slices.ContainsFunc(repo.ImageTagMutabilityExclusionFilters, func(f types.ImageTagMutabilityExclusionFilter) bool {
		ok, _ := path.Match(aws.ToString(f.Filter), "latest")
		return ok
	})
	switch m := repo.ImageTagMutability; {
	case m == types.ImageTagMutabilityImmutable,
		m == types.ImageTagMutabilityImmutableWithExclusion && !excluded,
		m == types.ImageTagMutabilityMutableWithExclusion && excluded:
		return fmt.Sprintf("repository %s has %s tag mutability, under which latest cannot move", aws.ToString(repo.RepositoryName), m)
	}
	return ""
}

// ensureRepository returns the repository and whether this run created
// it. Another job creating it first counts as success.
func (r *Registry) ensureRepository(ctx context.Context) (types.Repository, bool, error) {
	name := r.s.name
	repo, err := r.describe(ctx)
	if err == nil {
		r.log.Infof("repository %s exists", name)
		return repo, false, nil
	}
	var notFound *types.RepositoryNotFoundException
	if !errors.As(err, &notFound) {
		return types.Repository{}, false, fmt.Errorf("looking for repository %s: %w", name, explain("ecr:DescribeRepositories", err))
	}
	out, err := r.ecr.CreateRepository(ctx, &ecr.CreateRepositoryInput{
		RepositoryName: aws.String(name),
		RegistryId:     r.registryID(),
		Tags:           ecrTags(r.s.tags),
	})
	var exists *types.RepositoryAlreadyExistsException
	switch {
	case errors.As(err, &exists):
		r.log.Infof("repository %s was just created by another job", name)
		repo, err := r.describe(ctx)
		if err != nil {
			return types.Repository{}, false, fmt.Errorf("looking for repository %s after another job created it: %w", name, explain("ecr:DescribeRepositories", err))
		}
		return repo, false, nil
	case err != nil:
		return types.Repository{}, false, fmt.Errorf("creating repository %s: %w", name, explain("ecr:CreateRepository", err))
	}
	r.log.Infof("created repository %s%s", name, describeTags(r.s.tags))
	return *out.Repository, true, nil
}

// describe returns the repository, or the SDK's error.
func (r *Registry) describe(ctx context.Context) (types.Repository, error) {
	out, err := r.ecr.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{
		RegistryId:      r.registryID(),
		RepositoryNames: []string{r.s.name},
	})
	if err != nil {
		return types.Repository{}, err
	}
	for _, repo := range out.Repositories {
		if aws.ToString(repo.RepositoryName) == r.s.name {
			return repo, nil
		}
	}
	return types.Repository{}, &types.RepositoryNotFoundException{Message: aws.String("repository " + r.s.name + " is not in the answer")}
}

func describeTags(tags map[string]string) string {
	if len(tags) == 0 {
		return ""
	}
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k+"="+tags[k])
	}
	sort.Strings(keys)
	return " with tags " + strings.Join(keys, ", ")
}
