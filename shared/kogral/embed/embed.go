// Package embed turns texts into Kogral's 384-float vectors: a local hashing
// embedder and clients of OpenAI, Ollama and Bedrock.
package embed

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Dimensions is the size of every embedding Kogral stores and searches.
const Dimensions = 384

// Embedder turns texts into vectors of Dimensions floats.
type Embedder interface {
	Embed(ctx context.Context, texts []string) ([][]float32, error)
	Name() string
}

// Local needs no network and no model: it hashes words and word
// pairs (after lower-casing and a light suffix strip) into 384 buckets with
// signs, then normalizes. Texts that share vocabulary land close together;
// synonyms do not. It is lexical similarity in vector form, an honest
// default when no embedding service is configured, not a language model.
type Local struct{}

func (Local) Name() string { return "local-hash-384" }

func (Local) Embed(_ context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i, t := range texts {
		out[i] = hashEmbed(t)
	}
	return out, nil
}

func stem(w string) string {
	for _, suf := range []string{"ing", "ed", "es", "s"} {
		if len(w) > len(suf)+2 && strings.HasSuffix(w, suf) {
			return strings.TrimSuffix(w, suf)
		}
	}
	return w
}

func hashEmbed(text string) []float32 {
	words := strings.FieldsFunc(strings.ToLower(text), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	v := make([]float64, Dimensions)
	add := func(token string, w float64) {
		h := fnv.New64a()
		h.Write([]byte(token))
		x := h.Sum64()
		sign := 1.0
		if x&1 == 1 {
			sign = -1
		}
		v[(x>>1)%Dimensions] += sign * w
	}
	for i, w := range words {
		w = stem(w)
		add(w, 1)
		if i > 0 {
			add(stem(words[i-1])+" "+w, 0.5)
		}
	}
	return normalize(v)
}

func normalize(v []float64) []float32 {
	var n float64
	for _, x := range v {
		n += x * x
	}
	out := make([]float32, len(v))
	if n == 0 {
		return out
	}
	n = math.Sqrt(n)
	for i, x := range v {
		out[i] = float32(x / n)
	}
	return out
}

// fit brings a provider's vector to Dimensions: as is, or through a fixed
// Gaussian random projection (Johnson–Lindenstrauss: cosine similarities
// are preserved up to a small error) when the model's size is larger.
func fit(v []float64) ([]float32, error) {
	switch {
	case len(v) == Dimensions:
		return normalize(v), nil
	case len(v) < Dimensions:
		return nil, fmt.Errorf("the embedding model returned %d dimensions; Kogral needs at least %d", len(v), Dimensions)
	}
	p := projection(len(v))
	out := make([]float64, Dimensions)
	for i := range out {
		row := p[i*len(v) : (i+1)*len(v)]
		for j, x := range v {
			out[i] += row[j] * x
		}
	}
	return normalize(out), nil
}

var projections sync.Map // source size → []float64

func projection(from int) []float64 {
	if p, ok := projections.Load(from); ok {
		return p.([]float64)
	}
	seed := sha256.Sum256([]byte(fmt.Sprintf("kogral-projection-%d", from)))
	rng := rand.New(rand.NewPCG(binary.LittleEndian.Uint64(seed[:8]), binary.LittleEndian.Uint64(seed[8:16])))
	p := make([]float64, Dimensions*from)
	for i := range p {
		p[i] = rng.NormFloat64()
	}
	projections.Store(from, p)
	return p
}

// httpEmbedder posts JSON to an embedding API.
type httpEmbedder struct {
	client *http.Client
	name   string
	post   func(ctx context.Context, texts []string) ([][]float64, error)
}

func (h *httpEmbedder) Name() string { return h.name }

func (h *httpEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	raw, err := h.post(ctx, texts)
	if err != nil {
		return nil, fmt.Errorf("embed with %s: %w", h.name, err)
	}
	if len(raw) != len(texts) {
		return nil, fmt.Errorf("embed with %s: %d vectors for %d texts", h.name, len(raw), len(texts))
	}
	out := make([][]float32, len(raw))
	for i, v := range raw {
		if out[i], err = fit(v); err != nil {
			return nil, fmt.Errorf("embed with %s: %w", h.name, err)
		}
	}
	return out, nil
}

func postJSON(ctx context.Context, client *http.Client, url string, headers map[string]string, body, out any, sign func(*http.Request, []byte) error) error {
	raw, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(raw))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	if sign != nil {
		if err := sign(req, raw); err != nil {
			return err
		}
	}
	res, err := client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(res.Body, 64<<20))
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: HTTP %d: %s", url, res.StatusCode, strings.TrimSpace(string(data[:min(len(data), 300)])))
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s: bad response: %w", url, err)
	}
	return nil
}

// NewOpenAI embeds with OpenAI's POST /v1/embeddings (or a compatible server),
// asking for 384 dimensions (text-embedding-3 models honour it).
func NewOpenAI(baseURL, apiKey, model string) Embedder {
	client := &http.Client{Timeout: 30 * time.Second}
	return &httpEmbedder{client: client, name: "openai:" + model, post: func(ctx context.Context, texts []string) ([][]float64, error) {
		var res struct {
			Data []struct {
				Index     int       `json:"index"`
				Embedding []float64 `json:"embedding"`
			} `json:"data"`
		}
		err := postJSON(ctx, client, strings.TrimSuffix(baseURL, "/")+"/v1/embeddings", map[string]string{"Authorization": "Bearer " + apiKey},
			map[string]any{"model": model, "input": texts, "dimensions": Dimensions, "encoding_format": "float"}, &res, nil)
		if err != nil {
			return nil, err
		}
		out := make([][]float64, len(res.Data))
		for _, d := range res.Data {
			if d.Index < 0 || d.Index >= len(out) {
				return nil, errors.New("embedding index out of range")
			}
			out[d.Index] = d.Embedding
		}
		return out, nil
	}}
}

// NewOllama embeds with Ollama's POST /api/embed.
func NewOllama(baseURL, model string) Embedder {
	client := &http.Client{Timeout: 60 * time.Second}
	return &httpEmbedder{client: client, name: "ollama:" + model, post: func(ctx context.Context, texts []string) ([][]float64, error) {
		var res struct {
			Embeddings [][]float64 `json:"embeddings"`
		}
		err := postJSON(ctx, client, strings.TrimSuffix(baseURL, "/")+"/api/embed", nil, map[string]any{"model": model, "input": texts}, &res, nil)
		return res.Embeddings, err
	}}
}

// NewBedrock embeds with Amazon Bedrock's InvokeModel for Titan Text
// Embeddings v2 (one text per call, 512 dimensions, projected to 384),
// signed with SigV4.
func NewBedrock(endpoint, region, model string, creds aws.CredentialsProvider) Embedder {
	client := &http.Client{Timeout: 30 * time.Second}
	signer := v4.NewSigner()
	return &httpEmbedder{client: client, name: "bedrock:" + model, post: func(ctx context.Context, texts []string) ([][]float64, error) {
		out := make([][]float64, len(texts))
		for i, t := range texts {
			var res struct {
				Embedding []float64 `json:"embedding"`
			}
			sign := func(req *http.Request, body []byte) error {
				c, err := creds.Retrieve(ctx)
				if err != nil {
					return err
				}
				sum := sha256.Sum256(body)
				return signer.SignHTTP(ctx, c, req, fmt.Sprintf("%x", sum), "bedrock", region, time.Now())
			}
			url := strings.TrimSuffix(endpoint, "/") + "/model/" + model + "/invoke"
			if err := postJSON(ctx, client, url, map[string]string{"Accept": "application/json"},
				map[string]any{"inputText": t, "dimensions": 512, "normalize": true}, &res, sign); err != nil {
				return nil, err
			}
			out[i] = res.Embedding
		}
		return out, nil
	}}
}
