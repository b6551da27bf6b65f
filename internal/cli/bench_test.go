package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ringfence/ringfence/internal/engine"
	"github.com/ringfence/ringfence/internal/gencluster"
	"github.com/ringfence/ringfence/internal/load"
	"github.com/ringfence/ringfence/internal/render"
)

// BenchmarkReach runs the whole `reach -o json` on synthetic multi-tenant
// clusters (8 workloads and 5 policies a namespace), and reports the
// loading and analysis halves apart: the analysis should cost no more than
// reading and decoding the YAML.
func BenchmarkReach(b *testing.B) {
	for _, n := range []int{100, 300, 1000} {
		dir := b.TempDir()
		if _, err := gencluster.Generate(gencluster.Config{Namespaces: n, Workloads: 8, Policies: 5, Seed: 1, Out: dir}); err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("namespaces=%d", n), func(b *testing.B) {
			var loadNs, analyseNs int64
			var peak uint64
			for b.Loop() {
				start := time.Now().UnixNano()
				res, err := load.Load(context.Background(), load.Options{Files: []string{dir}})
				if err != nil {
					b.Fatal(err)
				}
				mid := time.Now().UnixNano()
				r, err := engine.Reach(res.World, engine.Options{Level: engine.LevelWorkload})
				if err != nil {
					b.Fatal(err)
				}
				if err := render.ReachJSON(io.Discard, r); err != nil {
					b.Fatal(err)
				}
				loadNs += mid - start
				analyseNs += time.Now().UnixNano() - mid
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapSys)
			}
			b.ReportMetric(float64(loadNs)/float64(b.N)/1e6, "load-ms/op")
			b.ReportMetric(float64(analyseNs)/float64(b.N)/1e6, "reach+json-ms/op")
			b.ReportMetric(float64(peak)/(1<<20), "heap-MiB")
		})
	}
}

// BenchmarkReachCLI is the command as users run it, end to end.
func BenchmarkReachCLI(b *testing.B) {
	dir := b.TempDir()
	if _, err := gencluster.Generate(gencluster.Config{Namespaces: 1000, Workloads: 8, Policies: 5, Seed: 1, Out: dir}); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		var out, errb bytes.Buffer
		if code := Main(context.Background(), []string{"reach", "-f", dir, "-o", "json"}, Streams{In: strings.NewReader(""), Out: &out, Err: &errb}); code != 0 {
			b.Fatal(errb.String())
		}
		b.SetBytes(int64(out.Len()))
	}
}

// BenchmarkReachCrossLayer compares the analysis of the 1,000-namespace
// cluster with 50 security groups (nodes, instances, pools) against the
// same world without its security groups (target: at most twice the time).
func BenchmarkReachCrossLayer(b *testing.B) {
	dir := b.TempDir()
	if _, err := gencluster.Generate(gencluster.Config{Namespaces: 1000, Workloads: 8, Policies: 5, SecurityGroups: 50, Seed: 1, Out: dir}); err != nil {
		b.Fatal(err)
	}
	res, err := load.Load(context.Background(), load.Options{Files: []string{dir}})
	if err != nil {
		b.Fatal(err)
	}
	npOnly := *res.World
	npOnly.SecurityGroups = nil
	var npNs, bothNs int64
	for b.Loop() {
		start := time.Now()
		if _, err := engine.Reach(&npOnly, engine.Options{}); err != nil {
			b.Fatal(err)
		}
		mid := time.Now()
		r, err := engine.Reach(res.World, engine.Options{})
		if err != nil {
			b.Fatal(err)
		}
		if r.Connections[0].Layers == nil && !strings.Contains(strings.Join(r.Notes, " "), "security groups") {
			b.Fatal("security groups were not applied")
		}
		npNs += mid.Sub(start).Nanoseconds()
		bothNs += time.Since(mid).Nanoseconds()
	}
	b.ReportMetric(float64(npNs)/float64(b.N)/1e6, "np-only-ms/op")
	b.ReportMetric(float64(bothNs)/float64(b.N)/1e6, "cross-layer-ms/op")
	b.ReportMetric(float64(bothNs)/float64(npNs), "ratio")
}

// BenchmarkAudit runs `ringfence audit -o json` on the 1,000-namespace
// cluster end to end (target: under 5 s).
func BenchmarkAudit(b *testing.B) {
	dir := b.TempDir()
	if _, err := gencluster.Generate(gencluster.Config{Namespaces: 1000, Workloads: 8, Policies: 5, Seed: 1, Out: dir}); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		var out, errb bytes.Buffer
		if code := Main(context.Background(), []string{"audit", "-f", dir, "-o", "json"}, Streams{In: strings.NewReader(""), Out: &out, Err: &errb}); code == ExitInput || code == ExitInternal {
			b.Fatal(errb.String())
		}
	}
}
