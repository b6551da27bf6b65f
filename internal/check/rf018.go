package check

import (
	"fmt"

	"github.com/ringfence/ringfence/internal/engine"
	"github.com/ringfence/ringfence/internal/model"
	"github.com/ringfence/ringfence/internal/netset"
)

// gatewayServices are the AWS services with gateway VPC endpoints, whose
// public endpoints serve every account's resources.
var gatewayServices = []string{"S3", "DYNAMODB"}

// endpointEvidence reports whether a peer's security groups send egress to
// a managed prefix list: the sign of a gateway VPC endpoint.
func endpointEvidence(c *Context, p *engine.Peer) bool {
	groups := map[string]*model.SecurityGroup{}
	for _, g := range c.World.SecurityGroups {
		groups[g.ID] = g
	}
	for _, id := range p.SecurityGroups() {
		if g := groups[id]; g != nil {
			for _, r := range g.Egress {
				if len(r.PrefixLists) > 0 {
					return true
				}
			}
		}
	}
	return false
}

func rf018() *Rule {
	return &Rule{
		ID: "RF018", Severity: High,
		Title: "Workloads holding AWS credentials reach S3 or DynamoDB over the public endpoint",
		Rationale: "The public S3 and DynamoDB endpoints serve every account's resources: a pod with credentials " +
			"(its own, or an attacker's) can copy data into a bucket the attacker owns, and no egress rule on " +
			"addresses can tell the two apart. A gateway VPC endpoint with an endpoint policy, or aws:ResourceAccount " +
			"and aws:SourceVpce conditions, keeps the traffic to the account's own resources. Route tables and VPC " +
			"endpoints are not in the inputs, so the finding is possible unless the security groups already send " +
			"the traffic to a prefix list.",
		Remediation: "Create S3 and DynamoDB gateway endpoints with an endpoint policy that allows only the account's " +
			"buckets and tables (aws:ResourceAccount), allow their prefix lists in the security groups instead of " +
			"public CIDRs, and add aws:SourceVpce conditions to the bucket policies.",
		Links: []string{"https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-s3.html"},
		check: func(c *Context) []Finding {
			var out []Finding
			for _, svc := range gatewayServices {
				dst := named(c, "aws:"+svc)
				if dst.Set == nil || len(dst.Set.Ranges()) == 0 {
					continue
				}
				var affected []Affected
				possibleOnly := true
				seen := map[string]bool{}
				for _, p := range workloadPeers(c) {
					creds := append(roles(p), longLived(c, p.Workload)...)
					if len(creds) == 0 || seen[p.Workload.Ref().String()] || endpointEvidence(c, p) {
						continue
					}
					e := egress(c, p, dst, netset.TCP, 443)
					if e == nil || len(e.NetworkPolicy.Allowed) == 0 {
						continue
					}
					how := "through both layers"
					switch {
					case e.SecurityGroups == nil:
						how = "through its NetworkPolicy (security groups not given)"
					case len(e.Both.Allowed) == 0:
						continue
					default:
						possibleOnly = false
					}
					seen[p.Workload.Ref().String()] = true
					n := e.Both.AllowedIPv4
					if e.SecurityGroups == nil {
						n = e.NetworkPolicy.AllowedIPv4
					}
					affected = append(affected, Affected{Object: p.Workload.Ref(), Source: p.Workload.Source,
						Detail: fmt.Sprintf("%s holds %s and reaches %d of %d IPv4 addresses of %s on TCP 443 %s", p.ID, join(creds), n, e.NetworkPolicy.TotalIPv4, svc, how)})
				}
				if len(affected) == 0 {
					continue
				}
				sortAffected(affected)
				f := Finding{
					Object: affected[0].Object, Source: affected[0].Source, Key: svc, Affected: affected,
					Message:     fmt.Sprintf("%s holding AWS credentials %s %s over the public endpoint (no VPC endpoint in the inputs): they can move data to any account's %s", plural(len(affected), "workload", "workloads"), map[bool]string{true: "reaches", false: "reach"}[len(affected) == 1], svc, svc),
					Path:        []string{"egress to " + dst.Name + " on TCP 443, not through a prefix list"},
					Confidence:  ConfidencePossible,
					Assumptions: []string{"no gateway VPC endpoint with a restrictive endpoint policy carries this traffic (route tables and VPC endpoints are not in the inputs)"},
				}
				if possibleOnly {
					f.Assumptions = append(f.Assumptions, "the security groups allow the traffic (they were not in the inputs)")
				}
				out = append(out, f)
			}
			return out
		},
	}
}
