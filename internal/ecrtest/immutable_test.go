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
