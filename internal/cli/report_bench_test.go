package cli

import (
	"fmt"
	"io"
	"testing"

	"github.com/ringfence/ringfence/internal/gencluster"
)

// BenchmarkReportHTML is `report -o html` end to end on synthetic clusters
// with the AWS layer (8 workloads a namespace): 63 namespaces is the
// 500-workload environment the browser test opens.
func BenchmarkReportHTML(b *testing.B) {
	for _, n := range []int{63, 250} {
		dir := b.TempDir()
		if _, err := gencluster.Generate(gencluster.Config{Namespaces: n, Workloads: 8, Policies: 5, SecurityGroups: 6, Seed: 1, Out: dir}); err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("workloads=%d", n*8), func(b *testing.B) {
			for b.Loop() {
				if code := Main(b.Context(), []string{"report", "-f", dir, "-o", "html"}, Streams{Out: io.Discard, Err: io.Discard}); code != ExitOK {
					b.Fatalf("exit %d", code)
				}
			}
		})
	}
}
