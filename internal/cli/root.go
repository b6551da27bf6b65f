// Package cli builds ringfence's command tree: one constructor per verb, no
// package-level flag variables, errors mapped to documented exit codes.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// Exit codes, documented in docs/exit-codes.md.
const (
	ExitOK = 0
	// ExitFindings: the command ran and found what it looks for (audit
	// findings at or above the threshold, flows that would break).
	ExitFindings = 1
	// ExitInput: bad usage or input that cannot be read.
	ExitInput = 2
	// ExitInternal: a bug in ringfence.
	ExitInternal = 3
)

// Streams are the command's standard streams.
type Streams struct {
	In       io.Reader
	Out, Err io.Writer
	// Now is the clock (time.Now when nil); tests fix it so outputs that
	// state an age stay the same.
	Now func() time.Time
}

func (s Streams) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

// usageError is a mistake in the command line.
type usageError struct{ error }

func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// NewRoot returns the ringfence command with every verb.
func NewRoot(s Streams) *cobra.Command {
	root := &cobra.Command{
		Use:   "ringfence",
		Short: "Fence ML workloads in on Kubernetes and AWS",
		Long: `ringfence reads Kubernetes manifests, live clusters, AWS security groups and AWS's
published IP ranges, computes who can reach whom across NetworkPolicies and
security groups, and tells you where ML workloads and their credentials are
exposed.`,
		Example: `  # What did ringfence read? Start here.
  ringfence inventory -f examples/ml-platform

  # The same from the cluster of your current kubeconfig context, all namespaces
  ringfence inventory -A

  # From standard input, as JSON
  kubectl get deploy,svc,netpol -A -o yaml | ringfence inventory -f - -o json`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(s.In)
	root.SetOut(s.Out)
	root.SetErr(s.Err)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(newVersion(s), newInventory(s), newReach(s), newExplain(s), newRanges(s), newAudit(s), newRules(s), newGenerate(s), newGencluster(s), newWhatif(s), newLearn(s), newReport(s), newController(s))
	return root
}

// Main runs ringfence with args and returns the exit code. A panic is a bug:
// it is reported in one line, without a stack trace, as an internal error.
func Main(ctx context.Context, args []string, s Streams) (code int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(s.Err, "ringfence: internal error: %v (please report this)\n", r)
			code = ExitInternal
		}
	}()
	root := NewRoot(s)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	var fe findingsError
	if errors.As(err, &fe) {
		return ExitFindings
	}
	msg := err.Error()
	fmt.Fprintf(s.Err, "ringfence: %s\n", msg)
	var ue usageError
	if errors.As(err, &ue) || strings.HasPrefix(msg, "unknown command") || strings.HasPrefix(msg, "unknown flag") {
		fmt.Fprintln(s.Err, "Run 'ringfence --help' for usage.")
	}
	return ExitInput
}

// findingsError makes a command exit 1 after printing its result.
type findingsError struct{}

func (findingsError) Error() string { return "findings" }

// outputFlag validates -o against the formats a verb supports.
type outputFlag struct {
	value   string
	formats []string
}

func (o *outputFlag) add(cmd *cobra.Command, formats ...string) {
	o.formats = formats
	cmd.Flags().StringVarP(&o.value, "output", "o", formats[0], "output format: "+strings.Join(formats, "|"))
}

func (o *outputFlag) check() error {
	for _, f := range o.formats {
		if o.value == f {
			return nil
		}
	}
	return usagef("unknown output format %q: use one of %s", o.value, strings.Join(o.formats, ", "))
}
