package check

import "fmt"

func rf002() *Rule {
	return &Rule{
		ID: "RF002", Severity: High,
		Title: "A workload can reach the instance metadata service",
		Rationale: "169.254.169.254 hands out the node's IAM role credentials to whoever asks. Security groups do not " +
			"filter it; only a NetworkPolicy that denies it, or IMDSv2 required with a hop limit of 1 on the nodes, " +
			"keeps pods away from the node role.",
		Remediation: "Require IMDSv2 with a hop limit of 1 on the node groups (launch template metadata options), and " +
			"deny egress to 169.254.169.254/32 in the workload's NetworkPolicy (egress ipBlocks with an except).",
		Links: []string{"https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/configuring-instance-metadata-options.html"},
		check: func(c *Context) []Finding {
			var out []Finding
			for _, p := range workloadPeers(c) {
				ok, path := imds(c, p)
				if !ok {
					continue
				}
				out = append(out, Finding{
					Object: p.Workload.Ref(), Source: p.Workload.Source,
					Message: fmt.Sprintf("%s can reach the instance metadata service (169.254.169.254) and read its node's IAM role credentials", p.ID),
					Path:    path,
				})
			}
			return out
		},
	}
}
