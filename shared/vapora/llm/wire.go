package llm

import (
	"context"
	"net/http"
	"net/url"
	"strings"
)

// ---- Anthropic Messages API -------------------------------------------------------

type anthropicWire struct{}

func (anthropicWire) request(ctx context.Context, p Provider, key string, req Request) (*http.Request, error) {
	sys, msgs := splitSystem(req.Messages)
	body := map[string]any{"model": req.Model, "max_tokens": req.MaxTokens, "messages": msgs}
	if sys != "" {
		body["system"] = sys
	}
	r, err := postJSON(ctx, base(p, "https://api.anthropic.com")+"/v1/messages", body)
	if err != nil {
		return nil, err
	}
	r.Header.Set("x-api-key", key)
	r.Header.Set("anthropic-version", "2023-06-01")
	return r, nil
}

func (anthropicWire) reply(body []byte) (Reply, error) {
	var v struct {
		Type    string `json:"type"`
		Content []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"content"`
		Usage *struct {
			InputTokens  int64 `json:"input_tokens"`
			OutputTokens int64 `json:"output_tokens"`
		} `json:"usage"`
	}
	if err := decodeStrict(body, &v); err != nil {
		return Reply{}, err
	}
	if v.Type != "message" || v.Usage == nil {
		return Reply{}, malformed("not an Anthropic message (type %q, usage present: %v)", v.Type, v.Usage != nil)
	}
	var out strings.Builder
	for _, c := range v.Content {
		if c.Type == "text" {
			out.WriteString(c.Text)
		}
	}
	return Reply{Output: out.String(), InputTokens: v.Usage.InputTokens, OutputTokens: v.Usage.OutputTokens}, nil
}

func (anthropicWire) errorMessage(body []byte) string { return errorField(body) }

// ---- OpenAI Chat Completions ------------------------------------------------------

type openaiWire struct{}

func (openaiWire) request(ctx context.Context, p Provider, key string, req Request) (*http.Request, error) {
	body := map[string]any{"model": req.Model, "messages": req.Messages, "max_completion_tokens": req.MaxTokens}
	r, err := postJSON(ctx, base(p, "https://api.openai.com/v1")+"/chat/completions", body)
	if err != nil {
		return nil, err
	}
	r.Header.Set("Authorization", "Bearer "+key)
	return r, nil
}

func (openaiWire) reply(body []byte) (Reply, error) {
	var v struct {
		Choices []struct {
			Message *struct {
				Content *string `json:"content"`
			} `json:"message"`
		} `json:"choices"`
		Usage *struct {
			PromptTokens     int64 `json:"prompt_tokens"`
			CompletionTokens int64 `json:"completion_tokens"`
		} `json:"usage"`
	}
	if err := decodeStrict(body, &v); err != nil {
		return Reply{}, err
	}
	if len(v.Choices) == 0 || v.Choices[0].Message == nil || v.Choices[0].Message.Content == nil || v.Usage == nil {
		return Reply{}, malformed("not an OpenAI chat completion (no choices[0].message.content or usage)")
	}
	return Reply{Output: *v.Choices[0].Message.Content, InputTokens: v.Usage.PromptTokens, OutputTokens: v.Usage.CompletionTokens}, nil
}

func (openaiWire) errorMessage(body []byte) string { return errorField(body) }

// ---- Gemini generateContent -------------------------------------------------------

type geminiWire struct{}

type geminiPart struct {
	Text string `json:"text"`
}

type geminiContent struct {
	Role  string       `json:"role,omitempty"`
	Parts []geminiPart `json:"parts"`
}

func (geminiWire) request(ctx context.Context, p Provider, key string, req Request) (*http.Request, error) {
	sys, msgs := splitSystem(req.Messages)
	contents := make([]geminiContent, len(msgs))
	for i, m := range msgs {
		role := "user"
		if m.Role == "assistant" {
			role = "model"
		}
		contents[i] = geminiContent{Role: role, Parts: []geminiPart{{Text: m.Content}}}
	}
	body := map[string]any{"contents": contents, "generationConfig": map[string]any{"maxOutputTokens": req.MaxTokens}}
	if sys != "" {
		body["systemInstruction"] = geminiContent{Parts: []geminiPart{{Text: sys}}}
	}
	u := base(p, "https://generativelanguage.googleapis.com") + "/v1beta/models/" + url.PathEscape(req.Model) + ":generateContent"
	r, err := postJSON(ctx, u, body)
	if err != nil {
		return nil, err
	}
	r.Header.Set("x-goog-api-key", key)
	return r, nil
}

func (geminiWire) reply(body []byte) (Reply, error) {
	var v struct {
		Candidates []struct {
			Content *geminiContent `json:"content"`
		} `json:"candidates"`
		UsageMetadata *struct {
			PromptTokenCount     int64 `json:"promptTokenCount"`
			CandidatesTokenCount int64 `json:"candidatesTokenCount"`
		} `json:"usageMetadata"`
	}
	if err := decodeStrict(body, &v); err != nil {
		return Reply{}, err
	}
	if len(v.Candidates) == 0 || v.Candidates[0].Content == nil || v.UsageMetadata == nil {
		return Reply{}, malformed("not a Gemini generateContent reply (no candidates[0].content or usageMetadata)")
	}
	var out strings.Builder
	for _, part := range v.Candidates[0].Content.Parts {
		out.WriteString(part.Text)
	}
	u := v.UsageMetadata
	return Reply{Output: out.String(), InputTokens: u.PromptTokenCount, OutputTokens: u.CandidatesTokenCount}, nil
}

func (geminiWire) errorMessage(body []byte) string { return errorField(body) }

// ---- Ollama /api/chat ---------------------------------------------------------------

type ollamaWire struct{}

func (ollamaWire) request(ctx context.Context, p Provider, key string, req Request) (*http.Request, error) {
	body := map[string]any{"model": req.Model, "messages": req.Messages, "stream": false,
		"options": map[string]any{"num_predict": req.MaxTokens}}
	r, err := postJSON(ctx, base(p, "http://127.0.0.1:11434")+"/api/chat", body)
	if err != nil {
		return nil, err
	}
	if key != "" {
		r.Header.Set("Authorization", "Bearer "+key)
	}
	return r, nil
}

func (ollamaWire) reply(body []byte) (Reply, error) {
	var v struct {
		Message *struct {
			Content string `json:"content"`
		} `json:"message"`
		Done            *bool `json:"done"`
		PromptEvalCount int64 `json:"prompt_eval_count"`
		EvalCount       int64 `json:"eval_count"`
	}
	if err := decodeStrict(body, &v); err != nil {
		return Reply{}, err
	}
	if v.Message == nil || v.Done == nil || !*v.Done {
		return Reply{}, malformed("not a finished Ollama chat reply (no message, or done is not true)")
	}
	return Reply{Output: v.Message.Content, InputTokens: v.PromptEvalCount, OutputTokens: v.EvalCount}, nil
}

func (ollamaWire) errorMessage(body []byte) string { return errorField(body) }
