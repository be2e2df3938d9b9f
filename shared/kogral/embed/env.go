package embed

import (
	"context"
	"fmt"

	"github.com/stratumiops/stratumiops/shared/platform/awscfg"
)

// FromEnv picks the embedder: KOGRAL_EMBEDDER = local (default), openai,
// ollama or bedrock, with KOGRAL_EMBED_URL, KOGRAL_EMBED_MODEL and
// KOGRAL_EMBED_API_KEY (OpenAI); Bedrock signs with the function's AWS
// credentials.
func FromEnv(ctx context.Context, env func(string) string) (Embedder, error) {
	url, model := env("KOGRAL_EMBED_URL"), env("KOGRAL_EMBED_MODEL")
	switch kind := env("KOGRAL_EMBEDDER"); kind {
	case "", "local":
		return Local{}, nil
	case "openai":
		return NewOpenAI(or(url, "https://api.openai.com"), env("KOGRAL_EMBED_API_KEY"), or(model, "text-embedding-3-small")), nil
	case "ollama":
		return NewOllama(or(url, "http://127.0.0.1:11434"), or(model, "all-minilm")), nil
	case "bedrock":
		cfg, err := awscfg.Load(ctx, "")
		if err != nil {
			return nil, fmt.Errorf("bedrock embedder: %w", err)
		}
		url = or(url, fmt.Sprintf("https://bedrock-runtime.%s.amazonaws.com", cfg.Region))
		return NewBedrock(url, cfg.Region, or(model, "amazon.titan-embed-text-v2:0"), cfg.Credentials), nil
	default:
		return nil, fmt.Errorf("KOGRAL_EMBEDDER %q: want local, openai, ollama or bedrock", kind)
	}
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
