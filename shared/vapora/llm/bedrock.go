package llm

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/stratumiops/stratumiops/shared/platform/awscfg"
)

// bedrockWire speaks Bedrock's Converse API. With an API key it sends it as
// a bearer token (Bedrock API keys); without one it signs with SigV4 using
// the function's own AWS credentials, for an AWS-only deployment.
type bedrockWire struct {
	once sync.Once
	cfg  aws.Config
	err  error
}

type bedrockBlock struct {
	Text *string `json:"text,omitempty"`
}

type bedrockMessage struct {
	Role    string         `json:"role"`
	Content []bedrockBlock `json:"content"`
}

func (b *bedrockWire) awsConfig(ctx context.Context) (aws.Config, error) {
	b.once.Do(func() { b.cfg, b.err = awscfg.Load(ctx, "") })
	return b.cfg, b.err
}

func (b *bedrockWire) request(ctx context.Context, p Provider, key string, req Request) (*http.Request, error) {
	sys, msgs := splitSystem(req.Messages)
	body := map[string]any{"messages": bedrockMessages(msgs), "inferenceConfig": map[string]any{"maxTokens": req.MaxTokens}}
	if sys != "" {
		body["system"] = []bedrockBlock{{Text: &sys}}
	}
	var region string
	if p.BaseURL == "" || key == "" {
		cfg, err := b.awsConfig(ctx)
		if err != nil {
			return nil, fmt.Errorf("aws config: %w", err)
		}
		region = cfg.Region
	}
	u := base(p, "https://bedrock-runtime."+region+".amazonaws.com") + "/model/" + url.PathEscape(req.Model) + "/converse"
	r, err := postJSON(ctx, u, body)
	if err != nil {
		return nil, err
	}
	if key != "" {
		r.Header.Set("Authorization", "Bearer "+key)
		return r, nil
	}
	return r, b.sign(ctx, r, region)
}

func bedrockMessages(msgs []Message) []bedrockMessage {
	out := make([]bedrockMessage, len(msgs))
	for i, m := range msgs {
		text := m.Content
		out[i] = bedrockMessage{Role: m.Role, Content: []bedrockBlock{{Text: &text}}}
	}
	return out
}

// sign adds SigV4 headers for service "bedrock".
func (b *bedrockWire) sign(ctx context.Context, r *http.Request, region string) error {
	cfg, err := b.awsConfig(ctx)
	if err != nil {
		return err
	}
	creds, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return fmt.Errorf("aws credentials: %w", err)
	}
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	r.Body = io.NopCloser(bytes.NewReader(raw))
	sum := sha256.Sum256(raw)
	if host := r.URL.Hostname(); strings.HasPrefix(host, "bedrock-runtime.") {
		region = strings.TrimSuffix(strings.TrimPrefix(host, "bedrock-runtime."), ".amazonaws.com")
	}
	return v4.NewSigner().SignHTTP(ctx, creds, r, hex.EncodeToString(sum[:]), "bedrock", region, time.Now())
}

func (*bedrockWire) reply(body []byte) (Reply, error) {
	var v struct {
		Output *struct {
			Message *bedrockMessage `json:"message"`
		} `json:"output"`
		Usage *struct {
			InputTokens  int64 `json:"inputTokens"`
			OutputTokens int64 `json:"outputTokens"`
		} `json:"usage"`
	}
	if err := decodeStrict(body, &v); err != nil {
		return Reply{}, err
	}
	if v.Output == nil || v.Output.Message == nil || v.Usage == nil {
		return Reply{}, malformed("not a Bedrock Converse reply (no output.message or usage)")
	}
	var out strings.Builder
	for _, c := range v.Output.Message.Content {
		if c.Text != nil {
			out.WriteString(*c.Text)
		}
	}
	return Reply{Output: out.String(), InputTokens: v.Usage.InputTokens, OutputTokens: v.Usage.OutputTokens}, nil
}

// errorMessage reads Bedrock's {"message":…} body.
func (*bedrockWire) errorMessage(body []byte) string { return errorField(body) }
