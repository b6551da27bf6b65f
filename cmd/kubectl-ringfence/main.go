// Command kubectl-ringfence is ringfence as a kubectl plugin: installed on
// the PATH (by krew, or by hand), `kubectl ringfence <verb>` runs it. It is
// the same program as cmd/ringfence; only the name it shows differs.
package main

import (
	"context"
	"os"
	"os/signal"

	"syscall"

	"github.com/ringfence/ringfence/internal/cli"
	"github.com/ringfence/ringfence/internal/memlimit"
)

func main() {
	// The same run-time settings as cmd/ringfence (it had kept the fixed
	// 1 GiB soft limit issue 18 replaced there).
	memlimit.Configure()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.MainAs(ctx, "kubectl ringfence", os.Args[1:], cli.Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr})
	stop()
	os.Exit(code)
}
