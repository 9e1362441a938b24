package ecr

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/smithy-go"
)

// CredentialFixes names the usual ways to give a job AWS credentials.
const CredentialFixes = "give the job AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY " +
	"(with AWS_SESSION_TOKEN for temporary ones), or AWS_PROFILE naming a profile in the shared config, " +
	"or a web identity (OIDC) role with AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE " +
	"(on GitHub: aws-actions/configure-aws-credentials), or run the agent with an instance or container role (IAM role)"

// credentials makes sure the SDK has credentials before the first call,
// so that missing ones get a message naming the fixes. The SDK caches
// what it retrieves, so this costs no extra request.
func (r *Registry) credentials(ctx context.Context) error {
	if r.aws.Credentials == nil {
		return errors.New("no AWS credentials found: " + CredentialFixes)
	}
	if _, err := r.aws.Credentials.Retrieve(ctx); err != nil {
		return fmt.Errorf("no AWS credentials found: %s: %w", CredentialFixes, err)
	}
	return nil
}

// Error codes meaning the caller lacks a permission.
var deniedCodes = map[string]bool{
	"AccessDeniedException": true,
	"AccessDenied":          true,
	"UnauthorizedOperation": true,
}

// Error codes meaning AWS rejected the credentials themselves.
var credentialCodes = map[string]bool{
	"UnrecognizedClientException": true,
	"InvalidClientTokenId":        true,
	"InvalidSignatureException":   true,
	"SignatureDoesNotMatch":       true,
	"ExpiredTokenException":       true,
	"ExpiredToken":                true,
	"MissingAuthenticationToken":  true,
}

func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// explain names the IAM action of a failed call, and what to do when the
// cause is a missing permission or rejected credentials.
func explain(action string, err error) error {
	code := errorCode(err)
	switch {
	case deniedCodes[code]:
		return fmt.Errorf("%s was denied: grant the job's AWS identity the IAM permission %s (see the IAM policy in docs/registries.md): %w", action, action, err)
	case credentialCodes[code]:
		return fmt.Errorf("%s: AWS rejected the job's credentials (%s): %s: %w", action, code, CredentialFixes, err)
	}
	return fmt.Errorf("%s: %w", action, err)
}
