package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
)

// contract checks every response the suite receives from a documented
// operation against the OpenAPI document its gateway serves, so that the
// documents cannot drift from what the systems answer. It wraps
// http.DefaultTransport: every client of the suite that does not bring a
// transport of its own goes through it.
var contract = &contractCheck{base: http.DefaultTransport, docs: map[string]*gatewayDoc{}}

type contractCheck struct {
	base     http.RoundTripper
	mu       sync.Mutex
	docs     map[string]*gatewayDoc // by gateway host
	failures []string
	checked  map[string]int // by operation
}

type gatewayDoc struct {
	system string
	v      validator.Validator // nil: the system has no document (the vault)
}

func (c *contractCheck) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := c.base.RoundTrip(req)
	if err != nil || req.URL.Path == "/openapi.json" {
		return res, err
	}
	doc := c.doc(req.URL)
	if doc == nil || doc.v == nil {
		return res, nil
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	res.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return res, nil
	}
	copied := *res
	copied.Body = io.NopCloser(bytes.NewReader(body))
	ok, errs := doc.v.ValidateHttpResponse(req, &copied)
	c.mu.Lock()
	defer c.mu.Unlock()
	op := doc.system + " " + req.Method + " " + req.URL.Path
	switch {
	case ok:
		c.count(op)
	case len(errs) > 0 && errs[0].ValidationType == "path":
		// not a documented operation (health, metrics, the MCP transport)
	default:
		c.count(op)
		var msgs []string
		for _, e := range errs {
			msg := e.Message + ": " + e.Reason
			for _, s := range e.SchemaValidationErrors {
				msg += fmt.Sprintf(" [%s %s]", s.FieldPath, s.Reason)
			}
			msgs = append(msgs, msg)
		}
		c.failures = append(c.failures, fmt.Sprintf("%s → %d %s\n    %s\n    body: %.400s",
			op, res.StatusCode, res.Header.Get("Content-Type"), strings.Join(msgs, "\n    "), body))
	}
	return res, nil
}

func (c *contractCheck) count(op string) {
	if c.checked == nil {
		c.checked = map[string]int{}
	}
	c.checked[op]++
}

// doc is the document of the gateway at u's host, fetched the first time;
// nil for a host that is not a gateway.
func (c *contractCheck) doc(u *url.URL) *gatewayDoc {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d, ok := c.docs[u.Host]; ok {
		return d
	}
	system := ""
	for name, base := range ep.Gateways {
		if g, err := url.Parse(base); err == nil && g.Host == u.Host {
			system = name
		}
	}
	if system == "" {
		return nil
	}
	d := &gatewayDoc{system: system}
	c.docs[u.Host] = d
	res, err := c.base.RoundTrip(mustRequest(u.Scheme + "://" + u.Host + "/openapi.json"))
	if err != nil {
		c.failures = append(c.failures, fmt.Sprintf("%s: GET /openapi.json: %v", system, err))
		return d
	}
	raw, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode == http.StatusNotFound {
		return d // a system without a document
	}
	doc, err := libopenapi.NewDocument(raw)
	if err != nil {
		c.failures = append(c.failures, fmt.Sprintf("%s: /openapi.json does not parse: %v", system, err))
		return d
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		c.failures = append(c.failures, fmt.Sprintf("%s: /openapi.json: %v", system, errs))
		return d
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		for _, e := range verrs {
			c.failures = append(c.failures, fmt.Sprintf("%s: /openapi.json is not valid OpenAPI: %s %s", system, e.Message, e.Reason))
		}
		return d
	}
	d.v = v
	return d
}

func mustRequest(u string) *http.Request {
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		panic(err)
	}
	return req
}

// report prints how many responses of each operation were checked and
// every mismatch; it says whether there were none.
func (c *contractCheck) report() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	ops := make([]string, 0, len(c.checked))
	for op := range c.checked {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	fmt.Fprintf(os.Stderr, "e2e: %d responses (%d distinct requests) checked against the OpenAPI documents\n",
		sum(c.checked), len(ops))
	for _, f := range c.failures {
		fmt.Fprintln(os.Stderr, "e2e: response does not match the OpenAPI document:", f)
	}
	return len(c.failures) == 0
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// Each system gateway serves its OpenAPI document; the vault keeps Vault's API and has none.
func TestGatewaysServeOpenAPIDocuments(t *testing.T) {
	for system, base := range ep.Gateways {
		res, err := http.Get(base + "/openapi.json")
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if system == "vault" {
			if res.StatusCode != http.StatusNotFound {
				t.Errorf("vault: GET /openapi.json = %d", res.StatusCode)
			}
			continue
		}
		if res.StatusCode != http.StatusOK || !bytes.Contains(raw, []byte(`"openapi": "3.1.0"`)) {
			t.Errorf("%s: GET /openapi.json = %d %.200s", system, res.StatusCode, raw)
			continue
		}
		u, _ := url.Parse(base)
		if d := contract.doc(u); d == nil || d.v == nil {
			t.Errorf("%s: the document does not load as a valid OpenAPI document", system)
		}
	}
}
