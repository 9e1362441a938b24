package ecr

import (
	"context"
	"fmt"
	"strings"
)

// RegistryHost is ECR's registry host for account in region, in the
// amazonaws.com.cn domain for China regions.
func RegistryHost(account, region string) string {
	domain := "amazonaws.com"
	if strings.HasPrefix(region, "cn-") {
		domain = "amazonaws.com.cn"
	}
	return account + ".dkr.ecr." + region + "." + domain
}

// Repository is host/name. The host is registry-hostname when set, else
// derived from the account (ecr-account-id, or STS) and the region.
func (r *Registry) Repository(ctx context.Context) (string, error) {
	host, err := r.registryHost(ctx)
	if err != nil {
		return "", err
	}
	return host + "/" + r.s.name, nil
}

func (r *Registry) registryHost(ctx context.Context) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.host != "" {
		return r.host, nil
	}
	if r.s.host != "" {
		r.host = r.s.host
		r.log.Infof("ECR registry %s (registry-hostname), region %s", r.host, r.aws.Region)
		return r.host, nil
	}
	if !region().MatchString(r.aws.Region) {
		return "", fmt.Errorf("AWS region %q (from AWS_REGION, AWS_DEFAULT_REGION or the profile) is not a region name: set the region option, for example eu-west-1", r.aws.Region)
	}
	account, err := r.accountLocked(ctx)
	if err != nil {
		return "", err
	}
	r.host = RegistryHost(account, r.aws.Region)
	r.log.Infof("ECR registry %s (account %s, region %s)", r.host, account, r.aws.Region)
	return r.host, nil
}
