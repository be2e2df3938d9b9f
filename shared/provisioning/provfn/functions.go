// Package provfn wires Provisioning's functions, by catalog name, and the
// providers the orchestrator runs from its environment.
package provfn

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/stratumiops/stratumiops/schemas"
	"github.com/stratumiops/stratumiops/shared/platform/authz"
	"github.com/stratumiops/stratumiops/shared/platform/bus"
	"github.com/stratumiops/stratumiops/shared/platform/function"
	"github.com/stratumiops/stratumiops/shared/provisioning"
	"github.com/stratumiops/stratumiops/shared/provisioning/local"
)

// Functions are Provisioning's functions.
func Functions() function.Set {
	return function.Set{"provisioning-workflows": Workflows, "provisioning-orchestrator": Orchestrator}
}

// Workflows is provisioning-workflows.
func Workflows() function.Builder {
	return function.HTTP(provisioning.Spec, func(ctx context.Context, d *function.Deps) (*provisioning.API, error) {
		engine, err := authz.Load(schemas.Cedar, "cedar/provisioning")
		if err != nil {
			return nil, err
		}
		auth, err := d.Authenticator()
		if err != nil {
			return nil, err
		}
		return provisioning.NewAPI(provisioning.NewStore(d.Surreal), d.Bus, engine, auth), nil
	})
}

// Orchestrator is provisioning-orchestrator.
func Orchestrator() function.Builder {
	return function.Consumer(func(ctx context.Context, d *function.Deps) (bus.Handler, error) {
		providers, err := Providers(d)
		if err != nil {
			return nil, err
		}
		return provisioning.NewOrchestrator(provisioning.NewStore(d.Surreal), d.Bus, providers).Handler(), nil
	})
}

// Providers builds the providers configured in the function's environment:
// local always, aws and upcloud as providers.go says.
func Providers(d *function.Deps) (provisioning.Providers, error) {
	lp, err := localProvider(d)
	if err != nil {
		return nil, err
	}
	out := provisioning.Providers{provisioning.ProviderLocal: lp}
	creds, err := credentialStore(d)
	if err != nil {
		return nil, err
	}
	aws, err := awsProvider(d, creds)
	if err != nil {
		return nil, err
	}
	out[provisioning.ProviderAWS] = aws
	if up := upcloudProvider(d, creds); up != nil {
		out[provisioning.ProviderUpCloud] = up
	}
	return out, nil
}

func localProvider(d *function.Deps) (*local.Provider, error) {
	cfg := local.Config{Dir: d.Env("PROV_LOCAL_DIR")}
	if cfg.Dir == "" {
		cfg.Dir = filepath.Join(os.TempDir(), "stratum-provisioning-local")
	}
	if lo, hi, ok := strings.Cut(d.Env("PROV_LOCAL_PORTS"), "-"); ok {
		cfg.PortLow, _ = strconv.Atoi(lo)
		cfg.PortHigh, _ = strconv.Atoi(hi)
	}
	cfg.MaxStorageGB, _ = strconv.Atoi(d.Env("PROV_LOCAL_MAX_STORAGE_GB"))
	if cmd := d.Env("PROV_LOCAL_SERVER_CMD"); cmd != "" {
		cfg.ServerCommand = strings.Fields(cmd)
	} else {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("local provider: %w", err)
		}
		cfg.ServerCommand = []string{exe, "prov", "local-server"}
	}
	return local.New(cfg)
}
