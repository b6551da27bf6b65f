package check

import (
	"fmt"
	"sort"
	"strings"

	"github.com/ringfence/ringfence/internal/engine"
	"github.com/ringfence/ringfence/internal/model"
)

// The audit rules of the AWS fence beyond what NetworkPolicies decide:
// security groups audited on their own (whether or not a pod in the
// inputs uses them), network ACLs and routes.

// sgAdmits reports whether an ingress rule covers a TCP port.
func sgAdmits(r *model.SGRule, port int32) bool {
	switch r.Protocol {
	case "-1":
		return true
	case "tcp":
		return r.FromPort == -1 || (r.FromPort <= port && port <= r.ToPort)
	}
	return false
}

func rf030() *Rule {
	return &Rule{
		ID: "RF030", Severity: High,
		Title: "A security group admits SSH (22) or RDP (3389) from the whole internet",
		Rationale: "Remote administration ports open to 0.0.0.0/0 or ::/0 are scanned and brute-forced within minutes " +
			"of an address going public (Checkov CKV_AWS_24 and CKV_AWS_25, Trivy AVD-AWS-0107). Nodes of a cluster are " +
			"administered through SSM or the API, not through SSH from anywhere.",
		Remediation: "Remove the rule, or admit the bastion's security group or the administrators' ranges only; prefer " +
			"AWS Systems Manager Session Manager.",
		Links: []string{"https://docs.aws.amazon.com/vpc/latest/userguide/security-group-rules.html"},
		check: func(c *Context) []Finding {
			var out []Finding
			for _, g := range c.World.SecurityGroups {
				open := everywhere(g.Ingress)
				for _, i := range sortedInts(open) {
					r := &g.Ingress[i]
					for _, port := range []int32{22, 3389} {
						if !sgAdmits(r, port) {
							continue
						}
						what := map[int32]string{22: "SSH", 3389: "RDP"}[port]
						out = append(out, Finding{
							Object: model.Ref{Kind: "SecurityGroup", Name: g.ID}, Source: r.Source,
							Key:     fmt.Sprintf("ingress %d %s", port, sgRuleText(r)),
							Message: fmt.Sprintf("security group %s (%s) admits %s (TCP %d) from %s", g.ID, g.Name, what, port, open[i]),
							Path:    []string{openRuleStep(g, i, r, open[i])},
						})
					}
				}
			}
			return out
		},
	}
}

// openRuleStep is the path step of an ingress rule open to the world.
func openRuleStep(g *model.SecurityGroup, i int, r *model.SGRule, from string) string {
	return fmt.Sprintf("%s ingress rule %d (%s): %s from %s", g.ID, i, r.Source, sgRuleText(r), from)
}

func rf031() *Rule {
	return &Rule{
		ID: "RF031", Severity: Medium,
		Title: "A VPC's default security group allows traffic",
		Rationale: "Every VPC has a security group named default that AWS attaches to anything launched without one. " +
			"With rules in it, a forgotten instance, endpoint or load balancer gets access nobody chose " +
			"(Checkov CKV2_AWS_12, CIS AWS Foundations 5.4).",
		Remediation: "Remove every inbound and outbound rule of the default group (Terraform: an aws_default_security_group " +
			"without ingress or egress blocks) and give each resource a group of its own.",
		Links: []string{"https://docs.aws.amazon.com/vpc/latest/userguide/default-security-group.html"},
		check: func(c *Context) []Finding {
			var out []Finding
			for _, g := range c.World.SecurityGroups {
				if g.Name != "default" || len(g.Ingress)+len(g.Egress) == 0 {
					continue
				}
				var path []string
				for dir, rules := range map[string][]model.SGRule{"ingress": g.Ingress, "egress": g.Egress} {
					for i := range rules {
						path = append(path, fmt.Sprintf("%s %s rule %d (%s): %s", g.ID, dir, i, rules[i].Source, sgRuleText(&rules[i])))
					}
				}
				sort.Strings(path)
				out = append(out, Finding{
					Object: model.Ref{Kind: "SecurityGroup", Name: g.ID}, Source: g.Source, Key: "default",
					Message: fmt.Sprintf("the default security group %s of %s has %d inbound and %d outbound rules", g.ID, g.VPC, len(g.Ingress), len(g.Egress)),
					Path:    path,
				})
			}
			return out
		},
	}
}

func rf032() *Rule {
	return &Rule{
		ID: "RF032", Severity: Medium,
		Title: "A security group fences nothing: it admits every protocol and port from the whole internet",
		Rationale: "A group whose inbound rules admit all traffic from 0.0.0.0/0 or ::/0 filters nothing: whatever it is " +
			"attached to is as open as its network ACL and its address allow. It is audited on its own, whether or not " +
			"a pod in the inputs uses it, because the next instance or endpoint given the group inherits the hole.",
		Remediation: "Replace the rule with the protocols, ports and sources the resource serves (another group, the VPC CIDR, " +
			"a prefix list).",
		check: func(c *Context) []Finding {
			var out []Finding
			for _, g := range c.World.SecurityGroups {
				open := everywhere(g.Ingress)
				for _, i := range sortedInts(open) {
					r := &g.Ingress[i]
					if r.Protocol != "-1" {
						continue
					}
					out = append(out, Finding{
						Object: model.Ref{Kind: "SecurityGroup", Name: g.ID}, Source: r.Source, Key: "ingress all from " + open[i],
						Message: fmt.Sprintf("security group %s (%s) admits every protocol and port from %s: it fences nothing inbound", g.ID, g.Name, open[i]),
						Path:    []string{openRuleStep(g, i, r, open[i])},
					})
				}
			}
			return out
		},
	}
}

func rf033() *Rule {
	return &Rule{
		ID: "RF033", Severity: Medium,
		Title: "A private subnet reaches S3 through a NAT gateway instead of a gateway endpoint",
		Rationale: "Without an S3 gateway endpoint in its route table, a subnet's S3 traffic leaves by its default route: " +
			"through the NAT gateway, billed per gigabyte processed, and out to the public S3 endpoints, where no " +
			"endpoint policy can keep it to the organisation's buckets (the usual exfiltration path for training data " +
			"and model weights).",
		Remediation: "Create a gateway VPC endpoint for com.amazonaws.<region>.s3 and associate it with the subnet's route " +
			"table (aws_vpc_endpoint with route_table_ids); give it a policy naming your buckets or aws:ResourceAccount.",
		Links: []string{"https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-s3.html"},
		check: func(c *Context) []Finding {
			net := &c.World.Network
			s3 := map[string]bool{} // route tables an S3 gateway endpoint is in
			for _, e := range net.Endpoints {
				if e.Type == "Gateway" && strings.HasSuffix(e.Service, ".s3") {
					for _, rt := range e.RouteTables {
						s3[rt] = true
					}
					s3[e.ID] = true
				}
			}
			var out []Finding
			for _, rt := range net.RouteTables {
				var nat *model.Route
				for i := range rt.Routes {
					r := &rt.Routes[i]
					if r.TargetType == model.TargetVPCEndpoint && s3[r.Target] {
						s3[rt.ID] = true
					}
					if r.TargetType == model.TargetNATGateway && r.Destination.IsValid() && r.Destination.Bits() == 0 && r.Destination.Addr().Is4() && !r.Blackhole {
						nat = r
					}
				}
				if nat == nil || s3[rt.ID] {
					continue
				}
				var subnets []string
				for _, a := range rt.Associations {
					switch {
					case a.Subnet != "":
						subnets = append(subnets, a.Subnet)
					case a.Main:
						subnets = append(subnets, "the subnets of "+rt.VPC+" without a table of their own")
					}
				}
				if len(subnets) == 0 {
					continue
				}
				out = append(out, Finding{
					Object: model.Ref{Kind: "RouteTable", Name: rt.ID}, Source: nat.Source, Key: "s3 via " + nat.Target,
					Message: fmt.Sprintf("route table %s sends S3 traffic of %s through NAT gateway %s: no S3 gateway endpoint is in the table", rt.ID, strings.Join(subnets, ", "), nat.Target),
					Path:    []string{fmt.Sprintf("route table %s (%s): 0.0.0.0/0 -> %s (%s), no route to an S3 gateway endpoint's prefix list", rt.ID, rt.Source, nat.Target, nat.Source)},
				})
			}
			return out
		},
	}
}

func rf034() *Rule {
	return &Rule{
		ID: "RF034", Severity: Medium,
		Title: "A network ACL drops the replies of connections the other fences allow",
		Rationale: "Network ACLs are stateless: the reply of a connection a pod opens comes back to the pod's ephemeral " +
			"port (1024-65535 through a NAT gateway or the VPC CNI's SNAT; 32768-61000 for Linux inside the VPC) and " +
			"needs an inbound entry of its own. Without it the NetworkPolicy, security group and route all allow the " +
			"connection and it still times out, which is then 'fixed' by opening far more than needed.",
		Remediation: "Add an inbound entry for the ephemeral ports (TCP and UDP 1024-65535) from the destinations, numbered " +
			"before any deny that would match them; keep deny entries for the ports you mean to refuse before it.",
		Links: []string{"https://docs.aws.amazon.com/vpc/latest/userguide/nacl-ephemeral-ports.html"},
		check: func(c *Context) []Finding {
			var out []Finding
			for _, rb := range c.Analysis.ReplyBlocks() {
				var path []string
				for _, r := range rb.Rules {
					path = append(path, fmt.Sprintf("network ACL %s rule %s (%s): %s decides %s", r.ACL, r.RuleNumber, r.Source, r.Text, r.Ports))
				}
				f := Finding{
					Object: model.Ref{Kind: "NetworkACL", Name: rb.ACL}, Source: rb.Source, Key: rb.Step,
					Message: fmt.Sprintf("network ACL %s drops the replies of %s's allowed connections (%s, for example to %s) on %s", rb.ACL, strings.Join(rb.Peers, ", "), rb.Step, rb.To, rb.Blocked),
					Path:    path,
				}
				if !rb.Certain {
					f.Confidence = ConfidencePossible
					f.Assumptions = []string{"assuming the other fences allow the connections where they may (pod addresses are not in the inputs) and the client picks an ephemeral port the network ACL does not admit (its range depends on the client: NAT gateways and load balancers use 1024-65535)"}
				}
				out = append(out, f)
			}
			return out
		},
	}
}

func rf035() *Rule {
	return &Rule{
		ID: "RF035", Severity: Medium,
		Title: "A VPC endpoint's policy lets S3 traffic reach buckets of other accounts",
		Rationale: "An S3 gateway or interface endpoint carries every S3 request of the subnets it serves, and its policy is " +
			"the one place that can keep those requests to the organisation's buckets. A policy that allows every " +
			"resource (the default full-access policy, Resource \"*\", a wildcard bucket name) without an " +
			"aws:ResourceAccount or aws:ResourceOrgID condition lets a compromised pod copy data to a bucket of any " +
			"account through the endpoint, unseen by any NAT gateway or egress filter. ringfence judges only the " +
			"resources and those conditions, not the whole IAM evaluation; bucket ARNs name no account, so a bucket " +
			"named in full is taken as chosen.",
		Remediation: "Give the endpoint a policy whose Allow statements name your buckets, or carry a condition " +
			"\"StringEquals\": {\"aws:ResourceAccount\": \"<your account>\"} (or aws:ResourceOrgID for the organisation); or add " +
			"a Deny statement with StringNotEquals on the same key.",
		Links: []string{"https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-s3.html", "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-resourceaccount"},
		check: func(c *Context) []Finding {
			var out []Finding
			for _, e := range c.World.Network.Endpoints {
				if !strings.HasSuffix(e.Service, ".s3") || (e.Type != "Gateway" && e.Type != "Interface") {
					continue
				}
				open, err := engine.OpenS3Statements(e.Policy, e.Owner)
				if err != nil {
					// An unreadable policy: AWS would not have accepted
					// it, so the input is odd; report what may be open.
					out = append(out, Finding{
						Object: model.Ref{Kind: "VPCEndpoint", Name: e.ID}, Source: e.Source, Key: "unreadable",
						Message:     fmt.Sprintf("the policy of %s endpoint %s (%s) cannot be read (%v): it may allow buckets of any account", e.Type, e.ID, e.Service, err),
						Path:        []string{fmt.Sprintf("%s endpoint %s (%s): policy unreadable", e.Type, e.ID, e.Source)},
						Confidence:  ConfidencePossible,
						Assumptions: []string{"assuming the policy allows every resource"},
					})
					continue
				}
				for _, st := range open {
					out = append(out, Finding{
						Object: model.Ref{Kind: "VPCEndpoint", Name: e.ID}, Source: e.Source, Key: fmt.Sprintf("statement %d", st.Index),
						Message: fmt.Sprintf("%s endpoint %s (%s) lets the S3 traffic it carries reach buckets of other accounts: %s", e.Type, e.ID, e.Service, st.Why),
						Path:    []string{fmt.Sprintf("%s endpoint %s (%s) policy statement %d: Allow %s", e.Type, e.ID, e.Source, st.Index, strings.Join(st.Resources, ", "))},
					})
				}
			}
			return out
		},
	}
}

func sortedInts[V any](m map[int]V) []int {
	out := make([]int, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Ints(out)
	return out
}
