package cli

import (
	"bytes"
	"strings"
	"testing"
)

// TestProgress draws the bar as it would on a terminal, and checks that
// it is off elsewhere (a buffer is not a terminal). One line stands for
// every file of a directory.
func TestProgress(t *testing.T) {
	var buf bytes.Buffer
	if p := newProgress(&buf, "flows.log", 1000, 1); p.on {
		t.Fatal("progress on for a buffer")
	}
	p := &progress{w: &buf, on: true, name: "flows.log", size: 1000, filesN: 1}
	p.add(500, 1234)
	p.done()
	got := buf.String()
	if !strings.Contains(got, "\rflows.log [===============               ]  50% 1234 records") || !strings.HasSuffix(got, "\r\033[K") {
		t.Errorf("progress drew %q", got)
	}
	buf.Reset()
	p = &progress{w: &buf, on: true, name: "AWSLogs", size: 1000, filesN: 3}
	p.add(250, 10)
	p.fileDone()
	p.done()
	if got := buf.String(); !strings.Contains(got, "\rAWSLogs [=======                       ]  25% 0/3 files, 10 records") || strings.Count(got, "\r") != 2 {
		t.Errorf("progress drew %q", got)
	}
}
