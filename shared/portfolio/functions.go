package portfolio

import (
	"context"

	"github.com/stratumiops/stratumiops/schemas"
	"github.com/stratumiops/stratumiops/shared/platform/authz"
	"github.com/stratumiops/stratumiops/shared/platform/bus"
	"github.com/stratumiops/stratumiops/shared/platform/function"
)

// Functions are the portfolio's functions, by catalog name.
func Functions() function.Set {
	return function.Set{"portfolio-executions": Executions, "portfolio-on-execution": OnExecution}
}

// Executions is portfolio-executions.
func Executions() function.Builder {
	return function.HTTP(Spec, func(ctx context.Context, d *function.Deps) (*API, error) {
		engine, err := authz.Load(schemas.Cedar, "cedar/portfolio")
		if err != nil {
			return nil, err
		}
		auth, err := d.Authenticator()
		if err != nil {
			return nil, err
		}
		return NewAPI(NewStore(d.Surreal), engine, auth), nil
	})
}

// OnExecution is portfolio-on-execution.
func OnExecution() function.Builder {
	return function.Consumer(func(ctx context.Context, d *function.Deps) (bus.Handler, error) {
		return OnExecutionRecorded(NewStore(d.Surreal)), nil
	})
}
