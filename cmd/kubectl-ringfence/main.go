// Command kubectl-ringfence is ringfence as a kubectl plugin: installed on
// the PATH (by krew, or by hand), `kubectl ringfence <verb>` runs it. It is
// the same program as cmd/ringfence; only the name it shows differs.
package main

import (
	"context"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/ringfence/ringfence/internal/cli"
)

func main() {
	// The same run-time settings as cmd/ringfence (see there why).
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(1 << 30)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.MainAs(ctx, "kubectl ringfence", os.Args[1:], cli.Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr})
	stop()
	os.Exit(code)
}
