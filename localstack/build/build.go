// Package build cross-compiles the catalog's functions into Lambda bootstrap
// binaries: dist/<function>/bootstrap, linux/arm64 for AWS (provided.al2023),
// or the host's architecture for the devstack's Lambda runtime emulator mode.
package build

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/stratumiops/stratumiops/shared/platform/catalog"
)

// Target is a GOOS/GOARCH pair.
type Target struct{ GOOS, GOARCH string }

// Lambda is the deployment target: Graviton, provided.al2023.
var Lambda = Target{GOOS: "linux", GOARCH: "arm64"}

// Native is the machine we run on (the emulator runs host binaries).
func Native() Target { return Target{GOOS: runtime.GOOS, GOARCH: runtime.GOARCH} }

// Result is one built function.
type Result struct {
	Function string
	Path     string
	Size     int64
	Took     time.Duration
	// Limit is the largest Size allowed (Limit), 0 for none (a build for
	// another target than Lambda's).
	Limit int64
}

// Functions builds each named function from root/functions/<name> into
// outDir/<name>/bootstrap, `parallel` at a time, with the flags Lambda wants:
// CGO off, -tags lambda.norpc, -trimpath, stripped.
func Functions(ctx context.Context, root, outDir string, t Target, names []string, parallel int) ([]Result, error) {
	if parallel < 1 {
		parallel = 1
	}
	results := make([]Result, len(names))
	errs := make([]error, len(names))
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			results[i], errs[i] = one(ctx, root, outDir, t, name)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return results, err
		}
	}
	return results, nil
}

func one(ctx context.Context, root, outDir string, t Target, name string) (Result, error) {
	began := time.Now()
	out, err := filepath.Abs(filepath.Join(outDir, name, "bootstrap"))
	if err != nil {
		return Result{}, err
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags", "-s -w",
		"-o", out, "./functions/"+name)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+t.GOOS, "GOARCH="+t.GOARCH)
	if msg, err := cmd.CombinedOutput(); err != nil {
		return Result{}, fmt.Errorf("build %s for %s/%s: %w\n%s", name, t.GOOS, t.GOARCH, err, msg)
	}
	info, err := os.Stat(out)
	if err != nil {
		return Result{}, fmt.Errorf("build %s: %w", name, err)
	}
	if f, ok := catalog.Lookup(name); ok && f.Image {
		if err := os.WriteFile(filepath.Join(filepath.Dir(out), "Dockerfile"), []byte(FunctionDockerfile), 0o644); err != nil {
			return Result{}, fmt.Errorf("%s Dockerfile: %w", name, err)
		}
	}
	r := Result{Function: name, Path: out, Size: info.Size(), Took: time.Since(began)}
	if t == Lambda {
		r.Limit = Limit(name) // the limits are Lambda's (arm64); a native amd64 build is about 8 % larger
	}
	return r, nil
}

// FunctionDockerfile packages the bootstrap of a catalog function that ships
// as a Lambda container image (catalog Image): Lambda's provided.al2023 base
// (the CDK builds it for arm64), whose entrypoint runs the runtime directory's
// bootstrap as a zip's provided.al2023 function would.
const FunctionDockerfile = `FROM public.ecr.aws/lambda/provided:al2023
COPY bootstrap ${LAMBDA_RUNTIME_DIR}/bootstrap
CMD ["bootstrap"]
`

// dispatcherDockerfile packages cmd/dispatcher for Fargate (arm64).
const dispatcherDockerfile = `FROM public.ecr.aws/amazonlinux/amazonlinux:2023-minimal
COPY dispatcher /usr/local/bin/dispatcher
USER 65534
ENTRYPOINT ["/usr/local/bin/dispatcher"]
`

// DispatcherLimit is the largest dispatcher binary: the bus, the catalog and
// the Lambda client (not the stratum CLI, its devstack and embedded NATS);
// 7.3 MB on 2026-11-30.
const DispatcherLimit = 8 << 20

// Dispatcher builds cmd/dispatcher for t into outDir/dispatcher/ with the
// Dockerfile of the dispatcher's container image (the CDK image asset).
func Dispatcher(ctx context.Context, root, outDir string, t Target) (Result, error) {
	began := time.Now()
	dir, err := filepath.Abs(filepath.Join(outDir, "dispatcher"))
	if err != nil {
		return Result{}, err
	}
	bin := filepath.Join(dir, "dispatcher")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, "./cmd/dispatcher")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+t.GOOS, "GOARCH="+t.GOARCH)
	if msg, err := cmd.CombinedOutput(); err != nil {
		return Result{}, fmt.Errorf("build dispatcher: %w\n%s", err, msg)
	}
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(dispatcherDockerfile), 0o644); err != nil {
		return Result{}, fmt.Errorf("dispatcher Dockerfile: %w", err)
	}
	info, err := os.Stat(bin)
	if err != nil {
		return Result{}, err
	}
	r := Result{Function: "dispatcher (Fargate)", Path: bin, Size: info.Size(), Took: time.Since(began)}
	if t == Lambda {
		r.Limit = DispatcherLimit
	}
	return r, nil
}

// OverLimit returns the results larger than their Limit.
func OverLimit(results []Result) []Result {
	var over []Result
	for _, r := range results {
		if r.Limit > 0 && r.Size > r.Limit {
			over = append(over, r)
		}
	}
	return over
}

// PrintTable writes each size next to its limit, largest first.
func PrintTable(w io.Writer, results []Result) {
	sorted := append([]Result(nil), results...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Size > sorted[j].Size })
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FUNCTION\tSIZE\tLIMIT\t\tBUILD\t")
	for _, r := range sorted {
		limit, mark := "-", "n/a"
		if r.Limit > 0 {
			limit, mark = mb(r.Limit), "ok"
			if r.Size > r.Limit {
				mark = "OVER"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t\n", r.Function, mb(r.Size), limit, mark, r.Took.Round(10*time.Millisecond))
	}
	_ = tw.Flush()
}

func mb(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/(1<<20)) }
