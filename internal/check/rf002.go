package check

import (
	"fmt"
	"sort"
	"strings"

	"github.com/ringfence/ringfence/internal/model"
)

func rf002() *Rule {
	return &Rule{
		ID: "RF002", Severity: High,
		Title: "Workloads can reach the instance metadata service and read the node role",
		Rationale: "169.254.169.254 hands out the node's IAM role credentials to whoever asks. Security groups do not " +
			"filter it; only a NetworkPolicy that denies it, or IMDSv2 required with a hop limit of 1 on the nodes, " +
			"keeps pods away from the node role. One finding per cause: the instances' metadata options (listing " +
			"the workloads they expose), the host network, or, when the instances are not in the inputs, one " +
			"possible finding that assumes the worst.",
		Remediation: "Require IMDSv2 with a hop limit of 1 on the node groups (launch template metadata options), and " +
			"deny egress to 169.254.169.254/32 in the workloads' NetworkPolicies (egress ipBlocks with an except).",
		Links: []string{"https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/configuring-instance-metadata-options.html"},
		check: func(c *Context) []Finding {
			type group struct {
				cause     imdsCause
				instances map[string]*model.Instance
				nodes     map[string]bool
				affected  []Affected
			}
			groups := map[string]*group{}
			for _, p := range workloadPeers(c) {
				path, causes := imds(c, p)
				for _, cause := range causes {
					g := groups[cause.Key]
					if g == nil {
						g = &group{cause: cause, instances: map[string]*model.Instance{}, nodes: map[string]bool{}}
						groups[cause.Key] = g
					}
					for _, in := range cause.Instances {
						g.instances[in.ID] = in
					}
					for _, n := range cause.Nodes {
						g.nodes[n] = true
					}
					detail := strings.Join(path, "; ")
					if cause.Unknown != "" {
						detail += "; " + cause.Unknown
					}
					g.affected = append(g.affected, Affected{Object: p.Workload.Ref(), Source: p.Workload.Source, Detail: p.ID + ": " + detail})
				}
			}
			var out []Finding
			for key, g := range groups {
				sortAffected(g.affected)
				workloads := countWorkloads(g.affected, "workload", "workloads")
				f := Finding{Affected: g.affected}
				switch key {
				case "hostNetwork":
					f.Object, f.Source = g.affected[0].Object, g.affected[0].Source
					f.Message = fmt.Sprintf("%s on the host network can reach the instance metadata service (169.254.169.254) whatever the hop limit, and read the node role's credentials", workloads)
					f.Path = []string{"spec.hostNetwork: true: the hop limit does not protect it"}
				case "unknown":
					f.Object, f.Source = g.affected[0].Object, g.affected[0].Source
					f.Message = fmt.Sprintf("%s may reach the instance metadata service (169.254.169.254): no NetworkPolicy denies it, and the nodes' metadata options are not in the inputs", workloads)
					f.Path = []string{"NetworkPolicy: allows 169.254.169.254 (security groups never filter it)", "nodes: " + orDefault(strings.Join(sortedSet(g.nodes), ", "), "not known") + ": metadata options not known"}
					f.Confidence = ConfidencePossible
					f.Assumptions = []string{"the nodes allow IMDSv1 or a hop limit above 1 (give aws ec2 describe-instances to decide)"}
				default:
					ids := make([]string, 0, len(g.instances))
					for id := range g.instances {
						ids = append(ids, id)
					}
					sort.Strings(ids)
					first := g.instances[ids[0]]
					f.Object, f.Source = model.Ref{Kind: "Instance", Name: first.ID}, first.Source
					f.Message = fmt.Sprintf("%s (%s) let %s read the node role's credentials from the instance metadata service (169.254.169.254)", plural(len(ids), "instance", "instances"), key, workloads)
					for _, id := range ids {
						in := g.instances[id]
						f.Path = append(f.Path, fmt.Sprintf("instance %s: %s (%s)", id, key, in.Source))
					}
					f.Path = append(f.Path, "no NetworkPolicy denies 169.254.169.254 to the workloads below; security groups never filter it")
				}
				out = append(out, f)
			}
			sort.Slice(out, func(i, j int) bool { return out[i].Message < out[j].Message })
			return out
		},
	}
}

func sortedSet(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
