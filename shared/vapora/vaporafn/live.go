package vaporafn

import (
	"context"

	"github.com/stratumiops/stratumiops/schemas"
	"github.com/stratumiops/stratumiops/shared/platform/authz"
	"github.com/stratumiops/stratumiops/shared/platform/bus"
	"github.com/stratumiops/stratumiops/shared/platform/function"
	"github.com/stratumiops/stratumiops/shared/platform/invoke"
	"github.com/stratumiops/stratumiops/shared/vapora"
)

// Live is vapora-live, the WebSocket API's integration.
func Live() function.Builder {
	return function.Invoke(func(ctx context.Context, d *function.Deps) (invoke.Handler, error) {
		engine, err := authz.Load(schemas.Cedar, "cedar/vapora")
		if err != nil {
			return nil, err
		}
		auth, err := d.Authenticator()
		if err != nil {
			return nil, err
		}
		return vapora.NewLive(vapora.NewLiveStore(d.Surreal), auth, engine).Handle, nil
	})
}

// LivePush is vapora-live-push.
func LivePush() function.Builder {
	return function.Consumer(func(ctx context.Context, d *function.Deps) (bus.Handler, error) {
		mgmt, err := vapora.ManagementAPI(ctx, d.Env("VAPORA_WS_ENDPOINT"))
		if err != nil {
			return nil, err
		}
		return vapora.NewPusher(vapora.NewLiveStore(d.Surreal), mgmt).Handler(), nil
	})
}
