package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"syscall"
	"time"
)

// Interrupted is the cause of the run's context when a signal ends it.
type Interrupted struct{ Signal os.Signal }

func (i Interrupted) Error() string {
	return "interrupted by " + signalName(i.Signal)
}

// Code is the shell's exit status for the signal: 128 + its number (130
// for SIGINT, 143 for SIGTERM).
func (i Interrupted) Code() int {
	if s, ok := i.Signal.(syscall.Signal); ok {
		return 128 + int(s)
	}
	return 128 + int(syscall.SIGINT)
}

func signalName(s os.Signal) string {
	switch s {
	case os.Interrupt:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return fmt.Sprint(s)
}

// Grace is how long a run may take to end after a signal before the
// process exits anyway. Loading stops at once (reads take the context),
// analysis between policies and between sources (engine.Options.Context)
// and audit between rules, and output is refused (stoppable); what is
// left is a write blocked on a pipe nobody reads, or a library call that
// cannot be stopped. Every verb but the controller gets half a second for
// those, well inside the second users expect. The controller
// finishes its reconciles and releases its Lease, within the 30 seconds
// Kubernetes gives a pod by default.
func Grace(args []string) time.Duration {
	if KeepsRunning(args) {
		return 25 * time.Second
	}
	return 500 * time.Millisecond
}

// KeepsRunning reports whether args run the controller, which runs until
// stopped and exits 0 after a clean shutdown (docs/exit-codes.md).
func KeepsRunning(args []string) bool {
	return len(args) > 0 && args[0] == "controller"
}

// stoppable is a run's standard output: once the run is stopped (Ctrl-C),
// writes fail with the cause, so that no verb prints what it computed from
// an analysis cut short, and a long output ends at its next write.
type stoppable struct {
	ctx context.Context
	w   io.Writer
}

func (s stoppable) Write(p []byte) (int, error) {
	if s.ctx.Err() != nil {
		return 0, context.Cause(s.ctx)
	}
	return s.w.Write(p)
}

// unwrap is the writer under a stoppable one (colour and progress bars ask
// whether it is a terminal).
func unwrap(w io.Writer) io.Writer {
	if s, ok := w.(stoppable); ok {
		return s.w
	}
	return w
}
