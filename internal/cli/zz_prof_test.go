package cli

import (
	"context"
	"io"
	"os"
	"runtime/pprof"
	"strings"
	"testing"
)

func TestZZProf(t *testing.T) {
	f, _ := os.Create("/tmp/cpu14.prof")
	pprof.StartCPUProfile(f)
	code := Main(context.Background(), strings.Fields(os.Getenv("ZZARGS")), Streams{In: strings.NewReader(""), Out: io.Discard, Err: os.Stderr, Now: testNow})
	pprof.StopCPUProfile()
	t.Log(code)
}
