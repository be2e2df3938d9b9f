package engine

import (
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// ParseDuration reads a Vault duration: seconds as a number or string, or a
// Go duration ("1h30m"), with "d" for days.
func ParseDuration(v any) (time.Duration, error) {
	switch x := v.(type) {
	case nil:
		return 0, nil
	case float64:
		if x < 0 {
			return 0, errors.New("negative duration")
		}
		return time.Duration(x) * time.Second, nil
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return 0, err
		}
		return ParseDuration(f)
	case string:
		if x == "" {
			return 0, nil
		}
		if n, err := json.Number(x).Int64(); err == nil {
			return ParseDuration(float64(n))
		}
		if strings.HasSuffix(x, "d") {
			d, err := time.ParseDuration(strings.TrimSuffix(x, "d") + "h")
			return d * 24, err
		}
		d, err := time.ParseDuration(x)
		if err != nil || d < 0 {
			return 0, errors.New("invalid duration " + x)
		}
		return d, nil
	}
	return 0, errors.New("invalid duration")
}

// VaultTime formats a time as Vault does (RFC 3339 with nanoseconds, UTC);
// the zero time is "".
func VaultTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}
