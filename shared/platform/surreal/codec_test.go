package surreal

import (
	"bytes"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/surrealdb/surrealdb.go/pkg/models"
	"github.com/surrealdb/surrealdb.go/surrealcbor"
)

// The codec encodes exactly as the SDK's (tags of record ids, datetimes,
// NONE, UUIDs, durations included), from many goroutines at once.
func TestCodecEncodesAsTheSDK(t *testing.T) {
	// One key a map: the SDK encodes a map's keys in Go's order.
	values := []any{
		models.NewRecordID("entries", "a/b"), []byte{1, 2, 3}, models.None, models.CustomDateTime{Time: time.Unix(1, 5).UTC()},
		time.Unix(7, 9).UTC(), 1.5, -3, []any{"x", map[string]any{"k": 1.5}}, models.Table("t"),
		models.CustomDuration{Duration: time.Second}, models.UUID{}, map[string]any{"at": models.CustomDateTime{Time: time.Unix(2, 0)}},
		[]any{"query", "SELECT * FROM $id", map[string]any{"id": models.NewRecordID("sessions", "s1")}},
		struct {
			A string `json:"a"`
			B *int   `json:"b,omitempty"`
		}{A: "x"},
		nil, "", 0,
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				for _, v := range values {
					want, werr := surrealcbor.Marshal(v)
					got, gerr := codec{}.Marshal(v)
					if !bytes.Equal(got, want) || (werr == nil) != (gerr == nil) {
						t.Errorf("%#v: %x %v, SDK %x %v", v, got, gerr, want, werr)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	if _, err := (codec{}).Marshal(make(chan int)); err == nil {
		t.Fatal("a channel encoded")
	}
}

// The codec decodes as the SDK's codec does, into structs and into any.
func TestCodecDecodesAsTheSDK(t *testing.T) {
	type row struct {
		ID      models.RecordID        `json:"id"`
		Answers map[string]any         `json:"answers"`
		Rev     int64                  `json:"rev"`
		At      models.CustomDateTime  `json:"at"`
		Missing *models.CustomDateTime `json:"missing,omitempty"`
		Nested  []struct {
			K string `json:"k"`
		} `json:"nested"`
	}
	data, err := surrealcbor.Marshal([]any{map[string]any{"id": models.NewRecordID("sessions", "s1"), "rev": 3, "none": models.None,
		"answers": map[string]any{"a": "x", "n": 4.5, "l": []any{1, "b"}}, "at": models.CustomDateTime{Time: time.Unix(9, 1).UTC()},
		"nested": []any{map[string]any{"k": "v"}}}})
	if err != nil {
		t.Fatal(err)
	}
	var wantRows, gotRows []row
	var wantAny, gotAny any
	sdk := surrealcbor.New()
	if err := sdk.Unmarshal(data, &wantRows); err != nil {
		t.Fatal(err)
	}
	if err := sdk.Unmarshal(data, &wantAny); err != nil {
		t.Fatal(err)
	}
	for range 2 { // the second time from the field cache
		if err := (codec{}).Unmarshal(data, &gotRows); err != nil || !reflect.DeepEqual(gotRows, wantRows) {
			t.Fatalf("rows %+v %v, SDK %+v", gotRows, err, wantRows)
		}
		if err := (codec{}).Unmarshal(data, &gotAny); err != nil || !reflect.DeepEqual(gotAny, wantAny) {
			t.Fatalf("any %#v %v, SDK %#v", gotAny, err, wantAny)
		}
	}
}
