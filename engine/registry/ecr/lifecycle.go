package ecr

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
)

// LifecyclePolicy is the policy the original plugin put: every image
// expires days after its push.
func LifecyclePolicy(days int) string {
	type selection struct {
		TagStatus   string `json:"tagStatus"`
		CountType   string `json:"countType"`
		CountUnit   string `json:"countUnit"`
		CountNumber int    `json:"countNumber"`
	}
	type rule struct {
		RulePriority int               `json:"rulePriority"`
		Description  string            `json:"description"`
		Selection    selection         `json:"selection"`
		Action       map[string]string `json:"action"`
	}
	policy := struct {
		Rules []rule `json:"rules"`
	}{Rules: []rule{{
		RulePriority: 1,
		Description:  fmt.Sprintf("Expire images %d days after their push (docker-ecr-cache max-age-days)", days),
		Selection:    selection{TagStatus: "any", CountType: "sinceImagePushed", CountUnit: "days", CountNumber: days},
		Action:       map[string]string{"type": "expire"},
	}}}
	b, _ := json.Marshal(policy)
	return string(b)
}

// ensureLifecycle puts the policy unless GetLifecyclePolicy shows the same
// one; a repository this run created has none, so it is not asked.
// Failures warn: images then live until removed by hand.
func (r *Registry) ensureLifecycle(ctx context.Context, created bool) {
	want := LifecyclePolicy(r.s.maxAge)
	if !created {
		out, err := r.ecr.GetLifecyclePolicy(ctx, &ecr.GetLifecyclePolicyInput{
			RegistryId:     r.registryID(),
			RepositoryName: aws.String(r.s.name),
		})
		var none *types.LifecyclePolicyNotFoundException
		switch {
		case err == nil && samePolicy(aws.ToString(out.LifecyclePolicyText), want):
			return
		case err != nil && !errors.As(err, &none):
			r.log.Warnf("reading the lifecycle policy of %s, so images may not expire after %d days: %v", r.s.name, r.s.maxAge, explain("ecr:GetLifecyclePolicy", err))
			return
		}
	}
	_, err := r.ecr.PutLifecyclePolicy(ctx, &ecr.PutLifecyclePolicyInput{
		RegistryId:          r.registryID(),
		RepositoryName:      aws.String(r.s.name),
		LifecyclePolicyText: aws.String(want),
	})
	if err != nil {
		r.log.Warnf("setting the lifecycle policy of %s, so images will not expire after %d days: %v", r.s.name, r.s.maxAge, explain("ecr:PutLifecyclePolicy", err))
		return
	}
	r.log.Infof("lifecycle policy of %s: images expire %d days after their push", r.s.name, r.s.maxAge)
}

// samePolicy compares two policy documents as JSON values, so that
// formatting and key order do not count as a difference.
func samePolicy(a, b string) bool {
	var va, vb any
	if json.Unmarshal([]byte(a), &va) != nil || json.Unmarshal([]byte(b), &vb) != nil {
		return false
	}
	return reflect.DeepEqual(va, vb)
}
