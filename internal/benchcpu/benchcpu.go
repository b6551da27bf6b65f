// Package benchcpu measures benchmarks in CPU time. On a shared machine the
// wall clock counts the time other processes hold the core; the process's
// CPU time does not (it still suffers from their cache and SMT contention),
// so with -cpu 1 a rate per CPU second is a rate per core that a loaded
// machine skews less.
package benchcpu

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Time is the CPU time (user and system) the process has used so far.
func Time() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Report reports n per second of the CPU time used since start, as unit
// (for example "lines/s/core").
func Report(b *testing.B, start time.Duration, n float64, unit string) {
	if d := Time() - start; d > 0 {
		b.ReportMetric(n/d.Seconds(), unit)
	}
}

// Sizes is the list of cluster sizes a scaling benchmark runs: the
// comma-separated counts in the environment variable env, else def. A
// count that is not a positive number fails the benchmark.
func Sizes(b *testing.B, env string, def ...int) []int {
	s := os.Getenv(env)
	if s == "" {
		return def
	}
	var sizes []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			b.Fatalf("%s: %q is not a namespace count", env, f)
		}
		sizes = append(sizes, n)
	}
	return sizes
}
