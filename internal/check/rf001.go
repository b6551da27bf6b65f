package check

import (
	"fmt"

	"github.com/ringfence/ringfence/internal/netset"
)

func rf001() *Rule {
	return &Rule{
		ID: "RF001", Severity: Critical,
		Title: "A workload holding AWS credentials can reach the internet",
		Rationale: "A pod with AWS keys, an IAM role (IRSA, Pod Identity) or the node role is one exploit away from " +
			"sending them, or the data they unlock, anywhere: an unrestricted egress through both the NetworkPolicy " +
			"and the security groups turns any compromise of the pod into a compromise of the account.",
		Remediation: "Isolate the workload's egress with a NetworkPolicy that allows only what it needs (DNS, the AWS " +
			"service CIDRs of its region on 443, its peers) and remove 0.0.0.0/0 egress from the security groups " +
			"of its nodes.",
		Links: []string{"https://kubernetes.io/docs/concepts/services-networking/network-policies/"},
		check: func(c *Context) []Finding {
			var out []Finding
			internet := named(c, "internet")
			for _, p := range workloadPeers(c) {
				var creds []string
				for _, pt := range pods(p) {
					creds = append(creds, pt.AWSCredentials()...)
				}
				if ok, _ := imds(c, p); ok {
					creds = append(creds, "the node role through the instance metadata service")
				}
				if len(creds) == 0 {
					continue
				}
				e := egress(c, p, internet, netset.TCP, 443)
				if e == nil || len(e.Both.Allowed) == 0 {
					continue
				}
				path := append([]string{"holds " + join(creds)}, coveragePath(e)...)
				out = append(out, Finding{
					Object: p.Workload.Ref(), Source: p.Workload.Source,
					Message: fmt.Sprintf("%s holds AWS credentials and can reach public addresses outside AWS on TCP 443 through both layers", p.ID),
					Path:    path,
				})
			}
			return out
		},
	}
}
