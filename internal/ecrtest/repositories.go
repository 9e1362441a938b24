package ecrtest

import (
	"encoding/base64"
	"encoding/json"
	"regexp"
	"sort"
	"time"
)

var validName = regexp.MustCompile(`^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$`)

type tag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

type repository struct {
	RepositoryArn                      string            `json:"repositoryArn"`
	RegistryID                         string            `json:"registryId"`
	RepositoryName                     string            `json:"repositoryName"`
	RepositoryURI                      string            `json:"repositoryUri"`
	CreatedAt                          float64           `json:"createdAt"`
	ImageTagMutability                 string            `json:"imageTagMutability"`
	ImageTagMutabilityExclusionFilters []exclusionFilter `json:"imageTagMutabilityExclusionFilters,omitempty"`
}

// exclusionFilter is one of a repository's tag mutability exceptions.
type exclusionFilter struct {
	Filter     string `json:"filter"`
	FilterType string `json:"filterType"`
}

func decode(in []byte, v any) *apiError {
	if len(in) == 0 {
		return nil
	}
	if err := json.Unmarshal(in, v); err != nil {
		return errorf("SerializationException", "%v", err)
	}
	return nil
}

func epoch(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

func (s *Server) account(registryID string) string { return or(registryID, s.AccountID) }

func (s *Server) shape(r *Repo) repository {
	out := repository{
		RepositoryArn:      r.ARN,
		RegistryID:         r.Account,
		RepositoryName:     r.Name,
		RepositoryURI:      s.RegistryHost + "/" + r.Name,
		CreatedAt:          epoch(r.Created),
		ImageTagMutability: or(r.Mutability, "MUTABLE"),
	}
	for _, f := range r.Exclusions {
		out.ImageTagMutabilityExclusionFilters = append(out.ImageTagMutabilityExclusionFilters, exclusionFilter{f, "WILDCARD"})
	}
	return out
}

func notFound(account, name string) *apiError {
	return errorf("RepositoryNotFoundException", "The repository with name '%s' does not exist in the registry with id '%s'", name, account)
}

func (s *Server) getAuthorizationToken(in []byte) (any, *apiError) {
	s.mu.Lock()
	password := s.Password
	if s.badToken {
		password = "expired-" + password
	}
	s.mu.Unlock()
	return map[string]any{"authorizationData": []map[string]any{{
		"authorizationToken": base64.StdEncoding.EncodeToString([]byte(TokenUser + ":" + password)),
		"expiresAt":          epoch(time.Now().Add(12 * time.Hour)),
		"proxyEndpoint":      "https://" + s.RegistryHost,
	}}}, nil
}

func (s *Server) describeRepositories(in []byte) (any, *apiError) {
	var req struct {
		RegistryID      string   `json:"registryId"`
		RepositoryNames []string `json:"repositoryNames"`
	}
	if err := decode(in, &req); err != nil {
		return nil, err
	}
	account := s.account(req.RegistryID)
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []repository{}
	if len(req.RepositoryNames) == 0 {
		for _, r := range s.repos {
			if r.Account == account {
				out = append(out, s.shape(r))
			}
		}
		sort.Slice(out, func(i, j int) bool { return out[i].RepositoryName < out[j].RepositoryName })
	}
	for _, name := range req.RepositoryNames {
		r, ok := s.repos[account+"/"+name]
		if !ok {
			return nil, notFound(account, name)
		}
		out = append(out, s.shape(r))
	}
	return map[string]any{"repositories": out}, nil
}

func (s *Server) createRepository(in []byte) (any, *apiError) {
	var req struct {
		RegistryID                         string            `json:"registryId"`
		RepositoryName                     string            `json:"repositoryName"`
		Tags                               []tag             `json:"tags"`
		ImageTagMutability                 string            `json:"imageTagMutability"`
		ImageTagMutabilityExclusionFilters []exclusionFilter `json:"imageTagMutabilityExclusionFilters"`
	}
	if err := decode(in, &req); err != nil {
		return nil, err
	}
	if n := len(req.RepositoryName); n < 2 || n > 256 || !validName.MatchString(req.RepositoryName) {
		return nil, errorf("InvalidParameterException", "Invalid parameter at 'repositoryName' failed to satisfy constraint: 'must satisfy regular expression '%s''", validName)
	}
	s.mu.Lock()
	hold := s.hold
	s.mu.Unlock()
	if hold != nil {
		hold.wait()
	}
	account := s.account(req.RegistryID)
	tags := map[string]string{}
	for _, t := range req.Tags {
		tags[t.Key] = t.Value
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	key := account + "/" + req.RepositoryName
	if _, ok := s.repos[key]; ok {
		return nil, errorf("RepositoryAlreadyExistsException", "The repository with name '%s' already exists in the registry with id '%s'", req.RepositoryName, account)
	}
	r := s.newRepo(account, req.RepositoryName, tags, "")
	if req.ImageTagMutability != "MUTABLE" {
		r.Mutability = req.ImageTagMutability
	}
	for _, f := range req.ImageTagMutabilityExclusionFilters {
		r.Exclusions = append(r.Exclusions, f.Filter)
	}
	s.repos[key] = r
	return map[string]any{"repository": s.shape(r)}, nil
}

// withARN calls f, s.mu held, with the repository arn names.
func (s *Server) withARN(arn string, f func(r *Repo) any) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.repos {
		if r.ARN == arn {
			return f(r), nil
		}
	}
	return nil, errorf("InvalidParameterException", "Invalid parameter at 'resourceArn' failed to satisfy constraint: 'the resource %s does not exist'", arn)
}

// withRepo calls f, s.mu held, with the repository name in the account
// registryID names (the caller's by default).
func (s *Server) withRepo(registryID, name string, f func(account string, r *Repo) (any, *apiError)) (any, *apiError) {
	account := s.account(registryID)
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.repos[account+"/"+name]
	if !ok {
		return nil, notFound(account, name)
	}
	return f(account, r)
}

func (s *Server) tagResource(in []byte) (any, *apiError) {
	var req struct {
		ResourceArn string `json:"resourceArn"`
		Tags        []tag  `json:"tags"`
	}
	if err := decode(in, &req); err != nil {
		return nil, err
	}
	return s.withARN(req.ResourceArn, func(r *Repo) any {
		for _, t := range req.Tags {
			r.Tags[t.Key] = t.Value
		}
		return struct{}{}
	})
}

func (s *Server) listTagsForResource(in []byte) (any, *apiError) {
	var req struct {
		ResourceArn string `json:"resourceArn"`
	}
	if err := decode(in, &req); err != nil {
		return nil, err
	}
	return s.withARN(req.ResourceArn, func(r *Repo) any {
		out := []tag{}
		for k, v := range r.Tags {
			out = append(out, tag{k, v})
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
		return map[string]any{"tags": out}
	})
}

type policyRequest struct {
	RegistryID          string `json:"registryId"`
	RepositoryName      string `json:"repositoryName"`
	LifecyclePolicyText string `json:"lifecyclePolicyText"`
}

func (s *Server) getLifecyclePolicy(in []byte) (any, *apiError) {
	var req policyRequest
	if err := decode(in, &req); err != nil {
		return nil, err
	}
	return s.withRepo(req.RegistryID, req.RepositoryName, func(account string, r *Repo) (any, *apiError) {
		if r.Policy == "" {
			return nil, errorf("LifecyclePolicyNotFoundException", "Lifecycle policy does not exist for the repository with name '%s' in the registry with id '%s'", r.Name, account)
		}
		return map[string]any{
			"registryId":          account,
			"repositoryName":      r.Name,
			"lifecyclePolicyText": r.Policy,
			"lastEvaluatedAt":     epoch(r.Created),
		}, nil
	})
}

func (s *Server) putLifecyclePolicy(in []byte) (any, *apiError) {
	var req policyRequest
	if err := decode(in, &req); err != nil {
		return nil, err
	}
	var policy struct {
		Rules []json.RawMessage `json:"rules"`
	}
	if json.Unmarshal([]byte(req.LifecyclePolicyText), &policy) != nil || len(policy.Rules) == 0 {
		return nil, errorf("InvalidParameterException", "Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: 'Lifecycle policy validation failure'")
	}
	return s.withRepo(req.RegistryID, req.RepositoryName, func(account string, r *Repo) (any, *apiError) {
		r.Policy = req.LifecyclePolicyText
		return map[string]any{"registryId": account, "repositoryName": r.Name, "lifecyclePolicyText": r.Policy}, nil
	})
}
