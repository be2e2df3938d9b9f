package portfolio

import (
	"errors"
	"testing"
	"time"

	"github.com/stratumiops/stratumiops/shared/platform/httpapi"
)

// A cursor from the outside decodes to a valid position or a 400; one we issued round-trips.
func FuzzCursor(f *testing.F) {
	f.Add(encodeCursor(Cursor{CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC), ID: "abc"}))
	f.Add("")
	f.Add("!!!")
	f.Add("MjAyNi0wMS0wMlQwMzowNDowNVp8")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := decodeCursor(s)
		if err != nil {
			var he *httpapi.Error
			if !errors.As(err, &he) || he.Status != 400 {
				t.Fatalf("%q: %v", s, err)
			}
			return
		}
		if !idPattern.MatchString(c.ID) {
			t.Fatalf("%q decoded to bad id %q", s, c.ID)
		}
		again, err := decodeCursor(encodeCursor(c))
		if err != nil || !again.CreatedAt.Equal(c.CreatedAt) || again.ID != c.ID {
			t.Fatalf("round trip of %+v: %+v %v", c, again, err)
		}
	})
}
