package apifn

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/stratumiops/stratumiops/events"
	"github.com/stratumiops/stratumiops/shared/kogral"
	"github.com/stratumiops/stratumiops/shared/kogral/exportjob"
	"github.com/stratumiops/stratumiops/shared/platform/catalog"
	"github.com/stratumiops/stratumiops/shared/platform/httpapi"
	"github.com/stratumiops/stratumiops/shared/platform/principal"
)

// Publisher sends an event once per message id (the bus, in production).
type Publisher interface {
	Publish(ctx context.Context, subject, msgID string, v any, headers map[string]string) (bool, error)
}

// exports queues export jobs, which kogral-export runs (package exportjob),
// and reports and serves them. Who may read a graph may export it and read
// the jobs that export it: a job is read by who may read each graph it
// exports or draws on (schemas/cedar/kogral, action read).
type exports struct {
	access *Access
	jobs   *exportjob.Store
	pub    Publisher
	now    func() time.Time
}

// WithExports lets a serve export jobs kept in jobs and announced with pub,
// with every operation authorized by access; GET /export then answers only
// small exports (syncExportItems, syncExportChars).
func (a *API) WithExports(access *Access, jobs *exportjob.Store, pub Publisher) *API {
	a.exports = &exports{access: access, jobs: jobs, pub: pub, now: time.Now}
	return a
}

type (
	// ExportRequest is POST /exports.
	ExportRequest struct {
		// Graph is the graph to export; "" (or absent): every graph you read.
		Graph string `json:"graph,omitempty"`
		// Format is json (the default), dot, markdown or logseq.
		Format string `json:"format,omitempty"`
	}
	// ExportJob is an export job and where to find it and its result.
	ExportJob struct {
		exportjob.Job
		Location string `json:"location"`
		// Result lists the download of each part of a succeeded job's
		// result, in order: their bodies, concatenated, are the result.
		Result []string `json:"result,omitempty"`
	}
)

func answer(j exportjob.Job) ExportJob {
	out := ExportJob{Job: j, Location: "/exports/" + j.ID}
	if out.Graphs == nil {
		out.Graphs = []string{}
	}
	if j.Status == exportjob.StatusSucceeded {
		for n := range j.Parts {
			out.Result = append(out.Result, fmt.Sprintf("/exports/%s/result?part=%d", j.ID, n))
		}
	}
	return out
}

var errNoExports = httpapi.Errorf(http.StatusServiceUnavailable, "unavailable", "export jobs are not configured here")

func startExport(a *API, w http.ResponseWriter, r *http.Request) error {
	if a.exports == nil {
		return errNoExports
	}
	var in ExportRequest
	if err := httpapi.DecodeJSON(r, &in); err != nil {
		return err
	}
	if in.Format == "" {
		in.Format = "json"
	}
	if !exportjob.ValidFormat(in.Format) {
		return httpapi.BadRequest("format %q: want json, dot, markdown or logseq", in.Format)
	}
	if in.Graph != "" && !kogral.ValidGraph(in.Graph) {
		return httpapi.BadRequest("graph %q: not a graph name", in.Graph)
	}
	rec, err := a.exports.start(r.Context(), in)
	if err != nil {
		return apiError(err)
	}
	w.Header().Set("Location", "/exports/"+rec.ID)
	httpapi.WriteJSON(w, http.StatusAccepted, answer(rec.Job))
	return nil
}

// scope is what an export of graph ("": all) holds for the caller: the
// graphs exported and the graphs it reads, which the edges may reach.
func (x *exports) scope(ctx context.Context, graph string) (graphs, readable []string, err error) {
	infos, err := x.access.Graphs(ctx)
	if err != nil {
		return nil, nil, err
	}
	readable = make([]string, 0, len(infos))
	for _, g := range infos {
		readable = append(readable, g.ID)
	}
	if graph == "" {
		return readable, readable, nil
	}
	if err := x.access.need(ctx, "read", graph); err != nil {
		return nil, nil, err
	}
	return []string{graph}, readable, nil
}

// start queues a job of what the caller reads now, and announces it.
func (x *exports) start(ctx context.Context, in ExportRequest) (exportjob.Record, error) {
	graphs, readable, err := x.scope(ctx, in.Graph)
	if err != nil {
		return exportjob.Record{}, err
	}
	by := ""
	if p := principal.From(ctx); p != nil {
		by = p.Person
	}
	now := x.now()
	id := exportjob.NewID(now)
	rec, err := x.jobs.Create(ctx, id, exportjob.Request{Graph: in.Graph, Format: in.Format, RequestedBy: by, Graphs: graphs, Readable: readable}, now)
	if err != nil {
		return rec, err
	}
	if _, err := x.pub.Publish(ctx, events.SubjectExportRequested, id, events.ExportRequested{ID: id, JobID: id}, nil); err != nil {
		// Nothing will run it: say so on the job too.
		_ = x.jobs.Fail(context.WithoutCancel(ctx), id, 0, "could not be queued: "+err.Error())
		return rec, fmt.Errorf("queue export job %s: %w", id, err)
	}
	return rec, nil
}

// read is the job of the path, when the caller may read it.
func (x *exports) read(r *http.Request) (exportjob.Record, error) {
	id := r.PathValue("job")
	if !exportjob.ValidID(id) {
		return exportjob.Record{}, httpapi.BadRequest("export job id %q is malformed", id)
	}
	rec, err := x.jobs.Get(r.Context(), id)
	if errors.Is(err, exportjob.ErrNotFound) {
		return rec, httpapi.NotFound("export job %q not found (jobs expire %s after they are queued)", id, exportjob.TTL)
	}
	if err != nil {
		return rec, err
	}
	if rec, err = x.stalled(r.Context(), rec); err != nil {
		return rec, err
	}
	for _, graph := range append(slices.Clone(rec.Graphs), rec.Sources...) {
		if !x.access.engine.Allows(r.Context(), "read", graphEntity(graph)) {
			return rec, httpapi.Errorf(http.StatusForbidden, "forbidden", "export job %q holds graph %q, which you cannot read", id, graph)
		}
	}
	return rec, nil
}

// stallAfter is how long a job that has not ended may go without news
// before it is failed: every delivery kogral-export gets, each as long as
// its timeout and the wait before a redelivery, and a minute more.
func stallAfter() time.Duration {
	f, ok := catalog.Lookup("kogral-export")
	if !ok {
		return exportjob.TTL
	}
	wait := f.AckWait
	if wait == 0 {
		wait = f.Timeout + 5*time.Second
	}
	return time.Duration(f.MaxDeliver)*(f.Timeout+wait) + time.Minute
}

// stalled fails a job whose runs all stopped without a word, so that its
// reader learns it instead of waiting for its expiry.
func (x *exports) stalled(ctx context.Context, rec exportjob.Record) (exportjob.Record, error) {
	stall := stallAfter()
	if rec.Finished() || x.now().Sub(rec.UpdatedAt) < stall {
		return rec, nil
	}
	cause := fmt.Sprintf("no news from kogral-export for %s: its runs stopped (a crash or a timeout); queue the export again, or export one graph at a time", stall)
	if _, err := x.jobs.Abandon(ctx, rec.ID, x.now().Add(-stall), cause); err != nil {
		return rec, err
	}
	return x.jobs.Get(ctx, rec.ID)
}

func getExport(a *API, w http.ResponseWriter, r *http.Request) error {
	if a.exports == nil {
		return errNoExports
	}
	rec, err := a.exports.read(r)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, answer(rec.Job))
	return nil
}

// exportResult answers one part of a succeeded job's result, as it was
// rendered (Content-Type), with the part's number and the count of parts.
func exportResult(a *API, w http.ResponseWriter, r *http.Request) error {
	if a.exports == nil {
		return errNoExports
	}
	rec, err := a.exports.read(r)
	if err != nil {
		return err
	}
	switch rec.Status {
	case exportjob.StatusFailed:
		return httpapi.Errorf(http.StatusConflict, "conflict", "export job %q failed: %s", rec.ID, rec.Error)
	case exportjob.StatusQueued, exportjob.StatusRunning:
		return httpapi.Errorf(http.StatusConflict, "conflict", "export job %q is %s (%d of %d done): its result is not ready", rec.ID, rec.Status, rec.Done, rec.Total)
	}
	part, err := httpapi.QueryInt(r, "part", 0, 0, rec.Parts-1)
	if err != nil {
		return err
	}
	data, err := a.exports.jobs.Part(r.Context(), rec, part)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", rec.ContentType)
	w.Header().Set("X-Export-Part", strconv.Itoa(part))
	w.Header().Set("X-Export-Parts", strconv.Itoa(rec.Parts))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(data)
	return nil
}

// A synchronous export (GET /export) answers within an HTTP function's
// timeout and Lambda's 6 MB response only when it is small: at most
// syncExportItems nodes and edges and syncExportChars characters of
// titles and contents. Anything larger is an export job's.
const (
	syncExportItems = 2000
	syncExportChars = 4 << 20
)

// smallExport refuses a synchronous export above the limits, then runs it.
func smallExport(a *API, w http.ResponseWriter, r *http.Request) error {
	if a.exports != nil {
		graph := r.URL.Query().Get("graph")
		if err := a.exports.small(r.Context(), graph); err != nil {
			return apiError(err)
		}
	}
	return op(export)(a, w, r)
}

func (x *exports) small(ctx context.Context, graph string) error {
	graphs, readable, err := x.scope(ctx, graph)
	if err != nil {
		return err
	}
	z, err := x.jobs.Counts(ctx, graphs, readable)
	if err != nil {
		return err
	}
	if z.Items() > syncExportItems || z.Chars > syncExportChars {
		return httpapi.Errorf(http.StatusUnprocessableEntity, "too_large",
			"this export holds %d nodes and edges and %d characters, above the %d and %d that GET /export answers: export it with POST /exports",
			z.Items(), z.Chars, syncExportItems, syncExportChars)
	}
	return nil
}
