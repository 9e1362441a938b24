package ecrtest

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"
)

// Images are answered from the real registry behind the server.

type imageID struct {
	ImageDigest string `json:"imageDigest,omitempty"`
	ImageTag    string `json:"imageTag,omitempty"`
}

type imagesRequest struct {
	RegistryID     string    `json:"registryId"`
	RepositoryName string    `json:"repositoryName"`
	ImageIDs       []imageID `json:"imageIds"`
}

var manifestTypes = strings.Join([]string{
	"application/vnd.oci.image.index.v1+json",
	"application/vnd.oci.image.manifest.v1+json",
	"application/vnd.docker.distribution.manifest.list.v2+json",
	"application/vnd.docker.distribution.manifest.v2+json",
}, ", ")

type manifest struct {
	body      []byte
	mediaType string
	digest    string
}

// fetch reads a manifest from the registry; ok is false when it has none.
func (s *Server) fetch(repo, ref string) (manifest, bool, *apiError) {
	req, err := http.NewRequest(http.MethodGet, "http://"+s.Registry.Host+"/v2/"+repo+"/manifests/"+ref, nil)
	if err != nil {
		return manifest{}, false, errorf("ServerException", "%v", err)
	}
	req.SetBasicAuth(TokenUser, s.Password)
	req.Header.Set("Accept", manifestTypes)
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return manifest{}, false, errorf("ServerException", "registry: %v", err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	switch {
	case err != nil:
		return manifest{}, false, errorf("ServerException", "registry: %v", err)
	case resp.StatusCode == http.StatusNotFound:
		return manifest{}, false, nil
	case resp.StatusCode != http.StatusOK:
		return manifest{}, false, errorf("ServerException", "registry answered %s", resp.Status)
	}
	return manifest{body: body, mediaType: resp.Header.Get("Content-Type"), digest: resp.Header.Get("Docker-Content-Digest")}, true, nil
}

// eachImage checks the repository and calls f with each image ID asked
// for, or every tag when none is, and its manifest: found is false when the
// registry has none. It stops at the first error.
func (s *Server) eachImage(req imagesRequest, f func(account string, id imageID, m manifest, found bool) *apiError) *apiError {
	account := s.account(req.RegistryID)
	s.mu.Lock()
	_, ok := s.repos[account+"/"+req.RepositoryName]
	s.mu.Unlock()
	if !ok {
		return notFound(account, req.RepositoryName)
	}
	ids := req.ImageIDs
	if len(ids) == 0 {
		tags, err := s.tags(req.RepositoryName)
		if err != nil {
			return err
		}
		for _, t := range tags {
			ids = append(ids, imageID{ImageTag: t})
		}
	}
	for _, id := range ids {
		m, found, err := s.fetch(req.RepositoryName, ref(id))
		if err != nil {
			return err
		}
		if err := f(account, id, m, found); err != nil {
			return err
		}
	}
	return nil
}

func (s *Server) tags(repo string) ([]string, *apiError) {
	req, _ := http.NewRequest(http.MethodGet, "http://"+s.Registry.Host+"/v2/"+repo+"/tags/list", nil)
	req.SetBasicAuth(TokenUser, s.Password)
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return nil, errorf("ServerException", "registry: %v", err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode == http.StatusNotFound {
		return nil, nil
	}
	var list struct{ Tags []string }
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		return nil, errorf("ServerException", "registry tag list: %v", err)
	}
	return list.Tags, nil
}

func ref(id imageID) string {
	if id.ImageDigest != "" {
		return id.ImageDigest
	}
	return id.ImageTag
}

func (s *Server) batchGetImage(in []byte) (any, *apiError) {
	var req imagesRequest
	if err := decode(in, &req); err != nil {
		return nil, err
	}
	images, failures := []any{}, []any{}
	err := s.eachImage(req, func(account string, id imageID, m manifest, found bool) *apiError {
		if !found {
			failures = append(failures, map[string]any{"imageId": id, "failureCode": "ImageNotFound", "failureReason": "Requested image not found"})
			return nil
		}
		images = append(images, map[string]any{
			"registryId":             account,
			"repositoryName":         req.RepositoryName,
			"imageId":                imageID{ImageDigest: m.digest, ImageTag: id.ImageTag},
			"imageManifest":          string(m.body),
			"imageManifestMediaType": m.mediaType,
		})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{"images": images, "failures": failures}, nil
}

func (s *Server) describeImages(in []byte) (any, *apiError) {
	var req imagesRequest
	if err := decode(in, &req); err != nil {
		return nil, err
	}
	details := []any{}
	err := s.eachImage(req, func(account string, id imageID, m manifest, found bool) *apiError {
		if !found {
			return errorf("ImageNotFoundException", "The image with imageId {imageDigest:'%s', imageTag:'%s'} does not exist within the repository with name '%s' in the registry with id '%s'",
				or(id.ImageDigest, "null"), or(id.ImageTag, "null"), req.RepositoryName, account)
		}
		d := map[string]any{
			"registryId":             account,
			"repositoryName":         req.RepositoryName,
			"imageDigest":            m.digest,
			"imageSizeInBytes":       size(m.body),
			"imagePushedAt":          epoch(time.Now()),
			"imageManifestMediaType": m.mediaType,
		}
		if id.ImageTag != "" {
			d["imageTags"] = []string{id.ImageTag}
		}
		details = append(details, d)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{"imageDetails": details}, nil
}

// size is the sum of a manifest's layer sizes, as ECR reports it.
func size(body []byte) int64 {
	var m struct {
		Layers []struct{ Size int64 } `json:"layers"`
	}
	if json.Unmarshal(body, &m) != nil {
		return 0
	}
	var n int64
	for _, l := range m.Layers {
		n += l.Size
	}
	return n
}
