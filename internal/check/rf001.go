package check

import (
	"fmt"

	"github.com/ringfence/ringfence/internal/netset"
)

func rf001() *Rule {
	return &Rule{
		ID: "RF001", Severity: Critical,
		Title: "A workload with an AWS role can reach the internet",
		Rationale: "A pod with an IAM role (IRSA, EKS Pod Identity) is one exploit away from sending the role's " +
			"credentials, or the data they unlock, anywhere: unrestricted egress through both the NetworkPolicy and " +
			"the security groups turns any compromise of the pod into a compromise of what the role may do. " +
			"Long-lived keys are RF017's, the node role through the metadata service RF002's. When the security " +
			"groups are not in the inputs, the finding is possible (only the NetworkPolicy was judged) and high.",
		Remediation: "Isolate the workload's egress with a NetworkPolicy that allows only what it needs (DNS, the AWS " +
			"service CIDRs of its region on 443, its peers) and remove 0.0.0.0/0 egress from the security groups " +
			"of its nodes.",
		Links: []string{"https://kubernetes.io/docs/concepts/services-networking/network-policies/"},
		check: func(c *Context) []Finding {
			var out []Finding
			internet := named(c, "internet")
			for _, p := range workloadPeers(c) {
				creds := roles(p)
				if len(creds) == 0 {
					continue
				}
				e := egress(c, p, internet, netset.TCP, 443)
				if e == nil || len(e.NetworkPolicy.Allowed) == 0 {
					continue
				}
				f := Finding{Object: p.Workload.Ref(), Source: p.Workload.Source,
					Path: append([]string{"holds " + join(creds)}, coveragePath(e)...)}
				switch {
				case e.SecurityGroups == nil:
					f.Message = fmt.Sprintf("%s holds an AWS role and its NetworkPolicy lets it reach public addresses outside AWS on TCP 443; the security groups were not given", p.ID)
					f.Confidence = ConfidencePossible
					f.Assumptions = []string{"the security groups of its nodes allow egress to the internet (they were not in the inputs)"}
				case len(e.Both.Allowed) > 0:
					f.Message = fmt.Sprintf("%s holds an AWS role and can reach public addresses outside AWS on TCP 443 through both the NetworkPolicy and the security groups", p.ID)
				default:
					continue
				}
				out = append(out, f)
			}
			return out
		},
	}
}
