package vapora

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// KogralClient searches Kogral's knowledge graph through its HTTP API
// (GET /search), with a service credential (X-API-Key).
type KogralClient struct {
	Base string
	Key  string
	HTTP *http.Client
}

// NewKogralClient returns a client of the Kogral API at base; nil when base is empty.
func NewKogralClient(base, key string) *KogralClient {
	if base == "" {
		return nil
	}
	return &KogralClient{Base: strings.TrimRight(base, "/"), Key: key, HTTP: &http.Client{Timeout: 8 * time.Second}}
}

// KnowledgeHit is one node Kogral found.
type KnowledgeHit struct {
	ID       string         `json:"id"`
	Type     string         `json:"type"`
	Title    string         `json:"title"`
	Graph    string         `json:"graph"`
	Tags     []string       `json:"tags"`
	Score    float64        `json:"score"`
	Via      string         `json:"via"`
	Metadata map[string]any `json:"metadata,omitempty"`
	// Content is the node's content, from SearchContent only.
	Content string `json:"-"`
}

// errKogral is Kogral unreachable or failing (503).
var errKogral = errors.New("kogral")

// Search runs one Kogral search in graph; a graph Kogral does not have holds nothing.
func (k *KogralClient) Search(ctx context.Context, query, nodeType, graph string, semantic bool, limit int) ([]KnowledgeHit, error) {
	v := url.Values{"q": {query}, "graph": {graph}, "limit": {strconv.Itoa(limit)}}
	if semantic {
		v.Set("semantic", "true")
	}
	return k.search(ctx, v, nodeType)
}

// SearchContent is a text search in graph whose hits carry their nodes'
// whole content (Kogral's full=true), for what is to be read, not listed.
func (k *KogralClient) SearchContent(ctx context.Context, query, nodeType, graph string, limit int) ([]KnowledgeHit, error) {
	return k.search(ctx, url.Values{"q": {query}, "graph": {graph}, "limit": {strconv.Itoa(limit)}, "full": {"true"}}, nodeType)
}

func (k *KogralClient) search(ctx context.Context, v url.Values, nodeType string) ([]KnowledgeHit, error) {
	if nodeType != "" {
		v.Set("type", nodeType)
	}
	req, err := http.NewRequestWithContext(ctx, "GET", k.Base+"/search?"+v.Encode(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("X-API-Key", k.Key)
	res, err := k.HTTP.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errKogral, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(res.Body, 8<<20))
	switch {
	case res.StatusCode == http.StatusNotFound:
		return []KnowledgeHit{}, nil
	case res.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("%w: search answered %d: %.200s", errKogral, res.StatusCode, raw)
	}
	return decodeHits(raw)
}

// decodeHits reads Kogral's search answer.
func decodeHits(raw []byte) ([]KnowledgeHit, error) {
	var body struct {
		Hits []struct {
			Node struct {
				ID       string         `json:"id"`
				NodeType string         `json:"node_type"`
				Title    string         `json:"title"`
				Content  string         `json:"content"`
				Metadata map[string]any `json:"metadata"`
				Tags     []string       `json:"tags"`
				GraphID  string         `json:"graph_id"`
			} `json:"node"`
			Score float64 `json:"score"`
			Via   string  `json:"via"`
		} `json:"hits"`
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		return nil, fmt.Errorf("%w: search answer: %v", errKogral, err)
	}
	out := make([]KnowledgeHit, len(body.Hits))
	for i, h := range body.Hits {
		out[i] = KnowledgeHit{ID: h.Node.ID, Type: h.Node.NodeType, Title: h.Node.Title, Graph: h.Node.GraphID,
			Tags: h.Node.Tags, Score: h.Score, Via: h.Via, Metadata: h.Node.Metadata, Content: h.Node.Content}
		if out[i].Tags == nil {
			out[i].Tags = []string{}
		}
	}
	return out, nil
}
