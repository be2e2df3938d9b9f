package provisioning

import (
	"context"
	"errors"
)

// Provider makes, reads and deletes one provider's resources. Plans and cost
// estimates need no provider instance (Supports, MonthlyCost), so a dry run
// has no side effects.
type Provider interface {
	// Create makes the task's resource. It is idempotent by key (StepKey:
	// workflow, task and run): called again with the same key (a redelivered
	// step, a later attempt) it returns what the first call made instead of
	// making a second one. deps holds the
	// resources of the tasks this one depends on, by task id.
	Create(ctx context.Context, key string, t PreparedTask, deps map[string]Resource) (Resource, error)
	// Read reports whether r still exists.
	Read(ctx context.Context, r Resource) (bool, error)
	// Delete removes r; deleting what is already gone succeeds.
	Delete(ctx context.Context, r Resource) error
}

// Providers are the providers a deployment has, by name.
type Providers map[string]Provider

// PermanentError is a provider failure that no retry fixes (a parameter the
// provider refuses): the task fails without further attempts.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent wraps err as a PermanentError.
func Permanent(err error) error { return &PermanentError{Err: err} }

// IsPermanent reports whether err is a PermanentError.
func IsPermanent(err error) bool {
	var pe *PermanentError
	return errors.As(err, &pe)
}
