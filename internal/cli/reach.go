package cli

import (
	"io"

	"github.com/ringfence/ringfence/internal/engine"
	"github.com/ringfence/ringfence/internal/render"
	"github.com/ringfence/ringfence/internal/unseen"
	"github.com/spf13/cobra"
)

func newReach(s Streams) *cobra.Command {
	var in inputFlags
	var out outputFlag
	var level string
	var fc focusFlags
	cmd := &cobra.Command{
		Use:   "reach",
		Short: "Show who can reach whom, on which ports, under the NetworkPolicies",
		Long: `reach computes, for every pair of peers, which protocols and ports are allowed,
exactly as a conformant CNI enforces networking.k8s.io/v1 NetworkPolicy: a
pod-to-pod connection needs the source's egress and the destination's ingress.

Peers are workloads (one per role when policies tell its roles apart), bare Pods,
live pods with --level pod, and External peers: the disjoint address ranges the
policies' ipBlocks distinguish, plus the rest of the address space. Pairs with
nothing allowed are not listed. Traffic from a pod to itself, which upstream
Kubernetes leaves undefined, is reported apart.`,
		Example: `  ringfence reach -f examples/ml-platform
  ringfence reach -f examples/ml-platform -o json | jq '.connections[] | select(.src == "ml-workloads/text-embed-finetune")'
  ringfence reach --context prod -A --level pod -o csv > reach.csv
  ringfence reach -f manifests/ -o dot | dot -Tsvg > reach.svg
  ringfence reach -f examples/ml-platform --from ml-workloads --to internet --port 443
  ringfence reach -f examples/ml-platform --to 'app=model-server'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := out.check(); err != nil {
				return err
			}
			focus, err := fc.parse(in.rangesFile)
			if err != nil {
				return err
			}
			res, a, err := in.analyse(cmd, level)
			if err != nil {
				return err
			}
			// Without a focus every connection is written once, as it
			// is: the compact form, with a verdict written once for all
			// the connections that share it. A focus rewrites them.
			var reach *engine.Result
			if focus.Empty() {
				reach = a.ReachCompact()
			} else {
				reach = a.Reach()
			}
			if err := a.Err(); err != nil {
				return err // stopped (Ctrl-C): the result is incomplete
			}
			r := focus.Result(reach, fc.fromInternet())
			// Workloads open to namespaces not in the inputs: no peer of
			// the connections stands for those, so they are listed apart.
			var open []unseen.Opening
			if focus.From == nil {
				var peers map[string]*engine.Peer // built once, when first needed
				for _, o := range unseen.Find(res.World, a) {
					if peers == nil {
						peers = peerIndex(r)
					}
					if focus.To.Name(o.Workload, peers) {
						open = append(open, o)
					}
				}
			}
			switch out.value {
			case "json":
				return in.jsonFrom(s.Out, func(w io.Writer) error { return render.ReachJSONUnseen(w, r, open) }, "")
			case "csv":
				return render.ReachCSV(s.Out, r)
			case "md":
				if err := render.ReachMarkdown(s.Out, r); err != nil {
					return err
				}
				return render.UnseenMarkdown(s.Out, open)
			case "dot":
				return render.ReachDot(s.Out, r)
			}
			if err := render.ReachText(s.Out, r); err != nil {
				return err
			}
			return render.UnseenText(s.Out, open)
		},
	}
	in.add(cmd)
	in.addApply(cmd)
	out.add(cmd, "text", "json", "csv", "md", "dot")
	cmd.Flags().StringVar(&level, "level", string(engine.LevelWorkload), "peer granularity: workload or pod")
	fc.add(cmd)
	cmd.Flags().StringVar(&in.rangesFile, "ranges-file", "", "AWS ip-ranges.json for --from/--to aws:<SERVICE>:<region> and internet (default: the cached or embedded publication)")
	return cmd
}

// peerIndex maps the peers of a result by ID.
func peerIndex(r *engine.Result) map[string]*engine.Peer {
	m := make(map[string]*engine.Peer, len(r.Peers))
	for _, p := range r.Peers {
		m[p.ID] = p
	}
	return m
}
