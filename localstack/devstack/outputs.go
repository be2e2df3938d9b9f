package devstack

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/stratumiops/stratumiops/shared/platform/catalog"
)

// LocalStack's edge endpoint and the compose services, as seen from the host.
const (
	LocalStackEndpoint = "http://localhost:4566"
	ComposeNATSURL     = "nats://localhost:4222"
	ComposeSurrealURL  = "ws://localhost:8000"
)

// EndpointsFromCDKOutputs reads the file `cdk deploy --outputs-file` writes
// ({"Stratum<System>": {"ApiUrl": "..."}, ...}) after `make deploy-local`, so the
// e2e suite can run against LocalStack. Every system with HTTP functions must
// have its ApiUrl.
func EndpointsFromCDKOutputs(path string) (Endpoints, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return Endpoints{}, fmt.Errorf("cdk outputs: %w", err)
	}
	var outputs map[string]map[string]string
	if err := json.Unmarshal(raw, &outputs); err != nil {
		return Endpoints{}, fmt.Errorf("cdk outputs %s: %w", path, err)
	}
	ep := Endpoints{Gateways: map[string]string{}, Invoke: LocalStackEndpoint, NATS: ComposeNATSURL,
		Surreal: ComposeSurrealURL, SurrealStorage: "external"}
	var missing []string
	for _, sys := range catalog.Systems {
		hasAPI := false
		for _, f := range catalog.OfSystem(sys.Name) {
			hasAPI = hasAPI || f.Kind == catalog.HTTP
		}
		if !hasAPI {
			continue
		}
		stack := "Stratum" + strings.ToUpper(sys.Name[:1]) + sys.Name[1:]
		url := strings.TrimSuffix(outputs[stack]["ApiUrl"], "/")
		if url == "" {
			missing = append(missing, stack+".ApiUrl")
			continue
		}
		ep.Gateways[sys.Name] = url
	}
	if len(missing) > 0 {
		return Endpoints{}, fmt.Errorf("cdk outputs %s lack %s", path, strings.Join(missing, ", "))
	}
	return ep, nil
}
