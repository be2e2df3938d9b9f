package llmtest

import (
	"net/http"
)

// ok answers a successful call in the provider's format.
func (s *Server) ok(w http.ResponseWriter) {
	in, out, text := s.InputTokens, s.Outputs, s.Output
	switch s.Kind {
	case "anthropic":
		writeJSON(w, 200, map[string]any{"id": "msg_01XFDUDYJgAACzvnptvVoYEL", "type": "message", "role": "assistant",
			"model": "claude", "content": []any{map[string]any{"type": "text", "text": text}}, "stop_reason": "end_turn",
			"stop_sequence": nil, "usage": map[string]any{"input_tokens": in, "output_tokens": out}})
	case "openai":
		writeJSON(w, 200, map[string]any{"id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT", "object": "chat.completion",
			"created": 1741569952, "model": "gpt", "choices": []any{map[string]any{"index": 0,
				"message":  map[string]any{"role": "assistant", "content": text, "refusal": nil, "annotations": []any{}},
				"logprobs": nil, "finish_reason": "stop"}},
			"usage": map[string]any{"prompt_tokens": in, "completion_tokens": out, "total_tokens": in + out}})
	case "gemini":
		writeJSON(w, 200, map[string]any{"candidates": []any{map[string]any{"content": map[string]any{
			"parts": []any{map[string]any{"text": text}}, "role": "model"}, "finishReason": "STOP", "index": 0}},
			"usageMetadata": map[string]any{"promptTokenCount": in, "candidatesTokenCount": out, "totalTokenCount": in + out},
			"modelVersion":  "gemini", "responseId": "abc"})
	case "ollama":
		writeJSON(w, 200, map[string]any{"model": "llama3.2", "created_at": "2026-11-29T23:00:00.000000Z",
			"message": map[string]any{"role": "assistant", "content": text}, "done_reason": "stop", "done": true,
			"total_duration": 4883583458, "load_duration": 1334875, "prompt_eval_count": in, "prompt_eval_duration": 342546000,
			"eval_count": out, "eval_duration": 4535599000})
	case "bedrock":
		writeJSON(w, 200, map[string]any{"output": map[string]any{"message": map[string]any{"role": "assistant",
			"content": []any{map[string]any{"text": text}}}}, "stopReason": "end_turn",
			"usage":   map[string]any{"inputTokens": in, "outputTokens": out, "totalTokens": in + out},
			"metrics": map[string]any{"latencyMs": 42}})
	}
}

// fail answers an error in the provider's format.
func (s *Server) fail(w http.ResponseWriter, status int, msg string) {
	switch s.Kind {
	case "anthropic":
		types := map[int]string{400: "invalid_request_error", 429: "rate_limit_error", 500: "api_error"}
		writeJSON(w, status, map[string]any{"type": "error", "error": map[string]any{"type": types[status], "message": msg},
			"request_id": "req_011CSHoEeqs5C35K2UUqR7Fy"})
	case "openai":
		types := map[int]string{400: "invalid_request_error", 429: "rate_limit_exceeded", 500: "server_error"}
		writeJSON(w, status, map[string]any{"error": map[string]any{"message": msg, "type": types[status], "param": nil,
			"code": types[status]}})
	case "gemini":
		statuses := map[int]string{400: "INVALID_ARGUMENT", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL"}
		writeJSON(w, status, map[string]any{"error": map[string]any{"code": status, "message": msg, "status": statuses[status]}})
	case "ollama":
		writeJSON(w, status, map[string]any{"error": msg})
	case "bedrock":
		types := map[int]string{400: "ValidationException", 429: "ThrottlingException", 500: "InternalServerException"}
		w.Header().Set("x-amzn-ErrorType", types[status]+":http://internal.amazon.com/coral/com.amazon.bedrock/")
		writeJSON(w, status, map[string]any{"message": msg})
	}
}
