package ecr

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// accountLocked is ecr-account-id, or the caller's account from STS,
// asked once. r.mu is held.
func (r *Registry) accountLocked(ctx context.Context) (string, error) {
	if r.s.account != "" {
		return r.s.account, nil
	}
	if r.account != "" {
		return r.account, nil
	}
	if err := r.credentials(ctx); err != nil {
		return "", err
	}
	out, err := r.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", fmt.Errorf("finding the AWS account of the registry (set ecr-account-id to skip this): %w", explain("sts:GetCallerIdentity", err))
	}
	account := aws.ToString(out.Account)
	if !accountID().MatchString(account) {
		return "", fmt.Errorf("STS GetCallerIdentity returned account %q, not 12 digits: set ecr-account-id", account)
	}
	r.account = account
	return account, nil
}
