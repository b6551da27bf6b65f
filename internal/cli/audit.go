package cli

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/ringfence/ringfence/internal/check"
	"github.com/ringfence/ringfence/internal/render"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

func newAudit(s Streams) *cobra.Command {
	var in inputFlags
	var out outputFlag
	var failOn, failConfidence, rules, configFile string
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Find the risks of ML workloads across NetworkPolicies and security groups",
		Long: `audit runs every rule of the catalogue (ringfence rules) over the inputs: credentials
with open egress, reachable instance metadata, namespaces without default-deny, wide or
stale ipBlocks, open security groups, inference exposed to the internet, and more. Each
finding names the object, where it is written, the path that makes it true and the fix.

Findings are accepted with the annotation ringfence.dev/ignore: "RF007=reason" on the
object, or in a config file (.ringfence.yaml, or --config):

  suppressions:
  - rule: RF007
    object: SecurityGroup/sg-0a1b2c3d4e5f60001   # Kind/namespace/name; * matches a part
    reason: egress proxied by the NAT firewall   # required
    expires: 2027-01-31                          # optional

Suppressed findings are counted in the summary, listed with -v (as are the inputs
ringfence could not use), never fail the run.

One finding per cause: a security group rule, a namespace without default-deny, the
instances' metadata options are each reported once, listing the workloads they affect.
Each finding is certain (the inputs decide it) or possible (it holds if something the
inputs lack resolves badly, and says what it assumes); a possible finding is never
critical. --fail-on-confidence certain fails the run on certain findings only.

The header names the AWS ip-ranges publication and its age, with a warning past 30 days.

Exit status: 0 when no finding reaches --fail-on (and --fail-on-confidence), 1 when one
does, 2 on bad usage or input.`,
		Example: `  ringfence audit -f examples/ml-platform
  ringfence audit -f manifests/ -f aws/ --fail-on critical -o json
  ringfence audit -f manifests/ --fail-on high --fail-on-confidence certain
  ringfence audit --context prod -A --rules RF001,RF009 -o markdown
  ringfence audit -f manifests/ -o sarif > ringfence.sarif   # GitHub code scanning`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := out.check(); err != nil {
				return err
			}
			threshold, err := check.ParseSeverity(failOn)
			if err != nil {
				return usageError{err}
			}
			certainOnly := false
			switch failConfidence {
			case string(check.ConfidenceCertain):
				certainOnly = true
			case string(check.ConfidencePossible):
			default:
				return usagef("--fail-on-confidence %q: use certain or possible", failConfidence)
			}
			run, err := in.audit(cmd, s, rules, configFile)
			if err != nil {
				return err
			}
			findings := run.findings
			report := render.NewAuditReport(findings, run.check.Ranges.SyncToken)
			report.Ranges = render.NewRangesAge(run.check.Ranges, s.now())
			report.Verbose = in.verbose
			report.Color = colorful(s.Out)
			switch out.value {
			case "json":
				err = in.json(s.Out, report, "")
			case "markdown":
				err = render.AuditMarkdown(s.Out, report)
			case "sarif":
				err = render.AuditSARIF(s.Out, report, check.Rules(), Version())
			default:
				err = render.AuditTable(s.Out, report)
			}
			if err != nil {
				return err
			}
			for _, f := range findings {
				if f.Suppressed == nil && f.Severity >= threshold && (f.Certain() || !certainOnly) {
					return findingsError{}
				}
			}
			return nil
		},
	}
	in.add(cmd)
	in.addApply(cmd)
	out.add(cmd, "table", "json", "sarif", "markdown")
	cmd.Flags().StringVar(&failOn, "fail-on", "high", "exit 1 when a finding is at least this severe: critical, high, medium, low, info or none")
	cmd.Flags().StringVar(&failConfidence, "fail-on-confidence", "possible", "with --fail-on, count only findings at least this sure: possible (every finding) or certain (only those the inputs decide)")
	cmd.Flags().StringVar(&rules, "rules", "", "run only these rules (comma-separated IDs)")
	cmd.Flags().StringVar(&in.rangesFile, "ranges-file", "", "AWS ip-ranges.json to compare ipBlocks with (default: the cached or embedded publication)")
	cmd.Flags().StringVar(&configFile, "config", "", "suppressions file (default: .ringfence.yaml when present)")
	return cmd
}

func newRules(s Streams) *cobra.Command {
	var out outputFlag
	cmd := &cobra.Command{
		Use:     "rules",
		Short:   "List the audit rules: ID, severity, rationale, remediation",
		Example: "  ringfence rules\n  ringfence rules -o markdown > docs/rules.md",
		Args:    cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if err := out.check(); err != nil {
				return err
			}
			rules := check.Rules()
			switch out.value {
			case "json":
				return render.JSON(s.Out, rules)
			case "markdown":
				return render.RulesMarkdown(s.Out, rules)
			}
			for _, r := range rules {
				if _, err := fmt.Fprintf(s.Out, "%s  %-8s  %s\n", r.ID, r.Severity, r.Title); err != nil {
					return err
				}
			}
			return nil
		},
	}
	out.add(cmd, "text", "json", "markdown")
	return cmd
}

// auditRun is what audit and report compute: the rules' context (the
// world, its analysis, the ranges) and the findings after suppressions.
type auditRun struct {
	check    *check.Context
	findings []check.Finding
}

// audit loads and analyses the inputs and runs the rules (all, or the
// comma-separated --rules), then applies the suppressions of the config
// (--config, else .ringfence.yaml when present), warning of expired ones.
func (f *inputFlags) audit(cmd *cobra.Command, s Streams, rules, configFile string) (*auditRun, error) {
	var ids []string
	if rules != "" {
		ids = strings.Split(rules, ",")
	}
	res, a, err := f.analyse(cmd, "workload")
	if err != nil {
		return nil, err
	}
	doc, err := rangesSource(f.rangesFile)
	if err != nil {
		return nil, err
	}
	groups, _ := f.nodeGroups()
	ctx := &check.Context{World: res.World, Analysis: a, Ranges: doc, NodeGroups: groups}
	findings, err := check.Run(ctx, ids)
	if err != nil {
		if a.Err() != nil {
			return nil, err // stopped (Ctrl-C)
		}
		return nil, usageError{err}
	}
	if configFile == "" {
		if _, err := os.Stat(".ringfence.yaml"); err == nil {
			configFile = ".ringfence.yaml"
		}
	}
	var cfg *check.Config
	if configFile != "" {
		if cfg, err = check.LoadConfig(configFile); err != nil {
			return nil, err
		}
	}
	findings, expired := check.Suppress(findings, res.World, cfg, configFile, s.now())
	for _, e := range expired {
		fmt.Fprintf(s.Err, "ringfence: warning: %s\n", e)
	}
	return &auditRun{check: ctx, findings: findings}, nil
}

// colorful reports whether w is a terminal that wants colour (NO_COLOR
// unset): pipes and files get plain text.
func colorful(w io.Writer) bool {
	return os.Getenv("NO_COLOR") == "" && isTerminal(w)
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := unwrap(w).(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
