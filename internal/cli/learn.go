package cli

import (
	"fmt"
	"strings"

	"github.com/ringfence/ringfence/internal/engine"
	"github.com/ringfence/ringfence/internal/render"
	"github.com/ringfence/ringfence/internal/whatif"
	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"
)

func newLearn(s Streams) *cobra.Command {
	var in inputFlags
	var out outputFlag
	var ff flowFlags
	cmd := &cobra.Command{
		Use:   "learn -f <inputs> --flows <flow log>",
		Short: "Propose the smallest additions that allow the observed flows the policies deny",
		Long: `learn reads observed traffic (AWS VPC Flow Logs, Hubble flows, or a CSV), finds the
flows the inputs' NetworkPolicies would deny although the log saw them allowed
(what whatif reports as breaking), and proposes the smallest additions that let
them through, with the flows and record counts behind each:

  - NetworkPolicies added beside the existing ones (policies add up, so nothing
    else changes): one per workload and direction, one rule per destination;
  - the same needs as Fence intents (ringfence.dev/v1alpha1) for ringfence generate.

Destinations are grouped: an AWS service's published ranges in a region (aggregated,
from the ranges publication; EC2 and AMAZON are not services one can name this way),
a workload's pods by their labels (as the cluster DNS, the job's own peers or a
Service in the Fence), and otherwise the observed addresses one by one, with a
warning: learn never proposes 0.0.0.0/0 or ::/0, and never the instance metadata
service. Flows that the security groups deny are listed, not learned.

-o yaml prints the NetworkPolicies (apply them, or give them to whatif with -f to
check that nothing breaks any more), -o fences the Fences, -o text the additions and
why, -o json all of it.`,
		Example: `  ringfence learn -f examples/ml-platform -f examples/flows/ml-platform/pods.yaml \
    --flows examples/flows/ml-platform/vpc-flow-log.txt > learned.yaml
  ringfence whatif -f examples/ml-platform -f examples/flows/ml-platform/pods.yaml -f learned.yaml \
    --flows examples/flows/ml-platform/vpc-flow-log.txt      # nothing breaks
  ringfence learn -f cluster/ --flows flows.csv -o fences > fences.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := out.check(); err != nil {
				return err
			}
			res, err := in.load(cmd)
			if err != nil {
				return err
			}
			groups, _ := in.nodeGroups()
			a, err := engine.Analyse(res.World, engine.Options{NodeGroups: groups})
			if err != nil {
				return err
			}
			agg, skipped, err := ff.aggregate(cmd, s, res.World)
			if err != nil {
				return err
			}
			doc, err := rangesSource(ff.rangesFile)
			if err != nil {
				return err
			}
			r := whatif.Compare(agg, nil, whatif.NewState(res.World, a))
			r.Inputs, r.Skipped = ff.files, skipped
			l := whatif.Learn(r, res.World, doc, strings.Join(ff.files, ","))
			switch out.value {
			case "json":
				// learn's warnings join the load's in one array.
				out := *l
				out.Warnings = nil
				return in.json(s.Out, &out, "learn", l.Warnings...)
			case "text":
				return render.LearnText(s.Out, l)
			case "fences":
				fmt.Fprintf(s.Out, "# Fences learned by ringfence from %s: review before use.\n", strings.Join(ff.files, ", "))
				for _, f := range l.Fences {
					b, err := yaml.Marshal(f)
					if err != nil {
						return err
					}
					fmt.Fprintf(s.Out, "---\n%s", b)
				}
				return nil
			}
			return writeLearned(s, l, ff.files)
		},
	}
	in.add(cmd)
	ff.add(cmd)
	out.add(cmd, "yaml", "fences", "text", "json")
	return cmd
}

// writeLearned writes the policies, each after the additions it holds and
// why.
func writeLearned(s Streams, l *whatif.Learned, files []string) error {
	fmt.Fprintf(s.Out, "# NetworkPolicies learned by ringfence from %s: additions beside the existing policies.\n", strings.Join(files, ", "))
	if len(l.Policies) == 0 {
		fmt.Fprintf(s.Out, "# (nothing to add: the inputs allow every observed flow)\n")
	}
	for _, r := range l.Refused {
		fmt.Fprintf(s.Out, "# Not learned: %s\n", r)
	}
	for _, p := range l.Policies {
		fmt.Fprintf(s.Out, "---\n")
		for _, a := range l.Additions {
			if a.Workload != p.Namespace+"/"+strings.TrimSuffix(strings.TrimPrefix(p.Name, "ringfence-learned-"), "-"+a.Direction) || !strings.HasSuffix(p.Name, "-"+a.Direction) {
				continue
			}
			fmt.Fprintf(s.Out, "# %s to %s on %s: %d flows, %d records\n", a.Direction, a.Peer, strings.Join(a.Ports, ", "), a.Flows, a.Records)
			for _, w := range a.Why {
				fmt.Fprintf(s.Out, "#   %s\n", w)
			}
			if a.Warning != "" {
				fmt.Fprintf(s.Out, "#   warning: %s\n", a.Warning)
			}
		}
		b, err := yaml.Marshal(p)
		if err != nil {
			return err
		}
		if _, err := s.Out.Write(b); err != nil {
			return err
		}
	}
	return nil
}
