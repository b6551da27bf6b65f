package document

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/ringfence/ringfence/internal/gencluster"
	"sigs.k8s.io/yaml"
)

// BenchmarkReadGenerated reads the YAML of a generated 1,000-namespace
// cluster (gencluster: 8 workloads and 5 NetworkPolicies a namespace, one
// file a namespace, about 8 MB) into objects on one core (GOMAXPROCS 1
// whatever -cpu says) and reports MB of YAML per second of CPU time
// ("MB/cpu-s", steady on a shared machine), and the same for converting
// every document with sigs.k8s.io/yaml alone ("sigs-MB/cpu-s"): the path
// every document took before the fast one, measured in the same run.
func BenchmarkReadGenerated(b *testing.B) {
	dir := b.TempDir()
	if _, err := gencluster.Generate(gencluster.Config{Namespaces: 1000, Workloads: 8, Policies: 5, Seed: 1, Out: dir}); err != nil {
		b.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	var inputs [][]byte
	var size int64
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		inputs = append(inputs, data)
		size += int64(len(data))
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	b.SetBytes(size)
	var fast, sigs time.Duration
	b.ResetTimer()
	for b.Loop() {
		c0 := cpuTime()
		for i, data := range inputs {
			objs, err := Read(files[i], bytes.NewReader(data))
			if err != nil || len(objs) == 0 {
				b.Fatal(files[i], err)
			}
		}
		c1 := cpuTime()
		b.StopTimer()
		for i, data := range inputs {
			docs, err := split(files[i], data)
			if err != nil {
				b.Fatal(err)
			}
			for _, d := range docs {
				if _, err := yaml.YAMLToJSON(d.data); err != nil {
					b.Fatal(err)
				}
			}
		}
		c2 := cpuTime()
		b.StartTimer()
		fast += c1 - c0
		sigs += c2 - c1
	}
	mb := float64(size) / 1e6 * float64(b.N)
	b.ReportMetric(mb/fast.Seconds(), "MB/cpu-s")
	b.ReportMetric(mb/sigs.Seconds(), "sigs-MB/cpu-s")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
