// Package chain is the AWS SDK's whole default configuration chain (shared
// config files and profiles, SSO, STS web identity, IMDS) for the programs a
// person runs; functions use awscfg's environment-only configuration and so
// do not link it. `awscfg.UseChain(chain.Load)` opts in.
package chain

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/stratumiops/stratumiops/shared/platform/awscfg"
)

// Load is awscfg.Load through the SDK's default chain: the default region
// when none is configured, and static local credentials when a local
// endpoint is given and the environment has none.
func Load(ctx context.Context, endpoint string) (aws.Config, error) {
	var opts []func(*config.LoadOptions) error
	if os.Getenv("AWS_REGION") == "" && os.Getenv("AWS_DEFAULT_REGION") == "" {
		opts = append(opts, config.WithRegion(awscfg.DefaultRegion))
	}
	if endpoint != "" && os.Getenv("AWS_ACCESS_KEY_ID") == "" {
		opts = append(opts, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("local", "local", "")))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load aws config: %w", err)
	}
	return cfg, nil
}
