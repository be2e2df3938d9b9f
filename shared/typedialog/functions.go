package typedialog

import (
	"context"

	"github.com/stratumiops/stratumiops/schemas"
	"github.com/stratumiops/stratumiops/shared/platform/authz"
	"github.com/stratumiops/stratumiops/shared/platform/function"
	"github.com/stratumiops/stratumiops/shared/typedialog/remote"
)

// Functions are TypeDialog's functions, by catalog name.
func Functions() function.Set {
	return function.Set{"typedialog-forms": Forms}
}

// Forms is typedialog-forms.
func Forms() function.Builder {
	return function.HTTP(Spec, func(ctx context.Context, d *function.Deps) (*API, error) {
		engine, err := authz.Load(schemas.Cedar, "cedar/typedialog")
		if err != nil {
			return nil, err
		}
		auth, err := d.Authenticator()
		if err != nil {
			return nil, err
		}
		return NewAPI(NewStore(d.Surreal), engine, auth, &remote.Client{Invoker: d.Invoker}), nil
	})
}
