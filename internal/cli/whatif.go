package cli

import (
	"github.com/ringfence/ringfence/internal/engine"
	"github.com/ringfence/ringfence/internal/load"
	"github.com/ringfence/ringfence/internal/model"
	"github.com/ringfence/ringfence/internal/render"
	"github.com/ringfence/ringfence/internal/whatif"
	"github.com/spf13/cobra"
)

func newWhatif(s Streams) *cobra.Command {
	var in inputFlags
	var out outputFlag
	var ff flowFlags
	var proposed []string
	cmd := &cobra.Command{
		Use:   "whatif -f <current> [--proposed <files>] --flows <flow log>",
		Short: "Which observed flows a policy change would cut, and the rule that cuts each",
		Long: `whatif replays observed traffic (AWS VPC Flow Logs, Hubble flows, or a CSV)
against a configuration and lists the flows that are allowed today and would be
denied, grouped by workload and destination, with the NetworkPolicy or security
group that would deny each and how many records it carries. It exits 1 when
anything would break.

Two ways to say what "today" and "the proposal" are:

  -f <inputs> --flows <log>
      The inputs (policies included) are the proposal; today is what the log
      saw: every record it does not mark rejected (VPC REJECT, Hubble DROPPED)
      was allowed. Use it before applying policies to a cluster that has been
      running without them.
  -f <current> --proposed <files> --flows <log>
      Today is the -f inputs; the proposal is the same inputs with the objects
      of --proposed laid over them: an object with the kind, namespace and name
      (a security group: the id) of a current one replaces it, others are added,
      and one annotated ringfence.dev/whatif: delete removes its namesake.

Addresses map to pods (pod IPs from a live cluster or Pod status), nodes,
Services (ClusterIPs, judged after DNAT on the target port of the pods behind
them), AWS services (aws:S3:us-east-1, the most specific published service),
imds, eks-pod-identity, private and internet. Records are aggregated by
(source, destination, protocol, port) before anything is judged; replies are
counted and judged with the connection they answer. Which side opened a
connection is told by TCP flags or Hubble's is_reply, the ports a pod or
Service listens on, the service port, mirror-image records and the
statefulness of security groups, in that order; the report counts the records
each rule oriented, and a conversation none of them orients is judged both ways
and reported as ambiguous when only one way breaks.

--flows takes files, standard input or a directory tree of .log/.log.gz files
as VPC Flow Logs deliver them to S3 (read in parallel); CloudWatch Logs JSON
(subscription payloads, filter-log-events output) and exports; CSV with the
flow-log columns (Athena results). An input without flow records is an error.`,
		Example: `  ringfence whatif -f examples/ml-platform -f examples/flows/ml-platform/pods.yaml \
    --flows examples/flows/ml-platform/vpc-flow-log.txt
  ringfence whatif -f cluster/ --proposed new-policies.yaml --flows flowlog.log.gz -o markdown
  hubble observe -o json --last 100000 | ringfence whatif -A --proposed lockdown.yaml --flows -
  aws s3 sync s3://flow-logs/AWSLogs/ ./AWSLogs/ && ringfence whatif -f cluster/ --flows ./AWSLogs --since 24h`,
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
			var current, next *whatif.State
			world := res.World
			if in.applyFences {
				// The proposal is generate's output for the Fences of the
				// inputs; today is the inputs as they are.
				if len(proposed) > 0 {
					return usagef("--apply-fences and --proposed: give one proposal")
				}
				a, err := engine.Analyse(world, eopts)
				if err != nil {
					return err
				}
				current = whatif.NewState(world, a)
				if err := in.apply(cmd, res, groups); err != nil {
					return err
				}
				world, res.World = res.World, world
			}
			if len(proposed) > 0 {
				a, err := engine.Analyse(world, eopts)
				if err != nil {
					return err
				}
				current = whatif.NewState(world, a)
				popts, err := in.options(cmd)
				if err != nil {
					return err
				}
				popts.Files, popts.Cluster, popts.Kustomize, popts.Charts = proposed, nil, nil, nil
				pres, err := load.Load(cmd.Context(), popts)
				if err != nil {
					return err
				}
				// What the proposal's files could not use is reported with the rest.
				res.Report.Warnings = append(res.Report.Warnings, pres.Report.All()...)
				in.summarize(cmd.ErrOrStderr(), pres.Report)
				world = whatif.Overlay(world, pres.World)
			}
			a, err := engine.Analyse(world, eopts)
			if err != nil {
				return err
			}
			next = whatif.NewState(world, a)
			worlds := []*model.World{res.World}
			if world != res.World {
				worlds = append(worlds, world)
			}
			agg, read, err := ff.aggregate(cmd, s, worlds...)
			if err != nil {
				return err
			}
			r := whatif.Compare(agg, current, next)
			r.Inputs, r.Skipped, r.Files = ff.files, read.skipped, read.files
			r.Proposed = "the -f inputs"
			if len(proposed) > 0 {
				r.Proposed = "the -f inputs with --proposed laid over them"
			}
			if in.applyFences {
				r.Proposed = "the -f inputs with generate's output for their Fences applied"
			}
			switch out.value {
			case "json":
				err = in.json(s.Out, r, "")
			case "markdown":
				err = render.WhatifMarkdown(s.Out, r)
			default:
				err = render.WhatifText(s.Out, r)
			}
			if err != nil {
				return err
			}
			if r.Broke() {
				return findingsError{}
			}
			return nil
		},
	}
	in.add(cmd)
	in.addApply(cmd)
	ff.add(cmd)
	out.add(cmd, "text", "json", "markdown")
	cmd.Flags().StringArrayVar(&proposed, "proposed", nil, "the proposal: files or directories laid over the -f inputs (same kind/namespace/name replaced); repeatable")
	return cmd
}
