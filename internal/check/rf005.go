package check

import (
	"fmt"
	"sort"
	"strings"

	"github.com/ringfence/ringfence/internal/engine"
	"github.com/ringfence/ringfence/internal/netset"
	"go4.org/netipx"
	"net/netip"
)

// nodeLocalDNS is the address NodeLocal DNSCache listens on by default.
var nodeLocalDNS = netip.MustParseAddr("169.254.20.10")

func rf005() *Rule {
	return &Rule{
		ID: "RF005", Severity: Medium,
		Title: "Egress is restricted but DNS is not allowed",
		Rationale: "A pod isolated for egress that may not reach the cluster's DNS (kube-dns/CoreDNS on UDP and TCP 53, " +
			"or NodeLocal DNSCache) cannot resolve names: every connection by name fails, and jobs fail in ways that " +
			"look like network outages.",
		Remediation: "Allow egress to the DNS pods: `to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: " +
			"kube-system}}, podSelector: {matchLabels: {k8s-app: kube-dns}}}]` on UDP and TCP 53.",
		check: func(c *Context) []Finding {
			dns, _ := c.Analysis.ServiceBackends("kube-system", "kube-dns")
			if len(dns) == 0 {
				return nil // where DNS runs is not in the inputs
			}
			var b netipx.IPSetBuilder
			b.Add(nodeLocalDNS)
			local, _ := b.IPSet()
			var out []Finding
			for _, p := range workloadPeers(c) {
				// Tiered egress rules may deny DNS to a pod no
				// NetworkPolicy isolates.
				_, eg := p.Isolated()
				_, tiered := p.Tiered()
				if (!eg && len(tiered) == 0) || p.Namespace == "kube-system" {
					continue
				}
				by, what := "egress isolated by its NetworkPolicies", "is isolated for egress and"
				if len(tiered) > 0 {
					what = "has tiered egress rules and"
					var names []string
					for _, t := range tiered {
						names = append(names, t.Ref().String())
					}
					by = "egress decided by its tiered policies (" + strings.Join(names, ", ") + ") and NetworkPolicies"
				}
				ok := false
				// maybe holds why DNS may be reachable after all: the
				// verdict rests on facts the inputs lack.
				var maybe []string
				for _, d := range dns {
					e, err := engine.Explain(c.Analysis, p.ID, d, netset.UDP, 53)
					switch {
					case err != nil:
					case e.Verdict == engine.StateAllowed:
						ok = true
					case e.Verdict == engine.StateUnknown:
						maybe = append(maybe, e.Missing...)
					}
				}
				if e := egress(c, p, engine.Destination{Name: "nodelocaldns", Set: local}, netset.UDP, 53); e != nil {
					switch {
					case len(e.NetworkPolicy.Allowed) > 0:
						ok = true
					case len(e.NetworkPolicy.Unknown) > 0:
						maybe = append(maybe, e.NetworkPolicy.Missing...)
					}
				}
				if ok {
					continue
				}
				f := Finding{
					Object: p.Workload.Ref(), Source: p.Workload.Source,
					Message: fmt.Sprintf("%s "+what+" may not reach DNS (%s) on UDP 53", p.ID, join(dns)),
					Path:    []string{by + "; none allows UDP 53 to the kube-dns pods or NodeLocal DNS (169.254.20.10)"},
				}
				if len(maybe) > 0 {
					// DNS is blocked only if the unknowns resolve badly.
					sort.Strings(maybe)
					f.Confidence, f.Assumptions = ConfidencePossible, dedupe(maybe)
					f.Path = []string{by + "; whether they allow UDP 53 to the kube-dns pods or NodeLocal DNS (169.254.20.10) is unknown"}
				}
				out = append(out, f)
			}
			return out
		},
	}
}
