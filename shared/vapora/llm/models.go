// Package llm is Vapora's LLM router (spec seed, Vapora: RoutingRule,
// BudgetConfig, BudgetEnforcement, CostRecord and the /llm/* routes):
// providers configured through the API, ordered routing rules with a
// fallback chain, budgets per agent role, one cost record per successful
// call, and the built-in agent runner that does the tasks assigned to LLM
// agents. It is its own package so that Vapora's other functions do not
// link the providers' clients.
package llm

import (
	"fmt"
	"regexp"
	"time"
)

// Provider kinds: the wire format a provider speaks.
const (
	KindAnthropic = "anthropic"
	KindOpenAI    = "openai"
	KindGemini    = "gemini"
	KindOllama    = "ollama"
	KindBedrock   = "bedrock"
)

// Kinds lists the provider kinds.
var Kinds = []string{KindAnthropic, KindOpenAI, KindGemini, KindOllama, KindBedrock}

// BudgetEnforcement values (seed).
const (
	Normal        = "Normal"
	NearThreshold = "NearThreshold"
	Exceeded      = "Exceeded"
)

// Price is what one million tokens of a model cost, in cents; ContextTokens
// is the model's context window (0: defaultContext).
type Price struct {
	InputCentsPerMTok  int64 `json:"input_cents_per_mtok"`
	OutputCentsPerMTok int64 `json:"output_cents_per_mtok"`
	ContextTokens      int64 `json:"context_tokens,omitempty"`
}

// defaultContext is the context window of a model whose price entry names none.
const defaultContext = 128_000

// Provider is a configured provider. The API key is never part of it: the
// store keeps a reference to where it is sealed.
type Provider struct {
	Name      string           `json:"name"`
	Kind      string           `json:"kind"`
	BaseURL   string           `json:"base_url"`
	Models    map[string]Price `json:"models"`
	TimeoutMs int64            `json:"timeout_ms"`
	KeyRef    string           `json:"-"`
	UpdatedAt time.Time        `json:"updated_at"`
}

// Rule is a RoutingRule (seed) naming configured providers.
type Rule struct {
	Pattern                string   `json:"pattern"`
	Provider               string   `json:"provider"`
	Model                  string   `json:"model"`
	FallbackChain          []string `json:"fallback_chain"`
	AllowLocalWhenExceeded bool     `json:"allow_local_when_exceeded"`
	re                     *regexp.Regexp
}

// Budget is a BudgetConfig (seed): limits per role, in cents.
type Budget struct {
	Role              string `json:"role"`
	MonthlyLimitCents int64  `json:"monthly_limit_cents"`
	WeeklyLimitCents  *int64 `json:"weekly_limit_cents,omitempty"`
}

// CostRecord is one successful call (seed fields, plus the role it is
// charged to). CostMicros is the exact cost in millionths of a cent, which
// the spend is summed from; CostCents is the same figure as the seed's f64.
type CostRecord struct {
	ID           string    `json:"id"`
	Provider     string    `json:"provider"`
	Model        string    `json:"model"`
	InputTokens  int64     `json:"input_tokens"`
	OutputTokens int64     `json:"output_tokens"`
	CostCents    float64   `json:"cost_cents"`
	CostMicros   int64     `json:"-"`
	TaskType     string    `json:"task_type"`
	AgentID      string    `json:"agent_id"`
	Role         string    `json:"role"`
	Timestamp    time.Time `json:"timestamp"`
}

// Cost is the exact price of a call in millionths of a cent.
func (p Price) Cost(in, out int64) int64 {
	return in*p.InputCentsPerMTok + out*p.OutputCentsPerMTok
}

// Message is one turn of a conversation.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Request is what a provider is asked.
type Request struct {
	Model     string
	Messages  []Message
	MaxTokens int64
}

// Reply is what a provider answered.
type Reply struct {
	Output       string
	InputTokens  int64
	OutputTokens int64
}

// Attempt is one call of a routed request, successful or not.
type Attempt struct {
	Provider   string `json:"provider"`
	Model      string `json:"model"`
	Outcome    string `json:"outcome"` // ok, rate_limited, http_error, timeout, malformed, network
	HTTPStatus int    `json:"http_status,omitempty"`
	RetryAfter string `json:"retry_after,omitempty"`
	Error      string `json:"error,omitempty"`
	DurationMs int64  `json:"duration_ms"`
}

// RouteRequest is the body of POST /llm/route.
type RouteRequest struct {
	Role      string    `json:"role"`
	TaskType  string    `json:"task_type"`
	AgentID   string    `json:"agent_id"`
	Messages  []Message `json:"messages"`
	MaxTokens int64     `json:"max_tokens"`
}

// RouteResponse is the answer of POST /llm/route.
type RouteResponse struct {
	Provider     string    `json:"provider"`
	Model        string    `json:"model"`
	Output       string    `json:"output"`
	InputTokens  int64     `json:"input_tokens"`
	OutputTokens int64     `json:"output_tokens"`
	CostCents    float64   `json:"cost_cents"`
	Attempts     []Attempt `json:"attempts"`
	Budget       string    `json:"budget"`
}

// centsOf turns millionths of a cent into cents.
func centsOf(micros int64) float64 { return float64(micros) / 1e6 }

// estimateTokens is a conservative estimate of a message list's tokens: a
// token per three bytes, plus the framing of each message.
func estimateTokens(msgs []Message) int64 {
	var n int64
	for _, m := range msgs {
		n += int64(len(m.Content))/3 + 4
	}
	return n
}

// period names the calendar month (UTC) and ISO week a time falls in.
func period(t time.Time) (month, week, day string) {
	t = t.UTC()
	y, w := t.ISOWeek()
	return t.Format("2006-01"), fmt.Sprintf("%04d-W%02d", y, w), t.Format("2006-01-02")
}
