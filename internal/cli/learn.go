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
	var widen int
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

Observed addresses that no service names are covered, per workload and
direction (one set for all the workload's roles), by published prefixes and
then the smallest common prefixes: at most 64 ipBlocks, none wider than
--widen-budget bits beyond an address. learn then judges the flows again with
its additions applied and exits 1, saying which flows and why, when whatif on
the same flows would still report something broken.

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
			eopts, err := in.engineOptions(cmd.Context(), groups)
			if err != nil {
				return err
			}
			a, err := engine.Analyse(res.World, eopts)
			if err != nil {
				return err
			}
			agg, read, err := ff.aggregate(cmd, s, res.World)
			if err != nil {
				return err
			}
			doc, err := rangesSource(ff.rangesFile)
			if err != nil {
				return err
			}
			r := whatif.Compare(agg, nil, whatif.NewState(res.World, a))
			r.Inputs, r.Skipped, r.Files = ff.files, read.skipped, read.files
			if widen < 0 || widen > whatif.MaxWiden {
				return usagef("--widen-budget %d: want 0 to %d bits", widen, whatif.MaxWiden)
			}
			l := whatif.Learn(r, res.World, doc, strings.Join(ff.files, ","), widen)
			// Converges? Judge what was to be let through again, with the
			// additions applied.
			nw := whatif.WithPolicies(res.World, l.Policies)
			na, err := engine.Analyse(nw, eopts)
			if err != nil {
				return err
			}
			l.Unresolved = whatif.Verify(r, whatif.NewState(nw, na))
			if err := writeLearnedAs(s, &in, out.value, l, ff.files); err != nil {
				return err
			}
			if len(l.Refused) > 0 || len(l.Unresolved) > 0 {
				fmt.Fprintf(s.Err, "ringfence learn: with these additions, whatif on the same flows would still report flows as broken:\n")
				for _, why := range append(append([]string(nil), l.Refused...), l.Unresolved...) {
					fmt.Fprintf(s.Err, "  %s\n", why)
				}
				return findingsError{}
			}
			return nil
		},
	}
	in.add(cmd)
	ff.add(cmd)
	cmd.Flags().IntVar(&widen, "widen-budget", 8, "how many bits learn may widen observed addresses (not AWS services) to cover them in at most 64 ipBlocks: 8 allows up to a /24 for IPv4, a /120 for IPv6; 0 names every address")
	out.add(cmd, "yaml", "fences", "text", "json")
	return cmd
}

// writeLearnedAs writes what learn proposes in an output format.
func writeLearnedAs(s Streams, in *inputFlags, format string, l *whatif.Learned, files []string) error {
	switch format {
	case "json":
		// learn's warnings join the load's in one array.
		out := *l
		out.Warnings = nil
		return in.json(s.Out, &out, "learn", l.Warnings...)
	case "text":
		return render.LearnText(s.Out, l)
	case "fences":
		fmt.Fprintf(s.Out, "# Fences learned by ringfence from %s: review before use.\n", strings.Join(files, ", "))
		for _, f := range l.Fences {
			b, err := yaml.Marshal(f)
			if err != nil {
				return err
			}
			fmt.Fprintf(s.Out, "---\n%s", b)
		}
		return nil
	}
	return writeLearned(s, l, files)
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
	for _, r := range l.Unresolved {
		fmt.Fprintf(s.Out, "# Still broken with these additions: %s\n", r)
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
