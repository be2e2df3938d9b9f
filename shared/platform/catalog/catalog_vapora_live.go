package catalog

import "time"

// Vapora's live board (issue 22): the WebSocket API's integration and the
// consumer that pushes board changes to the connections.
func init() { Functions = append(Functions, vaporaLiveFunctions...) }

// WebSocket is a system's API Gateway WebSocket API: one function takes its
// $connect, $disconnect and $default routes. The devstack serves it at Path
// on the system's gateway, with the @connections management API beside it;
// in AWS it is an API of its own behind the page's CloudFront distribution.
type WebSocket struct {
	System   string
	Path     string
	Function string
}

// WebSockets lists the WebSocket APIs.
var WebSockets = []WebSocket{{System: "vapora", Path: "/ws", Function: "vapora-live"}}

// WebSocketsOf lists a system's WebSocket APIs.
func WebSocketsOf(system string) []WebSocket {
	var out []WebSocket
	for _, w := range WebSockets {
		if w.System == system {
			out = append(out, w)
		}
	}
	return out
}

var vaporaLiveFunctions = []Function{
	{
		Name:   "vapora-live",
		System: "vapora",
		// Invoked by the WebSocket API (WebSockets) with API Gateway
		// WebSocket events, never by an HTTP route.
		Kind:        Invoke,
		Description: "Vapora's WebSocket API: $connect with the HTTP API's credentials, $default to watch a board Cedar lets the caller read, $disconnect; connections kept in SurrealDB.",
		Database:    "vapora",
		Auth:        true,
		MemoryMB:    256,
		Timeout:     10 * time.Second,
	},
	{
		Name:        "vapora-live-push",
		System:      "vapora",
		Kind:        Consumer,
		Description: "Pushes each board change and pipeline stage change to the WebSocket connections watching its project in its scope, and each agent change to those watching the agents, through the @connections management API; a 410 Gone forgets the connection.",
		Subjects:    []string{"vapora.tasks.changed", "vapora.pipelines.stage", "vapora.agents.changed"},
		MaxDeliver:  3,
		Database:    "vapora",
		// The WebSocket API's management endpoint,
		// https://{api}.execute-api.{region}.amazonaws.com/{stage}.
		Env:      map[string]string{"VAPORA_WS_ENDPOINT": ""},
		MemoryMB: 256,
		Timeout:  10 * time.Second,
	},
}
