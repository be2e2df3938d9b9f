package devstack

import (
	"os"

	localec2 "github.com/stratumiops/stratumiops/localstack/ec2"
	localupcloud "github.com/stratumiops/stratumiops/localstack/upcloud"
)

// The local clouds' ports when EphemeralPorts is off.
const (
	DefaultEC2Port     = 8411
	DefaultUpCloudPort = 8412
)

// DevUpCloudToken is the API token the devstack's local UpCloud accepts
// (given to the orchestrator as PROV_UPCLOUD_TOKEN).
const DevUpCloudToken = "ucat_stratum_devstack_not_for_production"

// DevEC2Region is the local EC2's region.
const DevEC2Region = "us-east-1"

// DevEC2AccessKey and DevEC2SecretKey are the key the local EC2 knows from
// the start: the functions' own AWS credentials in the devstack. Other keys
// (a vault's) are added with POST /_stratum/keys.
const DevEC2AccessKey, DevEC2SecretKey = "local", "local"

// startClouds serves the local EC2 and UpCloud APIs that Provisioning's aws
// and upcloud providers use, unless PROV_AWS_ENDPOINT or
// PROV_UPCLOUD_ENDPOINT point elsewhere. They keep their resources in
// memory: a restarted devstack starts with empty clouds.
func (s *Stack) startClouds() error {
	if os.Getenv("PROV_AWS_ENDPOINT") == "" {
		ec2 := localec2.New(DevEC2Region)
		ec2.AddKey(DevEC2AccessKey, DevEC2SecretKey) // what the functions sign with without a vault (runtime.go)
		addr, err := s.listenOn("127.0.0.1", "ec2", DefaultEC2Port, ec2)
		if err != nil {
			return err
		}
		s.endpoints.ProvisioningEC2 = "http://" + addr
	}
	if os.Getenv("PROV_UPCLOUD_ENDPOINT") == "" {
		addr, err := s.listenOn("127.0.0.1", "upcloud", DefaultUpCloudPort, localupcloud.New("", "", DevUpCloudToken))
		if err != nil {
			return err
		}
		s.endpoints.ProvisioningUpCloud = "http://" + addr
	}
	return nil
}

// cloudVars are the local clouds' settings for the orchestrator.
func (s *Stack) cloudVars() map[string]string {
	vars := map[string]string{"PROV_POLL": "20ms"}
	if s.endpoints.ProvisioningEC2 != "" {
		vars["PROV_AWS_ENDPOINT"], vars["PROV_AWS_REGION"] = s.endpoints.ProvisioningEC2, DevEC2Region
	}
	if s.endpoints.ProvisioningUpCloud != "" {
		vars["PROV_UPCLOUD_ENDPOINT"], vars["PROV_UPCLOUD_TOKEN"] = s.endpoints.ProvisioningUpCloud, DevUpCloudToken
	}
	return vars
}
