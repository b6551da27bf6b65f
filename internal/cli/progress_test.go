package cli

import (
	"bytes"
	"strings"
	"testing"
)

// TestProgress draws the bar as it would on a terminal, and checks that
// it is off elsewhere (a buffer is not a terminal).
func TestProgress(t *testing.T) {
	var buf bytes.Buffer
	if p := newProgress(&buf, "flows.log", 1000); p.on {
		t.Fatal("progress on for a buffer")
	}
	p := &progress{w: &buf, on: true, name: "flows.log", size: 1000}
	p.update(500, 1234)
	p.done()
	got := buf.String()
	if !strings.Contains(got, "\rflows.log [===============               ]  50% 1234 records") || !strings.HasSuffix(got, "\r\033[K") {
		t.Errorf("progress drew %q", got)
	}
}
