package ecrtest_test

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/docker-ecr-cache/docker-ecr-cache/internal/ecrtest"
)

// clients are the real SDK's, configured only through the environment.
func clients(t *testing.T, s *ecrtest.Server) (*ecr.Client, *sts.Client) {
	t.Helper()
	s.Setenv(t)
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return ecr.NewFromConfig(cfg), sts.NewFromConfig(cfg)
}

func code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func TestRepositoriesTagsAndPolicies(t *testing.T) {
	s := ecrtest.Start(t, ecrtest.Options{})
	c, _ := clients(t, s)
	ctx := context.Background()
	name := aws.String("build-cache/org/pipe")

	_, err := c.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{*name}})
	var nf *types.RepositoryNotFoundException
	if !errors.As(err, &nf) {
		t.Fatalf("DescribeRepositories of a new name: %v, want RepositoryNotFoundException", err)
	}
	out, err := c.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: name, Tags: []types.Tag{{Key: aws.String("CostCenter"), Value: aws.String("CI")}}})
	if err != nil {
		t.Fatal(err)
	}
	arn := out.Repository.RepositoryArn
	if want := "arn:aws:ecr:us-east-1:123456789012:repository/build-cache/org/pipe"; aws.ToString(arn) != want {
		t.Errorf("ARN %s, want %s", aws.ToString(arn), want)
	}
	_, err = c.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: name})
	var exists *types.RepositoryAlreadyExistsException
	if !errors.As(err, &exists) {
		t.Fatalf("second CreateRepository: %v, want RepositoryAlreadyExistsException", err)
	}
	if _, err := c.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("Bad")}); code(err) != "InvalidParameterException" {
		t.Errorf("CreateRepository of an invalid name: %v", err)
	}
	d, err := c.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{*name}})
	if err != nil || len(d.Repositories) != 1 || aws.ToString(d.Repositories[0].RepositoryArn) != aws.ToString(arn) {
		t.Fatalf("DescribeRepositories: %+v, %v", d, err)
	}

	if _, err := c.TagResource(ctx, &ecr.TagResourceInput{ResourceArn: arn, Tags: []types.Tag{{Key: aws.String("Team"), Value: aws.String("Build")}}}); err != nil {
		t.Fatal(err)
	}
	tags, err := c.ListTagsForResource(ctx, &ecr.ListTagsForResourceInput{ResourceArn: arn})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tg := range tags.Tags {
		got = append(got, aws.ToString(tg.Key)+"="+aws.ToString(tg.Value))
	}
	if strings.Join(got, ",") != "CostCenter=CI,Team=Build" {
		t.Errorf("tags %v", got)
	}

	_, err = c.GetLifecyclePolicy(ctx, &ecr.GetLifecyclePolicyInput{RepositoryName: name})
	var noPolicy *types.LifecyclePolicyNotFoundException
	if !errors.As(err, &noPolicy) {
		t.Fatalf("GetLifecyclePolicy without one: %v", err)
	}
	policy := `{"rules":[{"rulePriority":1,"selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}}]}`
	if _, err := c.PutLifecyclePolicy(ctx, &ecr.PutLifecyclePolicyInput{RepositoryName: name, LifecyclePolicyText: aws.String(policy)}); err != nil {
		t.Fatal(err)
	}
	p, err := c.GetLifecyclePolicy(ctx, &ecr.GetLifecyclePolicyInput{RepositoryName: name})
	if err != nil || aws.ToString(p.LifecyclePolicyText) != policy {
		t.Fatalf("GetLifecyclePolicy: %v, %v", p, err)
	}

	want := []string{"DescribeRepositories", "CreateRepository", "CreateRepository", "CreateRepository", "DescribeRepositories",
		"TagResource", "ListTagsForResource", "GetLifecyclePolicy", "PutLifecyclePolicy", "GetLifecyclePolicy"}
	if got := s.Calls(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("calls %v\nwant %v", got, want)
	}
}

func TestTokenIsTheRegistryPassword(t *testing.T) {
	s := ecrtest.Start(t, ecrtest.Options{})
	c, _ := clients(t, s)
	ctx := context.Background()
	out, err := c.GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.StdEncoding.DecodeString(aws.ToString(out.AuthorizationData[0].AuthorizationToken))
	if err != nil || string(raw) != "AWS:"+s.Password {
		t.Fatalf("token decodes to %q (%v), want AWS:<registry password>", raw, err)
	}
	if out.AuthorizationData[0].ExpiresAt == nil || aws.ToString(out.AuthorizationData[0].ProxyEndpoint) != "https://"+s.RegistryHost {
		t.Errorf("authorization data %+v", out.AuthorizationData[0])
	}
	if status := get(t, s.RegistryHost, "AWS", s.Password); status != http.StatusOK {
		t.Errorf("registry with the token's password: %d", status)
	}
	if status := get(t, s.RegistryHost, "AWS", "wrong"); status != http.StatusUnauthorized {
		t.Errorf("registry with a wrong password: %d", status)
	}

	s.InvalidToken()
	out, err = c.GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ = base64.StdEncoding.DecodeString(aws.ToString(out.AuthorizationData[0].AuthorizationToken))
	_, password, _ := strings.Cut(string(raw), ":")
	if status := get(t, s.RegistryHost, "AWS", password); status != http.StatusUnauthorized {
		t.Errorf("registry with an invalid token's password: %d, want 401", status)
	}
}

func get(t *testing.T, host, user, password string) int {
	req, _ := http.NewRequest(http.MethodGet, "http://"+host+"/v2/", nil)
	req.SetBasicAuth(user, password)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestImagesComeFromTheRegistry(t *testing.T) {
	s := ecrtest.Start(t, ecrtest.Options{})
	c, _ := clients(t, s)
	ctx := context.Background()
	name := "cache/app"

	_, err := c.BatchGetImage(ctx, &ecr.BatchGetImageInput{RepositoryName: aws.String(name), ImageIds: []types.ImageIdentifier{{ImageTag: aws.String("v1")}}})
	var nf *types.RepositoryNotFoundException
	if !errors.As(err, &nf) {
		t.Fatalf("BatchGetImage in a missing repository: %v", err)
	}
	s.AddRepository(s.AccountID, name, nil, "")
	digest := ecrtest.PushImage(t, s.RegistryHost, name, "v1", "AWS", s.Password, "layer one")

	b, err := c.BatchGetImage(ctx, &ecr.BatchGetImageInput{RepositoryName: aws.String(name),
		ImageIds: []types.ImageIdentifier{{ImageTag: aws.String("v1")}, {ImageTag: aws.String("v2")}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Images) != 1 || aws.ToString(b.Images[0].ImageId.ImageDigest) != digest || !strings.Contains(aws.ToString(b.Images[0].ImageManifest), "schemaVersion") {
		t.Errorf("images %+v, want v1 with digest %s", b.Images, digest)
	}
	if len(b.Failures) != 1 || b.Failures[0].FailureCode != types.ImageFailureCodeImageNotFound || aws.ToString(b.Failures[0].ImageId.ImageTag) != "v2" {
		t.Errorf("failures %+v, want v2 ImageNotFound", b.Failures)
	}

	d, err := c.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String(name), ImageIds: []types.ImageIdentifier{{ImageTag: aws.String("v1")}}})
	if err != nil || len(d.ImageDetails) != 1 || aws.ToString(d.ImageDetails[0].ImageDigest) != digest || aws.ToInt64(d.ImageDetails[0].ImageSizeInBytes) != int64(len("layer one")) {
		t.Fatalf("DescribeImages: %+v, %v", d, err)
	}
	all, err := c.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String(name)})
	if err != nil || len(all.ImageDetails) != 1 || all.ImageDetails[0].ImageTags[0] != "v1" {
		t.Fatalf("DescribeImages of all tags: %+v, %v", all, err)
	}
	_, err = c.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String(name), ImageIds: []types.ImageIdentifier{{ImageTag: aws.String("v2")}}})
	var inf *types.ImageNotFoundException
	if !errors.As(err, &inf) {
		t.Fatalf("DescribeImages of a missing tag: %v", err)
	}
}

func TestFrontRefusesPushesToRepositoriesNeverCreated(t *testing.T) {
	s := ecrtest.Start(t, ecrtest.Options{})
	req, _ := http.NewRequest(http.MethodPost, "http://"+s.RegistryHost+"/v2/never/created/blobs/uploads/", nil)
	req.SetBasicAuth("AWS", s.Password)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("push to a repository never created: %d, want 404 NAME_UNKNOWN", resp.StatusCode)
	}
	if got := s.Registry.Requests(); len(got) != 0 {
		t.Errorf("the registry saw %v", got)
	}
}

func TestCallerIdentityAndFaults(t *testing.T) {
	s := ecrtest.Start(t, ecrtest.Options{AccountID: "111122223333"})
	c, st := clients(t, s)
	ctx := context.Background()
	id, err := st.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(id.Account) != "111122223333" {
		t.Fatalf("GetCallerIdentity: %+v, %v", id, err)
	}

	s.Deny("CreateRepository")
	_, err = c.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("x/y")})
	if code(err) != "AccessDeniedException" || !strings.Contains(err.Error(), "ecr:CreateRepository") {
		t.Errorf("denied CreateRepository: %v", err)
	}
	s.Deny("GetCallerIdentity")
	if _, err := st.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); code(err) != "AccessDenied" {
		t.Errorf("denied GetCallerIdentity: %v", err)
	}
	s.ExpireCredentials()
	if _, err := c.GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{}); code(err) != "ExpiredTokenException" {
		t.Errorf("expired credentials: %v", err)
	}
	s.Heal()
	if _, err := c.GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{}); err != nil {
		t.Errorf("after Heal: %v", err)
	}

	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAUNKNOWN000000000")
	cfg, _ := config.LoadDefaultConfig(ctx)
	if _, err := ecr.NewFromConfig(cfg).GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{}); code(err) != "UnrecognizedClientException" {
		t.Errorf("unknown access key on ECR: %v", err)
	}
	if _, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); code(err) != "InvalidClientTokenId" {
		t.Errorf("unknown access key on STS: %v", err)
	}
}
