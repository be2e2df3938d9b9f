package bus

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// RetryAfterError asks for the message to be delivered again after Delay
// instead of the consumer's own backoff: a consumer whose retries follow a
// schedule of their own (Provisioning's 2^n × base_delay) returns it.
type RetryAfterError struct {
	Delay time.Duration
	Err   error
}

// retryAfterPrefix starts the message, so the delay survives the Lambda
// Invoke API, which carries only an error's type name and message.
const retryAfterPrefix = "retry after "

func (e *RetryAfterError) Error() string {
	return fmt.Sprintf("%s%s: %v", retryAfterPrefix, e.Delay, e.Err)
}
func (e *RetryAfterError) Unwrap() error { return e.Err }

// RetryAfter wraps err as a RetryAfterError.
func RetryAfter(delay time.Duration, err error) error {
	return &RetryAfterError{Delay: delay, Err: err}
}

// retryDelay is the delay err asks for, local or returned by an invoked function.
func retryDelay(err error) (time.Duration, bool) {
	var re *RetryAfterError
	if errors.As(err, &re) {
		return re.Delay, true
	}
	var te typedError
	if !errors.As(err, &te) || te.ErrorTypeName() != "RetryAfterError" {
		return 0, false
	}
	msg := err.Error()
	i := strings.Index(msg, "RetryAfterError: "+retryAfterPrefix)
	if i < 0 {
		return 0, false
	}
	rest := msg[i+len("RetryAfterError: "+retryAfterPrefix):]
	end := strings.Index(rest, ":")
	if end < 0 {
		return 0, false
	}
	d, perr := time.ParseDuration(rest[:end])
	return d, perr == nil && d >= 0
}
