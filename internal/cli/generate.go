package cli

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/ringfence/ringfence/internal/generate"
	"github.com/ringfence/ringfence/internal/render"
	"github.com/spf13/cobra"
	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/yaml"
)

func newGenerate(s Streams) *cobra.Command {
	var in inputFlags
	var out outputFlag
	var rangesFile string
	var force, fromCluster, allowBreaking, allowPrivate bool
	cmd := &cobra.Command{
		Use:   "generate",
		Short: "Write least-privilege NetworkPolicies from Fences (what ML workloads need)",
		Long: `generate reads Fences (ringfence.dev/v1alpha1) beside the cluster's manifests and
writes the NetworkPolicies they mean: a default-deny per namespace, one policy per Fence
(AWS service ranges from the current publication, aggregated; cluster DNS; Services
resolved to their pods and ports; the ingress controller), one per job for
distributed training peers, and the Ingress allowlists as patches. Existing policies
that select fenced workloads are listed as replaced.

Before printing, it checks its own output with the engine: every intended flow is
allowed, nothing else leaves the fenced workloads (no internet, no instance metadata,
no other namespace), and the audit of the result raises nothing high or critical on
the fenced namespaces. A failed check prints the problems and exits 1 (--force prints
the output anyway).

It also keeps what the fenced workloads need beyond their Fences (docs/generate.md):
the regional STS endpoint for IRSA, the EKS Pod Identity agent, cluster DNS, the
ingress controller in front of them, the Prometheus that scrapes them, their job's
peers, and, when a node group's open egress is revoked, what the nodes need (the EKS
API through the cluster security group, ECR and S3, the agents' endpoints). Each need
is printed and proved by the check. A Fence annotated ringfence.dev/forgo-needs goes
without the kinds it lists, a conscious choice that is printed. Output that would cut
a need is refused with the reasons and exit code 4, unless --allow-breaking.

With the AWS layer in the inputs (security groups, instances, or --node-sg), it also
plans the rules of the security groups that fence the workloads: egress to S3 and
DynamoDB through their AWS-managed prefix lists (one rule each), to other AWS services
by their aggregated ranges, to DNS, Services and job peers by their pods' groups,
ingress from the ingress controller's groups, and the open egress (0.0.0.0/0, ::/0)
revoked. -o terraform writes them as aws_vpc_security_group_egress_rule and
_ingress_rule resources, and the open rules as resources to import, revoked by
-var ringfence_revoke_open_egress=true; -o awscli as --cli-input-json documents for
aws ec2 authorize-security-group-egress / -ingress, revoke-security-group-egress and,
past the rules quota, create- and modify-managed-prefix-list. A private source range
is not written on an internet-facing load balancer (no client could match it) unless
--allow-private-source-ranges.
The check covers them too: the groups must let the workloads reach their AWS services
and nothing on the internet.

-o cilium adds a CiliumNetworkPolicy per Fence with DNS-name destinations (toFQDNs, and
the DNS rule Cilium's proxy needs). -o calico writes each AWS service's ranges once, as a
GlobalNetworkSet, and allows it from a Calico NetworkPolicy instead of ipBlocks, so that
a single object needs refreshing. Neither is judged by the check (the engine reads
Kubernetes NetworkPolicies): the Cilium policies only add the names, the Calico ones
allow exactly the verified ranges.

-o eks-cnp adds Admin-tier EKS ClusterNetworkPolicies (networking.k8s.aws/v1alpha1): the
instance metadata service denied to every pod except those a Fence gives it, and each
fenced namespace denied the internet except the addresses its policies allow. -o eks-anp
adds ApplicationNetworkPolicies with the AWS endpoints' domainNames (s3.<region>.amazonaws.com
...), which only EKS Auto Mode enforces (docs/generate.md).

--from-cluster proposes a Fence for each ML workload of the inputs (a live cluster or
manifests) from what it is: AWS credentials mean S3 in the nodes' region, every workload
gets DNS, a job of several pods its peers, a workload behind an Ingress the ingress
controller with the Ingress's current allowlist. Each proposal says why, and what could
not be seen (the Services and hosts it calls). Review them, then generate from them.`,
		Example: `  ringfence generate -f examples/ml-platform -f examples/fences/ml-platform.yaml > fenced.yaml
  ringfence generate -f cluster/ -f fences/ -o json
  ringfence generate --from-cluster -A > fences.yaml    # review, then: ringfence generate -A -f fences.yaml
  ringfence generate -f examples/ml-platform -f examples/fences/ml-platform.yaml -o terraform > ringfence-sg.tf
  ringfence generate -f cluster/ -f aws/ -f fences/ -o awscli |
    jq -c '.authorizeSecurityGroupEgress[]' |
    while read -r in; do aws ec2 authorize-security-group-egress --cli-input-json "$in"; done`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := out.check(); err != nil {
				return err
			}
			res, err := in.load(cmd)
			if err != nil {
				return err
			}
			if fromCluster {
				return writeProposals(s, generate.Propose(res.World))
			}
			if len(res.World.Fences) == 0 {
				return usagef("no Fence (ringfence.dev/v1alpha1) in the inputs")
			}
			doc, err := rangesSource(rangesFile)
			if err != nil {
				return err
			}
			groups, err := in.nodeGroups()
			if err != nil {
				return err
			}
			opts := generate.Options{NodeGroups: groups, AllowPrivateSourceRanges: allowPrivate}
			g, problems, err := generatedWith(s.Err, res.World, doc, opts)
			if err != nil {
				return err
			}
			if len(problems) > 0 {
				fmt.Fprintf(s.Err, "ringfence: the generated policies do not do what the Fences say:\n  %s\n", strings.Join(problems, "\n  "))
				if !force {
					return findingsError{}
				}
			}
			for _, n := range g.Needs {
				if n.Status == generate.NeedForgone {
					fmt.Fprintf(s.Err, "ringfence: note: %s\n", n)
				}
			}
			if cut := g.Cut(); len(cut) > 0 {
				lines := make([]string, len(cut))
				for i, n := range cut {
					lines[i] = n.String()
				}
				if !allowBreaking {
					fmt.Fprintf(s.Err, "ringfence: refusing to write output that cuts what workloads need (--allow-breaking writes it anyway):\n  %s\n", strings.Join(lines, "\n  "))
					return breakingError{}
				}
				fmt.Fprintf(s.Err, "ringfence: warning: the output cuts what workloads need (--allow-breaking):\n  %s\n", strings.Join(lines, "\n  "))
			}
			switch out.value {
			case "json":
				// generate's warnings join the load's in one array.
				out := *g
				out.Warnings = nil
				return in.json(s.Out, &out, "generate", g.Warnings...)
			case "terraform":
				_, err := s.Out.Write(generate.Terraform(g, doc.SyncToken))
				return err
			case "cilium":
				return writeGenerated(s, g, g.Policies, generate.Cilium(res.World, doc), doc.SyncToken)
			case "calico":
				policies, extra, err := generate.Calico(g, doc)
				if err != nil {
					return err
				}
				return writeGenerated(s, g, policies, extra, doc.SyncToken)
			case "eks-cnp":
				fmt.Fprintf(s.Err, "ringfence: note: the ClusterNetworkPolicies (networking.k8s.aws/v1alpha1) need the EKS network policy agent with ClusterNetworkPolicy support; apply them with the NetworkPolicies below\n")
				cnps := generate.EKSClusterPolicies(res.World, g, doc)
				if err := eksChecked(s, res.World, g, cnps, doc, opts, force); err != nil {
					return err
				}
				return writeGenerated(s, g, g.Policies, cnps, doc.SyncToken)
			case "eks-anp":
				fmt.Fprintf(s.Err, "ringfence: note: ApplicationNetworkPolicy domainNames are enforced only in EKS Auto Mode; the NetworkPolicies below keep the address rules\n")
				anps, unnamed := generate.EKSApplicationPolicies(g, doc)
				for _, u := range unnamed {
					fmt.Fprintf(s.Err, "ringfence: note: no endpoint names for %s: its address rule alone applies\n", u)
				}
				if err := eksChecked(s, res.World, g, anps, doc, opts, force); err != nil {
					return err
				}
				fmt.Fprintf(s.Out, "# ApplicationNetworkPolicy domainNames are enforced only in EKS Auto Mode.\n")
				return writeGenerated(s, g, g.Policies, anps, doc.SyncToken)
			case "awscli":
				c, notes := generate.CLI(g)
				for _, n := range notes {
					fmt.Fprintf(s.Err, "ringfence: note: %s\n", n)
				}
				return render.JSON(s.Out, c)
			}
			return writeGenerated(s, g, g.Policies, nil, doc.SyncToken)
		},
	}
	in.add(cmd)
	out.add(cmd, "yaml", "json", "terraform", "awscli", "cilium", "calico", "eks-cnp", "eks-anp")
	cmd.Flags().StringVar(&rangesFile, "ranges-file", "", "AWS ip-ranges.json for aws destinations (default: the cached or embedded publication)")
	cmd.Flags().BoolVar(&force, "force", false, "print the output even when the check fails")
	cmd.Flags().BoolVar(&allowBreaking, "allow-breaking", false, "write the output even when it cuts a need of a workload or node (exit 0 instead of 4)")
	cmd.Flags().BoolVar(&allowPrivate, "allow-private-source-ranges", false, "write loadBalancerSourceRanges that hold private (RFC 1918) ranges on an internet-facing load balancer (no client can match them)")
	cmd.Flags().BoolVar(&fromCluster, "from-cluster", false, "propose Fences for the ML workloads of the inputs, for a person to review")
	return cmd
}

// breakingError makes generate exit 4: its output would cut a need.
type breakingError struct{}

func (breakingError) Error() string { return "output cuts a need" }

// writeNeeds writes the detected needs as comments, one a line, by status.
func writeNeeds(s Streams, g *generate.Output) {
	for _, n := range g.Needs {
		line := fmt.Sprintf("# Need (%s): %s needs %s: %s", n.Status, n.Of, n.What, n.Why)
		if n.Note != "" {
			line += "; " + n.Note
		}
		fmt.Fprintln(s.Out, line)
	}
}

// writeGenerated writes the policies as a multi-document YAML stream, with
// what to delete and the Ingress patches as comments a person can follow.
func writeGenerated(s Streams, g *generate.Output, policies []*networkingv1.NetworkPolicy, extra []map[string]any, syncToken string) error {
	fmt.Fprintf(s.Out, "# Generated by ringfence from Fences (AWS ip-ranges syncToken %s).\n", syncToken)
	writeNeeds(s, g)
	for _, r := range g.Replaces {
		fmt.Fprintf(s.Out, "# Replaces %s: kubectl delete networkpolicy -n %s %s\n", r, r.Namespace, r.Name)
	}
	for _, p := range g.Patches {
		fmt.Fprintf(s.Out, "# Ingress allowlist: kubectl annotate ingress -n %s %s --overwrite %s=%s\n", p.Namespace, p.Name, p.Annotation, p.Value)
	}
	for _, p := range g.ServicePatches {
		b, err := json.Marshal(p.Merge())
		if err != nil {
			return err
		}
		fmt.Fprintf(s.Out, "# Service: kubectl patch service -n %s %s --type merge -p '%s'\n#   (%s)\n", p.Namespace, p.Name, b, p.Reason)
	}
	for _, m := range g.Metadata {
		fmt.Fprintf(s.Out, "# Instance metadata: %s\n", m.CLI())
	}
	objects := make([]any, 0, len(policies)+len(extra))
	for _, p := range policies {
		objects = append(objects, p)
	}
	for _, x := range extra {
		objects = append(objects, x)
	}
	if len(g.JobGroups) > 0 {
		fmt.Fprintf(s.Out, "# SecurityGroupPolicies attach a security group of its own to each job whose pods have none (with the groups\n"+
			"# they have now): create the groups first (-o terraform or -o awscli) and put their IDs in place of their names\n"+
			"# in groupIds. They need the VPC CNI's ENABLE_POD_ENI=true (kubectl set env daemonset aws-node -n kube-system\n"+
			"# ENABLE_POD_ENI=true) and Nitro instances; pods already running keep their interfaces until they are recreated.\n")
	}
	for _, j := range g.JobGroups {
		objects = append(objects, j.Object())
	}
	for _, p := range objects {
		b, err := yaml.Marshal(p)
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(s.Out, "---\n%s", b); err != nil {
			return err
		}
	}
	return nil
}

// writeProposals writes proposed Fences as YAML, each after the reasons
// for it.
func writeProposals(s Streams, ps []generate.Proposal) error {
	fmt.Fprintf(s.Out, "# Fences proposed by ringfence for the ML workloads of the inputs: review before use.\n")
	if len(ps) == 0 {
		fmt.Fprintf(s.Out, "# (no ML workload in the inputs)\n")
	}
	for _, p := range ps {
		b, err := yaml.Marshal(p.Fence)
		if err != nil {
			return err
		}
		fmt.Fprintf(s.Out, "---\n# %s\n%s", strings.Join(p.Reasons, "\n# "), b)
	}
	return nil
}
