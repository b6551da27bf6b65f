// Command ringfence fences ML workloads in on Kubernetes and AWS.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"

	"runtime/pprof"
	"sync"
	"syscall"
	"time"

	"github.com/ringfence/ringfence/internal/cli"
	"github.com/ringfence/ringfence/internal/memlimit"
)

func main() {
	// Signals first: a Ctrl-C must end the run however early it comes.
	args := os.Args[1:]
	ctx, cancel := context.WithCancelCause(context.Background())
	var exiting sync.Mutex
	interrupted := interrupt(cancel, cli.Grace(args), &exiting)
	// ringfence is a short-lived batch over one large heap (a cluster's
	// objects): it collects less often than Go's default, within a soft
	// limit derived from the memory the process may use. GOGC and
	// GOMEMLIMIT still win when set.
	memlimit.Configure()
	stop := profile(os.Getenv("RINGFENCE_CPUPROFILE"), os.Getenv("RINGFENCE_MEMPROFILE"))
	code := cli.Main(ctx, args, cli.Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr})
	// Held until the process ends: a late backstop neither prints a
	// second line nor changes the status.
	exiting.Lock()
	if intr, ok := interrupted(); ok && !cli.KeepsRunning(args) {
		code = intr.Code()
	}
	stop()
	os.Exit(code)
}

// interrupt cancels the run's context at SIGINT or SIGTERM (SIGTERM is how
// Kubernetes stops `ringfence controller`), with cli.Interrupted as the
// cause; the run then stops at its next check and cli.Main says so. A run
// that has not ended grace later, or a second signal, ends the process
// with the signal's exit status: a write blocked on a pipe nobody reads,
// or a call that cannot be stopped, must not outlive Ctrl-C. Its message
// says the run was cut, not stopped. The returned function reports the
// signal, if one came.
func interrupt(cancel context.CancelCauseFunc, grace time.Duration, exiting *sync.Mutex) func() (cli.Interrupted, bool) {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	got := make(chan cli.Interrupted, 1)
	go func() {
		intr := cli.Interrupted{Signal: <-sigs}
		got <- intr
		cancel(intr)
		how := "a second signal"
		select {
		case <-sigs:
		case <-time.After(grace):
			how = fmt.Sprintf("it did not stop within %s", grace)
		}
		exiting.Lock()
		fmt.Fprintf(os.Stderr, "ringfence: %s (cut short: %s)\n", intr, how)
		os.Exit(intr.Code())
	}()
	return func() (cli.Interrupted, bool) {
		select {
		case intr := <-got:
			return intr, true
		default:
			return cli.Interrupted{}, false
		}
	}
}

// profile starts a CPU profile into cpuPath and arranges a heap profile
// into memPath (either may be empty), for measuring ringfence on real
// inputs (docs/performance.md). The returned function writes them.
func profile(cpuPath, memPath string) func() {
	var cpu *os.File
	if cpuPath != "" {
		f, err := os.Create(cpuPath)
		if err != nil {
			fmt.Fprintf(os.Stderr, "ringfence: RINGFENCE_CPUPROFILE: %v\n", err)
		} else if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(os.Stderr, "ringfence: RINGFENCE_CPUPROFILE: %v\n", err)
			f.Close()
		} else {
			cpu = f
		}
	}
	return func() {
		if cpu != nil {
			pprof.StopCPUProfile()
			cpu.Close()
		}
		if memPath == "" {
			return
		}
		f, err := os.Create(memPath)
		if err != nil {
			fmt.Fprintf(os.Stderr, "ringfence: RINGFENCE_MEMPROFILE: %v\n", err)
			return
		}
		defer f.Close()
		if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
			fmt.Fprintf(os.Stderr, "ringfence: RINGFENCE_MEMPROFILE: %v\n", err)
		}
	}
}
