package cli

import (
	"bytes"
	"io"
	"testing"

	"github.com/ringfence/ringfence/internal/engine"
	"github.com/ringfence/ringfence/internal/render"
)

// TestReachCompactRendersAsReach holds `reach`'s compact result
// (ReachCompact: connections as peer ranks sharing verdicts, each verdict's
// text or JSON written once) to the full connection list (Reach, which
// every other command reads, written connection by connection): every
// output format byte for byte the same, on generated clusters (with and
// without the AWS layer) and every example.
func TestReachCompactRendersAsReach(t *testing.T) {
	formats := map[string]func(io.Writer, *engine.Result) error{
		"text": render.ReachText,
		"json": render.ReachJSON,
		"csv":  render.ReachCSV,
		"md":   render.ReachMarkdown,
		"dot":  render.ReachDot,
	}
	for name, dir := range intoInputs(t) {
		t.Run(name, func(t *testing.T) {
			_, a := analyseDir(t, dir)
			full, compact := a.Reach(), a.ReachCompact()
			if !compact.Compact() || full.Compact() || compact.Connections != nil {
				t.Fatalf("Compact: ReachCompact %t (Connections %d), Reach %t", compact.Compact(), len(compact.Connections), full.Compact())
			}
			if compact.ConnectionCount() != len(full.Connections) || len(full.Connections) == 0 && name == "generated" {
				t.Fatalf("%d compact connections, %d in Reach", compact.ConnectionCount(), len(full.Connections))
			}
			for format, write := range formats {
				var want, got bytes.Buffer
				if err := write(&want, full); err != nil {
					t.Fatal(err)
				}
				if err := write(&got, compact); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got.Bytes(), want.Bytes()) {
					t.Errorf("%s: compact result writes %d bytes, Reach's %d; first difference at byte %d", format, got.Len(), want.Len(), firstDiff(got.Bytes(), want.Bytes()))
				}
			}
		})
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
