package files

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/stratumiops/stratumiops/shared/kogral"
	"github.com/stratumiops/stratumiops/shared/kogral/render"
)

// ReadFolder reads every node file under dir (a .kogral/ folder or an
// export); a file that does not parse is an error naming it. A file naming
// no graph is graph's (the project's), its id checked in that graph's scope.
func ReadFolder(dir, graph string) (kogral.Subgraph, error) {
	var g kogral.Subgraph
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(path, ".md") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		var h render.FrontMatter
		in, edges, err := parseFileInto(rel, src, &h, graph)
		if err != nil {
			return err
		}
		if in.ID == "" {
			// A file without an id is named by it, in its graph's scope.
			in.ID = strings.TrimSuffix(filepath.Base(path), ".md")
			if kogral.CheckIDInGraph(in.ID, in.GraphID) != nil {
				in.ID = in.GraphID + "." + in.ID
			}
			for i := range edges {
				edges[i].Source = in.ID
			}
		}
		n := kogral.Node{ID: in.ID, NodeType: in.NodeType, Title: in.Title, Content: in.Content, Metadata: in.Metadata, Tags: in.Tags, GraphID: in.GraphID}
		if h.Created != nil {
			n.CreatedAt = *h.Created
		}
		g.Nodes = append(g.Nodes, n)
		g.Edges = append(g.Edges, edges...)
		return nil
	})
	return g, err
}

// WriteFolder writes files (relative path → content) under dir and nowhere
// else: the paths come from the server's ids, types and Logseq file names,
// so one that is not local to dir is refused before anything is written,
// and the writes go through an os.Root, which no "..", absolute path or
// symbolic link leaves.
func WriteFolder(dir string, files map[string][]byte) error {
	for rel := range files {
		if !filepath.IsLocal(filepath.FromSlash(rel)) {
			return fmt.Errorf("refusing to write %q: not a path inside %s", rel, dir)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	for rel, data := range files {
		p := filepath.FromSlash(rel)
		if err := root.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("write %s: %w", rel, err)
		}
		if err := root.WriteFile(p, data, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", rel, err)
		}
	}
	return nil
}

// ---- sync -------------------------------------------------------------------------

// syncState is .kogral/.sync.json: the content hash of each node as of the
// last sync, so that a change can be told apart from a conflict.
type syncState struct {
	Hashes map[string]string `json:"hashes"`
}

// SyncReport says what a sync did.
type SyncReport struct {
	Pushed    []string `json:"pushed"`
	Pulled    []string `json:"pulled"`
	Conflicts []string `json:"conflicts"`
}

// Sides a sync may prefer on a conflict.
const (
	PreferLocal  = "local"  // the folder's file wins
	PreferRemote = "remote" // the graph's node wins
)

// Sync reconciles the folder dir (the project graph's files) with the
// backend, both ways: a side that changed since the last sync wins; when
// both changed differently, the node is a conflict and neither is touched,
// unless prefer names the side to take (PreferLocal, PreferRemote).
func Sync(ctx context.Context, b kogral.Backend, dir, graph, prefer string) (SyncReport, error) {
	rep := SyncReport{Pushed: []string{}, Pulled: []string{}, Conflicts: []string{}}
	statePath := filepath.Join(dir, ".sync.json")
	var st syncState
	if raw, err := os.ReadFile(statePath); err == nil {
		if err := json.Unmarshal(raw, &st); err != nil {
			return rep, fmt.Errorf("%s: %w", statePath, err)
		}
	}
	if st.Hashes == nil {
		st.Hashes = map[string]string{}
	}
	local, err := ReadFolder(dir, graph)
	if err != nil {
		return rep, err
	}
	remote, err := b.Export(ctx, graph)
	if err != nil {
		return rep, err
	}
	type side struct {
		node  kogral.Node
		edges []kogral.Edge
		hash  string
	}
	index := func(g kogral.Subgraph) map[string]*side {
		m := map[string]*side{}
		for _, n := range g.Nodes {
			if n.GraphID == "" {
				n.GraphID = graph
			}
			if n.GraphID != graph {
				continue
			}
			m[n.ID] = &side{node: n}
		}
		for _, e := range g.Edges {
			if s, ok := m[e.Source]; ok {
				s.edges = append(s.edges, e)
			}
		}
		for _, s := range m {
			in := kogral.NodeInput{ID: s.node.ID, NodeType: s.node.NodeType, Title: s.node.Title, Content: s.node.Content, Metadata: s.node.Metadata, Tags: s.node.Tags, GraphID: graph}
			_ = in.Check()
			s.hash = ContentHash(in, s.edges)
		}
		return m
	}
	files, db := index(local), index(remote)
	ids := map[string]bool{}
	for id := range files {
		ids[id] = true
	}
	for id := range db {
		ids[id] = true
	}
	var push kogral.Subgraph
	for id := range ids {
		f, r, base := files[id], db[id], st.Hashes[id]
		switch {
		case f != nil && r != nil && f.hash == r.hash:
			st.Hashes[id] = f.hash
		case f != nil && (r == nil || r.hash == base || prefer == PreferLocal) && f.hash != base:
			push.Nodes = append(push.Nodes, f.node)
			push.Edges = append(push.Edges, f.edges...)
			rep.Pushed = append(rep.Pushed, id)
			st.Hashes[id] = f.hash
		case r != nil && (f == nil || f.hash == base || prefer == PreferRemote) && r.hash != base:
			pull := render.MarkdownFiles(kogral.Subgraph{Nodes: []kogral.Node{r.node}, Edges: r.edges})
			if err := WriteFolder(dir, pull); err != nil {
				return rep, err
			}
			rep.Pulled = append(rep.Pulled, id)
			st.Hashes[id] = r.hash
		case f != nil && r != nil:
			rep.Conflicts = append(rep.Conflicts, id)
		}
	}
	if len(push.Nodes) > 0 {
		if _, err := b.Import(ctx, push); err != nil {
			return rep, err
		}
	}
	sort.Strings(rep.Pushed)
	sort.Strings(rep.Pulled)
	sort.Strings(rep.Conflicts)
	raw, _ := json.MarshalIndent(st, "", "  ")
	if err := os.WriteFile(statePath, raw, 0o644); err != nil {
		return rep, err
	}
	if len(rep.Conflicts) > 0 {
		return rep, &kogral.ConflictError{Msg: fmt.Sprintf("%d nodes changed both in files and in the graph since the last sync: %s (edit one side to match, then sync again)",
			len(rep.Conflicts), strings.Join(rep.Conflicts, ", "))}
	}
	return rep, nil
}
