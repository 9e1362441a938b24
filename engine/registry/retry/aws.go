package retry

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	awsretry "github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go/middleware"
)

// AWS is p as the SDK's standard retryer, which retries throttling, 5xx,
// connection resets, timeouts and EOF, with p's tries and waits, and logs
// each retry with log.
func (p Policy) AWS(log Logf) aws.Retryer {
	return awsretry.NewStandard(func(o *awsretry.StandardOptions) {
		o.MaxAttempts = p.Attempts
		o.MaxBackoff = p.Max
		o.Backoff = backoff{p: p, log: log}
		o.RateLimiter = ratelimit.None // the bound is Attempts, not a shared quota
	})
}

type backoff struct {
	p   Policy
	log Logf
}

// BackoffDelay is called before each retry, with the failed try's number.
func (b backoff) BackoffDelay(attempt int, err error) (time.Duration, error) {
	wait := b.p.Delay(attempt, 0)
	if b.log != nil {
		b.log("AWS API call failed: %v; retrying in %s (try %d of %d)", err, wait.Round(time.Millisecond), attempt+1, b.p.Attempts)
	}
	return wait, nil
}

// AWSDeadline bounds each SDK operation, its retries included, by
// p.Deadline: add it with config.WithAPIOptions.
func (p Policy) AWSDeadline(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("docker-ecr-cache/deadline",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			ctx, cancel := context.WithTimeout(ctx, p.Deadline)
			defer cancel()
			return next.HandleInitialize(ctx, in)
		}), middleware.Before)
}
