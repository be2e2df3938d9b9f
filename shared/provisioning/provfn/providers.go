package provfn

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/stratumiops/stratumiops/shared/platform/awscfg"
	"github.com/stratumiops/stratumiops/shared/platform/function"
	"github.com/stratumiops/stratumiops/shared/platform/vaultkv"
	"github.com/stratumiops/stratumiops/shared/provisioning"
	"github.com/stratumiops/stratumiops/shared/provisioning/ec2"
	"github.com/stratumiops/stratumiops/shared/provisioning/upcloud"
)

// The cloud providers' settings (catalog env of provisioning-orchestrator):
//
//	PROV_AWS_ENDPOINT, PROV_AWS_REGION   EC2 endpoint ("" for AWS itself) and region
//	PROV_UPCLOUD_ENDPOINT, PROV_UPCLOUD_ZONE
//	PROV_POLL                            wait between two reads of a resource's state
//
// Credentials never come with a workflow. With VAULT_ADDR and VAULT_TOKEN
// (a token whose policy reads only the providers' secrets) they are read
// from SecretumVault's KV v2 at <PROV_VAULT_MOUNT>/<PROV_VAULT_PATH>/aws
// (access_key_id, secret_access_key, optional session_token) and …/upcloud
// (username and password, or token), again after credentialTTL so that a
// rotation is picked up. Without a vault, aws signs with the function's own
// AWS credentials and upcloud takes PROV_UPCLOUD_TOKEN (the devstack's local
// UpCloud); upcloud is not configured when it has neither.

// credentialTTL is how long a secret read from the vault is used.
const credentialTTL = 5 * time.Minute

// secrets reads providers' credentials from the vault, caching each for credentialTTL.
type secrets struct {
	kv   *vaultkv.Client
	path string

	mu    sync.Mutex
	cache map[string]cached
}

type cached struct {
	data map[string]string
	at   time.Time
}

func credentialStore(d *function.Deps) (*secrets, error) {
	addr := d.Env("VAULT_ADDR")
	if addr == "" {
		return nil, nil
	}
	kv, err := vaultkv.FromEnv(addr, d.Env, d.Env("PROV_VAULT_MOUNT"))
	if err != nil {
		return nil, fmt.Errorf("provisioning credentials: %w", err)
	}
	path := d.Env("PROV_VAULT_PATH")
	if path == "" {
		path = "provisioning/providers"
	}
	return &secrets{kv: kv, path: path, cache: map[string]cached{}}, nil
}

// get returns provider's secret. A secret that is missing or that the token
// may not read fails the step for good (no retry fixes the vault); a vault
// that does not answer (sealed, unreachable) is retried.
func (s *secrets) get(ctx context.Context, provider string) (map[string]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.cache[provider]; ok && time.Since(c.at) < credentialTTL {
		return c.data, nil
	}
	sec, err := s.kv.Read(ctx, s.path+"/"+provider)
	if vaultkv.Missing(err) || vaultkv.Denied(err) {
		return nil, provisioning.Permanent(fmt.Errorf("credentials of %s: %w", provider, err))
	}
	if err != nil {
		return nil, fmt.Errorf("credentials of %s: %w", provider, err)
	}
	s.cache[provider] = cached{data: sec.Data, at: time.Now()}
	return sec.Data, nil
}

func poll(d *function.Deps) time.Duration {
	p, _ := time.ParseDuration(d.Env("PROV_POLL"))
	return p
}

func awsProvider(d *function.Deps, creds *secrets) (*ec2.Provider, error) {
	endpoint, region := d.Env("PROV_AWS_ENDPOINT"), d.Env("PROV_AWS_REGION")
	c := &ec2.Client{Endpoint: endpoint, Region: region}
	if creds != nil {
		c.Credentials = aws.CredentialsProviderFunc(func(ctx context.Context) (aws.Credentials, error) {
			data, err := creds.get(ctx, provisioning.ProviderAWS)
			if err != nil {
				return aws.Credentials{}, err
			}
			if data["access_key_id"] == "" || data["secret_access_key"] == "" {
				return aws.Credentials{}, provisioning.Permanent(errors.New("credentials of aws in the vault lack access_key_id or secret_access_key"))
			}
			return aws.Credentials{AccessKeyID: data["access_key_id"], SecretAccessKey: data["secret_access_key"],
				SessionToken: data["session_token"], Source: "SecretumVault"}, nil
		})
	}
	if c.Credentials == nil || c.Region == "" {
		cfg, err := awscfg.Load(context.Background(), endpoint)
		if err != nil {
			return nil, fmt.Errorf("aws provider: %w", err)
		}
		if c.Region == "" {
			c.Region = cfg.Region
		}
		if c.Credentials == nil {
			c.Credentials = cfg.Credentials
		}
	}
	return ec2.New(c, poll(d)), nil
}

func upcloudProvider(d *function.Deps, creds *secrets) *upcloud.Provider {
	c := &upcloud.Client{Endpoint: d.Env("PROV_UPCLOUD_ENDPOINT")}
	switch token := d.Env("PROV_UPCLOUD_TOKEN"); {
	case creds != nil:
		c.Credentials = func(ctx context.Context) (upcloud.Credentials, error) {
			data, err := creds.get(ctx, provisioning.ProviderUpCloud)
			if err != nil {
				return upcloud.Credentials{}, err
			}
			if data["token"] == "" && (data["username"] == "" || data["password"] == "") {
				return upcloud.Credentials{}, provisioning.Permanent(errors.New("credentials of upcloud in the vault lack a token or username and password"))
			}
			return upcloud.Credentials{Username: data["username"], Password: data["password"], Token: data["token"]}, nil
		}
	case token != "":
		c.Credentials = upcloud.Static(upcloud.Credentials{Token: token})
	default:
		return nil
	}
	return upcloud.New(c, d.Env("PROV_UPCLOUD_ZONE"), poll(d))
}
