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
	// ExitBreaking: generate refused output that would cut a workload's
	// need (--allow-breaking writes it).
	ExitBreaking = 4
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

  # A whole repository: paths as arguments, templated files excluded
  # (or listed in a .ringfenceignore at its root); -v lists what was skipped
  ringfence audit ./deploy --ignore 'templates/' --ignore '**/jobs/*.json' -v

  # A kustomization (as kubectl -k) or a local Helm chart (as helm template)
  ringfence audit -k overlays/prod
  ringfence audit --chart charts/web --values prod.yaml --set networkPolicy.enabled=true

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
	root.AddCommand(newVersion(s), newInventory(s), newReach(s), newExplain(s), newRanges(s), newAudit(s), newRules(s), newGenerate(s), newGencluster(s), newWhatif(s), newLearn(s), newReport(s), newController(s), newDiff(s))
	return root
}

// Main runs ringfence with args and returns the exit code. A panic is a bug:
// it is reported in one line, without a stack trace, as an internal error.
func Main(ctx context.Context, args []string, s Streams) int {
	return MainAs(ctx, "", args, s)
}

// MainAs is Main under another displayed name: "kubectl ringfence" for the
// kubectl plugin, so that usage, examples and hints read as the user types
// them. An empty name keeps "ringfence".
func MainAs(ctx context.Context, name string, args []string, s Streams) (code int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(s.Err, "ringfence: internal error: %v (please report this)\n", r)
			code = ExitInternal
		}
	}()
	if !KeepsRunning(args) {
		s.Out = stoppable{ctx: ctx, w: s.Out}
	}
	root := NewRoot(s)
	if name != "" {
		setDisplayName(root, name)
	}
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	var intr Interrupted
	if ctx.Err() != nil && errors.As(context.Cause(ctx), &intr) && !KeepsRunning(args) {
		fmt.Fprintf(s.Err, "ringfence: %s\n", intr)
		return intr.Code()
	}
	if err == nil {
		return ExitOK
	}
	var fe findingsError
	if errors.As(err, &fe) {
		return ExitFindings
	}
	if errors.As(err, new(breakingError)) {
		return ExitBreaking
	}
	msg := err.Error()
	fmt.Fprintf(s.Err, "ringfence: %s\n", msg)
	var ue usageError
	if errors.As(err, &ue) || strings.HasPrefix(msg, "unknown command") || strings.HasPrefix(msg, "unknown flag") {
		if cmd == nil {
			cmd = root
		}
		fmt.Fprintf(s.Err, "Run '%s --help' for usage.\n", cmd.CommandPath())
	}
	return ExitInput
}

// setDisplayName shows the command as name (root's usage line, every
// verb's usage and examples).
func setDisplayName(root *cobra.Command, name string) {
	if root.Annotations == nil {
		root.Annotations = map[string]string{}
	}
	root.Annotations[cobra.CommandDisplayNameAnnotation] = name
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		lines := strings.Split(c.Example, "\n")
		for i, l := range lines {
			t := strings.TrimLeft(l, " ")
			if strings.HasPrefix(t, "ringfence ") {
				lines[i] = l[:len(l)-len(t)] + name + strings.TrimPrefix(t, "ringfence")
			}
			lines[i] = strings.ReplaceAll(lines[i], "| ringfence ", "| "+name+" ")
		}
		c.Example = strings.Join(lines, "\n")
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// findingsError makes a command exit 1 after printing its result.
type findingsError struct{}

func (findingsError) Error() string { return "findings" }

// outputFlag validates -o against the formats a verb supports. One
// vocabulary across verbs: "text" for people (audit's older "table" is an
// alias) and "md" for Markdown ("markdown" is an alias); the verb sees
// the spelling it declared, its help the common one.
type outputFlag struct {
	value   string
	formats []string
}

// canonicalFormat returns the common spelling of a format.
func canonicalFormat(f string) string {
	switch f {
	case "table":
		return "text"
	case "markdown":
		return "md"
	}
	return f
}

func (o *outputFlag) add(cmd *cobra.Command, formats ...string) {
	o.formats = formats
	shown := make([]string, len(formats))
	for i, f := range formats {
		shown[i] = canonicalFormat(f)
	}
	cmd.Flags().StringVarP(&o.value, "output", "o", shown[0], "output format: "+strings.Join(shown, "|"))
}

func (o *outputFlag) check() error {
	shown := make([]string, len(o.formats))
	for i, f := range o.formats {
		if o.value == f || canonicalFormat(o.value) == canonicalFormat(f) {
			o.value = f
			return nil
		}
		shown[i] = canonicalFormat(f)
	}
	return usagef("unknown output format %q: use one of %s", o.value, strings.Join(shown, ", "))
}
