package check

import (
	"fmt"
	"strings"

	"github.com/ringfence/ringfence/internal/netset"
)

func rf017() *Rule {
	return &Rule{
		ID: "RF017", Severity: Critical,
		Title: "A workload holds long-lived AWS credentials",
		Rationale: "Access keys in a Secret, in the manifest or in a mounted credentials file work from anywhere until " +
			"someone rotates them: whoever reads the pod's environment or files (a compromised dependency, a debug " +
			"shell, a log line) can use them from their own machine, and with the pod's egress to S3 copy data into " +
			"their own bucket. Reported whatever the egress: high, and critical when the workload's egress reaches " +
			"the internet through both layers. Secret and key names are shown; values never are.",
		Remediation: "Give the workload an IAM role instead: IRSA (eks.amazonaws.com/role-arn on its ServiceAccount) or " +
			"EKS Pod Identity (an association for its ServiceAccount); remove the keys from the pod spec, delete the " +
			"Secret, and deactivate and delete the IAM user's access keys.",
		Links: []string{
			"https://docs.aws.amazon.com/eks/latest/userguide/iam-roles-for-service-accounts.html",
			"https://docs.aws.amazon.com/eks/latest/userguide/pod-identities.html",
		},
		check: func(c *Context) []Finding {
			var out []Finding
			internet := named(c, "internet")
			for _, w := range c.World.Workloads {
				creds := longLived(c, w)
				if len(creds) == 0 {
					continue
				}
				path := make([]string, 0, len(creds)+3)
				for _, cr := range creds {
					path = append(path, "holds "+cr)
				}
				severity, reach := High, ""
				for _, p := range peersOf(c, w) {
					e := egress(c, p, internet, netset.TCP, 443)
					if e == nil || len(e.NetworkPolicy.Allowed) == 0 {
						continue
					}
					if e.SecurityGroups == nil {
						reach = "; its NetworkPolicy lets it reach the internet (security groups not given, so not judged)"
						path = append(path, coveragePath(e)...)
						break
					}
					if len(e.Both.Allowed) > 0 {
						severity = Critical
						reach = "; its egress reaches the internet through both layers"
						path = append(path, coveragePath(e)...)
						break
					}
				}
				out = append(out, Finding{
					Object: w.Ref(), Source: w.Source, Severity: severity,
					Message: fmt.Sprintf("%s/%s holds long-lived AWS credentials (%s)%s", w.Namespace, w.Name, secretsNamed(creds), reach),
					Path:    path,
				})
			}
			return out
		},
	}
}

// secretsNamed summarises credential descriptions: the Secrets they come
// from, or "literal keys in the manifest".
func secretsNamed(creds []string) string {
	var parts []string
	seen := map[string]bool{}
	for _, c := range creds {
		what := "keys in the manifest"
		if i := strings.Index(c, "Secret "); i >= 0 {
			what = "Secret " + strings.Fields(c[i+len("Secret "):])[0]
		}
		if !seen[what] {
			seen[what] = true
			parts = append(parts, what)
		}
	}
	return strings.Join(parts, ", ")
}
