// Package kmsclient builds the AWS KMS client of the functions that use a
// KMS key (the vault's unseal key, the application-secrets key). It is a
// package of its own so that only those functions link the KMS SDK.
package kmsclient

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/stratumiops/stratumiops/shared/platform/awscfg"
)

// New returns a KMS client. endpoint overrides the service endpoint
// (local-kms in the devstack); the SDK also honours AWS_ENDPOINT_URL_KMS.
func New(ctx context.Context, endpoint string) (*kms.Client, error) {
	cfg, err := awscfg.Load(ctx, endpoint)
	if err != nil {
		return nil, err
	}
	return kms.NewFromConfig(cfg, func(o *kms.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	}), nil
}
