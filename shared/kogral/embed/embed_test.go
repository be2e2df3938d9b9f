package embed

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/credentials"
)

func cosine(a, b []float32) float64 {
	var d float64
	for i := range a {
		d += float64(a[i]) * float64(b[i])
	}
	return d
}

func TestLocalEmbedder(t *testing.T) {
	v, _ := Local{}.Embed(context.Background(), []string{"caching database reads", "cache the database reads with a TTL", "quarterly marketing budget"})
	if len(v[0]) != Dimensions || math.Abs(cosine(v[0], v[0])-1) > 1e-5 {
		t.Fatalf("not a unit vector of %d", Dimensions)
	}
	if !(cosine(v[0], v[1]) > cosine(v[0], v[2])) {
		t.Fatalf("shared vocabulary is not closer: %v vs %v", cosine(v[0], v[1]), cosine(v[0], v[2]))
	}
}

// Each provider is served by a local server that speaks its wire format.
func TestProviders(t *testing.T) {
	vec := func(n int, seed float64) []float64 {
		out := make([]float64, n)
		for i := range out {
			out[i] = math.Sin(seed + float64(i))
		}
		return out
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		switch {
		case r.URL.Path == "/v1/embeddings":
			if r.Header.Get("Authorization") != "Bearer sk-test" || body["dimensions"] != float64(Dimensions) || body["model"] != "text-embedding-3-small" {
				http.Error(w, `{"error":{"message":"bad request"}}`, http.StatusBadRequest)
				return
			}
			inputs := body["input"].([]any)
			data := []map[string]any{}
			for i := len(inputs) - 1; i >= 0; i-- { // out of order, as the API allows
				data = append(data, map[string]any{"object": "embedding", "index": i, "embedding": vec(Dimensions, float64(i))})
			}
			_ = json.NewEncoder(w).Encode(map[string]any{"object": "list", "data": data, "model": body["model"]})
		case r.URL.Path == "/api/embed":
			inputs := body["input"].([]any)
			out := [][]float64{}
			for i := range inputs {
				out = append(out, vec(768, float64(i))) // nomic-embed-text's size: projected to 384
			}
			_ = json.NewEncoder(w).Encode(map[string]any{"model": body["model"], "embeddings": out})
		case strings.HasPrefix(r.URL.Path, "/model/amazon.titan-embed-text-v2:0/invoke"):
			if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 Credential=AKID/") || body["inputText"] == nil {
				http.Error(w, `{"message":"unsigned"}`, http.StatusForbidden)
				return
			}
			_ = json.NewEncoder(w).Encode(map[string]any{"embedding": vec(512, 1), "inputTextTokenCount": 3})
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	for _, e := range []Embedder{
		NewOpenAI(srv.URL, "sk-test", "text-embedding-3-small"),
		NewOllama(srv.URL, "nomic-embed-text"),
		NewBedrock(srv.URL, "us-east-1", "amazon.titan-embed-text-v2:0", credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")),
	} {
		out, err := e.Embed(ctx, []string{"a", "b"})
		if err != nil {
			t.Fatalf("%s: %v", e.Name(), err)
		}
		if len(out) != 2 || len(out[0]) != Dimensions || math.Abs(cosine(out[0], out[0])-1) > 1e-4 {
			t.Fatalf("%s: %d vectors of %d", e.Name(), len(out), len(out[0]))
		}
	}
	if _, err := NewOpenAI(srv.URL, "wrong", "text-embedding-3-small").Embed(ctx, []string{"a"}); err == nil || !strings.Contains(err.Error(), "400") {
		t.Fatalf("a refused request: %v", err)
	}
	// Projection keeps similarity: near vectors stay near.
	a, _ := fit(vec(768, 0))
	b, _ := fit(append(vec(767, 0), 0.9))
	c, _ := fit(vec(768, 3))
	if !(cosine(a, b) > cosine(a, c)) {
		t.Fatalf("projection lost similarity: %v vs %v", cosine(a, b), cosine(a, c))
	}
	if _, err := fit(vec(100, 0)); err == nil {
		t.Fatal("a too-small vector was accepted")
	}
}
