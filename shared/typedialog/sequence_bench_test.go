package typedialog

import (
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// BenchmarkSubmissionSequence runs the bench's sequence (issue 23: start a
// session with the first answers, patch the rest, submit with json output,
// the contract checked and the template rendered) against typedialog-forms
// in-process, and reports the CPU a sequence costs this process (the API,
// typedialog-contract and typedialog-render, no HTTP) and SurrealDB's own
// process: on 2 cores, 500 sequences a second leave 4 ms of both together.
// Request logs are discarded, as the bench's devstack does.
func BenchmarkSubmissionSequence(b *testing.B) {
	defer slog.SetDefault(slog.Default())
	slog.SetDefault(slog.New(slog.DiscardHandler))
	h := formsAPI(b)
	expect(b, h, "admin", "POST", "/forms", exampleUpload(b, example(b), nil), 201)
	first := `{"version":"1.0.0","answers":{"name":"Ada Lovelace","email":"ada@example.org","department":"engineering"}}`
	rest := `{"answers":{"team_size":"medium","skills":["go","rust"],"projects":[{"project_name":"engine","project_role":"lead"}]}}`
	node := surrealProcess(b)
	var failed atomic.Int64
	b.SetParallelism(5) // 10 clients on 2 cores, as the bench
	b.ResetTimer()
	ours0, db0 := processCPU(os.Getpid()), processCPU(node)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			s := call(b, h, "ann", "POST", "/forms/example_form/sessions", first)
			id, _ := s.body["id"].(string)
			p := call(b, h, "ann", "PATCH", "/sessions/"+id, rest)
			sub := call(b, h, "ann", "POST", "/sessions/"+id+"/submit", "")
			if s.status != 201 || p.status != 200 || sub.status != 200 {
				failed.Add(1)
			}
		}
	})
	ours, db := processCPU(os.Getpid())-ours0, processCPU(node)-db0
	b.StopTimer()
	if failed.Load() > 0 {
		b.Fatalf("%d sequences failed", failed.Load())
	}
	b.ReportMetric(float64(ours.Microseconds())/float64(b.N), "ours-cpu-µs/op")
	b.ReportMetric(float64(db.Microseconds())/float64(b.N), "surreal-cpu-µs/op")
}

// surrealProcess is the SurrealDB server this test binary started (its
// child running localstack/surreal's server.mjs), 0 when it uses another.
func surrealProcess(b *testing.B) int {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmd, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if strings.Contains(string(cmd), "server.mjs") && parentOf(pid) == os.Getpid() {
			return pid
		}
	}
	b.Log("no SurrealDB child process: its CPU is not measured")
	return 0
}

// statFields are the fields of /proc/pid/stat after the command's name.
func statFields(pid int) []string {
	st, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil
	}
	return strings.Fields(string(st[strings.LastIndexByte(string(st), ')')+1:]))
}

func parentOf(pid int) int {
	f := statFields(pid)
	if len(f) < 2 {
		return 0
	}
	ppid, _ := strconv.Atoi(f[1])
	return ppid
}

// processCPU is the user and system CPU time pid used so far (clock ticks
// of 10 ms, as Linux counts them for /proc; this process's own from
// getrusage, finer).
func processCPU(pid int) time.Duration {
	if pid == os.Getpid() {
		var u syscall.Rusage
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &u)
		return time.Duration(u.Utime.Nano() + u.Stime.Nano())
	}
	f := statFields(pid)
	if len(f) < 13 {
		return 0
	}
	user, _ := strconv.Atoi(f[11])
	sys, _ := strconv.Atoi(f[12])
	return time.Duration(user+sys) * 10 * time.Millisecond
}
