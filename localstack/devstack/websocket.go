package devstack

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/coder/websocket"

	"github.com/stratumiops/stratumiops/shared/platform/catalog"
	"github.com/stratumiops/stratumiops/shared/platform/invoke"
)

// wsAPI is an API Gateway WebSocket API on a system's gateway: the socket at
// its path, whose $connect, $default and $disconnect invoke its function
// with API Gateway WebSocket events, and the @connections management API
// (POST to send, GET to describe, DELETE to close; SigV4 for execute-api),
// which answers 410 Gone for a connection that is not open.
type wsAPI struct {
	api  catalog.WebSocket
	inv  invoke.Invoker
	log  *slog.Logger
	mu   sync.Mutex
	open map[string]*wsConn
}

type wsConn struct {
	c         *websocket.Conn
	connected time.Time
	userAgent string
}

// mountWebSockets serves a system's WebSocket APIs on its gateway; it
// returns how many routes it mounted.
func mountWebSockets(system string, mux *http.ServeMux, inv invoke.Invoker, log *slog.Logger) int {
	n := 0
	for _, api := range catalog.WebSocketsOf(system) {
		w := &wsAPI{api: api, inv: inv, log: log.With("websocket", api.Function), open: map[string]*wsConn{}}
		mux.HandleFunc("GET "+api.Path, w.serve)
		mux.HandleFunc("POST /@connections/{id}", w.manage)
		mux.HandleFunc("GET /@connections/{id}", w.manage)
		mux.HandleFunc("DELETE /@connections/{id}", w.manage)
		n += 4
	}
	return n
}

// route invokes the function for one route and reads its proxy response.
func (w *wsAPI) route(ctx context.Context, id, route string, r *http.Request, body string) (events.APIGatewayProxyResponse, error) {
	ev := events.APIGatewayWebsocketProxyRequest{Body: body, RequestContext: events.APIGatewayWebsocketProxyRequestContext{
		ConnectionID: id, RouteKey: route, EventType: map[string]string{"$connect": "CONNECT", "$disconnect": "DISCONNECT"}[route],
		Stage: "$default", DomainName: r.Host, RequestTimeEpoch: time.Now().UnixMilli(), APIID: "devstack"}}
	if ev.RequestContext.EventType == "" {
		ev.RequestContext.EventType = "MESSAGE"
	}
	if route == "$connect" {
		ev.Headers, ev.QueryStringParameters = map[string]string{}, map[string]string{}
		for k := range r.Header {
			ev.Headers[k] = r.Header.Get(k)
		}
		for k := range r.URL.Query() {
			ev.QueryStringParameters[k] = r.URL.Query().Get(k)
		}
	}
	payload, _ := json.Marshal(ev)
	out, err := w.inv.Invoke(ctx, w.api.Function, payload)
	var res events.APIGatewayProxyResponse
	if err == nil {
		err = json.Unmarshal(out, &res)
	}
	return res, err
}

func (w *wsAPI) serve(rw http.ResponseWriter, r *http.Request) {
	id := newConnectionID()
	res, err := w.route(r.Context(), id, "$connect", r, "")
	if err != nil {
		w.log.Error("$connect", "err", err)
		http.Error(rw, `{"message": "Internal server error"}`, http.StatusInternalServerError)
		return
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		rw.Header().Set("Content-Type", "application/json")
		rw.WriteHeader(res.StatusCode)
		_, _ = io.WriteString(rw, res.Body)
		return
	}
	c, err := websocket.Accept(rw, r, nil)
	if err != nil {
		return
	}
	c.SetReadLimit(128 << 10) // API Gateway's message limit
	w.mu.Lock()
	w.open[id] = &wsConn{c: c, connected: time.Now(), userAgent: r.UserAgent()}
	w.mu.Unlock()
	defer w.closed(id)
	ctx := context.WithoutCancel(r.Context())
	for {
		_, msg, err := c.Read(ctx)
		if err != nil {
			return
		}
		res, err := w.route(ctx, id, "$default", r, string(msg))
		if err != nil {
			w.log.Error("$default", "connection", id, "err", err)
			continue
		}
		if res.Body != "" {
			_ = w.write(ctx, c, []byte(res.Body))
		}
	}
}

// closed forgets a connection and tells the function.
func (w *wsAPI) closed(id string) {
	w.mu.Lock()
	conn := w.open[id]
	delete(w.open, id)
	w.mu.Unlock()
	if conn != nil {
		_ = conn.c.CloseNow()
	}
	r, _ := http.NewRequest(http.MethodGet, w.api.Path, nil)
	if _, err := w.route(context.Background(), id, "$disconnect", r, ""); err != nil {
		w.log.Error("$disconnect", "connection", id, "err", err)
	}
}

func (w *wsAPI) write(ctx context.Context, c *websocket.Conn, msg []byte) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return c.Write(ctx, websocket.MessageText, msg)
}

// manage is the @connections management API.
func (w *wsAPI) manage(rw http.ResponseWriter, r *http.Request) {
	if a := r.Header.Get("Authorization"); !strings.HasPrefix(a, "AWS4-HMAC-SHA256 ") || !strings.Contains(a, "/execute-api/aws4_request") {
		awsError(rw, http.StatusForbidden, "ForbiddenException", "Missing Authentication Token: sign the request with SigV4 for execute-api")
		return
	}
	id := r.PathValue("id")
	w.mu.Lock()
	conn := w.open[id]
	w.mu.Unlock()
	if conn == nil {
		awsError(rw, http.StatusGone, "GoneException", fmt.Sprintf("connection %s is gone", id))
		return
	}
	switch r.Method {
	case http.MethodGet:
		rw.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(rw).Encode(map[string]any{"connectedAt": conn.connected.UTC().Format(time.RFC3339),
			"lastActiveAt": time.Now().UTC().Format(time.RFC3339), "identity": map[string]string{"sourceIp": "127.0.0.1", "userAgent": conn.userAgent}})
	case http.MethodDelete:
		_ = conn.c.Close(websocket.StatusNormalClosure, "closed by the management API")
		rw.WriteHeader(http.StatusNoContent)
	default:
		body, err := io.ReadAll(io.LimitReader(r.Body, 128<<10+1))
		if err != nil || len(body) > 128<<10 {
			awsError(rw, http.StatusRequestEntityTooLarge, "PayloadTooLargeException", "a message is at most 128 KiB")
			return
		}
		if err := w.write(r.Context(), conn.c, body); err != nil {
			awsError(rw, http.StatusGone, "GoneException", fmt.Sprintf("connection %s is gone: %v", id, err))
			return
		}
		rw.WriteHeader(http.StatusOK)
	}
}

func awsError(rw http.ResponseWriter, status int, code, msg string) {
	rw.Header().Set("Content-Type", "application/json")
	rw.Header().Set("X-Amzn-ErrorType", code)
	rw.WriteHeader(status)
	_ = json.NewEncoder(rw).Encode(map[string]string{"message": msg})
}

// newConnectionID makes an id shaped as API Gateway's ("L0SM9cOFvHcCIhw=").
func newConnectionID() string {
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}
