package ecr

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/smithy-go/logging"
	"github.com/aws/smithy-go/middleware"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/retry"
)

// FallbackRegion is the original plugin's region when none is set.
const FallbackRegion = "eu-west-1"

// callTimeout bounds each API request; retryCalls retries failed ones
// (throttling, 5xx, network) by retry.Default.
const callTimeout = time.Minute

// loadAWS loads the SDK's standard configuration: credentials from the
// environment, shared config and profiles, web identity, or instance and
// container roles; endpoints from AWS_ENDPOINT_URL_ECR, AWS_ENDPOINT_URL
// and the profile. The region, first match wins: the region option,
// AWS_REGION, AWS_DEFAULT_REGION, the profile's, then FallbackRegion with a
// warning. Nothing here makes a network call.
func loadAWS(ctx context.Context, optRegion string, log engine.Reporter) (aws.Config, error) {
	opts := []func(*config.LoadOptions) error{
		config.WithLogger(sdkLogger(log)),
		config.WithHTTPClient(awshttp.NewBuildableClient().WithTimeout(callTimeout)),
		config.WithRetryer(func() aws.Retryer { return aws.NopRetryer{} }),
		config.WithAPIOptions([]func(*middleware.Stack) error{retryCalls(log)}),
	}
	if optRegion != "" {
		opts = append(opts, config.WithRegion(optRegion))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return cfg, engine.Configf("loading the AWS configuration (AWS_PROFILE, AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE, AWS_* variables): %v", err)
	}
	if cfg.Region == "" {
		cfg.Region = FallbackRegion
		log.Warnf("no AWS region is set (region option, AWS_REGION, AWS_DEFAULT_REGION or the profile's region): using %s, as the original plugin did", FallbackRegion)
	}
	return cfg, nil
}

// retryCalls retries each API call by retry.Default, logging each retry
// as a warning: the whole operation runs again from its serialisation on,
// so each try is signed anew. The SDK's own retryer is off, so that there
// is one loop and one deadline; a call made inside another (the STS call
// that fetches the credential) shares the outer call's budget.
func retryCalls(log engine.Reporter) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("docker-ecr-cache/retry",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (out middleware.InitializeOutput, md middleware.Metadata, err error) {
				ctx = retry.Phase(ctx, retry.Default)
				what := awsmiddleware.GetServiceID(ctx) + " " + awsmiddleware.GetOperationName(ctx)
				err = retry.Do(ctx, retry.Default, log.Warnf, what, func() error {
					out, md, err = next.HandleInitialize(ctx, in)
					return err
				})
				return out, md, err
			}), middleware.After)
	}
}

// sdkLogger sends the SDK's warnings to the reporter instead of stderr.
func sdkLogger(log engine.Reporter) logging.Logger {
	return logging.LoggerFunc(func(c logging.Classification, format string, v ...any) {
		if c == logging.Warn {
			log.Warnf("AWS SDK: %s", fmt.Sprintf(format, v...))
		}
	})
}
