package ecr

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
)

// Prepare readies the repository for a push, on a miss: it creates it with
// ecr-tags when DescribeRepositories does not find it, else brings its tags
// up to date; then it makes sure the lifecycle policy expires images
// max-age-days after their push. Only creation failing is an error: tags
// and the policy, as in the original, only warn.
func (r *Registry) Prepare(ctx context.Context) error {
	if err := r.credentials(ctx); err != nil {
		return err
	}
	arn, created, err := r.ensureRepository(ctx)
	if err != nil {
		return err
	}
	if !created {
		r.ensureTags(ctx, arn)
	}
	r.ensureLifecycle(ctx, created)
	return nil
}

// ensureRepository returns the repository's ARN and whether this run
// created it. Another job creating it first counts as success.
func (r *Registry) ensureRepository(ctx context.Context) (string, bool, error) {
	name := r.s.name
	arn, err := r.describe(ctx)
	if err == nil {
		r.log.Infof("repository %s exists", name)
		return arn, false, nil
	}
	var notFound *types.RepositoryNotFoundException
	if !errors.As(err, &notFound) {
		return "", false, fmt.Errorf("looking for repository %s: %w", name, explain("ecr:DescribeRepositories", err))
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
		arn, err := r.describe(ctx)
		if err != nil {
			return "", false, fmt.Errorf("looking for repository %s after another job created it: %w", name, explain("ecr:DescribeRepositories", err))
		}
		return arn, false, nil
	case err != nil:
		return "", false, fmt.Errorf("creating repository %s: %w", name, explain("ecr:CreateRepository", err))
	}
	r.log.Infof("created repository %s%s", name, describeTags(r.s.tags))
	return aws.ToString(out.Repository.RepositoryArn), true, nil
}

// describe returns the repository's ARN, or the SDK's error.
func (r *Registry) describe(ctx context.Context) (string, error) {
	out, err := r.ecr.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{
		RegistryId:      r.registryID(),
		RepositoryNames: []string{r.s.name},
	})
	if err != nil {
		return "", err
	}
	for _, repo := range out.Repositories {
		if aws.ToString(repo.RepositoryName) == r.s.name {
			return aws.ToString(repo.RepositoryArn), nil
		}
	}
	return "", &types.RepositoryNotFoundException{Message: aws.String("repository " + r.s.name + " is not in the answer")}
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
