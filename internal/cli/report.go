package cli

import (
	"github.com/ringfence/ringfence/internal/check"
	"github.com/ringfence/ringfence/internal/render"
	"github.com/ringfence/ringfence/internal/report"
	"github.com/spf13/cobra"
)

func newReport(s Streams) *cobra.Command {
	var in inputFlags
	var out outputFlag
	var rules, configFile string
	var force bool
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Write a report of the audit and of who reaches what: one self-contained HTML page, DOT or JSON",
		Long: `report runs the audit and draws the environment: the ingress path from the internet,
the workloads by namespace, and the destinations outside the cluster (the internet,
the AWS services the inputs name, the instance metadata service), each edge coloured
by what the NetworkPolicies and the security groups say about it.

-o html writes a single file with everything inline (no network fetches): the
counts by severity, the worst paths in words, the findings with their paths and
fixes, and an interactive graph with filters by namespace and severity.
-o dot writes the same graph for Graphviz; -o json the report's model.

Suppressions work as for audit (ringfence.dev/ignore annotations, .ringfence.yaml
or --config): suppressed findings are counted and listed as such.

Exit status: 0 when the report was written, whatever it found (use audit --fail-on
to gate a pipeline), 2 on bad usage or input.`,
		Example: `  ringfence report -f examples/ml-platform -o html > report.html
  ringfence report -f manifests/ -f aws/ -o dot | dot -Tsvg > reach.svg
  ringfence report --context prod -A -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := out.check(); err != nil {
				return err
			}
			// A page of HTML is not for reading in a terminal: ask for a
			// redirection unless -o html was given with --force.
			if out.value == "html" && isTerminal(s.Out) && !(force && cmd.Flags().Changed("output")) {
				return usagef("report writes an HTML page: redirect it to a file (ringfence report ... > report.html), or give -o html --force to print it here")
			}
			run, err := in.audit(cmd, s, rules, configFile)
			if err != nil {
				return err
			}
			c := run.check
			r := report.Build(report.Input{
				World: c.World, Analysis: c.Analysis, Reach: c.Reach(), Findings: run.findings,
				Rules: check.Rules(), Ranges: c.Ranges, Inputs: in.describe(),
			})
			switch out.value {
			case "json":
				return in.json(s.Out, r, "")
			case "dot":
				return render.ReportDOT(s.Out, r)
			}
			return render.ReportHTML(s.Out, r, Version())
		},
	}
	in.add(cmd)
	in.addApply(cmd)
	out.add(cmd, "html", "dot", "json")
	cmd.Flags().StringVar(&rules, "rules", "", "run only these rules (comma-separated IDs)")
	cmd.Flags().StringVar(&in.rangesFile, "ranges-file", "", "AWS ip-ranges.json to resolve AWS services and the internet with (default: the cached or embedded publication)")
	cmd.Flags().StringVar(&configFile, "config", "", "suppressions file (default: .ringfence.yaml when present)")
	cmd.Flags().BoolVar(&force, "force", false, "with -o html, write the page to a terminal")
	return cmd
}

// describe names the inputs for the report's header: the files, and the
// cluster context when one is read.
func (f *inputFlags) describe() []string {
	out := append([]string{}, f.files...)
	for _, k := range f.kustomize {
		out = append(out, "kustomization: "+k)
	}
	if f.chart != "" {
		out = append(out, "chart: "+f.chart)
	}
	if f.fileless() || f.context != "" || f.kubeconfig != "" {
		ctx := f.context
		if ctx == "" {
			ctx = "the current kubeconfig context"
		}
		out = append(out, "cluster: "+ctx)
	}
	return out
}
