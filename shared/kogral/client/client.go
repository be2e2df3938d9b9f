// Package client is the CLI's HTTP client of kogral-api: a kogral.Backend
// over HTTP that checks what the API answers.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/stratumiops/stratumiops/shared/kogral"
)

// Client is a kogral.Backend over kogral-api: the CLI's and the stdio MCP server's.
type Client struct {
	Base string
	// Header and Value authenticate (X-API-Key, or Authorization: Bearer).
	Header, Value string
	HTTP          *http.Client
	// ExportProgress, when set, is told each state of an export job (Export).
	ExportProgress func(ExportStatus)
}

// NewClient returns a client of the API at base.
func NewClient(base, header, value string) *Client {
	return &Client{Base: base, Header: header, Value: value, HTTP: &http.Client{Timeout: 60 * time.Second}}
}

func (c *Client) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.Base+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Header != "" {
		req.Header.Set(c.Header, c.Value)
	}
	res, err := c.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("kogral API %s: %w", c.Base, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode >= 300 {
		var e struct {
			Error struct{ Message string } `json:"error"`
		}
		_ = json.Unmarshal(raw, &e)
		msg := e.Error.Message
		if msg == "" {
			msg = fmt.Sprintf("HTTP %d", res.StatusCode)
		}
		switch res.StatusCode {
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
			return &kogral.InputError{Msg: msg}
		case http.StatusNotFound:
			return &kogral.NotFoundError{What: trimNotFound(msg)}
		case http.StatusConflict:
			return &kogral.ConflictError{Msg: msg}
		}
		return &StatusError{Method: method, Path: path, Status: res.StatusCode, Msg: msg}
	}
	if out != nil && len(raw) > 0 {
		return json.Unmarshal(raw, out)
	}
	return nil
}

func trimNotFound(msg string) string {
	const suffix = " not found"
	if len(msg) > len(suffix) && msg[len(msg)-len(suffix):] == suffix {
		return msg[:len(msg)-len(suffix)]
	}
	return msg
}

func filterQuery(f kogral.Filter) url.Values {
	q := url.Values{}
	if f.NodeType != "" {
		q.Set("type", f.NodeType)
	}
	if f.Tag != "" {
		q.Set("tag", f.Tag)
	}
	if f.GraphID != "" {
		q.Set("graph", f.GraphID)
	}
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	return q
}

// StatusError is an answer of the API that no error of package kogral
// stands for (a 403, a 5xx), with the API's message.
type StatusError struct {
	Method, Path string
	Status       int
	Msg          string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("kogral API %s %s: %d %s", e.Method, e.Path, e.Status, e.Msg)
}

// ---- what the server says is checked before the CLI builds paths from it ----

// UntrustedError is an answer from the server that the client refuses: an
// id, type or graph that is not one, which a file name would be built from.
type UntrustedError struct{ Msg string }

func (e *UntrustedError) Error() string { return "kogral API answered " + e.Msg }

// checkNode refuses a node whose id, type or graph could not be a file name
// the CLI writes under its folder (.kogral/<type folder>/<id>.md), or whose
// Logseq file is not a relative path inside the graph folder.
func checkNode(n kogral.Node) error {
	if !kogral.ValidID(n.ID) {
		return &UntrustedError{Msg: fmt.Sprintf("a node id %q", n.ID)}
	}
	if !slices.Contains(kogral.NodeTypes, n.NodeType) {
		return &UntrustedError{Msg: fmt.Sprintf("node %s with type %q", n.ID, n.NodeType)}
	}
	if n.GraphID != "" && !kogral.ValidGraph(n.GraphID) {
		return &UntrustedError{Msg: fmt.Sprintf("node %s in graph %q", n.ID, n.GraphID)}
	}
	if rel, ok := n.Metadata["file"].(string); ok && rel != "" && (!filepath.IsLocal(filepath.FromSlash(rel)) || strings.Contains(rel, `\`)) {
		return &UntrustedError{Msg: fmt.Sprintf("node %s with file %q", n.ID, rel)}
	}
	return nil
}

func checkEdges(edges []kogral.Edge) error {
	for _, e := range edges {
		if !kogral.ValidID(e.Source) || !kogral.ValidID(e.Target) {
			return &UntrustedError{Msg: fmt.Sprintf("an edge %q → %q", e.Source, e.Target)}
		}
	}
	return nil
}

func checkNodes(nodes []kogral.Node) error {
	for _, n := range nodes {
		if err := checkNode(n); err != nil {
			return err
		}
	}
	return nil
}

// node is a single-node answer, checked.
func node(n kogral.Node, err error) (kogral.Node, error) {
	if err != nil {
		return n, err
	}
	return n, checkNode(n)
}

// subgraph is a subgraph answer, checked.
func subgraph(g kogral.Subgraph, err error) (kogral.Subgraph, error) {
	if err != nil {
		return g, err
	}
	if err := checkNodes(g.Nodes); err != nil {
		return kogral.Subgraph{}, err
	}
	return g, checkEdges(g.Edges)
}

func (c *Client) CreateNode(ctx context.Context, in kogral.NodeInput) (kogral.Node, error) {
	var n kogral.Node
	return node(n, c.do(ctx, "POST", "/nodes", in, &n))
}

func (c *Client) UpdateNode(ctx context.Context, id string, in kogral.NodeInput) (kogral.Node, error) {
	var n kogral.Node
	return node(n, c.do(ctx, "PUT", "/nodes/"+url.PathEscape(id), in, &n))
}

func (c *Client) GetNode(ctx context.Context, id string) (kogral.Node, error) {
	var n kogral.Node
	return node(n, c.do(ctx, "GET", "/nodes/"+url.PathEscape(id), nil, &n))
}

func (c *Client) DeleteNode(ctx context.Context, id string) error {
	return c.do(ctx, "DELETE", "/nodes/"+url.PathEscape(id), nil, nil)
}

func (c *Client) ListNodes(ctx context.Context, f kogral.Filter) ([]kogral.Node, error) {
	var out struct{ Nodes []kogral.Node }
	if err := c.do(ctx, "GET", "/nodes?"+filterQuery(f).Encode(), nil, &out); err != nil {
		return nil, err
	}
	return out.Nodes, checkNodes(out.Nodes)
}

func (c *Client) Link(ctx context.Context, e kogral.Edge) (kogral.Edge, error) {
	var out kogral.Edge
	if err := c.do(ctx, "POST", "/edges", e, &out); err != nil {
		return out, err
	}
	return out, checkEdges([]kogral.Edge{out})
}

func (c *Client) Unlink(ctx context.Context, source, target, relation string) error {
	q := url.Values{"source": {source}, "target": {target}}
	if relation != "" {
		q.Set("relation", relation)
	}
	return c.do(ctx, "DELETE", "/edges?"+q.Encode(), nil, nil)
}

func (c *Client) Edges(ctx context.Context, id string, dir kogral.EdgeDirection) ([]kogral.Edge, error) {
	var out struct{ Edges []kogral.Edge }
	q := ""
	if dir != "" {
		q = "?" + url.Values{"direction": {string(dir)}}.Encode()
	}
	if err := c.do(ctx, "GET", "/nodes/"+url.PathEscape(id)+"/edges"+q, nil, &out); err != nil {
		return nil, err
	}
	return out.Edges, checkEdges(out.Edges)
}

func (c *Client) Blocks(ctx context.Context, id string) ([]kogral.Block, error) {
	var out struct{ Blocks []kogral.Block }
	return out.Blocks, c.do(ctx, "GET", "/nodes/"+url.PathEscape(id)+"/blocks", nil, &out)
}

func (c *Client) AddDecision(ctx context.Context, d kogral.DecisionRecord) (kogral.Node, error) {
	var n kogral.Node
	return node(n, c.do(ctx, "POST", "/decisions", d, &n))
}

func (c *Client) Search(ctx context.Context, q kogral.SearchQuery) ([]kogral.Hit, error) {
	v := filterQuery(q.Filter)
	v.Set("q", q.Query)
	for name, on := range map[string]bool{"semantic": q.Semantic, "placeholders": q.Placeholders, "full": q.Full} {
		if on {
			v.Set(name, "true")
		}
	}
	var out struct{ Hits []kogral.Hit }
	if err := c.do(ctx, "GET", "/search?"+v.Encode(), nil, &out); err != nil {
		return nil, err
	}
	for _, h := range out.Hits {
		if err := checkNode(h.Node); err != nil {
			return nil, err
		}
	}
	return out.Hits, nil
}

func (c *Client) Connected(ctx context.Context, id string, depth, limit int) (kogral.Subgraph, error) {
	var g kogral.Subgraph
	q := url.Values{"depth": {strconv.Itoa(depth)}}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	return subgraph(g, c.do(ctx, "GET", fmt.Sprintf("/nodes/%s/connected?%s", url.PathEscape(id), q.Encode()), nil, &g))
}

func (c *Client) Path(ctx context.Context, from, to string) (kogral.Subgraph, error) {
	var g kogral.Subgraph
	return subgraph(g, c.do(ctx, "GET", "/path?"+url.Values{"from": {from}, "to": {to}}.Encode(), nil, &g))
}

func (c *Client) Graphs(ctx context.Context) ([]kogral.GraphInfo, error) {
	var out struct{ Graphs []kogral.GraphInfo }
	return out.Graphs, c.do(ctx, "GET", "/graphs", nil, &out)
}

func (c *Client) Guidelines(ctx context.Context, project string) ([]kogral.EffectiveGuideline, error) {
	var out struct{ Guidelines []kogral.EffectiveGuideline }
	if err := c.do(ctx, "GET", "/graphs/"+url.PathEscape(project)+"/guidelines", nil, &out); err != nil {
		return nil, err
	}
	for _, g := range out.Guidelines {
		if err := checkNode(g.Node); err != nil {
			return nil, err
		}
	}
	return out.Guidelines, nil
}

func (c *Client) Import(ctx context.Context, g kogral.Subgraph) (kogral.ImportResult, error) {
	var res kogral.ImportResult
	return res, c.do(ctx, "POST", "/import", g, &res)
}
