package surreal

import (
	"context"
	"errors"
	"testing"
)

// The storages that lose concurrent updates are refused unless allowed.
func TestLossyStorageIsRefused(t *testing.T) {
	for storage, lossy := range map[string]bool{"mem://": true, "surrealkv:///tmp/x": true, "rocksdb:///tmp/x": false} {
		if LosesUpdates(storage) != lossy {
			t.Errorf("LosesUpdates(%q) = %v", storage, !lossy)
		}
	}
	_, err := Start(context.Background(), Options{Storage: "surrealkv:///nonexistent/kv"})
	var lossy *LossyStorageError
	if !errors.As(err, &lossy) {
		t.Fatalf("surrealkv started without AllowLostUpdates: %v", err)
	}
}
