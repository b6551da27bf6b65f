package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ringfence/ringfence/internal/gencluster"
)

// BenchmarkDiff runs `diff -o json` on the 1,000-namespace synthetic
// cluster against a copy with 10 policies changed (a NodePort range widened
// in 10 namespaces), and `reach -o json` on one side in the same loop, so
// that a busy machine slows both alike. Target: ratio under 2.
func BenchmarkDiff(b *testing.B) {
	base := b.TempDir()
	if _, err := gencluster.Generate(gencluster.Config{Namespaces: 1000, Workloads: 8, Policies: 5, Seed: 1, Out: base}); err != nil {
		b.Fatal(err)
	}
	head := b.TempDir()
	files, _ := filepath.Glob(filepath.Join(base, "*.yaml"))
	changed := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		if changed < 10 && bytes.Contains(data, []byte("endPort: 30100")) {
			data = bytes.Replace(data, []byte("endPort: 30100"), []byte("endPort: 30200"), 1)
			changed++
		}
		if err := os.WriteFile(filepath.Join(head, filepath.Base(f)), data, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	if changed != 10 {
		b.Fatalf("changed %d policies, want 10", changed)
	}
	var reachNs, diffNs int64
	for b.Loop() {
		var out, errb bytes.Buffer
		start := time.Now()
		if code := Main(context.Background(), []string{"reach", "-f", base, "-o", "json"}, Streams{In: strings.NewReader(""), Out: &out, Err: &errb}); code != 0 {
			b.Fatal(errb.String())
		}
		mid := time.Now()
		out.Reset()
		if code := Main(context.Background(), []string{"diff", "--base", base, "--head", head, "-o", "json"}, Streams{In: strings.NewReader(""), Out: &out, Err: &errb}); code != ExitFindings {
			b.Fatalf("exit %d (10 widened ranges open ports): %s", code, errb.String())
		}
		reachNs += mid.Sub(start).Nanoseconds()
		diffNs += time.Since(mid).Nanoseconds()
	}
	b.ReportMetric(float64(reachNs)/float64(b.N)/1e6, "reach-ms/op")
	b.ReportMetric(float64(diffNs)/float64(b.N)/1e6, "diff-ms/op")
	b.ReportMetric(float64(diffNs)/float64(reachNs), "ratio")
}
