package check

import (
	"github.com/ringfence/ringfence/internal/engine"
	"github.com/ringfence/ringfence/internal/model"
)

// The rules on tiered policies (docs/tiers.md). The engine finds the
// issues on the compiled policies; each rule reports one kind.

func tierRule(id string, sev Severity, kind, title, rationale, remediation string) *Rule {
	return tierRuleExempt(id, sev, kind, title, rationale, remediation, nil)
}

// tierRuleExempt is tierRule whose issues leave out the peers exempt says
// (nil: none); an issue left without peers is dropped.
func tierRuleExempt(id string, sev Severity, kind, title, rationale, remediation string, exempt func(*Context) map[string]bool) *Rule {
	return &Rule{
		ID: id, Severity: sev, Title: title, Rationale: rationale, Remediation: remediation,
		check: func(c *Context) []Finding {
			var out []Finding
			var skip map[string]bool
			for _, is := range c.Analysis.TierIssues() {
				if is.Kind != kind {
					continue
				}
				if exempt != nil && len(is.Peers) > 0 {
					if skip == nil {
						skip = exempt(c)
					}
					var kept []string
					for _, p := range is.Peers {
						if !skip[p] {
							kept = append(kept, p)
						}
					}
					if len(kept) == 0 {
						continue
					}
					is.Peers = kept
				}
				f := Finding{Source: is.Source, Key: is.Rule, Message: is.Detail}
				if is.Policy != nil {
					f.Object = is.Policy.Ref()
					f.Message = is.Policy.Ref().String() + " " + is.Rule + ": " + is.Detail
					f.Path = []string{is.Policy.Ref().String() + " " + is.Rule + " (" + is.Source.String() + ")"}
				} else {
					f.Object = model.Ref{Kind: "Cluster", Name: "tiers"}
					f.Path = []string{"egress to 169.254.169.254/32 not denied by the Admin tier for " + join(is.Peers)}
				}
				if is.Other != nil {
					f.Path = append(f.Path, is.Other.Ref().String()+" ("+is.Other.Source.String()+")")
				}
				for _, p := range is.Peers {
					f.Affected = append(f.Affected, Affected{Object: model.Ref{Kind: "Peer", Name: p}, Detail: p})
				}
				out = append(out, f)
			}
			return out
		},
	}
}

func rf040() *Rule {
	return tierRule("RF040", Medium, engine.TierIssueShadowedDeny,
		"An Admin-tier Deny is shadowed by an Accept decided before it",
		"An Admin-tier Accept of higher precedence (a lower priority number, or, upstream, an earlier rule of the same policy) "+
			"matches every pod, peer and port the Deny does: the Deny never applies, and the guardrail it stands for is not there.",
		"Give the Deny a lower priority number than the Accept, or narrow the Accept so that it leaves out what must be denied.")
}

func rf041() *Rule {
	return tierRule("RF041", Low, engine.TierIssueDeadPass,
		"A Pass rule has nothing below it that decides",
		"Pass hands traffic to the next tier. When no NetworkPolicy isolates the pods and no Baseline rule applies to them "+
			"(or the Pass is in the Baseline tier), the default action decides, which is allow: the Pass reads as a delegation but allows everything it matches.",
		"Replace the Pass by the Accept or Deny it means, or add the NetworkPolicies (or Baseline rules) that should decide.")
}

func rf042() *Rule {
	return tierRule("RF042", Medium, engine.TierIssueSamePriority,
		"Two tiered policies at one priority may match the same traffic with different actions (upstream profile)",
		"The network-policy-api leaves the order of policies of one tier and priority undefined: an implementation may apply "+
			"either, so whether the traffic is accepted or denied cannot be known. ringfence reports the affected verdicts as unknown.",
		"Give the policies distinct priorities, in the order you mean them to apply.")
}

func rf043() *Rule {
	return tierRule("RF043", Low, engine.TierIssueBaselineOverridden,
		"A Baseline-tier policy is always overridden by NetworkPolicies",
		"Every pod the Baseline policy selects is isolated by NetworkPolicies in every direction it has rules for: "+
			"NetworkPolicies decide before the Baseline tier, so the policy never applies.",
		"Remove the policy, or move the guardrail to the Admin tier if it must hold whatever NetworkPolicies say.")
}

func rf044() *Rule {
	return tierRuleExempt("RF044", High, engine.TierIssueNoIMDSGuardrail,
		"The cluster uses tiered policies but no Admin-tier Deny keeps pods from the instance metadata service",
		"169.254.169.254 serves the node's IAM role credentials to whatever reaches it. An Admin-tier Deny of "+
			"169.254.169.254/32 for every pod is the guardrail no namespace can undo; without it, any pod that is not "+
			"isolated for egress can take the node role.",
		"Add an Admin-tier ClusterNetworkPolicy denying egress to 169.254.169.254/32 for every pod that does not need the "+
			"node role (ringfence generate -o eks-cnp writes one); give pods their own role with IRSA or EKS Pod Identity.",
		// Pods a Fence gives 169.254.169.254 need the node role (docs/tiers.md).
		nodeRolePeers)
}

// nodeRolePeers are the peers that need the node role: the pods of the
// workloads a Fence whose cidr intents name the instance metadata service
// selects, the pods generate leaves out of its IMDS guardrail.
func nodeRolePeers(c *Context) map[string]bool {
	out := map[string]bool{}
	for _, f := range c.World.Fences {
		if !f.NamesIMDS() {
			continue
		}
		sel, err := engine.ParseSelector(&f.Spec.Workloads)
		if err != nil {
			continue
		}
		for _, p := range c.Analysis.Peers() {
			if p.Workload == nil || p.Workload.Namespace != f.Namespace {
				continue
			}
			pts := p.Workload.Pods
			if p.Pods != nil {
				pts = []*model.PodTemplate{p.Pods}
			}
			all := len(pts) > 0
			for _, pt := range pts {
				all = all && sel.Matches(engine.PodLabels(pt)) == engine.Yes
			}
			if all {
				out[p.ID] = true
			}
		}
	}
	return out
}
