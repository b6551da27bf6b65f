package load

import (
	"context"
	"fmt"
	"github.com/ringfence/ringfence/internal/benchcpu"
	"io/fs"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/ringfence/ringfence/internal/gencluster"
)

// BenchmarkLoadGenerated loads generated multi-tenant clusters (8
// workloads and 5 NetworkPolicies a namespace, the YAML gencluster writes:
// block style, one file a namespace) of 1,000 and 3,000 namespaces
// (RINGFENCE_LOAD_NAMESPACES=1000,3000,10000 chooses others) on one core
// (GOMAXPROCS 1 for the run, whatever -cpu says), and reports for each
// size the YAML read per second of CPU time (user+system: the figure that
// holds on a shared machine; issue 18's target is 30 MB/s), per second of
// wall time, and the bytes the loaded world keeps alive per byte of YAML
// (heap after a collection, with the world still referenced). The ratio of
// CPU time between the last size and the first says whether loading is
// linear: 3x the namespaces should cost about 3x.
func BenchmarkLoadGenerated(b *testing.B) {
	sizes := benchcpu.Sizes(b, "RINGFENCE_LOAD_NAMESPACES", 1000, 3000)
	dirs := make([]string, len(sizes))
	yamlBytes := make([]int64, len(sizes))
	for i, n := range sizes {
		dirs[i] = b.TempDir()
		if _, err := gencluster.Generate(gencluster.Config{Namespaces: n, Workloads: 8, Policies: 5, Seed: 1, Out: dirs[i]}); err != nil {
			b.Fatal(err)
		}
		yamlBytes[i] = dirSize(b, dirs[i])
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	cpu := make([]time.Duration, len(sizes))
	wall := make([]time.Duration, len(sizes))
	retained := make([]float64, len(sizes))
	var total int64
	for _, n := range yamlBytes {
		total += n
	}
	b.SetBytes(total)
	b.ResetTimer()
	for b.Loop() {
		for i, dir := range dirs {
			runtime.GC()
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			start, cpu0 := time.Now(), benchcpu.Time()
			res, err := Load(context.Background(), Options{Files: []string{dir}})
			if err != nil {
				b.Fatal(err)
			}
			cpu[i] += benchcpu.Time() - cpu0
			wall[i] += time.Since(start)
			if want := sizes[i] * 8; len(res.World.Workloads) < want {
				b.Fatalf("%d namespaces: %d workloads, want at least %d", sizes[i], len(res.World.Workloads), want)
			}
			b.StopTimer()
			runtime.GC()
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			runtime.KeepAlive(res)
			retained[i] = float64(after.HeapAlloc-min(before.HeapAlloc, after.HeapAlloc)) / float64(yamlBytes[i])
			b.StartTimer()
		}
	}
	for i, n := range sizes {
		mb := float64(yamlBytes[i]) / 1e6 * float64(b.N)
		b.ReportMetric(mb/cpu[i].Seconds(), fmt.Sprintf("MB/cpu-s-%d", n))
		b.ReportMetric(mb/wall[i].Seconds(), fmt.Sprintf("MB/s-%d", n))
		b.ReportMetric(retained[i], fmt.Sprintf("retained-B/B-%d", n))
	}
	if len(sizes) >= 2 {
		last := len(sizes) - 1
		b.ReportMetric(cpu[last].Seconds()/cpu[0].Seconds(), fmt.Sprintf("cpu-ratio-%d/%d", sizes[last], sizes[0]))
		b.ReportMetric(float64(yamlBytes[last])/float64(yamlBytes[0]), fmt.Sprintf("yaml-ratio-%d/%d", sizes[last], sizes[0]))
	}
}

func dirSize(b *testing.B, dir string) int64 {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err == nil {
			n += info.Size()
		}
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return n
}
