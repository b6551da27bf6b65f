package cli

import (
	"fmt"
	"strings"

	"github.com/ringfence/ringfence/internal/engine"
	"github.com/ringfence/ringfence/internal/netset"
	"github.com/ringfence/ringfence/internal/ranges"
	"github.com/ringfence/ringfence/internal/render"
	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
)

func newExplain(s Streams) *cobra.Command {
	var in inputFlags
	var out outputFlag
	var from, to, protocol, level string
	var port int32
	var all bool
	cmd := &cobra.Command{
		Use:   "explain --from <namespace/name|ip> --to <namespace/name|ip>",
		Short: "Explain why traffic is allowed or denied, policy by policy, rule by rule",
		Long: `explain gives the verdict for traffic from one endpoint to another and exactly
which NetworkPolicies and rules decide it, each with its file:line: the source's
egress, the destination's ingress, or that a side is not isolated.

Endpoints are workloads (namespace/name, or namespace/name/role when policies
tell its roles apart), pods, or IP addresses. --to may also name a destination:
aws:<SERVICE>:<region> (from AWS's published ranges), internet (public addresses
outside AWS), imds (169.254.169.254, the node role's credentials),
eks-pod-identity, kubernetes-api (the API server's endpoints, TCP 443 unless
--port says otherwise), or cluster-dns (the pods behind kube-system/kube-dns,
UDP 53 unless --port says otherwise); explain then says how much of it each layer (NetworkPolicy,
security groups) allows, and by which rules. --from internet follows every path a
request from the internet can take to the destination (LoadBalancer and NodePort
Services, Ingresses and their controllers), hop by hop.`,
		Example: `  ringfence explain -f examples/ml-platform --from ml-workloads/text-embed-finetune --to kube-system/coredns --port 53 --protocol UDP
  ringfence explain -f examples/ml-platform --from ml-workloads/text-embed-finetune --to 52.216.10.1 --port 443
  ringfence explain -f examples/ml-platform --from 203.0.113.9 --to ml-workloads/model-server -o json
  ringfence explain -f examples/ml-platform --from ml-workloads/text-embed-finetune --to aws:S3:us-east-1 --port 443
  ringfence explain -f examples/ml-platform --from ml-workloads/model-server --to imds
  ringfence explain -f examples/ml-platform --from internet --to ml-workloads/model-server
  ringfence explain -f examples/ml-platform --all --from ml-workloads --to kube-system --port 53 --protocol UDP`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := out.check(); err != nil {
				return err
			}
			if all {
				return explainAll(cmd, s, &in, level, from, to, protocol, port, out.value)
			}
			if from == "" || to == "" {
				return usagef("--from and --to are required (or --all)")
			}
			proto, ok := netset.ParseProtocol(corev1.Protocol(protocol))
			if !ok {
				return usagef("unknown protocol %q: use TCP, UDP or SCTP", protocol)
			}
			if port < 0 || port > 65535 {
				return usagef("--port %d is out of range 1-65535", port)
			}
			_, a, err := in.analyse(cmd, level)
			if err != nil {
				return err
			}
			if to == "cluster-dns" {
				// The pods behind kube-system/kube-dns, on DNS's port.
				dns, err := a.ServiceBackends("kube-system", "kube-dns")
				if err != nil || len(dns) == 0 {
					return usagef("--to cluster-dns: no Service kube-system/kube-dns with pods in the inputs")
				}
				to = dns[0]
				if port == 0 {
					proto, port = netset.UDP, 53
				}
			}
			if from == "internet" {
				var hits []engine.Exposure
				for _, e := range a.Exposures() {
					for _, b := range e.Backends {
						if b == to || strings.HasPrefix(b, to+"/") {
							hits = append(hits, e)
							break
						}
					}
				}
				if out.value == "json" {
					return in.json(s.Out, map[string]any{"from": "internet", "to": to, "exposures": hits}, "")
				}
				return render.ExposuresText(s.Out, to, hits)
			}
			if ranges.IsNamed(to) {
				if to == "kubernetes-api" && port == 0 {
					proto, port = netset.TCP, 443
				}
				doc, err := rangesSource(in.rangesFile)
				if err != nil {
					return err
				}
				set, desc, err := ranges.Named(doc, to)
				if err != nil {
					return usageError{fmt.Errorf("--to: %w", err)}
				}
				e, err := engine.ExplainDestination(a, from, engine.Destination{Name: to, Description: desc, Set: set}, proto, port)
				if err != nil {
					return usageError{err}
				}
				if out.value == "json" {
					return in.json(s.Out, e, "")
				}
				return render.ExplainDestinationText(s.Out, e)
			}
			e, err := engine.Explain(a, from, to, proto, port)
			if err != nil {
				return usageError{err}
			}
			if out.value == "json" {
				return in.json(s.Out, e, "")
			}
			return render.ExplainText(s.Out, e)
		},
	}
	in.add(cmd)
	in.addApply(cmd)
	out.add(cmd, "text", "json")
	cmd.Flags().StringVar(&from, "from", "", "source: namespace/name[/role], a pod, or an IP address")
	cmd.Flags().StringVar(&to, "to", "", "destination: namespace/name[/role], a pod, or an IP address")
	cmd.Flags().Int32Var(&port, "port", 0, "destination port (default: any)")
	cmd.Flags().StringVar(&protocol, "protocol", "TCP", "protocol of --port: TCP, UDP or SCTP")
	cmd.Flags().StringVar(&level, "level", string(engine.LevelWorkload), "peer granularity: workload or pod")
	cmd.Flags().BoolVar(&all, "all", false, "explain every pair, allowed and denied, from the peers --from selects to those --to selects (a namespace, namespace/name, label selector, IP, CIDR or named destination; either may be omitted)")
	cmd.Flags().StringVar(&in.rangesFile, "ranges-file", "", "AWS ip-ranges.json for aws:<SERVICE>:<region> destinations (default: the cached or embedded publication)")
	return cmd
}
