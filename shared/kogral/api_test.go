package kogral_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stratumiops/stratumiops/shared/kogral"
	"github.com/stratumiops/stratumiops/shared/kogral/apifn"
	"github.com/stratumiops/stratumiops/shared/platform/httpapi"
)

// Bad input is a 400 that names the problem.
func TestAPIBadInput(t *testing.T) {
	ctx := context.Background()
	s := kogral.NewTestStore(t)
	if _, err := s.CreateNode(ctx, kogral.NodeInput{ID: "default.x", NodeType: "Note", Title: "X"}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(testAPI(s))
	defer srv.Close()
	for _, c := range []struct {
		method, path, body, want string
	}{
		{"GET", "/nodes/default.x/edges?direction=sideways", "", `direction \"sideways\": want out, in or both`},
		{"GET", "/nodes/default.x/edges?dir=out", "", `unknown query parameter \"dir\"`},
		{"GET", "/nodes/default.x/connected?depth=2&limit=99999", "", "limit"},
		{"POST", "/decisions", `{"title":"T","context":"c","alternatives":[{"pros":["fast"]}]}`, "alternatives[0]: title required"},
		{"POST", "/decisions", `{"title":"T","related_decisions":["Not An Id"]}`, `related_decisions: \"Not An Id\" is not a node id`},
		{"POST", "/nodes", `{"node_type":"Decision","title":"T","metadata":{"alternatives":"many"}}`, "alternatives: want a list"},
	} {
		req, _ := http.NewRequestWithContext(ctx, c.method, srv.URL+c.path, strings.NewReader(c.body))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body strings.Builder
		_, _ = fmt.Fprint(&body, readAll(res))
		if res.StatusCode != 400 || !strings.Contains(body.String(), c.want) {
			t.Errorf("%s %s: %d %s, want 400 with %s", c.method, c.path, res.StatusCode, body.String(), c.want)
		}
	}
	if _, err := s.AddDecision(ctx, kogral.DecisionRecord{Title: "T", ADR: kogral.ADR{RelatedDecisions: []string{"ghost"}}}); !errors.As(err, new(*kogral.NotFoundError)) {
		t.Errorf("a related decision that does not exist: %v", err)
	}
	if list, _ := s.ListNodes(ctx, kogral.Filter{NodeType: "Decision"}); len(list) != 0 {
		t.Errorf("refused decisions were written: %+v", list)
	}
}

func readAll(res *http.Response) string {
	defer res.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := res.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			return b.String()
		}
	}
}

// testAPI serves kogral-api's operations over b without authentication
// (the platform's tests cover that).
func testAPI(b kogral.Backend) http.Handler {
	return httpapi.Spec[*apifn.API]{Ops: apifn.APISpec().Ops}.Handler(apifn.New(b, nil, nil))
}
