package ecrtest_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"

	"github.com/docker-ecr-cache/docker-ecr-cache/internal/ecrtest"
)

// An IMMUTABLE repository refuses to move a tag that names another image,
// with ECR's message; the same manifest again, a new tag and a push by
// digest go through. DescribeRepositories and CreateRepository carry the
// mutability.
func TestImmutableRepositoryRefusesRetag(t *testing.T) {
	s := ecrtest.Start(t, ecrtest.Options{})
	c, _ := clients(t, s)
	out, err := c.CreateRepository(context.Background(), &ecr.CreateRepositoryInput{RepositoryName: aws.String("cache/frozen"), ImageTagMutability: types.ImageTagMutabilityImmutable})
	if err != nil || out.Repository.ImageTagMutability != types.ImageTagMutabilityImmutable {
		t.Fatalf("CreateRepository: %+v, %v", out, err)
	}
	ecrtest.PushImage(t, s.RegistryHost, "cache/frozen", "v1", "AWS", s.Password, "one")
	ecrtest.PushImage(t, s.RegistryHost, "cache/frozen", "v2", "AWS", s.Password, "two")
	get := func(tag string) (string, []byte) {
		req, _ := http.NewRequest(http.MethodGet, "http://"+s.RegistryHost+"/v2/cache/frozen/manifests/"+tag, nil)
		req.SetBasicAuth("AWS", s.Password)
		req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.Header.Get("Content-Type"), b
	}
	put := func(ref, mediaType string, body []byte) (int, string) {
		req, _ := http.NewRequest(http.MethodPut, "http://"+s.RegistryHost+"/v2/cache/frozen/manifests/"+ref, bytes.NewReader(body))
		req.SetBasicAuth("AWS", s.Password)
		req.Header.Set("Content-Type", mediaType)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	mt, two := get("v2")
	_, one := get("v1")
	if code, body := put("v1", mt, two); code != http.StatusBadRequest || !strings.Contains(body, "TAG_INVALID") ||
		!strings.Contains(body, "The image tag 'v1' already exists in the 'cache/frozen' repository and cannot be overwritten because the repository is immutable.") {
		t.Errorf("retag v1: %d %s", code, body)
	}
	if code, body := put("v2", mt, two); code != http.StatusCreated {
		t.Errorf("the same manifest again: %d %s", code, body)
	}
	if code, body := put("v3", mt, two); code != http.StatusCreated {
		t.Errorf("a new tag: %d %s", code, body)
	}
	if _, now := get("v1"); !bytes.Equal(one, now) || bytes.Equal(one, two) {
		t.Error("v1 moved")
	}
}

// The _WITH_EXCLUSION kinds make the tags their wildcard filters match the
// exceptions, and DescribeRepositories carries the filters.
func TestMutabilityExclusions(t *testing.T) {
	s := ecrtest.Start(t, ecrtest.Options{})
	c, _ := clients(t, s)
	for _, tc := range []struct {
		mutability types.ImageTagMutability
		moves      map[string]bool // tag: whether a retag is taken
	}{
		{types.ImageTagMutabilityImmutableWithExclusion, map[string]bool{"latest": true, "release-1": true, "v1": false}},
		{types.ImageTagMutabilityMutableWithExclusion, map[string]bool{"latest": false, "release-1": false, "v1": true}},
	} {
		name := "cache/" + strings.ToLower(strings.ReplaceAll(string(tc.mutability), "_", "-"))
		_, err := c.CreateRepository(context.Background(), &ecr.CreateRepositoryInput{
			RepositoryName:     aws.String(name),
			ImageTagMutability: tc.mutability,
			ImageTagMutabilityExclusionFilters: []types.ImageTagMutabilityExclusionFilter{
				{Filter: aws.String("latest"), FilterType: types.ImageTagMutabilityExclusionFilterTypeWildcard},
				{Filter: aws.String("release-*"), FilterType: types.ImageTagMutabilityExclusionFilterTypeWildcard},
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		d, err := c.DescribeRepositories(context.Background(), &ecr.DescribeRepositoriesInput{RepositoryNames: []string{name}})
		if err != nil || d.Repositories[0].ImageTagMutability != tc.mutability || len(d.Repositories[0].ImageTagMutabilityExclusionFilters) != 2 ||
			aws.ToString(d.Repositories[0].ImageTagMutabilityExclusionFilters[1].Filter) != "release-*" {
			t.Fatalf("DescribeRepositories: %+v, %v", d, err)
		}
		for tag, moves := range tc.moves {
			ecrtest.PushImage(t, s.RegistryHost, name, tag, "AWS", s.Password, "one")
			_, err := ecrtest.TryPushImage(s.RegistryHost, name, tag, "AWS", s.Password, "two")
			if moved := err == nil; moved != moves || (err != nil && !strings.Contains(err.Error(), "cannot be overwritten")) {
				t.Errorf("%s: retag of %s: %v, want taken %v", tc.mutability, tag, err, moves)
			}
		}
	}
}
